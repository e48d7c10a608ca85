"""Float Keras model vs its int8 .tflite on the same examples.

The int8 model runs through :class:`edgeser.evaluation.int8.Int8Model` one example at
a time (batch 1, as on the board), on LiteRT or TFLite-Micro: the float input is
quantised with the input tensor's ``scale``/``zero_point`` and the output dequantised
with :func:`quantize_input` / :func:`dequantize_output`, the one definition of both in
edgeser. Metrics come from ``edgeser.evaluation.metrics`` (WA, UA, macro-F1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

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
    """float -> int8/uint8 as TFLite's QUANTIZE does: ``clip(round(x / scale) + zero_point)``,
    rounding half away from zero (``TfLiteRound``)."""
    info = np.iinfo(dtype)
    scaled = np.asarray(x, dtype=np.float64) / scale
    q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize_output(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 -> float: ``(q - zero_point) * scale``."""
    return (np.asarray(q, dtype=np.float32) - np.float32(zero_point)) * np.float32(scale)


def _inputs(x: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(a, np.float32) for a in x] if isinstance(x, (list, tuple)) else [np.asarray(x, np.float32)]


def run_int8(tflite: bytes, x: np.ndarray | Sequence[np.ndarray], backend: str = "litert") -> np.ndarray:
    """Dequantised first output of the int8 model for each example (``[N, …]`` float; a list for multi-input)."""
    from edgeser.evaluation.int8 import Int8Model

    return Int8Model(bytes(tflite), backend)(*_inputs(x))[0]


def compare_float_int8(
    keras_model: Any,
    tflite: bytes,
    x: np.ndarray | Sequence[np.ndarray],
    y: np.ndarray,
    num_classes: int | None = None,
    backend: str = "litert",
) -> Comparison:
    """Score both models on ``x`` (``[N, …]`` float features, a list for multi-input
    models) against labels ``y`` (``[N]`` int); the int8 model on ``backend``."""
    from edgeser.models.training import logits_of

    inputs = _inputs(x)
    x = inputs[0]
    y = np.asarray(y).astype(int)
    float_out = logits_of(keras_model, inputs if len(inputs) > 1 else x).reshape(len(x), -1)
    int8_out = run_int8(tflite, inputs, backend)
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
