"""Label-distribution learning (LDL) metrics (pure NumPy).

The six measures Geng (2016, "Label Distribution Learning", IEEE TKDE) proposed for
comparing a predicted label distribution with the true one, as used for emotion
distributions by EM2LDL (Li et al.). ``true`` and ``pred`` are [N, K] arrays whose rows
are distributions (non-negative, summing to 1 within :data:`SUM_TOLERANCE`); every
function returns the mean over the N rows of the per-row value below (p = true row,
q = predicted row, j = class):

=============  ==========================================  ========  ============
name           per row                                      identical  better
=============  ==========================================  ========  ============
chebyshev      max_j |p_j - q_j|                             0         lower
clark          sqrt( sum_j (p_j - q_j)^2 / (p_j + q_j)^2 )   0         lower
canberra       sum_j |p_j - q_j| / (p_j + q_j)               0         lower
kl_divergence  sum_j p_j ln(p_j / q_j)   (nats)              0         lower
cosine         sum_j p_j q_j / (||p||_2 ||q||_2)             1         higher
intersection   sum_j min(p_j, q_j)                           1         higher
=============  ==========================================  ========  ============

Zeros (the ``eps`` handling):

* Clark and Canberra: a class with p_j = q_j = 0 contributes 0 (the 0/0 term is taken
  as 0: both distributions agree there). No eps is added, so the values are exact.
* KL: a class with p_j = 0 contributes 0 (0·ln 0 = 0). Where p_j > 0 and q_j = 0 the
  true divergence is infinite; q_j is then clipped to :data:`EPS` = 1e-12 so the result
  stays finite (and large: about p_j · 27.6 nats).
* Cosine: rows that sum to 1 have a non-zero norm, so no eps is needed.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

EPS = 1e-12
SUM_TOLERANCE = 1e-3  # rows must sum to 1 within this (float32 softmax rows sum to 1 ± 1e-6)


def _check(true: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate two [N, K] distribution arrays; returns them as float64."""
    p = np.asarray(true, dtype=np.float64)
    q = np.asarray(pred, dtype=np.float64)
    if p.ndim != 2 or q.ndim != 2:
        raise ValueError(f"label distributions must be [N, K] arrays, got true {p.shape} and pred {q.shape}")
    if p.shape != q.shape:
        raise ValueError(f"true {p.shape} and pred {q.shape} differ in shape")
    if p.shape[0] == 0:
        raise ValueError("label distributions are empty (N = 0)")
    for name, a in (("true", p), ("pred", q)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} holds NaN or infinite values")
        if (a < 0).any():
            raise ValueError(f"{name} holds negative probabilities (min {a.min():.3g})")
        sums = a.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)
        if bad.size:
            raise ValueError(f"{name} row {int(bad[0])} sums to {sums[bad[0]]:.6g}, not 1 (pass probabilities, not logits)")
    return p, q


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (only when p_j = q_j = 0, so num is 0 too)."""
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def chebyshev(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean over rows of max_j |p_j - q_j| (0 = identical; lower is better)."""
    p, q = _check(true, pred)
    return float(np.abs(p - q).max(axis=1).mean())


def clark(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean over rows of sqrt(sum_j (p_j - q_j)^2 / (p_j + q_j)^2) (0 = identical; lower is better)."""
    p, q = _check(true, pred)
    return float(np.sqrt(_safe_ratio((p - q) ** 2, (p + q) ** 2).sum(axis=1)).mean())


def canberra(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean over rows of sum_j |p_j - q_j| / (p_j + q_j) (0 = identical; lower is better)."""
    p, q = _check(true, pred)
    return float(_safe_ratio(np.abs(p - q), p + q).sum(axis=1).mean())


def kl_divergence(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean over rows of KL(p || q) = sum_j p_j ln(p_j / q_j) in nats (0 = identical; lower is better).

    Terms with p_j = 0 are 0; q_j is clipped to :data:`EPS` where p_j > 0.
    """
    p, q = _check(true, pred)
    ratio = np.divide(p, np.maximum(q, EPS), out=np.ones_like(p), where=p > 0)
    return float((p * np.log(ratio)).sum(axis=1).mean())


def cosine(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean over rows of the cosine similarity p·q / (|p| |q|) (1 = identical; higher is better)."""
    p, q = _check(true, pred)
    return float(((p * q).sum(axis=1) / (np.linalg.norm(p, axis=1) * np.linalg.norm(q, axis=1))).mean())


def intersection(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean over rows of sum_j min(p_j, q_j) (1 = identical; higher is better)."""
    p, q = _check(true, pred)
    return float(np.minimum(p, q).sum(axis=1).mean())


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "chebyshev": chebyshev,
    "clark": clark,
    "canberra": canberra,
    "kl_divergence": kl_divergence,
    "cosine": cosine,
    "intersection": intersection,
}
HIGHER_IS_BETTER = frozenset({"cosine", "intersection"})


def ldl_scores(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """All six measures of [N, K] distributions, ``name -> mean over rows`` (see module docstring)."""
    return {name: fn(true, pred) for name, fn in METRICS.items()}
