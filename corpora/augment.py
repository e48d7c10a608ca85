"""Data augmentation: pure functions, all randomness from an explicit ``np.random.Generator``.

Audio conventions: 1-D arrays ``[samples]``. Float audio is in [-1, 1] (float32 or
float64); int16 audio is full-scale 32768. Every audio function returns the same
dtype it was given (int16 in -> int16 out, rounded half away from zero and
clipped; float in -> float64 out, not clipped unless stated). Feature matrices are
``[frames, channels]`` of any dtype. Same input + same seed -> same output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from edgeser.settings import check

# --------------------------------------------------------------------------- dtype helpers


def to_float(audio: np.ndarray) -> np.ndarray:
    """int16 -> float64 / 32768; float -> float64 copy."""
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        return audio.astype(np.float64) / 32768.0
    if not np.issubdtype(audio.dtype, np.floating):
        raise TypeError(f"audio must be int16 or float, got {audio.dtype}")
    return audio.astype(np.float64)


def like(samples: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Float samples back to the dtype of ``reference`` (int16: round half away from zero and clip)."""
    if np.asarray(reference).dtype == np.int16:
        from edgeser.corpora.audio import to_int16

        return to_int16(samples)
    return samples


def power(x: np.ndarray) -> float:
    """Mean square of float samples."""
    return float(np.mean(np.square(x, dtype=np.float64)))


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """Measured SNR in dB: clean power over the power of ``noisy - clean`` (either dtype)."""
    clean_f, noisy_f = to_float(clean), to_float(noisy)
    return 10.0 * np.log10(power(clean_f) / power(noisy_f - clean_f))


# --------------------------------------------------------------------------- noise sources


