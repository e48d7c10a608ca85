"""Feature cache: int8 frontend features per (audio content, FrontendConfig) as .npy files.

Key: sha256 of the int16 samples (plus their sample rate) and ``FrontendConfig.sha256()``.
Layout: ``<folder>/<config sha[:16]>/<audio sha[:2]>/<audio sha>.npy`` plus
``<folder>/<config sha[:16]>/config.json`` (the config, for people). A changed
config lands in another folder, so it recomputes; an unchanged one reads the file.

Writes are atomic (temp file + rename, ``edgeser.atomic``), so an interrupted run
leaves either the complete entry or none. A file that does not load as a 2-D int8
array with ``config.num_channels`` columns (truncated, garbage, wrong shape) is
counted in ``stats.corrupt``, recomputed and rewritten.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from edgeser.frontend.config import FrontendConfig

ComputeFn = Callable[[np.ndarray, FrontendConfig], np.ndarray]


def default_compute(audio: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """The real frontend: ``edgeser.frontend.features.compute_features`` (imported lazily)."""
    from edgeser.frontend.features import compute_features

    return compute_features(audio, config)


def audio_hash(audio: np.ndarray, sample_rate: int) -> str:
    """sha256 of int16 mono samples ``[n]`` and their rate."""
    audio = np.ascontiguousarray(audio)
    if audio.dtype != np.int16 or audio.ndim != 1:
        raise TypeError(f"audio must be 1-D int16, got {audio.dtype} with shape {audio.shape}")
    digest = hashlib.sha256(f"int16:{sample_rate}:{audio.size}:".encode())
    digest.update(audio.tobytes())
    return digest.hexdigest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0


@dataclass
class FeatureCache:
    """``cache.features(audio)`` -> int8 ``[frames, channels]``, computed once per content and config."""

    folder: Path
    config: FrontendConfig
    compute: ComputeFn = default_compute
    stats: CacheStats = field(default_factory=CacheStats)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        self._config_dir = self.folder / self.config.sha256()[:16]

    def path_for(self, audio: np.ndarray) -> Path:
        key = audio_hash(audio, self.config.sample_rate)
        return self._config_dir / key[:2] / f"{key}.npy"

    def _load(self, path: Path) -> np.ndarray | None:
        try:
            array = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (ValueError, OSError, EOFError):
            self.stats.corrupt += 1
            return None
        if array.dtype != np.int8 or array.ndim != 2 or array.shape[1] != self.config.num_channels:
            self.stats.corrupt += 1
            return None
        return array

    def features(self, audio: np.ndarray) -> np.ndarray:
        """Features of int16 mono ``audio`` at ``config.sample_rate``: int8 ``[frames, num_channels]``."""
        from edgeser.atomic import save_npy, write_json

        path = self.path_for(audio)
        cached = self._load(path) if path.exists() else None
        if cached is not None:
            self.stats.hits += 1
            return cached
        self.stats.misses += 1
        result = np.asarray(self.compute(audio, self.config))
        if result.dtype != np.int8 or result.ndim != 2:
            raise TypeError(f"compute_features returned {result.dtype} {result.shape}; expected int8 [frames, channels]")
        if not (self._config_dir / "config.json").exists():
            write_json(self._config_dir / "config.json", self.config.to_dict())
        save_npy(path, result)
        return result

    def features_for_file(self, path: str | Path) -> np.ndarray:
        """Load ``path`` (mono int16 at ``config.sample_rate``) and return its cached features."""
        from edgeser.corpora.audio import load_audio

        return self.features(load_audio(path, self.config.sample_rate))
