"""Voice transforms move f0, formants and tempo by the requested ratios, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

from edgeser.corpora.voice import (VoiceSettings, VoiceTransform, random_voice_transform, transform_voice,
                                   warp_formants)
from edgeser.settings import SettingsError

SR = 16000
F0 = 110.0
FORMANTS = np.array([700.0, 1220.0, 2600.0])


def vowel(seconds=1.0, f0=F0):
    """An /a/-like vowel: a glottal impulse train at f0 through three two-pole formant resonators."""
    n = int(seconds * SR)
    x = np.zeros(n)
    x[np.arange(0, n, SR / f0).astype(int)] = 1.0
    for freq, bandwidth in zip(FORMANTS, (80.0, 90.0, 120.0)):
        r, theta = np.exp(-np.pi * bandwidth / SR), 2 * np.pi * freq / SR
        x = ss.lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)
    return 0.3 * x / np.max(np.abs(x))


def formants(y):
    """Formant frequencies (Hz) from the roots of a 10th-order LPC of the pre-emphasised clip."""
    import librosa

    y = ss.lfilter([1, -0.63], [1], y)
    roots = np.roots(librosa.lpc(y * np.hamming(y.size), order=10))
    roots = roots[np.imag(roots) > 0]
    freqs = np.angle(roots) * SR / (2 * np.pi)
    bandwidths = -np.log(np.abs(roots)) * SR / np.pi
    return np.sort(freqs[(freqs > 200) & (bandwidths < 500)])


def f0_of(y):
    """Median YIN f0 (Hz) away from the edges."""
    import librosa

    f0 = librosa.yin(y, fmin=60, fmax=500, sr=SR, frame_length=1024)
    return float(np.median(f0[5:-5]))


def test_the_measurements_see_the_synthetic_vowel():
    x = vowel()
    assert f0_of(x) == pytest.approx(F0, rel=0.005)
    assert np.allclose(formants(x), FORMANTS, rtol=0.02)


@pytest.mark.parametrize("semitones", [-3.0, 2.0, 4.0])
def test_pitch_moves_f0_by_the_semitone_ratio_and_keeps_formants_and_length(semitones):
    x = vowel()
    y = transform_voice(x, SR, VoiceTransform(semitones=semitones))
    assert y.shape == x.shape
    assert f0_of(y) / F0 == pytest.approx(2 ** (semitones / 12), rel=0.01)
    assert np.allclose(formants(y)[:3], FORMANTS, rtol=0.04)


@pytest.mark.parametrize("ratio", [0.85, 0.9, 1.1, 1.15])
def test_formant_shift_moves_the_envelope_peaks_and_keeps_f0(ratio):
    x = vowel()
    y = transform_voice(x, SR, VoiceTransform(formant_ratio=ratio))
    assert y.shape == x.shape
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-9)
    assert np.allclose(formants(y)[:3] / FORMANTS, ratio, rtol=0.04)
    assert f0_of(y) == pytest.approx(F0, rel=0.03)


@pytest.mark.parametrize("rate", [0.9, 1.1, 1.25])
def test_rate_scales_duration_and_keeps_f0(rate):
    x = vowel()
    y = transform_voice(x, SR, VoiceTransform(rate=rate))
    assert y.size == pytest.approx(x.size / rate, abs=2)
    assert f0_of(y) == pytest.approx(F0, rel=0.03)


def test_all_knobs_together_and_int16():
    x = (vowel() * 32767).astype(np.int16)
    t = VoiceTransform(semitones=-2.0, formant_ratio=1.1, rate=1.1)
    y = transform_voice(x, SR, t)
    assert y.dtype == np.int16 and y.size == pytest.approx(x.size / 1.1, abs=2)
    yf = y.astype(np.float64) / 32768
    assert f0_of(yf) / F0 == pytest.approx(2 ** (-2 / 12), rel=0.01)
    assert np.allclose(formants(yf)[:3] / FORMANTS, 1.1, rtol=0.05)


def test_identity_and_silence_are_exact():
    x = vowel(0.3)
    assert np.array_equal(transform_voice(x, SR, VoiceTransform()), x)
    assert np.array_equal(warp_formants(np.zeros(4000), SR, 1.2), np.zeros(4000))


def test_random_transform_is_seeded_and_within_ranges():
    settings = VoiceSettings(semitones_max=2.0, formant_ratio=(0.9, 1.2), rate=(0.8, 1.0))
    draws = [random_voice_transform(np.random.default_rng(s), settings) for s in range(50)]
    assert all(-2 <= d.semitones <= 2 and 0.9 <= d.formant_ratio <= 1.2 and 0.8 <= d.rate <= 1.0 for d in draws)
    assert len({d.semitones for d in draws}) == 50
    assert random_voice_transform(np.random.default_rng(3), settings) == draws[3]


def test_bad_settings_and_audio_are_refused():
    with pytest.raises(SettingsError, match="formant_ratio"):
        VoiceTransform(formant_ratio=0.0)
    with pytest.raises(SettingsError, match="rate"):
        VoiceSettings(rate=(1.1, 0.9))
    with pytest.raises(SettingsError, match="semitones_max"):
        VoiceSettings(semitones_max=-1)
    with pytest.raises(ValueError, match="1-D"):
        transform_voice(np.zeros((2, 100)), SR, VoiceTransform(rate=1.1))


def test_real_clip_keeps_length_and_moves_f0_as_asked(ravdess_root):
    """One RAVDESS clip (male, Actor_01): per-frame pYIN f0 ratio over frames voiced before and after."""
    import librosa

    from edgeser.corpora import read_corpus
    from edgeser.corpora.augment import to_float
    from edgeser.datasets import utterance_audio

    utt = read_corpus("ravdess", ravdess_root).utterances[0]
    x = to_float(utterance_audio(utt, SR))[: 2 * SR]

    def track(y):
        f0, voiced, _ = librosa.pyin(y, fmin=60, fmax=500, sr=SR, frame_length=1024, hop_length=256)
        return np.where(voiced, f0, np.nan)

    before = track(x)
    for t, ratio in ((VoiceTransform(semitones=3.0), 2 ** (3 / 12)), (VoiceTransform(formant_ratio=1.15), 1.0)):
        y = transform_voice(x, SR, t)
        assert y.shape == x.shape
        ratios = track(y) / before
        ratios = ratios[~np.isnan(ratios)]
        assert ratios.size > 20
        assert np.median(ratios) == pytest.approx(ratio, rel=0.02)