def white_noise(num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian white noise, unit variance, float64 ``[num_samples]``."""
    return rng.standard_normal(num_samples)


def pink_noise(num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """1/f (pink) noise by spectral shaping of white noise, unit variance, float64 ``[num_samples]``."""
    spectrum = np.fft.rfft(rng.standard_normal(num_samples))
    freqs = np.arange(spectrum.size, dtype=np.float64)
    freqs[0] = 1.0
    x = np.fft.irfft(spectrum / np.sqrt(freqs), n=num_samples)
    x -= x.mean()
    return x / (np.std(x) + 1e-12)


def _segment(x: np.ndarray, num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``num_samples`` stretch of ``x`` (tiled when ``x`` is shorter)."""
    if x.size == 0:
        raise ValueError("cannot take a segment of an empty clip")
    if x.size < num_samples:
        x = np.tile(x, int(np.ceil(num_samples / x.size)) + 1)
    start = int(rng.integers(0, x.size - num_samples + 1))
    return x[start:start + num_samples]


def babble_noise(num_samples: int, clips: Sequence[np.ndarray], rng: np.random.Generator, talkers: int = 4) -> np.ndarray:
    """Babble: the sum of ``talkers`` random stretches of the given speech clips, each at equal RMS.

    ``clips``: int16 or float speech arrays (other speakers' utterances). Returns unit-variance float64.
    """
    check(len(clips) > 0, "clips", "babble needs at least one speech clip")
    check(talkers >= 1, "talkers", f"must be at least 1, got {talkers}")
    total = np.zeros(num_samples)
    for _ in range(talkers):
        clip = to_float(clips[int(rng.integers(len(clips)))])
        seg = _segment(clip, num_samples, rng)
        total += seg / (np.sqrt(power(seg)) + 1e-12)
    return total / (np.std(total) + 1e-12)


def noise_from_file(path: str | Path, num_samples: int, rng: np.random.Generator, sample_rate: int = 16000) -> np.ndarray:
    """A random ``num_samples`` stretch of a noise recording (looped if short), float64."""
    from edgeser.corpora.audio import load_audio

    return _segment(to_float(load_audio(path, sample_rate)), num_samples, rng)


def make_noise(kind: str, num_samples: int, rng: np.random.Generator, *, clips: Sequence[np.ndarray] = (),
               files: Sequence[str | Path] = (), sample_rate: int = 16000) -> np.ndarray:
    """``kind``: "white" | "pink" | "babble" (from ``clips``) | "file" (a random one of ``files``)."""
    if kind == "white":
        return white_noise(num_samples, rng)
    if kind == "pink":
        return pink_noise(num_samples, rng)
    if kind == "babble":
        return babble_noise(num_samples, clips, rng)
    if kind == "file":
        check(len(files) > 0, "files", "noise kind 'file' needs at least one noise file")
        return noise_from_file(files[int(rng.integers(len(files)))], num_samples, rng, sample_rate)
    raise ValueError(f"noise kind must be white, pink, babble or file, got {kind!r}")


def add_noise(audio: np.ndarray, noise: np.ndarray, snr_db_target: float) -> np.ndarray:
    """Mix ``noise`` (any scale, at least as long as ``audio``) into ``audio`` at ``snr_db_target`` dB.

    The SNR is clean power over added-noise power over the whole clip. Returns
    ``audio``'s dtype; with int16 the result is rounded and clipped, so keep the
    mix below full scale if the SNR must hold exactly (clipping reduces it).
    """
    x = to_float(audio)
    n = to_float(noise)[: x.size]
    check(n.size == x.size, "noise", f"is shorter ({n.size}) than the audio ({x.size})")
    ps, pn = power(x), power(n)
    check(ps > 0, "audio", "is silent; SNR is undefined")
    check(pn > 0, "noise", "is silent")
    scale = np.sqrt(ps / (pn * 10.0 ** (snr_db_target / 10.0)))
    return like(x + scale * n, audio)


def add_noise_at_snr(audio: np.ndarray, snr_db_target: float, rng: np.random.Generator, kind: str = "white", **sources) -> np.ndarray:
    """:func:`make_noise` + :func:`add_noise` in one call."""
    return add_noise(audio, make_noise(kind, np.asarray(audio).size, rng, **sources), snr_db_target)


# --------------------------------------------------------------------------- device channel


@dataclass(frozen=True)
class DeviceChannelConfig:
    """A re-recording through a MEMS microphone in a small room (ranges are sampled per call).

    Frequency response: 2nd-order Butterworth band-pass ``low_hz``–``high_hz``
    (upper edge limited to 0.45 × sample rate) with a peaking "presence" bump
    (RBJ biquad) at ``presence_hz``. Room: an exponentially decaying noise tail with
    RT60 in ``rt60_s`` and direct-to-reverberant ratio in ``drr_db``. Then a gain in
    ``gain_db``, microphone self-noise at ``self_noise_dbfs`` and hard clipping at
    ``clip_level`` (full scale 1.0).
    """

    low_hz: float = 100.0
    high_hz: float = 8000.0
    presence_hz: float = 3500.0
    presence_gain_db: float = 4.0
    presence_q: float = 1.0
    rt60_s: tuple[float, float] = (0.15, 0.5)
    drr_db: tuple[float, float] = (3.0, 12.0)
    gain_db: tuple[float, float] = (0.0, 12.0)
    self_noise_dbfs: float = -70.0
    clip_level: float = 1.0

    def __post_init__(self) -> None:
        check(0 < self.low_hz < self.high_hz, "low_hz", f"need 0 < low_hz < high_hz, got {self.low_hz}, {self.high_hz}")
        check(self.rt60_s[0] > 0 and self.rt60_s[0] <= self.rt60_s[1], "rt60_s", f"bad range {self.rt60_s}")
        check(self.drr_db[0] <= self.drr_db[1], "drr_db", f"bad range {self.drr_db}")
        check(self.gain_db[0] <= self.gain_db[1], "gain_db", f"bad range {self.gain_db}")
        check(0 < self.clip_level <= 1.0, "clip_level", f"must be in (0, 1], got {self.clip_level}")


def mems_response(sample_rate: int, config: DeviceChannelConfig = DeviceChannelConfig()) -> list[np.ndarray]:
    """Second-order sections (scipy ``sos``) of the microphone's frequency response."""
    from scipy.signal import butter, tf2sos

    nyquist = sample_rate / 2
    high = min(config.high_hz, 0.45 * sample_rate)
    sos = [butter(2, config.low_hz / nyquist, btype="highpass", output="sos"),
           butter(2, high / nyquist, btype="lowpass", output="sos")]
    if config.presence_gain_db != 0 and config.presence_hz < 0.45 * sample_rate:
        a_gain = 10 ** (config.presence_gain_db / 40)
        w0 = 2 * np.pi * config.presence_hz / sample_rate
        alpha = np.sin(w0) / (2 * config.presence_q)
        b = [1 + alpha * a_gain, -2 * np.cos(w0), 1 - alpha * a_gain]
        a = [1 + alpha / a_gain, -2 * np.cos(w0), 1 - alpha / a_gain]
        sos.append(tf2sos(b, a))
    return sos


def room_impulse_response(sample_rate: int, rt60_s: float, drr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Synthetic RIR ``[samples]``: a unit direct path plus noise decaying by 60 dB in ``rt60_s``, scaled to ``drr_db``."""
    n = max(2, int(rt60_s * sample_rate))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)  # ln(1000) = 60 dB amplitude decay
    tail[0] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / (np.sum(tail**2) + 1e-12))
    tail[0] = 1.0
    return tail


def device_channel(audio: np.ndarray, sample_rate: int, rng: np.random.Generator,
                   config: DeviceChannelConfig = DeviceChannelConfig()) -> np.ndarray:
    """Simulate re-recording ``audio`` through the board's MEMS microphone; same length and dtype.

    Order: room (convolve with :func:`room_impulse_response`), microphone response
    (:func:`mems_response`), gain, self-noise, clipping at ``config.clip_level``.
    """
    from scipy.signal import fftconvolve, sosfilt

    x = to_float(audio)
    rt60 = float(rng.uniform(*config.rt60_s))
    drr = float(rng.uniform(*config.drr_db))
    gain = float(rng.uniform(*config.gain_db))
    y = fftconvolve(x, room_impulse_response(sample_rate, rt60, drr, rng))[: x.size]
    for section in mems_response(sample_rate, config):
        y = sosfilt(section, y)
    y = y * 10 ** (gain / 20) + rng.standard_normal(x.size) * 10 ** (config.self_noise_dbfs / 20)
    return like(np.clip(y, -config.clip_level, config.clip_level), audio)


# --------------------------------------------------------------------------- speed / pitch


def speed_perturb(audio: np.ndarray, factor: float, sample_rate: int = 16000) -> np.ndarray:
    """Play ``factor`` times faster (tempo and pitch both change, Kaldi-style): length ≈ n / factor."""
    import librosa

    check(factor > 0, "factor", f"must be positive, got {factor}")
    x = to_float(audio)
    y = librosa.resample(x, orig_sr=sample_rate * factor, target_sr=sample_rate, res_type="soxr_hq")
    return like(y, audio)


def pitch_shift(audio: np.ndarray, semitones: float, sample_rate: int = 16000) -> np.ndarray:
    """Shift pitch by ``semitones`` keeping the duration (librosa phase vocoder + resampling)."""
    import librosa

    x = to_float(audio)
    y = librosa.effects.pitch_shift(x, sr=sample_rate, n_steps=float(semitones), res_type="soxr_hq")
    return like(y, audio)


def random_speed(audio: np.ndarray, rng: np.random.Generator, factors: Sequence[float] = (0.9, 1.0, 1.1),
                 sample_rate: int = 16000) -> tuple[np.ndarray, float]:
    """Speed perturbation with a factor drawn from ``factors``; returns (audio, factor)."""
    factor = float(factors[int(rng.integers(len(factors)))])
    return (audio.copy() if factor == 1.0 else speed_perturb(audio, factor, sample_rate)), factor


def random_pitch(audio: np.ndarray, rng: np.random.Generator, max_semitones: float = 2.0,
                 sample_rate: int = 16000) -> tuple[np.ndarray, float]:
    """Pitch shift by a uniform draw in ±``max_semitones``; returns (audio, semitones)."""
    steps = float(rng.uniform(-max_semitones, max_semitones))
    return pitch_shift(audio, steps, sample_rate), steps


# --------------------------------------------------------------------------- masking


def _mask_spans(length: int, share: float, num_masks: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean ``[length]`` with exactly ``round(share * length)`` True, in at most ``num_masks`` runs."""
    check(0.0 <= share <= 1.0, "share", f"must be in [0, 1], got {share}")
    check(num_masks >= 1, "num_masks", f"must be at least 1, got {num_masks}")
    total = int(round(share * length))
    mask = np.zeros(length, dtype=bool)
    if total == 0:
        return mask
    k = min(num_masks, total)
    # Split `total` into k positive block lengths, and `length - total` into k + 1 gaps >= 0.
    cuts = np.sort(rng.choice(np.arange(1, total), size=k - 1, replace=False)) if k > 1 else np.array([], int)
    blocks = np.diff(np.concatenate([[0], cuts, [total]]))
    free = length - total
    gap_cuts = np.sort(rng.integers(0, free + 1, size=k))
    gaps = np.diff(np.concatenate([[0], gap_cuts, [free]]))
    pos = 0
    for block, gap in zip(blocks, gaps[:-1]):
        pos += int(gap)
        mask[pos:pos + int(block)] = True
        pos += int(block)
    return mask


def time_mask(features: np.ndarray, share: float, rng: np.random.Generator, num_masks: int = 2,
              value: float | None = None) -> np.ndarray:
    """Mask ``round(share * frames)`` frames of ``features`` ``[frames, channels]`` in ≤ ``num_masks`` blocks.

    ``value``: the fill (default: the matrix minimum, e.g. -128 for int8 features). Returns a copy.
    """
    out = np.array(features, copy=True)
    mask = _mask_spans(out.shape[0], share, num_masks, rng)
    out[mask, :] = out.min() if value is None else value
    return out


def freq_mask(features: np.ndarray, share: float, rng: np.random.Generator, num_masks: int = 2,
              value: float | None = None) -> np.ndarray:
    """Mask ``round(share * channels)`` channels of ``features`` ``[frames, channels]``; see :func:`time_mask`."""
    out = np.array(features, copy=True)
    mask = _mask_spans(out.shape[1], share, num_masks, rng)
    out[:, mask] = out.min() if value is None else value
    return out


def spec_augment(features: np.ndarray, rng: np.random.Generator, time_share: float = 0.1, freq_share: float = 0.1,
                 time_masks: int = 2, freq_masks: int = 2, value: float | None = None) -> np.ndarray:
    """SpecAugment-style time then frequency masking (fill = the input's minimum unless ``value``)."""
    fill = np.asarray(features).min() if value is None else value
    out = time_mask(features, time_share, rng, time_masks, fill)
    return freq_mask(out, freq_share, rng, freq_masks, fill)


def _interpolate(features: np.ndarray, positions: np.ndarray, axis: int, fill: float) -> np.ndarray:
    """Linear interpolation of ``features`` [T, C] at fractional ``positions`` along ``axis``;
    positions outside [0, n - 1] read ``fill``."""
    x = np.moveaxis(np.asarray(features, np.float32), axis, 0)
    n = x.shape[0]
    lo = np.clip(np.floor(positions).astype(np.int64), 0, n - 1)
    hi = np.clip(lo + 1, 0, n - 1)
    frac = (positions - np.floor(positions)).astype(np.float32).reshape(-1, *([1] * (x.ndim - 1)))
    out = x[lo] * (1 - frac) + x[hi] * frac
    outside = (positions < 0) | (positions > n - 1)
    out[outside] = fill
    return np.moveaxis(out, 0, axis)


def warp_features(features: np.ndarray, rng: np.random.Generator, freq_warp: float = 0.0, time_warp: float = 0.0,
                  fill: float | None = None) -> np.ndarray:
    """Vocal-tract-length and speaking-rate perturbation in the feature domain, [T, C] -> [T, C].

    ``freq_warp`` w: the channel axis is stretched by a factor a ~ U(1 - w, 1 + w) about channel 0
    (output channel c reads input channel c / a; a > 1 moves energy up, as a shorter vocal tract
    does: VTLP, Jaitly & Hinton 2013, on the mel axis). ``time_warp`` w: the time axis is stretched
    about its centre by b ~ U(1 - w, 1 + w) (b > 1 is slower speech); frames read from outside
    the clip get ``fill`` (default the minimum, the silence code). Linear interpolation; 0 = off.
    """
    out = np.asarray(features, np.float32)
    fill = float(out.min()) if fill is None else float(fill)
    if freq_warp > 0:
        a = rng.uniform(1 - freq_warp, 1 + freq_warp)
        out = _interpolate(out, np.arange(out.shape[1]) / a, 1, fill)
    if time_warp > 0:
        b = rng.uniform(1 - time_warp, 1 + time_warp)
        centre = (out.shape[0] - 1) / 2
        out = _interpolate(out, centre + (np.arange(out.shape[0]) - centre) / b, 0, fill)
    return out
