"""Speaker-level standardisation of embeddings: the clip's embedding relative to its speaker's.

``speaker_standardise(e, speakers)`` -> ``(e - mean_s) / std_s`` per dimension, with ``mean_s`` and
``std_s`` over all rows of the same speaker (float32 [N, D]). A voice's own level, pitch range
and timbre then drop out of the fusion head's input and what is left is how this clip departs
from the speaker's usual delivery, which is what an emotion changes.

The statistics of a test speaker come from that speaker's own clips, without labels; on the
board they would be running statistics over the speaker's earlier decisions, which the
firmware does not keep yet. ``edgeser benchmark accuracy --speaker-norm`` measures the gain
(docs/accuracy.md); no recipe or device model uses it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

EPSILON = 1e-3  # added to every std: a dimension constant over a speaker's clips stays finite


def speaker_standardise(e: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
    """``e`` [N, D] standardised per speaker (mean 0, std ~1 over each speaker's rows)."""
    e = np.asarray(e, np.float32)
    speakers = np.asarray([str(s) for s in speakers])
    if len(speakers) != len(e):
        raise ValueError(f"{len(speakers)} speakers for {len(e)} embeddings")
    out = np.empty_like(e)
    for s in np.unique(speakers):
        rows = speakers == s
        out[rows] = (e[rows] - e[rows].mean(axis=0)) / (e[rows].std(axis=0) + EPSILON)
    return out


def running_standardise(e: np.ndarray, speakers: Sequence[str], prior_mean: np.ndarray, prior_var: np.ndarray,
                        prior_weight: float = 10.0, seed: int = 0) -> np.ndarray:
    """What a board would compute, clip by clip: each speaker's clips in a seeded random order,
    each standardised with the statistics of that speaker's *earlier* clips blended with a prior
    (the training set's mean and variance per dimension, worth ``prior_weight`` clips), so the
    first clip of a speaker sees the prior alone. float32 [N, D] in the rows' original order."""
    e = np.asarray(e, np.float64)
    speakers = np.asarray([str(s) for s in speakers])
    if len(speakers) != len(e):
        raise ValueError(f"{len(speakers)} speakers for {len(e)} embeddings")
    mean0, var0 = np.asarray(prior_mean, np.float64), np.asarray(prior_var, np.float64)
    rng = np.random.default_rng(seed)
    out = np.empty(e.shape, np.float32)
    for s in np.unique(speakers):
        total, squares = prior_weight * mean0, prior_weight * (var0 + mean0 ** 2)
        weight = prior_weight
        for i in rng.permutation(np.flatnonzero(speakers == s)):
            mean = total / weight
            var = np.maximum(squares / weight - mean ** 2, 0.0)
            out[i] = (e[i] - mean) / (np.sqrt(var) + EPSILON)
            total, squares, weight = total + e[i], squares + e[i] ** 2, weight + 1.0
    return out
