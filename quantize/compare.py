"""Float Keras model vs its int8 .tflite on the same examples.

The int8 model runs in ``ai_edge_litert.interpreter.Interpreter`` one example at a
time (batch 1, as on the board): the float input is quantised with the input tensor's
``scale``/``zero_point`` (``q = clip(round(x / scale) + zero_point, -128, 127)``) and the
output dequantised (``(q - zero_point) * scale``). Metrics come from
``edgeser.evaluation.metrics`` (WA, UA, macro-F1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeser.evaluation.metrics import score


@dataclass(frozen=True)
class Comparison:
    """Float vs int8 on the same ``n`` examples (metrics in [0, 1])."""

    n: int
    float_wa: float
    float_ua: float
    float_macro_f1: float
    int8_wa: float
    int8_ua: float
    int8_macro_f1: float
    argmax_agreement: float  # fraction of examples where both predict the same class
    mean_abs_logit_error: float  # mean |float output - dequantised int8 output|, output units

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def quantize_input(x: np.ndarray, scale: float, zero_point: int, dtype=np.int8) -> np.ndarray:
    """float -> int8/uint8 with the tensor's affine parameters."""
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, dtype=np.float64) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize_output(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (np.asarray(q, dtype=np.float32) - np.float32(zero_point)) * np.float32(scale)


def run_int8(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """Dequantised outputs of the int8 model for each example of ``x`` (``[N, …]`` float)."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=bytes(tflite))
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    in_scale, in_zp = inp["quantization"]
    out_scale, out_zp = out["quantization"]
    results = []
    for example in np.asarray(x, dtype=np.float32):
        example = example.reshape(inp["shape"])
        if in_scale:
            example = quantize_input(example, in_scale, in_zp, inp["dtype"])
        interp.set_tensor(inp["index"], example.astype(inp["dtype"]))
        interp.invoke()
        raw = interp.get_tensor(out["index"])
        results.append(dequantize_output(raw, out_scale, out_zp) if out_scale else raw.astype(np.float32))
    return np.concatenate([r.reshape(1, -1) for r in results], axis=0)


def compare_float_int8(keras_model: Any, tflite: bytes, x: np.ndarray, y: np.ndarray, num_classes: int | None = None) -> Comparison:
    """Score both models on ``x`` (``[N, …]`` float features) against labels ``y`` (``[N]`` int)."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).astype(int)
    float_out = np.asarray(keras_model(x, training=False), dtype=np.float32).reshape(len(x), -1)
    int8_out = run_int8(tflite, x)
    k = num_classes or float_out.shape[1]
    fp, qp = float_out.argmax(axis=1), int8_out.argmax(axis=1)
    fs, qs = score(y, fp, k), score(y, qp, k)
    return Comparison(
        n=len(x),
        float_wa=fs.wa,
        float_ua=fs.ua,
        float_macro_f1=fs.macro_f1,
        int8_wa=qs.wa,
        int8_ua=qs.ua,
        int8_macro_f1=qs.macro_f1,
        argmax_agreement=float(np.mean(fp == qp)) if len(x) else float("nan"),
        mean_abs_logit_error=float(np.mean(np.abs(float_out - int8_out))) if len(x) else float("nan"),
    )
