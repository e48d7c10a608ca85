"""Feature cache: hit/miss by content and config, atomic writes, corrupt entries recomputed."""

from __future__ import annotations

import numpy as np
import pytest

from edgeser.frontend.cache import FeatureCache, audio_hash
from edgeser.frontend.config import FrontendConfig


class CountingFrontend:
    """A stand-in for compute_features: deterministic int8 [frames, channels], counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, audio, config):
        self.calls += 1
        frames = config.num_frames(audio.size)
        x = np.abs(audio[: frames * config.stride_samples].astype(np.int64)).reshape(frames, -1).mean(axis=1)
        return np.clip(np.outer(x / 256, np.ones(config.num_channels)) - 128, -128, 127).astype(np.int8)


def audio(seed=0, n=16000):
    return (np.random.default_rng(seed).normal(size=n) * 3000).astype(np.int16)


def test_hits_and_config_change(tmp_path):
    fe = CountingFrontend()
    config = FrontendConfig()
    cache = FeatureCache(tmp_path, config, compute=fe)
    a = cache.features(audio(0))
    assert a.dtype == np.int8 and a.shape == (config.num_frames(16000), 40)
    b = cache.features(audio(0))
    assert fe.calls == 1 and np.array_equal(a, b) and cache.stats.hits == 1
    cache.features(audio(1))
    assert fe.calls == 2
    # Same cache folder, a new FeatureCache (e.g. a new run) with the same config: still cached.
    again = FeatureCache(tmp_path, FrontendConfig(), compute=fe)
    again.features(audio(0))
    assert fe.calls == 2
    changed = FeatureCache(tmp_path, config.replace(num_channels=32), compute=fe)
    c = changed.features(audio(0))
    assert fe.calls == 3 and c.shape[1] == 32
    assert len(list(tmp_path.glob("*/config.json"))) == 2


def test_corrupt_entries_recomputed(tmp_path):
    fe = CountingFrontend()
    cache = FeatureCache(tmp_path, FrontendConfig(), compute=fe)
    first = cache.features(audio(2))
    path = cache.path_for(audio(2))
    for damage in (lambda b: b[: len(b) // 2], lambda b: b"", lambda b: b"garbage" * 10):
        path.write_bytes(damage(path.read_bytes() if path.stat().st_size else first.tobytes()))
        again = cache.features(audio(2))
        assert np.array_equal(again, first)
        cache.features(audio(2))  # now a hit
    assert fe.calls == 4 and cache.stats.corrupt == 3
    np.save(path, np.zeros((3, 5), np.int8))  # wrong shape for the config
    assert np.array_equal(cache.features(audio(2)), first) and cache.stats.corrupt == 4


def test_interrupted_write_leaves_no_entry(tmp_path, monkeypatch):
    import edgeser.atomic as atomic

    fe = CountingFrontend()
    cache = FeatureCache(tmp_path, FrontendConfig(), compute=fe)

    def crash(path, data):
        with atomic.atomic_path(path) as tmp:
            tmp.write_bytes(data[: len(data) // 3])
            raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "write_bytes", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.features(audio(3))
    monkeypatch.undo()
    assert not cache.path_for(audio(3)).exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".json"] == []
    cache.features(audio(3))
    assert cache.path_for(audio(3)).exists() and fe.calls == 2


def test_audio_hash_and_file_entry(tmp_path):
    from edgeser.corpora.audio import write_wav

    assert audio_hash(audio(0), 16000) != audio_hash(audio(0), 8000)
    with pytest.raises(TypeError):
        audio_hash(audio(0).astype(np.float32), 16000)
    write_wav(tmp_path / "a.wav", audio(4))
    fe = CountingFrontend()
    cache = FeatureCache(tmp_path / "cache", FrontendConfig(), compute=fe)
    assert np.array_equal(cache.features_for_file(tmp_path / "a.wav"), cache.features(audio(4)))
    assert fe.calls == 1


def test_default_is_the_real_frontend(tmp_path):
    pytest.importorskip("edgeser.frontend.features", reason="frontend/features.py (compute_features) not written yet")
    from edgeser.frontend.features import compute_features

    config = FrontendConfig()
    cache = FeatureCache(tmp_path, config)
    x = audio(5)
    got = cache.features(x)
    assert np.array_equal(got, compute_features(x, config))
    assert np.array_equal(cache.features(x), got) and cache.stats.hits == 1
