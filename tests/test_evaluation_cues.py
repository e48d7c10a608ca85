"""Acoustic cues (edgeser.evaluation.cues) on synthetic clips with known changes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeser.evaluation.cues import (
    CONTEXT_KEYS,
    CUE_KEYS,
    EMOTIONS,
    EXPECTED_DIRECTION,
    CueSettings,
    agreement,
    analyse,
    compute_cues,
    summarise,
)
from edgeser.settings import SettingsError

SR = 16000
HARMONICS = (1.0, 0.5, 0.3, 0.2)


def harmonic(freq_per_sample: np.ndarray, amplitude: float = 0.3) -> np.ndarray:
    """A harmonic tone following an instantaneous frequency track (Hz per sample)."""
    phase = 2 * np.pi * np.cumsum(freq_per_sample) / SR
    return amplitude * sum(a * np.sin((h + 1) * phase) for h, a in enumerate(HARMONICS)) / sum(HARMONICS)


def perturbed_track(f0: float, jitter: float, seconds: float, seed: int = 0) -> np.ndarray:
    """Per-sample frequency: every period drawn with length (1 + U(-jitter, jitter)) / f0."""
    rng = np.random.default_rng(seed)
    out = np.empty(int(seconds * SR))
    pos = 0.0
    while int(round(pos)) < len(out):
        length = SR * (1 + rng.uniform(-jitter, jitter)) / f0
        out[int(round(pos)) : int(round(pos + length))] = SR / length
        pos += length
    return out


@pytest.fixture(scope="module")
def two_pitches():
    n = 2 * SR
    return analyse(harmonic(np.where(np.arange(n) < n // 2, 150.0, 250.0)), SR)


def test_pitch_of_each_half(two_pitches):
    first, second = summarise(two_pitches, [(0.0, 1.0)]), summarise(two_pitches, [(1.0, 2.0)])
    assert first["pitch_median_hz"] == pytest.approx(150.0, rel=0.03)
    assert second["pitch_median_hz"] == pytest.approx(250.0, rel=0.03)
    # semitones re 100 Hz: 12 log2(1.5) = 7.02, 12 log2(2.5) = 15.86
    assert first["pitch_median_st"] == pytest.approx(7.02, abs=0.5)
    assert second["pitch_median_st"] == pytest.approx(15.86, abs=0.5)
    assert first["pitch_range_st"] < 0.5  # a steady tone has no range ...
    whole = summarise(two_pitches, None)
    assert whole["pitch_range_st"] == pytest.approx(12 * math.log2(250 / 150), abs=0.6)  # ... the whole clip spans 8.8 st
    assert set(whole) == set(CUE_KEYS) | set(CONTEXT_KEYS)
    assert whole["duration_s"] == pytest.approx(2.0, abs=0.02)
    assert whole["voiced_fraction"] > 0.9


def test_intensity_difference_of_12_db():
    n = 2 * SR
    audio = harmonic(np.full(n, 200.0), amplitude=0.05)
    audio[n // 2 :] *= 10 ** (12 / 20)
    tracks = analyse(audio, SR)
    quiet, loud = summarise(tracks, [(0.0, 0.95)]), summarise(tracks, [(1.05, 2.0)])
    assert loud["intensity_db"] - quiet["intensity_db"] == pytest.approx(12.0, abs=0.5)
    # the level itself: the tone's RMS in dB re full scale
    rms = np.sqrt(np.mean(audio[: n // 2] ** 2))
    assert quiet["intensity_db"] == pytest.approx(20 * math.log10(rms), abs=0.3)
    # same pitch in both halves, so the pitch difference is ~0
    assert loud["pitch_median_hz"] == pytest.approx(quiet["pitch_median_hz"], rel=0.01)


def test_jitter_shimmer_hnr_of_clean_perturbed_and_noisy_tones():
    seconds = 1.5
    clean = compute_cues(harmonic(np.full(int(seconds * SR), 200.0)), SR)
    jittery = compute_cues(harmonic(perturbed_track(200.0, 0.02, seconds)), SR)
    tone = harmonic(np.full(int(seconds * SR), 200.0))
    noise = np.random.default_rng(1).normal(0, tone.std() * 10 ** (-10 / 20), tone.size)  # SNR 10 dB
    noisy = compute_cues(tone + noise, SR)
    assert clean["jitter_local_pct"] < 0.05 and clean["shimmer_local_pct"] < 0.05
    # uniform period perturbation of +-2 %: mean |dT|/T = 2 * 0.02 / 3 = 1.33 %
    assert 0.6 < jittery["jitter_local_pct"] < 2.0
    assert clean["hnr_db"] > 30
    assert noisy["hnr_db"] == pytest.approx(10.0, abs=3.0)  # HNR of a periodic signal + white noise ~ its SNR
    assert noisy["shimmer_local_pct"] > clean["shimmer_local_pct"] + 1


def test_speech_rate_counts_intensity_bumps():
    t = np.arange(2 * SR) / SR
    envelope = 0.05 + np.clip(np.sin(np.pi * 8 * t), 0, None) ** 2  # 4 bumps per second
    cues = compute_cues(harmonic(np.full(t.size, 150.0)) * envelope, SR)
    assert cues["speech_rate_sps"] == pytest.approx(4.0, abs=0.6)


def test_spectral_balance_follows_the_harmonics():
    t = np.arange(SR) / SR
    dull = 0.3 * np.sin(2 * np.pi * 200 * t) + 0.003 * np.sin(2 * np.pi * 3000 * t)  # -40 dB at 3 kHz
    bright = 0.3 * np.sin(2 * np.pi * 200 * t) + 0.03 * np.sin(2 * np.pi * 3000 * t)  # -20 dB at 3 kHz
    a, b = compute_cues(dull, SR), compute_cues(bright, SR)
    assert a["alpha_ratio_db"] == pytest.approx(-40.0, abs=1.0)
    assert b["alpha_ratio_db"] == pytest.approx(-20.0, abs=1.0)
    assert a["hammarberg_db"] == pytest.approx(40.0, abs=1.0)
    assert b["spectral_slope_db_oct"] > a["spectral_slope_db_oct"]


def test_silence_and_empty_regions_are_nan():
    cues = compute_cues(np.zeros(SR), SR)
    assert math.isnan(cues["pitch_median_hz"]) and math.isnan(cues["jitter_local_pct"]) and math.isnan(cues["hnr_db"])
    assert cues["voiced_fraction"] == 0.0 and cues["speech_rate_sps"] == 0.0
    empty = compute_cues(np.zeros(SR), SR, mask_seconds=[(5.0, 6.0)])
    assert empty["duration_s"] == 0.0 and math.isnan(empty["intensity_db"])
    with pytest.raises(ValueError, match="ends before"):
        compute_cues(np.zeros(SR), SR, mask_seconds=[(0.5, 0.2)])
    with pytest.raises(ValueError, match="NaN"):
        compute_cues(np.full(SR, np.nan), SR)


def test_expected_directions_and_agreement():
    assert set(EXPECTED_DIRECTION) == set(EMOTIONS)
    for emotion, row in EXPECTED_DIRECTION.items():
        assert set(row) == set(CUE_KEYS) and set(row.values()) <= {-1, 0, 1}, emotion
    assert all(v == 0 for v in EXPECTED_DIRECTION["neutral"].values())
    for emotion in ("angry", "happy", "fearful"):
        assert EXPECTED_DIRECTION[emotion]["pitch_median_st"] == 1 and EXPECTED_DIRECTION[emotion]["intensity_db"] == 1
    sad = EXPECTED_DIRECTION["sad"]
    assert (sad["pitch_median_st"], sad["intensity_db"], sad["speech_rate_sps"], sad["pitch_range_st"]) == (-1, -1, -1, -1)
    assert agreement("sad", "intensity_db", -3.0) == "agree"
    assert agreement("angry", "intensity_db", -3.0) == "disagree"
    assert agreement("angry", "hnr_db", 5.0) == "n.a."
    assert agreement("angry", "intensity_db", math.nan) == "n.a."
    assert agreement("angry", "hammarberg_db", -2.0) == "agree"  # more high-frequency energy: smaller index


def test_settings_are_validated():
    with pytest.raises(SettingsError, match="fmin"):
        CueSettings(fmin=600.0)
    with pytest.raises(SettingsError, match="period_factor"):
        CueSettings(period_factor=1.0)
