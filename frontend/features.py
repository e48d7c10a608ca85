"""int8 model input from the MicroFrontend's uint16 output.

The mapping is integer-only (see :mod:`edgeser.frontend.config`)::

    int8 = clamp((raw * int8_scale_num + int8_scale_den // 2) // int8_scale_den
                 + int8_offset, -128, 127)

so the board computes exactly the same values with 32-bit integers.
"""

from __future__ import annotations

import numpy as np

from edgeser.frontend.config import FrontendConfig
from edgeser.frontend.microfrontend import compute_raw

__all__ = ["to_int8", "compute_features"]


def to_int8(raw: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """Map uint16 frontend output (any shape) to int8 with the config's integer mapping."""
    values = np.asarray(raw)
    if values.dtype.kind not in "iu":
        raise TypeError(f"raw features must be integers (uint16), got dtype {values.dtype}")
    wide = values.astype(np.int64)
    num, den = int(config.int8_scale_num), int(config.int8_scale_den)
    scaled = (wide * num + den // 2) // den + int(config.int8_offset)
    return np.clip(scaled, -128, 127).astype(np.int8)


def compute_features(audio: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """int8 [frames, channels] features of int16 ``audio`` (the model input)."""
    return to_int8(compute_raw(audio, config), config)
