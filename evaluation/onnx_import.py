"""``edgeser convert``: a user's ONNX model to ``<name>_int8.tflite`` with its Edge TPU check and
the agreement of the int8 model with the float ONNX model on the calibration examples.

Writes into ``out``: ``<name>_int8.tflite``, ``<name>_check.json`` (the report of
:func:`edgeser.quantize.edgetpu_check.check_model` plus the conversion facts) — both
atomically, after the conversion succeeded, so a failure leaves the folder as it was.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgeser.atomic import write_bytes, write_json


def convert_onnx(model_path: str | Path, calibration: str | Path, out: str | Path, name: str | None = None,
                 keep_layout: bool = False, backend: str = "tflm") -> tuple[dict[str, Any], Any]:
    """Convert, check, compare; returns the document written to ``<name>_check.json`` and the
    :class:`~edgeser.quantize.edgetpu_check.CheckReport`.

    Raises :class:`edgeser.quantize.onnx_convert.OnnxConvertError` (names the file and the
    problem) when the model, the calibration data or the conversion fails.
    """
    from edgeser.evaluation.int8 import run_int8
    from edgeser.quantize.edgetpu_check import check_model
    from edgeser.quantize.onnx_convert import convert_int8_from_onnx, load_onnx, onnx_outputs, read_calibration

    start = time.monotonic()
    model = load_onnx(model_path)
    samples = read_calibration(calibration, model)
    tflite, permuted = convert_int8_from_onnx(model, samples, keep_layout)
    name = name or model.path.stem
    report = check_model(tflite)
    report.source = f"{name}_int8.tflite"
    float_out = onnx_outputs(model, samples).reshape(len(samples[0]), -1)
    int8_out = run_int8(tflite, permuted if len(permuted) > 1 else permuted[0], backend).reshape(len(samples[0]), -1)
    scale = float(np.abs(float_out).max()) or 1.0
    doc = {
        "onnx": str(model.path),
        "onnx_ops": model.op_types,
        "inputs": [{"name": i.name, "onnx_shape": list(i.shape), "int8_shape": list(p.shape[1:])}
                   for i, p in zip(model.inputs, permuted)],
        "layout": "onnx (kept)" if keep_layout else "channels last (onnx2tf)",
        "calibration": {"source": str(calibration), "examples": len(samples[0])},
        "int8_vs_float": {
            "backend": backend,
            "argmax_agreement": float(np.mean(float_out.argmax(1) == int8_out.argmax(1))),
            "mean_abs_error": float(np.mean(np.abs(float_out - int8_out))),
            "max_abs_float_output": scale,
        },
        "tflite_bytes": len(tflite),
        "seconds": round(time.monotonic() - start, 2),
        "check": report.to_dict(),
    }
    out = Path(out)
    doc["tflite"] = str(write_bytes(out / f"{name}_int8.tflite", tflite))
    doc["report"] = str(out / f"{name}_check.json")
    write_json(doc["report"], doc)
    return doc, report
