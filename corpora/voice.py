"""Voice transformations that change who seems to speak but keep what is felt (CO-VADA).

Three independent knobs, applied in this order by :func:`transform_voice`:

1. **formants / vocal-tract length** — ``formant_ratio`` α: a spectral-envelope warp
   (:func:`warp_formants`). Per STFT frame (64 ms Hann, hop 16 ms) the envelope is the
   LPC envelope ``1/|A(f)|`` of order :func:`lpc_order` (18 at 16 kHz) fitted to the
   frame's power spectrum; the magnitude is multiplied by ``|A(f)| / |A(f/α)|`` (i.e.
   ``E(f/α) / E(f)``) and resynthesised with the original phase. The harmonics (fine
   structure) stay where they were, so f0 and duration are kept, while envelope peaks
   (formants) at ``F`` move to ``α·F``. α > 1 sounds like a shorter vocal tract
   (child / female-like), α < 1 a longer one. The output is rescaled to the input's RMS.
2. **pitch** — ``semitones``: f0 × 2^(semitones/12), duration kept
   (:func:`edgeser.corpora.augment.pitch_shift`, librosa phase vocoder + resampling).
   Resampling moves the spectral envelope by the pitch ratio too, so step 1 warps by
   ``formant_ratio / 2^(semitones/12)`` and the formants end up moved by
   ``formant_ratio`` only. (Warping before the pitch shift, on the clean signal, keeps
   the LPC fit and the voicing far better than warping the phase-vocoded output.)
3. **speaking rate** — ``rate``: librosa phase-vocoder time stretch; duration × 1/rate,
   pitch kept.

Audio: 1-D ``[samples]`` float in [-1, 1] or int16; the output has the input's dtype
(:func:`edgeser.corpora.augment.like`). A neutral knob (0 semitones, ratio 1, rate 1)
is skipped, so the identity transform returns an exact copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeser.corpora.augment import like, pitch_shift, to_float
from edgeser.settings import check


def lpc_order(sample_rate: int) -> int:
    """LPC order of the spectral envelope: 2 + one pole pair per kHz of bandwidth (18 at 16 kHz)."""
    return 2 + sample_rate // 1000


def _check_range(value: tuple[float, float], name: str, positive: bool) -> None:
    check(len(value) == 2 and value[0] <= value[1], name, f"must be a (low, high) range, got {value}")
    if positive:
        check(value[0] > 0, name, f"must be positive, got {value}")


@dataclass(frozen=True)
class VoiceTransform:
    """One voice change: f0 by ``semitones``, formants by ``formant_ratio``, tempo by ``rate``."""

    semitones: float = 0.0
    formant_ratio: float = 1.0
    rate: float = 1.0

    def __post_init__(self) -> None:
        check(abs(self.semitones) <= 24, "semitones", f"must lie within ±24, got {self.semitones}")
        check(0.5 <= self.formant_ratio <= 2.0, "formant_ratio", f"must lie in [0.5, 2], got {self.formant_ratio}")
        check(0.25 <= self.rate <= 4.0, "rate", f"must lie in [0.25, 4], got {self.rate}")


@dataclass(frozen=True)
class VoiceSettings:
    """Ranges :func:`random_voice_transform` draws from (uniformly)."""

    semitones_max: float = 3.0  # semitones ~ U(-max, max)
    formant_ratio: tuple[float, float] = (0.85, 1.15)
    rate: tuple[float, float] = (0.9, 1.1)

    def __post_init__(self) -> None:
        check(0 <= self.semitones_max <= 24, "semitones_max", f"must lie in [0, 24], got {self.semitones_max}")
        _check_range(self.formant_ratio, "formant_ratio", positive=True)
        _check_range(self.rate, "rate", positive=True)


def random_voice_transform(rng: np.random.Generator, settings: VoiceSettings) -> VoiceTransform:
    """Draw semitones ~ U(±semitones_max), formant ratio and rate ~ U(their ranges).

    ``settings`` may be any object with ``semitones_max``, ``formant_ratio`` and ``rate``
    (e.g. :class:`edgeser.models.debias.DebiasSettings`).
    """
    return VoiceTransform(
        semitones=float(rng.uniform(-settings.semitones_max, settings.semitones_max)),
        formant_ratio=float(rng.uniform(*settings.formant_ratio)),
        rate=float(rng.uniform(*settings.rate)),
    )


def _fft_size(sample_rate: int) -> int:
    """About 64 ms of samples, a power of two (1024 at 16 kHz)."""
    return int(2 ** np.ceil(np.log2(0.064 * sample_rate)))


def lpc_log_envelope(power: np.ndarray, order: int) -> np.ndarray:
    """Log LPC envelope ``-log|A(f)|`` (gain dropped) of each frame's power spectrum.

    ``power``: ``|X|²`` ``[bins, frames]`` of an ``n_fft = 2·(bins − 1)`` STFT. The
    autocorrelation is the inverse FFT of the power spectrum; the predictor of ``order``
    comes from the Toeplitz normal equations (scipy ``solve_toeplitz``, Levinson), with
    a 40 dB white-noise floor (``r0 × 1.0001``) for stability. Silent frames get a flat
    (zero) envelope. Returns ``[bins, frames]`` float64.
    """
    from scipy.linalg import solve_toeplitz

    n_fft = 2 * (power.shape[0] - 1)
    autocorr = np.fft.irfft(power, n=n_fft, axis=0)[: order + 1]  # [order + 1, frames]
    envelope = np.zeros_like(power, dtype=np.float64)
    for k in range(power.shape[1]):
        r = autocorr[:, k].copy()
        if r[0] <= 0:
            continue
        r[0] *= 1.0001
        a = np.concatenate([[1.0], -solve_toeplitz(r[:-1], r[1:])])
        envelope[:, k] = -np.log(np.abs(np.fft.rfft(a, n=n_fft)) + 1e-12)
    return envelope


def warp_formants(audio: np.ndarray, sample_rate: int, ratio: float) -> np.ndarray:
    """Move the spectral envelope's peaks from F to ``ratio``·F, keeping f0, phase and length.

    See step 2 of the module docstring. ``audio`` [samples] -> same length and dtype.
    """
    import librosa

    check(ratio > 0, "formant_ratio", f"must be positive, got {ratio}")
    x = to_float(audio)
    if ratio == 1.0 or not np.any(x):
        return like(x.copy(), audio)
    n_fft = _fft_size(sample_rate)
    hop = n_fft // 4
    spec = librosa.stft(x, n_fft=n_fft, hop_length=hop, window="hann", center=True)
    envelope = lpc_log_envelope(np.abs(spec) ** 2, lpc_order(sample_rate))
    bins = np.arange(envelope.shape[0], dtype=np.float64)
    source = bins / ratio  # E'(f) = E(f / ratio)
    warped = np.stack([np.interp(source, bins, envelope[:, k]) for k in range(envelope.shape[1])], axis=1)
    y = librosa.istft(spec * np.exp(warped - envelope), hop_length=hop, window="hann", center=True, length=x.size)
    rms_in, rms_out = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(y**2))
    if rms_out > 0:
        y *= rms_in / rms_out
    return like(y, audio)


def time_stretch(audio: np.ndarray, rate: float) -> np.ndarray:
    """Speak ``rate`` times faster, pitch kept (librosa phase vocoder): length ≈ n / rate."""
    import librosa

    check(rate > 0, "rate", f"must be positive, got {rate}")
    x = to_float(audio)
    if rate == 1.0:
        return like(x.copy(), audio)
    return like(librosa.effects.time_stretch(x, rate=float(rate)), audio)


def transform_voice(audio: np.ndarray, sample_rate: int, transform: VoiceTransform) -> np.ndarray:
    """Apply ``transform`` (formants, then pitch, then rate; see the module docstring).

    ``audio`` [samples] float or int16 -> [≈ samples / rate] in the same dtype.
    """
    x = np.asarray(audio)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"audio must be non-empty 1-D [samples], got shape {x.shape}")
    y = to_float(x)
    # pitch_shift's resampling will move the envelope by the pitch ratio too: warp by the rest first.
    envelope_ratio = transform.formant_ratio / 2.0 ** (transform.semitones / 12.0)
    if abs(envelope_ratio - 1.0) > 1e-9:
        y = warp_formants(y, sample_rate, envelope_ratio)
    if transform.semitones != 0.0:
        y = pitch_shift(y, transform.semitones, sample_rate)
    if transform.rate != 1.0:
        y = time_stretch(y, transform.rate)
    return like(y, x)
