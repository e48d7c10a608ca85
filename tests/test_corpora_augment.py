"""Augmentation does what it promises: SNR, masks' share, determinism, channel shape."""

from __future__ import annotations

import numpy as np
import pytest

from edgeser.corpora import augment as A

SR = 16000


def speech_like(seconds=1.0, seed=0, dtype=np.int16):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.2 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(t.size)
    return (x * 32768).astype(np.int16) if dtype == np.int16 else x


@pytest.mark.parametrize("kind", ["white", "pink", "babble", "file"])
@pytest.mark.parametrize("snr", [-5.0, 0.0, 10.0, 20.0])
def test_snr_is_exact(kind, snr, tmp_path):
    clean = speech_like()
    sources = {"clips": [speech_like(0.7, s) for s in (1, 2, 3)]}
    if kind == "file":
        from edgeser.corpora.audio import write_wav

        write_wav(tmp_path / "noise.wav", speech_like(0.5, 9), SR)
        sources = {"files": [tmp_path / "noise.wav"]}
    noisy = A.add_noise_at_snr(clean, snr, np.random.default_rng(0), kind, **sources)
    assert noisy.dtype == np.int16 and noisy.shape == clean.shape
    assert abs(A.snr_db(clean, noisy) - snr) < 0.1
    again = A.add_noise_at_snr(clean, snr, np.random.default_rng(0), kind, **sources)
    assert np.array_equal(noisy, again)


def test_snr_float_and_noise_shapes():
    clean = speech_like(dtype=np.float64)
    noisy = A.add_noise_at_snr(clean, 5.0, np.random.default_rng(1), "pink")
    assert noisy.dtype == np.float64 and abs(A.snr_db(clean, noisy) - 5.0) < 1e-6
    pink = A.pink_noise(1 << 15, np.random.default_rng(0))
    spec = np.abs(np.fft.rfft(pink)) ** 2
    low, high = spec[10:100].mean(), spec[10000:11000].mean()
    assert low > 20 * high  # 1/f: far more power at low frequencies
    with pytest.raises(ValueError, match="kind"):
        A.make_noise("brown", 10, np.random.default_rng(0))


def test_device_channel():
    x = speech_like(1.0)
    rng = np.random.default_rng(5)
    y = A.device_channel(x, SR, rng)
    assert y.dtype == np.int16 and y.shape == x.shape
    assert np.array_equal(y, A.device_channel(x, SR, np.random.default_rng(5)))
    assert not np.array_equal(y, A.device_channel(x, SR, np.random.default_rng(6)))
    from scipy.signal import sosfreqz

    gains = {}
    for f in (40, 1000, 3500, 7600):
        h = 1.0
        for sos in A.mems_response(SR):
            _, resp = sosfreqz(sos, worN=[f], fs=SR)
            h *= abs(resp[0])
        gains[f] = 20 * np.log10(h)
    assert gains[40] < -12 and abs(gains[1000]) < 2 and gains[3500] > gains[1000] + 2 and gains[7600] < -6
    rir = A.room_impulse_response(SR, 0.3, 6.0, np.random.default_rng(0))
    assert rir[0] == 1.0 and abs(10 * np.log10(1 / np.sum(rir[1:] ** 2)) - 6.0) < 1e-6
    tail = rir[1:] ** 2
    first, last = tail[: len(tail) // 10].mean(), tail[-len(tail) // 10:].mean()
    assert 10 * np.log10(first / last) > 40  # exponential decay over the RT60
    loud = A.device_channel(x, SR, np.random.default_rng(0), A.DeviceChannelConfig(gain_db=(30.0, 30.0), clip_level=0.5))
    assert np.abs(loud).max() <= 16384


def test_speed_and_pitch():
    x = speech_like(0.5)
    fast = A.speed_perturb(x, 1.1, SR)
    assert fast.dtype == np.int16 and abs(len(fast) - len(x) / 1.1) <= 2
    assert len(A.speed_perturb(x, 0.9, SR)) == pytest.approx(len(x) / 0.9, abs=2)
    shifted = A.pitch_shift(x, 2.0, SR)
    assert shifted.shape == x.shape
    f = np.fft.rfftfreq(len(x), 1 / SR)
    peak = lambda s: f[np.argmax(np.abs(np.fft.rfft(A.to_float(s))))]
    assert peak(shifted) == pytest.approx(180 * 2 ** (2 / 12), rel=0.05)
    y1, s1 = A.random_pitch(x, np.random.default_rng(3))
    y2, s2 = A.random_pitch(x, np.random.default_rng(3))
    assert s1 == s2 and np.array_equal(y1, y2)
    z, factor = A.random_speed(x, np.random.default_rng(0))
    assert factor in (0.9, 1.0, 1.1)


@pytest.mark.parametrize("share", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_masks_cover_share(share):
    feats = np.random.default_rng(0).integers(-100, 127, size=(98, 40)).astype(np.int8)
    rng = np.random.default_rng(1)
    t = A.time_mask(feats, share, rng, num_masks=3, value=-128)
    masked_frames = np.all(t == -128, axis=1).sum()
    assert masked_frames == round(share * 98)
    f = A.freq_mask(feats, share, rng, num_masks=2, value=-128)
    assert np.all(f == -128, axis=0).sum() == round(share * 40)
    assert t.dtype == np.int8 and feats.min() > -128  # input untouched
    runs = np.diff(np.concatenate([[0], np.all(t == -128, axis=1).astype(int), [0]]))
    assert (runs == 1).sum() <= 3
    assert np.array_equal(t, A.time_mask(feats, share, np.random.default_rng(1), num_masks=3, value=-128))


def test_spec_augment_default_fill():
    feats = np.arange(50 * 10, dtype=np.float32).reshape(50, 10) + 5
    out = A.spec_augment(feats, np.random.default_rng(0), 0.2, 0.3)
    assert np.all(out == 5, axis=1).sum() == 10 and np.all(out == 5, axis=0).sum() == 3


def test_warp_features_stretches_the_mel_and_time_axes():
    from edgeser.corpora.augment import warp_features

    ramp = np.tile(np.arange(40, dtype=np.float32), (30, 1))  # [T, C], value = channel index
    a = np.random.default_rng(5).uniform(0.9, 1.1)
    warped = warp_features(ramp, np.random.default_rng(5), freq_warp=0.1)
    np.testing.assert_allclose(warped[0], np.where(np.arange(40) / a <= 39, np.arange(40) / a, 0.0), atol=1e-5)
    assert np.array_equal(warped[0], warped[-1])  # the same warp for every frame

    frames = np.tile(np.arange(31, dtype=np.float32)[:, None] + 100, (1, 4))  # value = frame + 100
    b = np.random.default_rng(6).uniform(0.8, 1.2)
    slow = warp_features(frames, np.random.default_rng(6), time_warp=0.2, fill=-128)
    want = 15 + (np.arange(31) - 15) / b + 100
    inside = (15 + (np.arange(31) - 15) / b >= 0) & (15 + (np.arange(31) - 15) / b <= 30)
    np.testing.assert_allclose(slow[inside, 0], want[inside], atol=1e-4)
    assert np.all(slow[~inside] == -128)
    assert slow[15, 0] == 115  # the centre frame stays
    # off: the input unchanged, no random draw consumed
    rng = np.random.default_rng(0)
    assert np.array_equal(warp_features(frames, rng), frames) and rng.uniform() == np.random.default_rng(0).uniform()
