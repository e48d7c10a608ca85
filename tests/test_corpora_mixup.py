"""Energy-adaptive mixup: the drawn SNR is realised, labels are energy-weighted distributions."""

from __future__ import annotations

import numpy as np
import pytest

from edgeser.corpora.mixup import EamSettings, energy_adaptive_mixup, mix_batch
from edgeser.settings import SettingsError

SR = 16000


def tone(seconds, freq, amp, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6)) + 0.01 * amp * rng.standard_normal(t.size)


def onehot(k, n=4):
    v = np.zeros(n)
    v[k] = 1.0
    return v


@pytest.mark.parametrize("seed", range(6))
def test_realised_snr_equals_drawn_and_segment_inside(seed):
    a, b = tone(2.0, 200, 0.3, seed), tone(1.2, 330, 0.05, seed + 10)
    settings = EamSettings(snr_db_min=-5, snr_db_max=15, segment_min_s=0.5, segment_max_s=2.0)
    mixed, y, info = energy_adaptive_mixup(a, b, onehot(0), onehot(2), np.random.default_rng(seed), settings, SR)
    assert not info["skipped"]
    assert -5 <= info["snr_db"] <= 15
    assert abs(info["snr_db_realised"] - info["snr_db"]) < 1e-6
    s, n, i, j = info["start_a"], info["length"], info["start_a"], info["start_b"]
    assert 0.5 * SR <= n <= b.size  # clipped to the shorter clip (1.2 s)
    assert 0 <= i and i + n <= a.size and 0 <= j and j + n <= b.size
    # The difference is exactly the scaled b segment, in place, nothing elsewhere.
    diff = mixed - a
    assert np.allclose(diff[s:s + n], info["scale"] * b[j:j + n], atol=1e-12)
    assert np.all(diff[:s] == 0) and np.all(diff[s + n:] == 0)
    measured = 10 * np.log10(np.mean(a[s:s + n] ** 2) / np.mean(diff[s:s + n] ** 2))
    assert abs(measured - info["snr_db"]) < 1e-6
    assert mixed.shape == a.shape and mixed.dtype == np.float64
    assert abs(y.sum() - 1) < 1e-12 and np.all((y >= 0) & (y <= 1))
    assert y[0] == pytest.approx(info["lambda"]) and y[2] == pytest.approx(1 - info["lambda"])


def test_lambda_matches_hand_computation_on_constant_signals():
    # a: constant 0.5 for 1 s; b: constant 0.2 for 1 s; segment exactly 0.5 s; SNR exactly 6 dB.
    a, b = np.full(SR, 0.5), np.full(SR, 0.2)
    settings = EamSettings(snr_db_min=6.0, snr_db_max=6.0, segment_min_s=0.5, segment_max_s=0.5)
    _, y, info = energy_adaptive_mixup(a, b, onehot(1), onehot(3), np.random.default_rng(0), settings, SR)
    # s^2 = P_a / (10^0.6 P_b) = 0.25 / (3.98107 * 0.04); E_a = 16000 * 0.25; E_b = s^2 * 8000 * 0.04
    s2 = 0.25 / (10**0.6 * 0.04)
    e_a, e_b = SR * 0.25, s2 * 8000 * 0.04
    lam = e_a / (e_a + e_b)  # = 1 / (1 + 0.5 / 10^0.6) = 0.888420...
    assert info["length"] == 8000
    assert info["scale"] ** 2 == pytest.approx(s2, rel=1e-12)
    assert info["lambda"] == pytest.approx(lam, rel=1e-12)
    assert lam == pytest.approx(0.8884195, abs=1e-6)
    assert np.allclose(y, [0, lam, 0, 1 - lam])


def test_soft_targets_mix_linearly():
    a, b = tone(1.0, 150, 0.2, 1), tone(1.0, 250, 0.2, 2)
    ya, yb = np.array([0.5, 0.5, 0, 0]), np.array([0, 0.2, 0.8, 0])
    _, y, info = energy_adaptive_mixup(a, b, ya, yb, np.random.default_rng(3), EamSettings(), SR)
    lam = info["lambda"]
    assert np.allclose(y, lam * ya + (1 - lam) * yb) and abs(y.sum() - 1) < 1e-12


