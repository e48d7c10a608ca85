"""Speaker-level standardisation of embeddings: the clip's embedding relative to its speaker's.

``speaker_standardise(e, speakers)`` -> ``(e - mean_s) / std_s`` per dimension, with ``mean_s`` and
``std_s`` over all rows of the same speaker (float32 [N, D]). A voice's own level, pitch range
and timbre then drop out of the fusion head's input and what is left is how this clip departs
from the speaker's usual delivery, which is what an emotion changes.

The statistics of a test speaker come from that speaker's own clips, without labels. A recipe
with ``fusion.input_norm: speaker`` ships it: the head trains on training speakers standardised
with all of their clips (:func:`speaker_standardise`), and at test time, as on the board, each
clip is standardised with running statistics of its speaker's earlier clips blended with the
training set's (:class:`SpeakerPrior`, :func:`running_standardise`). The int8 chain and the
firmware keep those statistics in integers and float64 (:class:`BoardSpeakerNorm`,
firmware/core/include/edgeser/speaker_norm.h), bit for bit the same.
``edgeser benchmark accuracy --speaker-norm`` adds a head with each speaker's full statistics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np

EPSILON = 1e-3  # added to every std: a dimension constant over a speaker's clips stays finite
METADATA_KEY = "edgeser_speaker_prior"  # the fusion .tflite's metadata entry holding the prior (JSON)


@dataclass(frozen=True)
class SpeakerPrior:
    """The training set's mean and variance of the fusion head's raw input, per dimension
    ([acoustic | keyword], float64 [Ea + Ek], real units), worth ``weight`` clips of a new speaker."""

    mean: np.ndarray  # [Ea + Ek]
    var: np.ndarray  # [Ea + Ek]
    weight: float  # clips (decisions, on the board) the prior counts for

    @classmethod
    def fit(cls, e: np.ndarray, weight: float) -> "SpeakerPrior":
        """The prior of raw training inputs ``e`` [N, Ea + Ek]."""
        e = np.asarray(e, np.float64)
        return cls(e.mean(axis=0), e.var(axis=0), float(weight))

    def to_json(self) -> str:
        return json.dumps({"mean": self.mean.tolist(), "var": self.var.tolist(), "weight": self.weight,
                           "epsilon": EPSILON})

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "speaker prior") -> "SpeakerPrior":
        try:
            d = json.loads(text)
            mean, var = np.asarray(d["mean"], np.float64), np.asarray(d["var"], np.float64)
            weight = float(d["weight"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{source}: not a speaker prior ({exc})") from None
        if mean.ndim != 1 or mean.shape != var.shape or weight < 0 or np.any(var < 0):
            raise ValueError(f"{source}: speaker prior needs equal-length mean and var (var >= 0) and weight >= 0")
        return cls(mean, var, weight)

    def standardise(self, e: np.ndarray, speakers: Sequence[str] | None, seed: int = 0) -> np.ndarray:
        """``e`` [N, D] as the fusion head sees it at test time: :func:`running_standardise` over
        each speaker's clips; without ``speakers`` every clip is a new speaker (the prior alone)."""
        e = np.asarray(e, np.float64)
        if speakers is None:
            return ((e - self.mean) / (np.sqrt(self.var) + EPSILON)).astype(np.float32)
        return running_standardise(e, speakers, self.mean, self.var, self.weight, seed)


def speaker_order(speakers: Sequence[str], seed: int = 0) -> list[np.ndarray]:
    """Row indices per speaker (speakers sorted), each in the seeded random order in which
    :func:`running_standardise` and :meth:`edgeser.evaluation.int8.BoardChain.logits` visit them."""
    speakers = np.asarray([str(s) for s in speakers])
    rng = np.random.default_rng(seed)
    return [rng.permutation(np.flatnonzero(speakers == s)) for s in np.unique(speakers)]


def _per_speaker(e: np.ndarray, speakers: Sequence[str], transform) -> np.ndarray:
    """``transform`` [n, D] -> [n, D] applied to each speaker's rows of ``e`` [N, D]."""
    e = np.asarray(e, np.float32)
    speakers = np.asarray([str(s) for s in speakers])
    if len(speakers) != len(e):
        raise ValueError(f"{len(speakers)} speakers for {len(e)} embeddings")
    out = np.empty_like(e)
    for s in np.unique(speakers):
        rows = speakers == s
        out[rows] = transform(e[rows])
    return out


