"""The head layout of edgeser's multi-head attention, shared by the Keras layers and the PyTorch twin."""

from __future__ import annotations

import numpy as np


def head_blocks(d_model: int, num_heads: int) -> np.ndarray:
    """[d_model, num_heads] 0/1 matrix: channel c belongs to head c // (d_model / num_heads)."""
    if d_model % num_heads:
        raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
    dh = d_model // num_heads
    return np.kron(np.eye(num_heads, dtype=np.float32), np.ones((dh, 1), np.float32))
