"""TFLite's quantisation arithmetic, the one definition of both directions in edgeser.

``quantize_input`` is what TFLite's QUANTIZE does to a float (``clip(round(x / scale) +
zero_point)``, rounding half away from zero as ``TfLiteRound``); ``dequantize_output`` is
``(q - zero_point) * scale``. The int8 runners (``evaluation.int8``), the benchmark
inputs (``benchmarks.latency``) and the float-vs-int8 comparison use these.
"""

from __future__ import annotations

import numpy as np


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