def speaker_standardise(e: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
    """``e`` [N, D] standardised per speaker (mean 0, std ~1 over each speaker's rows)."""
    return _per_speaker(e, speakers, lambda x: (x - x.mean(axis=0)) / (x.std(axis=0) + EPSILON))


def speaker_centre(e: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
    """``e`` [N, D] minus its speaker's mean over all of that speaker's rows."""
    return _per_speaker(e, speakers, lambda x: x - x.mean(axis=0))


def standardise_pair(acoustic: np.ndarray, keyword: np.ndarray, speakers: Sequence[str]) -> list[np.ndarray]:
    """The fusion head's two inputs (acoustic [N, Ea], keyword [N, Ek]) standardised per speaker
    with all of that speaker's rows (:func:`speaker_standardise`): how the head trains and is calibrated."""
    ea = np.shape(acoustic)[1]
    z = speaker_standardise(np.concatenate([acoustic, keyword], axis=1), speakers)
    return [z[:, :ea], z[:, ea:]]


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
    out = np.empty(e.shape, np.float32)
    for rows in speaker_order(speakers, seed):
        total, squares = prior_weight * mean0, prior_weight * (var0 + mean0 ** 2)
        weight = prior_weight
        for i in rows:
            mean = total / weight
            var = np.maximum(squares / weight - mean ** 2, 0.0)
            out[i] = (e[i] - mean) / (np.sqrt(var) + EPSILON)
            total, squares, weight = total + e[i], squares + e[i] ** 2, weight + 1.0
    return out


class BoardSpeakerNorm:
    """The firmware's running speaker normalisation (``edgeser::SpeakerNorm``) in numpy: the
    same integer sums and float64 operations in the same order, so the int8 fusion inputs are
    the board's to the bit.

    Inputs are integer "centred" codes ``c`` [D]: the acoustic output minus its zero point
    (unit ``s_ac``) and the keyword outputs' sum over the K pooled windows minus K zero points
    (unit ``s_kw / K``); ``unit`` [D] gives the real value of one step. Per dimension, with the
    prior moved into those units (``m = mean / unit``, ``v = var / unit**2``), ``n`` clips seen
    and the running sums ``S1 = sum c``, ``S2 = sum c**2`` (int64):

        mean = (w*m + S1) / (w + n);  var = max((w*(v + m*m) + S2) / (w + n) - mean*mean, 0)
        z = (c - mean) / (sqrt(var) + EPSILON / unit)
        q = clamp(min(round_half_away(|z / s_out|), 1000) * sign + z_out, -128, 127)

    then ``c`` joins the sums. :meth:`reset` starts a new speaker.
    """

    def __init__(self, prior: SpeakerPrior, unit: np.ndarray, out_scale: np.ndarray, out_zero_point: np.ndarray):
        unit = np.asarray(unit, np.float64)
        if unit.shape != prior.mean.shape:
            raise ValueError(f"the speaker prior has {prior.mean.size} dimensions, the fusion input {unit.size}")
        m, v, w = prior.mean / unit, prior.var / (unit * unit), np.float64(prior.weight)
        self.a, self.b, self.w = w * m, w * (v + m * m), w
        self.eps = np.float64(EPSILON) / unit
        self.out_scale = np.asarray(out_scale, np.float64)
        self.out_zero_point = np.asarray(out_zero_point, np.int64)
        self.reset()

    def reset(self) -> None:
        self.s1 = np.zeros(self.a.shape, np.int64)
        self.s2 = np.zeros(self.a.shape, np.int64)
        self.n = 0

    def apply(self, centred: np.ndarray) -> np.ndarray:
        """int ``centred`` [D] -> int8 fusion input [D]; then adds ``centred`` to the statistics."""
        c = np.asarray(centred, np.int64)
        w = self.w + np.float64(self.n)
        mean = (self.a + self.s1.astype(np.float64)) / w
        var = np.maximum((self.b + self.s2.astype(np.float64)) / w - mean * mean, 0.0)
        v = ((c.astype(np.float64) - mean) / (np.sqrt(var) + self.eps)) / self.out_scale
        r = np.minimum(np.floor(np.abs(v) + 0.5), 1000.0)  # bounded before the integer conversion
        q = np.where(v < 0, -r, r).astype(np.int64) + self.out_zero_point
        self.s1, self.s2, self.n = self.s1 + c, self.s2 + c * c, self.n + 1
        return np.clip(q, -128, 127).astype(np.int8)
