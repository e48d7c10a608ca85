"""Energy-adaptive mixup (EAM) of utterances, after Wang et al., "Multi-Loss Learning for Speech
Emotion Recognition with Energy-Adaptive Mixup and Frame-Level Attention".

A random segment of utterance ``b`` is scaled to a random SNR against a random segment of
the same length in utterance ``a`` and added into it; the mixed clip keeps ``a``'s length.
Its soft label weighs the two labels by their share of the mixed clip's energy:

* segment length ``L`` ~ U(``segment_min_s``, ``segment_max_s``) seconds, clipped to the
  shorter clip; starts ``i`` in ``a`` and ``j`` in ``b`` uniform over the valid positions;
* target SNR ~ U(``snr_db_min``, ``snr_db_max``) dB;
* scale ``s = sqrt(P_i / (10^(SNR/10) · P_j))`` with ``P_i``, ``P_j`` the mean powers of the
  ``a`` and ``b`` segments, so the realised segment SNR ``10·log10(P_i / (s²·P_j))`` is the
  drawn one (exactly, in float arithmetic);
* ``λ = E_a / (E_a + E_b)`` with ``E_a`` the energy (sum of squares) of *all* of ``a`` and
  ``E_b = s² · energy(b segment)``; label ``y = λ·y_a + (1 − λ)·y_b``.

Silence rule: when the drawn ``a`` or ``b`` segment is silent (power 0, SNR undefined)
the starts are redrawn, up to :data:`MAX_DRAWS` draws in all; when every draw is silent
the pair is skipped: ``a`` is returned unchanged with ``y = y_a`` (λ = 1) and
``info["skipped"] = True``.

Audio: 1-D ``[samples]``, float in [-1, 1] or int16 (full scale 32768). The mixed clip has
``a``'s dtype (see :mod:`edgeser.corpora.augment`; int16 is rounded and clipped, which
perturbs the realised SNR slightly — ``info`` reports the float value before rounding).
All randomness comes from the ``np.random.Generator`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from edgeser.corpora.augment import like, to_float
from edgeser.settings import check

MAX_DRAWS = 10
"""Segment draws per pair before a pair whose segments stay silent is skipped."""


@dataclass(frozen=True)
class EamSettings:
    """Energy-adaptive mixup settings (seconds, dB).

    ``enabled`` is the pipeline's switch; the functions here mix whenever called.
    ``copies``: mixed examples per training example (1.5 → 1.5·N mixed clips).
    """

    enabled: bool = False  # the pipeline's switch
    copies: float = 1.0  # mixed examples per training example
    snr_db_min: float = 0.0  # lowest SNR of a's segment over the scaled b segment (dB)
    snr_db_max: float = 10.0  # highest such SNR (dB)
    segment_min_s: float = 0.5  # shortest mixed segment (seconds)
    segment_max_s: float = 1.5  # longest mixed segment (seconds)

    def __post_init__(self) -> None:
        check(0 <= self.copies <= 16, "copies", f"must be in [0, 16] (x N extra clips), got {self.copies}")
        check(np.isfinite(self.snr_db_min) and np.isfinite(self.snr_db_max), "snr_db_min",
              f"SNR bounds must be finite, got {self.snr_db_min}, {self.snr_db_max}")
        check(self.snr_db_min <= self.snr_db_max, "snr_db_max",
              f"must be at least snr_db_min ({self.snr_db_min}), got {self.snr_db_max}")
        check(self.segment_min_s > 0, "segment_min_s", f"must be positive, got {self.segment_min_s}")
        check(self.segment_min_s <= self.segment_max_s, "segment_max_s",
              f"must be at least segment_min_s ({self.segment_min_s}), got {self.segment_max_s}")


def _distribution(y: Any, name: str) -> np.ndarray:
    """``y`` as a float64 class distribution [K]; refuses negatives and sums other than 1."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a one-hot vector or class distribution [K], got shape {arr.shape}")
    if np.any(arr < 0) or not np.isfinite(arr).all() or abs(arr.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name} must be non-negative and sum to 1, got {arr.tolist()}")
    return arr


