"""From utterances to the fixed-size int8 arrays the models train on.

Every utterance becomes one int8 feature matrix ``[T, C]`` (``T`` frames of the
recipe's clip length, ``C`` frontend channels): the full-utterance features are
computed once (through the feature cache), then centre-cropped or padded with the
frontend's silence code (the int8 value of raw 0, i.e. ``int8_offset``).

The keyword branch sees the same matrix as ``K`` overlapping windows of ``Tk``
frames every ``Hk`` frames — exactly what the board does with its feature window,
so no separate audio pass is needed: ``[N, T, C] -> [N, K, Tk, C]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from edgeser.frontend.cache import FeatureCache
from edgeser.corpora.types import Utterance
from edgeser.corpora.audio import AudioError, load_audio
from edgeser.frontend.config import FrontendConfig


@dataclass(frozen=True)
class WindowPlan:
    """Frame counts of the model inputs (frames of ``stride_ms``)."""

    clip_frames: int  # T
    keyword_frames: int  # Tk
    keyword_hop_frames: int  # Hk

    @property
    def num_keyword_windows(self) -> int:  # K
        return 1 + max(0, self.clip_frames - self.keyword_frames) // self.keyword_hop_frames

    @classmethod
    def from_seconds(cls, config: FrontendConfig, clip_s: float, keyword_s: float, hop_s: float) -> "WindowPlan":
        def frames(seconds: float) -> int:
            return max(1, config.num_frames(int(round(seconds * config.sample_rate))))

        return cls(frames(clip_s), frames(keyword_s), max(1, int(round(hop_s * 1000 / config.stride_ms))))


def silence_code(config: FrontendConfig) -> int:
    """The int8 feature value of a silent channel (raw frontend output 0)."""
    from edgeser.frontend.features import to_int8

    return int(to_int8(np.zeros(1, np.uint16), config)[0])


def fit_frames(features: np.ndarray, frames: int, pad_value: int) -> np.ndarray:
    """Centre-crop or symmetrically pad int8 ``[t, C]`` to ``[frames, C]``."""
    t, channels = features.shape
    if t >= frames:
        start = (t - frames) // 2
        return features[start : start + frames]
    out = np.full((frames, channels), pad_value, dtype=np.int8)
    start = (frames - t) // 2
    out[start : start + t] = features
    return out


def clip_features(audios: Sequence[np.ndarray], config: FrontendConfig, frames: int) -> np.ndarray:
    """int16 clips -> int8 features [N, frames, C], each centre-cropped or padded with silence
    (:func:`fit_frames`), exactly as the features stage makes a corpus' clips."""
    from edgeser.frontend.features import compute_features

    pad = silence_code(config)
    rows = [fit_frames(compute_features(np.asarray(a, np.int16), config), frames, pad) for a in audios]
    return np.stack(rows) if rows else np.zeros((0, frames, config.num_channels), np.int8)


def silence_windows(config: FrontendConfig, seconds: float, count: int, frames: int, seed: int) -> np.ndarray:
    """Keyword-branch "silence" examples: ``count`` windows [frames, C] of quiet noise (-60 to -40 dBFS) of ``seconds``."""
    from edgeser.frontend.features import compute_features

    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        level = 32768 * 10 ** (rng.uniform(-60, -40) / 20)
        audio = np.clip(rng.normal(0, level, int(seconds * config.sample_rate)), -32768, 32767).astype(np.int16)
        rows.append(fit_frames(compute_features(audio, config), frames, silence_code(config)))
    return np.stack(rows)


def keyword_windows(x: np.ndarray, plan: WindowPlan) -> np.ndarray:
    """``[N, T, C] -> [N, K, Tk, C]`` sliding keyword windows over each clip."""
    if plan.clip_frames < plan.keyword_frames:
        raise ValueError(f"clip of {plan.clip_frames} frames is shorter than a keyword window ({plan.keyword_frames})")
    starts = [k * plan.keyword_hop_frames for k in range(plan.num_keyword_windows)]
    return np.stack([x[:, s : s + plan.keyword_frames] for s in starts], axis=1)


def utterance_audio(utt: Utterance, sample_rate: int) -> np.ndarray:
    """int16 audio of ``utt`` (its segment when the corpus gives start/end times)."""
    audio = load_audio(utt.path, sample_rate)
    if utt.start_s is not None or utt.end_s is not None:
        start = int(round((utt.start_s or 0.0) * sample_rate))
        end = int(round(utt.end_s * sample_rate)) if utt.end_s is not None else len(audio)
        audio = audio[start:end]
        if audio.size == 0:
            raise AudioError(utt.path, f"segment {utt.start_s}-{utt.end_s} s is empty")
    return audio


def feature_matrix(
    utterances: Sequence[Utterance],
    config: FrontendConfig,
    frames: int,
    cache_dir: Path,
    progress: bool = True,
    description: str = "features",
) -> tuple[np.ndarray, list[int], list[tuple[str, str]]]:
    """int8 ``[N_ok, frames, C]`` for the readable utterances.

    Returns (features, indices of the utterances used, problems as (path, reason)).
    """
    from tqdm.auto import tqdm

    cache = FeatureCache(cache_dir, config)
    pad = silence_code(config)
    rows, used, problems = [], [], []
    for index, utt in enumerate(tqdm(utterances, desc=description, unit="clip", disable=not progress)):
        try:
            features = cache.features(utterance_audio(utt, config.sample_rate))
        except AudioError as exc:
            problems.append((exc.path, exc.reason))
            continue
        rows.append(fit_frames(features, frames, pad))
        used.append(index)
    empty = np.zeros((0, frames, config.num_channels), np.int8)
    return (np.stack(rows) if rows else empty), used, problems
