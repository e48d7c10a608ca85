"""Streaming: any chunking of the audio gives exactly the batch result; state round-trips."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from edgeser.frontend.config import PRESETS, FrontendConfig
from edgeser.frontend.microfrontend import FrontendState, MicroFrontend, compute_raw


def _speechlike(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 150 + 30 * np.sin(2 * np.pi * 2 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.abs(np.sin(2 * np.pi * 1.5 * t))
    x = 6000 * env * voiced + 300 * rng.standard_normal(n)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _stream(frontend: MicroFrontend, audio: np.ndarray, sizes) -> np.ndarray:
    outs = []
    pos = 0
    for size in sizes:
        if pos >= audio.size:
            break
        outs.append(frontend.process(audio[pos : pos + size]))
        pos += size
    assert pos >= audio.size
    return np.concatenate(outs, axis=0) if outs else np.zeros((0, frontend.num_channels), np.uint16)


def _chunks(kind: str, config: FrontendConfig, n: int):
    if kind == "one":
        return [1] * n
    if kind == "seven":
        return [7] * (n // 7 + 1)
    if kind == "stride":
        return [config.stride_samples] * (n // config.stride_samples + 1)
    if kind == "window":
        return [config.window_samples] * (n // config.window_samples + 1)
    rng = np.random.default_rng(3)
    sizes = list(rng.integers(0, 3 * config.window_samples, n // 50 + 10))
    while sum(sizes) < n:
        sizes.append(int(rng.integers(1, 2000)))
    return sizes


@pytest.mark.parametrize("preset", ["micro_speech", "coralmicro"])
@pytest.mark.parametrize("kind", ["one", "seven", "stride", "window", "random"])
def test_chunked_equals_batch(preset, kind):
    config = PRESETS[preset]
    seconds = 0.35 if kind == "one" else 1.5  # 1-sample chunks: keep the clip short
    audio = _speechlike(seconds, config.sample_rate)
    batch = compute_raw(audio, config)
    streamed = _stream(MicroFrontend(config), audio, _chunks(kind, config, audio.size))
    assert streamed.dtype == np.uint16
    assert streamed.shape == batch.shape
    assert np.array_equal(streamed, batch)


def test_state_save_restore_mid_stream(tmp_path):
    config = PRESETS["micro_speech"]
    audio = _speechlike(2.0, config.sample_rate, seed=1)
    batch = compute_raw(audio, config)
    cut = 12345  # not a multiple of the stride: leaves pending samples

    first = MicroFrontend(config)
    head = first.process(audio[:cut])
    state = first.get_state()
    assert isinstance(state, FrontendState)
    assert state.pending.dtype == np.int16 and 0 < state.pending.size < config.window_samples
    assert state.noise_estimate.dtype == np.uint32 and state.noise_estimate.shape == (config.num_channels,)
    assert state.noise_estimate.any()

    # pickle round-trip
    restored = pickle.loads(pickle.dumps(state))
    second = MicroFrontend(config)
    second.set_state(restored)
    tail = second.process(audio[cut:])
    assert np.array_equal(np.concatenate([head, tail]), batch)

    # np.savez round-trip
    path = tmp_path / "state.npz"
    np.savez(path, **state.to_dict())
    with np.load(path, allow_pickle=False) as data:
        loaded = FrontendState.from_dict(data)
    assert loaded == state
    third = MicroFrontend(config)
    third.set_state(loaded)
    assert np.array_equal(np.concatenate([head, third.process(audio[cut:])]), batch)

    # the original keeps going independently of the copies
    assert np.array_equal(np.concatenate([head, first.process(audio[cut:])]), batch)


def test_reset_starts_over():
    config = PRESETS["micro_speech"]
    audio = _speechlike(1.0, config.sample_rate, seed=2)
    fe = MicroFrontend(config)
    a = fe.process(audio)
    fe.reset()
    assert fe.get_state().pending.size == 0
    assert not fe.get_state().noise_estimate.any()
    b = fe.process(audio)
    assert np.array_equal(a, b)


def test_state_from_other_config_is_refused():
    a = MicroFrontend(PRESETS["micro_speech"])
    b = MicroFrontend(PRESETS["coralmicro"])
    a.process(np.zeros(1000, dtype=np.int16))
    with pytest.raises(ValueError):
        b.set_state(a.get_state())


def test_empty_and_sub_window_chunks_return_no_frames():
    config = PRESETS["coralmicro"]
    fe = MicroFrontend(config)
    assert fe.process(np.zeros(0, dtype=np.int16)).shape == (0, config.num_channels)
    assert fe.process(np.zeros(config.window_samples - 1, dtype=np.int16)).shape == (0, config.num_channels)
    assert fe.process(np.zeros(1, dtype=np.int16)).shape == (1, config.num_channels)