def test_seeded_determinism_and_int16():
    a = (tone(1.5, 200, 0.3, 4) * 32768).astype(np.int16)
    b = (tone(1.0, 300, 0.3, 5) * 32768).astype(np.int16)
    runs = [energy_adaptive_mixup(a, b, onehot(0), onehot(1), np.random.default_rng(7), EamSettings(), SR)
            for _ in range(2)]
    assert runs[0][0].dtype == np.int16 and runs[0][0].shape == a.shape
    assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][2] == runs[1][2]
    other = energy_adaptive_mixup(a, b, onehot(0), onehot(1), np.random.default_rng(8), EamSettings(), SR)
    assert other[2]["start_a"] != runs[0][2]["start_a"] or other[2]["snr_db"] != runs[0][2]["snr_db"]


def test_silent_segments_are_redrawn_or_skipped():
    # b is silent except for its last 0.6 s; the segment is 0.5 s long, so only some starts work.
    b = np.zeros(2 * SR)
    b[-int(0.6 * SR):] = tone(0.6, 300, 0.2)
    a = tone(2.0, 200, 0.3)
    settings = EamSettings(segment_min_s=0.5, segment_max_s=0.5)
    for seed in range(5):
        mixed, y, info = energy_adaptive_mixup(a, b, onehot(0), onehot(1), np.random.default_rng(seed), settings, SR)
        if not info["skipped"]:
            assert abs(info["snr_db_realised"] - info["snr_db"]) < 1e-6
            assert np.any(b[info["start_b"]:info["start_b"] + info["length"]] != 0)
    # A wholly silent partner can never be mixed: the anchor comes back unchanged.
    mixed, y, info = energy_adaptive_mixup(a, np.zeros(SR), onehot(0), onehot(1), np.random.default_rng(0), settings, SR)
    assert info["skipped"] and info["lambda"] == 1.0
    assert np.array_equal(mixed, a) and np.array_equal(y, onehot(0))


def test_mix_batch_counts_partners_and_targets():
    audios = [tone(1.0 + 0.1 * k, 150 + 40 * k, 0.1 * (k + 1), k) for k in range(5)]
    targets = np.eye(4)[[0, 1, 2, 3, 0]]
    settings = EamSettings(enabled=True, copies=1.4)
    mixed, y = mix_batch(audios, targets, np.random.default_rng(0), settings, SR)
    assert len(mixed) == 7 and y.shape == (7, 4)
    assert np.allclose(y.sum(axis=1), 1) and np.all((y >= 0) & (y <= 1))
    for clip in mixed:  # each mixed clip is as long as its anchor, and differs from it (a partner was added)
        anchor = [k for k, a in enumerate(audios) if a.size == clip.size]
        assert len(anchor) == 1 and not np.array_equal(clip, audios[anchor[0]])
    again, y2 = mix_batch(audios, targets, np.random.default_rng(0), settings, SR)
    assert all(np.array_equal(p, q) for p, q in zip(mixed, again)) and np.array_equal(y, y2)
    assert mix_batch(audios, targets, np.random.default_rng(0), EamSettings(copies=0), SR)[1].shape == (0, 4)


def test_bad_input_and_settings_are_refused():
    with pytest.raises(SettingsError, match="snr_db_max"):
        EamSettings(snr_db_min=5, snr_db_max=1)
    with pytest.raises(SettingsError, match="segment_min_s"):
        EamSettings(segment_min_s=0)
    with pytest.raises(SettingsError, match="copies"):
        EamSettings(copies=-1)
    a = tone(1.0, 200, 0.2)
    with pytest.raises(ValueError, match="yb must be non-negative and sum to 1"):
        energy_adaptive_mixup(a, a, onehot(0), np.array([0.5, 0.6, 0, 0]), np.random.default_rng(0), EamSettings(), SR)
    with pytest.raises(ValueError, match="different numbers of classes"):
        energy_adaptive_mixup(a, a, onehot(0), onehot(0, 3), np.random.default_rng(0), EamSettings(), SR)
    with pytest.raises(ValueError, match="at least 2 utterances"):
        mix_batch([a], np.eye(4)[:1], np.random.default_rng(0), EamSettings(), SR)
    with pytest.raises(ValueError, match="targets must be"):
        mix_batch([a, a], np.eye(4)[:3], np.random.default_rng(0), EamSettings(), SR)
