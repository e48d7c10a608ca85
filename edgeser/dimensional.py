"""Dimensional emotion metrics: Lin's concordance correlation coefficient (pure NumPy).

CCC (Lin 1989) between truth x and prediction y, with population moments (divide by N):

    ccc = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2)

It is 1 only for y = x, penalises both decorrelation and any bias or scale change,
and lies in [-1, 1]. A constant shift y = x + c gives 2 var(x) / (2 var(x) + c^2); y = -x
for zero-mean x gives -1. The only undefined case is x and y both constant and equal
(0/0): NaN is returned.

Dimensions are ordered ``valence, arousal, dominance`` (:data:`DIMENSIONS`).
"""

from __future__ import annotations

import numpy as np

DIMENSIONS = ("valence", "arousal", "dominance")


def ccc(true: np.ndarray, pred: np.ndarray) -> float:
    """Lin's CCC of two [N] arrays (population moments); NaN when both are the same constant."""
    x = np.asarray(true, dtype=np.float64)
    y = np.asarray(pred, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"ccc takes two [N] arrays of equal length, got true {x.shape} and pred {y.shape}")
    if x.size == 0:
        raise ValueError("ccc of empty arrays")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("ccc: true or pred holds NaN or infinite values")
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()
    den = x.var() + y.var() + (mx - my) ** 2
    return float(2.0 * cov / den) if den > 0 else float("nan")


def ccc_scores(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """CCC per dimension of [N, 3] V/A/D arrays, plus their ``mean``.

    Returns ``{"valence", "arousal", "dominance", "mean"}``.
    """
    t = np.asarray(true, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if t.ndim != 2 or t.shape[1] != 3 or t.shape != p.shape:
        raise ValueError(f"ccc_scores takes two [N, 3] valence/arousal/dominance arrays, got {t.shape} and {p.shape}")
    out = {name: ccc(t[:, i], p[:, i]) for i, name in enumerate(DIMENSIONS)}
    out["mean"] = float(np.mean([out[name] for name in DIMENSIONS]))
    return out