def _audio(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be non-empty 1-D audio [samples], got shape {arr.shape}")
    return to_float(arr)


def energy_adaptive_mixup(
    a: np.ndarray,
    b: np.ndarray,
    ya: np.ndarray,
    yb: np.ndarray,
    rng: np.random.Generator,
    settings: EamSettings,
    sample_rate: int,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Mix a segment of ``b`` into ``a`` at a random SNR; see the module docstring.

    ``a`` [Na], ``b`` [Nb] audio; ``ya``, ``yb`` one-hot or distributions [K].
    Returns ``(mixed [Na] in a's dtype, y [K] float64, info)`` with info keys
    ``snr_db`` (drawn), ``snr_db_realised``, ``start_a``, ``start_b``, ``length``
    (samples), ``scale`` (s), ``lambda``, ``skipped``.
    """
    check(sample_rate > 0, "sample_rate", f"must be positive, got {sample_rate}")
    xa, xb = _audio(a, "a"), _audio(b, "b")
    ta, tb = _distribution(ya, "ya"), _distribution(yb, "yb")
    if ta.shape != tb.shape:
        raise ValueError(f"ya {ta.shape} and yb {tb.shape} have different numbers of classes")
    length = int(round(rng.uniform(settings.segment_min_s, settings.segment_max_s) * sample_rate))
    length = max(1, min(length, xa.size, xb.size))
    snr = float(rng.uniform(settings.snr_db_min, settings.snr_db_max))
    for _ in range(MAX_DRAWS):
        start_a = int(rng.integers(0, xa.size - length + 1))
        start_b = int(rng.integers(0, xb.size - length + 1))
        seg_a = xa[start_a:start_a + length]
        seg_b = xb[start_b:start_b + length]
        p_a, p_b = float(np.mean(seg_a**2)), float(np.mean(seg_b**2))
        if p_a > 0 and p_b > 0:
            break
    else:
        info = {"snr_db": snr, "snr_db_realised": float("nan"), "start_a": start_a, "start_b": start_b,
                "length": length, "scale": 0.0, "lambda": 1.0, "skipped": True}
        return like(xa.copy(), a), ta.copy(), info
    scale = float(np.sqrt(p_a / (10.0 ** (snr / 10.0) * p_b)))
    scaled_b = scale * seg_b
    mixed = xa.copy()
    mixed[start_a:start_a + length] += scaled_b
    energy_a = float(np.sum(xa**2))
    energy_b = float(np.sum(scaled_b**2))
    lam = energy_a / (energy_a + energy_b)
    y = lam * ta + (1.0 - lam) * tb
    info = {
        "snr_db": snr,
        "snr_db_realised": float(10.0 * np.log10(p_a / np.mean(scaled_b**2))),
        "start_a": start_a,
        "start_b": start_b,
        "length": length,
        "scale": scale,
        "lambda": lam,
        "skipped": False,
    }
    return like(mixed, a), y, info


def mix_batch(
    audios: Sequence[np.ndarray],
    targets: np.ndarray,
    rng: np.random.Generator,
    settings: EamSettings,
    sample_rate: int,
) -> tuple[list[np.ndarray], np.ndarray]:
    """``round(copies · N)`` EAM clips from ``N`` utterances and their targets [N, K].

    Anchors: ``floor(copies)`` shuffled passes over all N utterances, then a random
    subset without repetition for the fractional part. Each anchor ``i`` gets a
    partner ``j ≠ i`` drawn uniformly from the other utterances. Returns
    (mixed clips [M] each as long as its anchor, targets [M, K] float64); skipped
    (silent) pairs stay in the output as a copy of the anchor with its own target.
    """
    targets = np.asarray(targets, dtype=np.float64)
    count = len(audios)
    if targets.ndim != 2 or targets.shape[0] != count:
        raise ValueError(f"targets must be [N, K] with N = {count} clips, got shape {targets.shape}")
    total = int(round(settings.copies * count))
    if total == 0:
        return [], np.zeros((0, targets.shape[1]))
    if count < 2:
        raise ValueError(f"mixup needs at least 2 utterances to pair, got {count}")
    whole, rest = divmod(total, count)
    anchors = [rng.permutation(count) for _ in range(whole)]
    if rest:
        anchors.append(rng.choice(count, size=rest, replace=False))
    mixed, ys = [], []
    for i in np.concatenate(anchors):
        j = int(rng.integers(count - 1))
        j += j >= i
        clip, y, _ = energy_adaptive_mixup(audios[i], audios[j], targets[i], targets[j], rng, settings, sample_rate)
        mixed.append(clip)
        ys.append(y)
    return mixed, np.stack(ys)
