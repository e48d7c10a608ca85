"""The NumPy MicroFrontend is bit-exact with TensorFlow's audio_microfrontend op.

Real speech (a handful of RAVDESS clips), several settings (both presets and
non-default ones) and edge cases (silence, clipping, DC, band-edge tones,
sub-window clips, a 60 s clip, full-scale noise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeser.frontend.config import PRESETS, FrontendConfig
from edgeser.frontend.features import compute_features, to_int8
from edgeser.frontend.microfrontend import compute_raw, frontend_tables

RAVDESS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ravdess"

CONFIGS: dict[str, FrontendConfig] = {
    "micro_speech": PRESETS["micro_speech"],
    "coralmicro": PRESETS["coralmicro"],
    # 48 channels, 32/16 ms windows (fft 512), different NR smoothing, PCAN and log shift.
    "ch48_32ms": FrontendConfig(
        window_ms=32,
        stride_ms=16,
        num_channels=48,
        lower_band_hz=60.0,
        upper_band_hz=7800.0,
        smoothing_bits=8,
        even_smoothing=0.04,
        odd_smoothing=0.1,
        min_signal_remaining=0.1,
        pcan_strength=0.8,
        pcan_offset=40.0,
        gain_bits=20,
        log_shift=5,
    ),
    # 8 kHz telephone band (fft 256), no PCAN.
    "8khz": FrontendConfig(
        sample_rate=8000,
        window_ms=32,
        stride_ms=10,
        num_channels=24,
        lower_band_hz=100.0,
        upper_band_hz=3800.0,
        pcan=False,
        log_shift=7,
    ),
    # Linear output (no log): the op returns the clipped uint32 values as uint16.
    "linear": FrontendConfig(num_channels=32, pcan=False, log_scale=False),
    # PCAN without noise reduction (zero noise estimate feeds the gain).
    "pcan_no_nr": FrontendConfig(noise_reduction=False, pcan=True, num_channels=20),
    # Integer-width extremes: signal << 16 wraps in NR, loge << 12 wraps, negative PCAN snr shift.
    "extreme": FrontendConfig(smoothing_bits=16, log_shift=12, gain_bits=12, pcan_offset=0.0),
    # 64/32 ms: a 1024-point FFT (radix 2 stage); and a tiny 4 ms window (64-point FFT).
    "fft1024": FrontendConfig(window_ms=64, stride_ms=32),
    "fft64": FrontendConfig(window_ms=4, stride_ms=2, num_channels=8, lower_band_hz=500.0, upper_band_hz=7000.0),
}


@pytest.fixture(scope="module")
def tf_reference():
    try:
        from edgeser.frontend.tf_reference import tf_microfrontend

        tf_microfrontend(np.zeros(480, dtype=np.int16), PRESETS["micro_speech"])
    except ImportError as exc:  # pragma: no cover - TF is a dependency
        pytest.skip(f"TensorFlow's audio_microfrontend op is not importable: {exc}")
    return tf_microfrontend


def assert_bit_exact(ours: np.ndarray, ref: np.ndarray, what: str) -> None:
    assert ours.dtype == np.uint16, f"{what}: dtype {ours.dtype}"
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs TF {ref.shape}"
    if not np.array_equal(ours, ref):
        diff = np.abs(ours.astype(np.int64) - ref.astype(np.int64))
        frame, chan = np.unravel_index(int(np.argmax(diff)), diff.shape)
        pytest.fail(
            f"{what}: not bit-exact; max |diff| = {int(diff.max())} at frame {frame} channel {chan}, "
            f"{int((diff > 0).sum())} of {diff.size} values differ"
        )


def ravdess_clips(count: int = 4) -> list[Path]:
    if not RAVDESS.is_dir():
        pytest.skip(f"real RAVDESS clips not found at {RAVDESS} (../shared/data/ravdess); this test needs them")
    actors = sorted(p for p in RAVDESS.iterdir() if p.is_dir())
    clips = []
    for i, actor in enumerate(actors[:count]):
        wavs = sorted(actor.glob("*.wav"))
        if wavs:
            clips.append(wavs[(7 * i) % len(wavs)])
    if not clips:
        pytest.skip(f"no .wav clips under {RAVDESS}")
    return clips


# --------------------------------------------------------------------------- real speech


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["micro_speech", "coralmicro", "ch48_32ms", "8khz", "linear", "pcan_no_nr", "extreme"])
def test_ravdess_speech_bit_exact(name, tf_reference):
    from edgeser.corpora.audio import load_audio

    config = CONFIGS[name]
    for path in ravdess_clips():
        audio = load_audio(path, config.sample_rate)
        ours = compute_raw(audio, config)
        assert_bit_exact(ours, tf_reference(audio, config), f"{name} on {path.name}")
        assert ours.shape == (config.num_frames(audio.size), config.num_channels)


# --------------------------------------------------------------------------- edge cases


def _tone(freq: float, seconds: float, rate: int, amplitude: float = 20000.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def edge_signals(config: FrontendConfig) -> dict[str, np.ndarray]:
    rate = config.sample_rate
    n = rate  # 1 s
    rng = np.random.default_rng(1234)
    square = np.where(np.sin(2 * np.pi * 440 * np.arange(n) / rate) >= 0, 32767, -32768).astype(np.int16)
    clipped = np.clip(3.0 * _tone(300, 1.0, rate, 32767).astype(np.float64), -32768, 32767).astype(np.int16)
    signals = {
        "silence": np.zeros(n, dtype=np.int16),
        "square_full_scale": square,
        "sine_clipped": clipped,
        "dc_offset": (np.full(n, 12000) + rng.integers(-200, 200, n)).astype(np.int16),
        "dc_negative_full": np.full(n, -32768, dtype=np.int16),
        "tone_lower_edge": _tone(config.lower_band_hz, 1.0, rate),
        "tone_upper_edge": _tone(config.upper_band_hz, 1.0, rate),
        "tone_nyquist": _tone(rate / 2 - 1, 1.0, rate),
        "tiny_noise": rng.integers(-2, 3, n).astype(np.int16),
        "noise_full_scale": rng.integers(-32768, 32768, n).astype(np.int16),
        "impulses": np.where(np.arange(n) % 997 == 0, -32768, 0).astype(np.int16),
        "one_window": rng.integers(-5000, 5000, config.window_samples).astype(np.int16),
        "window_minus_one": rng.integers(-5000, 5000, config.window_samples - 1).astype(np.int16),
        "empty": np.zeros(0, dtype=np.int16),
    }
    return signals


@pytest.mark.parametrize("name", list(CONFIGS))
def test_edge_cases_bit_exact(name, tf_reference):
    config = CONFIGS[name]
    for label, audio in edge_signals(config).items():
        ours = compute_raw(audio, config)
        assert_bit_exact(ours, tf_reference(audio, config), f"{name}/{label}")


def test_shorter_than_one_window_gives_zero_frames():
    config = PRESETS["micro_speech"]
    out = compute_raw(np.ones(config.window_samples - 1, dtype=np.int16), config)
    assert out.shape == (0, config.num_channels)
    assert out.dtype == np.uint16
    assert compute_features(np.zeros(10, dtype=np.int16), config).shape == (0, config.num_channels)


def test_sixty_second_clip_bit_exact(tf_reference):
    config = PRESETS["micro_speech"]
    rate = config.sample_rate
    rng = np.random.default_rng(7)
    t = np.arange(60 * rate) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 0.3 * t)
    signal = 8000 * envelope * np.sin(2 * np.pi * (200 + 100 * np.sin(2 * np.pi * 0.1 * t)) * t)
    signal += 500 * rng.standard_normal(t.size)
    audio = np.clip(np.round(signal), -32768, 32767).astype(np.int16)
    ours = compute_raw(audio, config)
    assert ours.shape == (config.num_frames(audio.size), config.num_channels) == (2999, 40)
    assert_bit_exact(ours, tf_reference(audio, config), "micro_speech/60s")


# --------------------------------------------------------------------------- details


def test_tables_match_c_layout():
    t = frontend_tables(PRESETS["micro_speech"])
    assert (t.window_size, t.step, t.fft_size) == (480, 320, 512)
    assert t.coefficients.min() >= 0 and t.coefficients.max() <= 4096
    assert t.correction_bits == 3 and t.snr_shift == 6
    # radix-4 factorisation of the 256-point complex FFT
    assert [(s.radix, s.m) for s in t.stages] == [(4, 1), (4, 4), (4, 16), (4, 64)]
    t1024 = frontend_tables(FrontendConfig(window_ms=64, stride_ms=32))
    assert [s.radix for s in t1024.stages] == [2, 4, 4, 4, 4]


def test_int8_mapping_matches_docstring():
    config = PRESETS["micro_speech"]
    raw = np.array([0, 1, 2, 332, 333, 665, 666, 667, 65535], dtype=np.uint16)
    expected = [
        max(-128, min(127, (int(r) * 256 + 666 // 2) // 666 - 128)) for r in raw
    ]
    assert to_int8(raw, config).tolist() == expected
    assert to_int8(raw, config)[0] == -128 and to_int8(raw, config)[-1] == 127
    assert to_int8(raw, config).dtype == np.int8

def _c_accumulate(t, energy_row: list[int]) -> list[int]:
    """FilterbankAccumulateChannels + the work[1:] slice, transcribed literally (Python ints, mod 2**64)."""
    mask = (1 << 64) - 1
    full = [0] * (t.fft_size // 2 + 1)
    full[t.start_index : t.end_index] = energy_row
    work = []
    weight_acc = unweight_acc = 0
    for chan in range(t.num_channels + 1):
        fs = int(t.channel_frequency_starts[chan])
        ws = int(t.channel_weight_starts[chan])
        for j in range(int(t.channel_widths[chan])):
            mag = full[fs + j] & mask  # (uint64_t) of an int32: sign extension mod 2**64
            weight_acc = (weight_acc + int(t.weights[ws + j]) * mag) & mask
            unweight_acc = (unweight_acc + int(t.unweights[ws + j]) * mag) & mask
        work.append(weight_acc)
        weight_acc, unweight_acc = unweight_acc, 0
    return work[1:]


def _c_sqrt64(num: int) -> int:
    """Sqrt64/Sqrt32 from filterbank.c, transcribed bit by bit."""
    if num >> 32 == 0:
        if num == 0:
            return 0
        res, bits = 0, 32
        cap = 0xFFFF
    else:
        res, bits = 0, 64
        cap = 0xFFFFFFFF
    max_bit = (bits - num.bit_length()) | 1
    bit = 1 << (bits - 1 - max_bit)
    for _ in range((bits - 1 - max_bit) // 2 + 1):
        if num >= res + bit:
            num -= res + bit
            res = (res >> 1) + bit
        else:
            res >>= 1
        bit >>= 2
    if num > res and res != cap:
        res += 1
    return res


@pytest.mark.parametrize("name", ["micro_speech", "coralmicro", "ch48_32ms", "8khz"])
def test_filterbank_accumulation_matches_c_loop(name):
    from edgeser.frontend import microfrontend as mf

    t = frontend_tables(CONFIGS[name])
    rng = np.random.default_rng(5)
    nb = t.end_index - t.start_index
    energy = rng.integers(0, 2**31, (nb, 3)).astype(np.int64)
    energy[::7, 1] = 2**31 - 1
    fast = (t.weights_matrix_t @ energy.astype(np.float64)).T
    for f in range(3):
        assert fast[f].astype(np.uint64).tolist() == _c_accumulate(t, energy[:, f].tolist())
    # the wrapped (-2**31) energy of a (-32768, -32768) bin takes the exact uint64 path
    wrapped = energy.astype(np.int32)
    wrapped[5, 0] = -(2**31)
    exact = mf._accumulate_exact(t, wrapped)
    for f in range(3):
        assert exact[f].tolist() == _c_accumulate(t, wrapped[:, f].astype(np.int64).tolist())


def test_sqrt_matches_c_bit_loop():
    from edgeser.frontend import microfrontend as mf

    rng = np.random.default_rng(9)
    values = [0, 1, 2, 3, 4, 65535**2, 65535**2 + 65535, 65535**2 + 65536, 2**32 - 1, 2**32, 2**32 + 1,
              2**40 + 12345, 2**52 - 1]
    values += [int(v) for v in rng.integers(0, 2**52, 200)]
    values += [int(k) * int(k) + d for k in rng.integers(1, 2**26, 50) for d in (-1, 0, 1)]
    fast = mf._sqrt_rounded(np.array(values, dtype=np.float64))
    assert fast.tolist() == [_c_sqrt64(v) for v in values]
    huge = [2**64 - 2**31, 2**63 + 5, 2**60]
    assert mf._sqrt_rounded_exact(np.array(huge, dtype=np.uint64)).tolist() == [_c_sqrt64(v) for v in huge]


def _c_log(x: int, scale_shift: int) -> int:
    """Log() from log_scale.c for x > 1 (uint32 arithmetic)."""
    from edgeser.frontend.microfrontend import _LOG_LUT

    m32 = 0xFFFFFFFF
    integer = x.bit_length() - 1
    frac = x - (1 << integer)
    frac = frac << (16 - integer) if integer < 16 else frac >> (integer - 16)
    base_seg = frac >> 9
    c0, c1 = int(_LOG_LUT[base_seg]), int(_LOG_LUT[base_seg + 1])
    rel_pos = ((c1 - c0) * (frac - 512 * base_seg)) >> 16
    log2 = ((integer << 16) + frac + c0 + rel_pos) & m32
    loge = ((45426 * log2 + 32768) >> 16) & m32
    return ((((loge << scale_shift) & m32) + 32768) & m32) >> 16


def _c_wide_dynamic(x: int, lut: list[int]) -> int:
    if x <= 2:
        return lut[x]
    interval = x.bit_length()
    base = 4 * interval - 6
    frac = ((x << (11 - interval)) & 0xFFFFFFFF if interval < 11 else x >> (interval - 11)) & 0x3FF
    result = (lut[base + 2] * frac) >> 5
    result += lut[base + 1] << 5
    result *= frac
    result = ((result + 2**31) % 2**32) - 2**31
    result = (result + (1 << 14)) >> 15
    result += lut[base]
    return ((result + 32768) & 0xFFFF) - 32768


@pytest.mark.parametrize("name", ["micro_speech", "ch48_32ms", "8khz"])
@pytest.mark.parametrize("log_shift", [0, 6, 11, 15])
def test_log_scale_matches_c(name, log_shift):
    from edgeser.frontend import microfrontend as mf

    config = CONFIGS[name].replace(log_shift=log_shift)
    t = frontend_tables(config)
    rng = np.random.default_rng(log_shift)
    values = np.concatenate([
        np.arange(0, 70000), rng.integers(0, 2**32, 20000), 2 ** np.arange(32), 2 ** np.arange(1, 33) - 1,
    ]).astype(np.int64)
    ours = mf._log_scale(t, values)
    cb = t.correction_bits
    expected = []
    for v in values.tolist():
        v = v >> -cb if cb < 0 else (v << cb) & 0xFFFFFFFF
        expected.append(min(_c_log(v, log_shift) if v > 1 else 0, 0xFFFF))
    assert ours.tolist() == expected


@pytest.mark.parametrize("name", ["micro_speech", "ch48_32ms", "pcan_no_nr"])
def test_pcan_matches_c(name):
    from edgeser.frontend import microfrontend as mf

    t = frontend_tables(CONFIGS[name])
    rng = np.random.default_rng(11)
    n = 20000
    estimate = np.concatenate([np.arange(0, 3000), rng.integers(0, 2**32, n - 3000 - 64),
                               2 ** np.arange(32), 2 ** np.arange(1, 33) - 1]).astype(np.int64)
    signal = rng.integers(0, 2**32, estimate.size).astype(np.int64)
    signal[::3] = rng.integers(0, 3000, signal[::3].size)
    ours = mf._pcan(t, signal, estimate)
    lut = t.gain_lut.tolist()
    expected = []
    for s, e in zip(signal.tolist(), estimate.tolist()):
        gain = _c_wide_dynamic(e, lut) & 0xFFFFFFFF
        snr = ((s * gain) >> (t.snr_shift & 63)) & 0xFFFFFFFF
        expected.append((snr * snr) >> 20 if snr < 8192 else (snr >> 6) - 64)
    assert ours.tolist() == expected


def test_impossible_filterbank_is_refused_like_the_c_library():
    # 120 channels from 20 Hz need more FFT bins than a 512-point FFT has: the C library
    # (and the TF op) refuse to populate the state; so do we.
    config = FrontendConfig(num_channels=120, lower_band_hz=20.0, upper_band_hz=8000.0)
    with pytest.raises(ValueError, match="end_index"):
        compute_raw(np.zeros(16000, dtype=np.int16), config)
