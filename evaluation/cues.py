"""Expert-referenced acoustic cues of a speech region, and their expected direction per emotion.

:func:`analyse` runs the frame-level analyses once over a clip (16 kHz float audio in
[-1, 1] or int16); :func:`summarise` reduces them over a region given as time intervals
in seconds (``None``: the whole clip); :func:`compute_cues` does both. All analyses share
one frame grid: hop 10 ms, frames centred at ``i * hop`` (librosa ``center=True``); a frame
belongs to a region when its centre lies in one of the intervals.

Cues (``CUE_KEYS``; NaN where undefined, e.g. no voiced frame in the region):

* ``pitch_median_hz`` / ``pitch_median_st`` — median f0 of the voiced frames (librosa
  ``pyin``, 65–500 Hz, 64 ms frames; a frame more than 35 dB below the clip's loudest frame
  counts as unvoiced, as pyin otherwise "hears" pitch in near-silent noise), in Hz and in
  semitones re 100 Hz (``12 log2(f0/100)``).
* ``pitch_range_st`` — 95th minus 5th percentile of voiced f0 in semitones.
* ``intensity_db`` — ``10 log10`` of the mean frame power (RMS² of 25 ms frames), dB re
  full scale: the region's RMS level.
* ``speech_rate_sps`` — syllable nuclei per second, after de Jong & Wempe (2009): peaks
  of the intensity envelope (frame RMS in dB, smoothed over 50 ms) that rise at least
  2 dB above the dips on either side (``scipy.signal.find_peaks`` prominence), lie above
  the clip's median intensity, are at least 100 ms apart, and fall on a voiced frame;
  the count in the region divided by the region's duration.
* ``jitter_local_pct`` / ``shimmer_local_pct`` — approximate, Praat-like "local" measures
  from glottal-period marks: within each voiced run the waveform's maximum is picked
  once per period, searching 0.8–1.2 pyin periods after the previous mark, refined by
  parabolic interpolation. Jitter: mean |T_i - T_(i-1)| / mean T; shimmer: mean
  |A_i - A_(i-1)| / mean A of the peak amplitudes; only pairs of periods within
  1/500–1/65 s and at most a factor 1.3 apart count (Praat's period factor). In percent.
  Peak picking is cruder than Praat's cross-correlation; treat values as relative.
* ``hnr_db`` — harmonics-to-noise ratio by the autocorrelation method (Boersma 1993):
  per voiced frame a 40 ms Hann window, its autocorrelation normalised by the window's,
  the maximum r in 0.8–1.2 pyin periods; ``10 log10(r / (1 - r))`` averaged over the
  frames (r clipped to [1e-6, 1 - 1e-6], i.e. within ±60 dB).
* ``alpha_ratio_db`` — eGeMAPS alpha ratio: energy 1–5 kHz over energy 50–1000 Hz, in dB,
  of the long-term average spectrum (LTAS, 64 ms frames) of the voiced frames.
* ``hammarberg_db`` — Hammarberg index: strongest LTAS bin in 0–2 kHz minus strongest in
  2–5 kHz, in dB (larger: less high-frequency energy).
* ``spectral_slope_db_oct`` — least-squares slope of the LTAS third-octave band levels
  (125 Hz–4 kHz centres) against log2 frequency, in dB per octave.

Context keys (no expected direction): ``voiced_fraction``, ``duration_s``.

``EXPECTED_DIRECTION[emotion][cue]``: +1 higher, -1 lower, 0 no consistent change relative to
neutral speech, encoding only the well-established findings of the two reviews cited
below (their summary tables of acoustic patterns per emotion):

* angry (hot anger): F0 level, F0 range, intensity, speech rate and high-frequency energy up
  (alpha ratio and spectral slope up, Hammarberg index down);
* happy (joy/elation): F0 level, F0 range, intensity and high-frequency energy up; speech rate
  is left 0 (fast in Juslin & Laukka, inconsistent between elation and quiet joy in Scherer);
* fearful: F0 level, intensity and speech rate up; F0 range and spectral balance disagree
  between studies (0);
* sad: F0 level, F0 range, intensity, speech rate and high-frequency energy down;
* neutral (the reference), calm, disgust, surprised: 0 — calm and surprise are hardly
  studied, disgust findings are inconsistent;
* jitter, shimmer and HNR: 0 everywhere (no consistent direction across studies).

Sources: Scherer, K. R. (2003), "Vocal communication of emotion: A review of research
paradigms", Speech Communication 40, 227-256; Juslin, P. N. & Laukka, P. (2003),
"Communication of emotions in vocal expression and music performance: Different channels,
same code?", Psychological Bulletin 129(5), 770-814.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from edgeser.settings import check

CUE_KEYS = (
    "pitch_median_hz",
    "pitch_median_st",
    "pitch_range_st",
    "intensity_db",
    "speech_rate_sps",
    "jitter_local_pct",
    "shimmer_local_pct",
    "hnr_db",
    "alpha_ratio_db",
    "hammarberg_db",
    "spectral_slope_db_oct",
)
CONTEXT_KEYS = ("voiced_fraction", "duration_s")

# A typical size of a meaningful change of each cue (used to make differences comparable:
# difference / scale is the "z-like" value of the explanation plot).
CUE_SCALES = {
    "pitch_median_hz": 20.0,
    "pitch_median_st": 2.0,
    "pitch_range_st": 2.0,
    "intensity_db": 3.0,
    "speech_rate_sps": 1.0,
    "jitter_local_pct": 0.5,
    "shimmer_local_pct": 2.0,
    "hnr_db": 3.0,
    "alpha_ratio_db": 3.0,
    "hammarberg_db": 3.0,
    "spectral_slope_db_oct": 1.0,
}

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def _directions(pitch=0, range_=0, intensity=0, rate=0, jitter=0, shimmer=0, hnr=0, high_freq=0) -> dict[str, int]:
    """One emotion's row; ``high_freq`` (+1: more high-frequency energy) sets the three spectral cues."""
    return {
        "pitch_median_hz": pitch,
        "pitch_median_st": pitch,
        "pitch_range_st": range_,
        "intensity_db": intensity,
        "speech_rate_sps": rate,
        "jitter_local_pct": jitter,
        "shimmer_local_pct": shimmer,
        "hnr_db": hnr,
        "alpha_ratio_db": high_freq,
        "hammarberg_db": -high_freq,
        "spectral_slope_db_oct": high_freq,
    }


# Directions relative to neutral speech; sources and choices: the module docstring.
EXPECTED_DIRECTION: dict[str, dict[str, int]] = {
    "neutral": _directions(),
    "calm": _directions(),
    "happy": _directions(pitch=+1, range_=+1, intensity=+1, high_freq=+1),
    "sad": _directions(pitch=-1, range_=-1, intensity=-1, rate=-1, high_freq=-1),
    "angry": _directions(pitch=+1, range_=+1, intensity=+1, rate=+1, high_freq=+1),
    "fearful": _directions(pitch=+1, intensity=+1, rate=+1),
    "disgust": _directions(),
    "surprised": _directions(),
}
DIRECTION_SOURCES = (
    "Scherer, K. R. (2003). Vocal communication of emotion: A review of research paradigms. "
    "Speech Communication 40, 227-256.",
    "Juslin, P. N., & Laukka, P. (2003). Communication of emotions in vocal expression and music "
    "performance: Different channels, same code? Psychological Bulletin 129(5), 770-814.",
)


@dataclass(frozen=True)
class CueSettings:
    """Analysis settings (times in seconds, frequencies in Hz)."""

    hop_s: float = 0.010  # one cue value per hop
    fmin: float = 65.0  # lowest F0 searched
    fmax: float = 500.0  # highest F0 searched
    pitch_frame_s: float = 0.064  # pyin frame (rounded to a power of two samples)
    rms_frame_s: float = 0.025  # loudness frame
    hnr_frame_s: float = 0.040  # harmonics-to-noise frame (autocorrelation)
    envelope_smooth_s: float = 0.050  # smoothing of the loudness envelope for syllable nuclei
    nucleus_prominence_db: float = 2.0  # a nucleus rises this much above its dips
    nucleus_min_gap_s: float = 0.100  # nuclei closer than this count once
    period_factor: float = 1.3  # jitter/shimmer use neighbouring periods within this ratio
    silence_db: float = 35.0  # a frame this far below the loudest is unvoiced

    def __post_init__(self) -> None:
        check(self.hop_s > 0, "hop_s", f"must be positive, got {self.hop_s}")
        check(0 < self.fmin < self.fmax, "fmin", f"must be positive and below fmax ({self.fmax}), got {self.fmin}")
        check(self.pitch_frame_s * self.fmin >= 2.0, "pitch_frame_s", "must hold at least two periods of fmin")
        check(self.rms_frame_s > 0, "rms_frame_s", f"must be positive, got {self.rms_frame_s}")
        check(self.hnr_frame_s * self.fmin >= 2.0, "hnr_frame_s", "must hold at least two periods of fmin")
        check(self.nucleus_prominence_db >= 0, "nucleus_prominence_db", "must be non-negative")
        check(self.period_factor > 1, "period_factor", f"must be above 1, got {self.period_factor}")
        check(self.silence_db > 0, "silence_db", f"must be positive, got {self.silence_db}")


@dataclass(frozen=True)
class CueTracks:
    """Frame-level analyses of one clip on the shared grid (``F`` frames of ``hop_s``)."""

    sr: int
    duration_s: float
    times: np.ndarray  # [F] frame centres, s
    f0: np.ndarray  # [F] Hz, NaN when unvoiced
    power: np.ndarray  # [F] mean square of 25 ms frames (full scale 1)
    nuclei: np.ndarray  # [N] frame indices of syllable nuclei
    hnr: np.ndarray  # [F] dB, NaN when unvoiced
    spectrum: np.ndarray  # [bins, F] power spectrum (64 ms frames)
    freqs: np.ndarray  # [bins] Hz
    marks: np.ndarray  # [M] glottal period marks, s
    amplitudes: np.ndarray  # [M] waveform peak at each mark
    settings: CueSettings


def _float_audio(audio: np.ndarray) -> np.ndarray:
    from edgeser.corpora.augment import to_float

    x = to_float(np.asarray(audio))
    if x.ndim != 1:
        raise ValueError(f"audio must be 1-D [samples], got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("audio contains NaN or infinite samples")
    return x


def _parabola(y0: float, y1: float, y2: float) -> tuple[float, float]:
    """Vertex (offset in [-0.5, 0.5] from the middle sample, value) of the parabola through three points."""
    den = y0 - 2 * y1 + y2
    if den >= 0:
        return 0.0, y1
    d = float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return d, y1 - 0.25 * (y0 - y2) * d


def _period_marks(x: np.ndarray, sr: int, times: np.ndarray, f0: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Glottal period marks (s) and peak amplitudes, one per period, within voiced runs."""
    voiced = np.isfinite(f0)
    marks: list[float] = []
    amps: list[float] = []
    i, n = 0, len(f0)
    while i < n:
        if not voiced[i]:
            i += 1
            continue
        k = i
        while k + 1 < n and voiced[k + 1]:
            k += 1
        s0 = max(0, int(times[i] * sr) - hop // 2)
        s1 = min(len(x), int(times[k] * sr) + hop // 2)
        run_t, run_f = times[i : k + 1], f0[i : k + 1]
        period = sr / float(run_f[0])
        if s1 - s0 > 2 * period:
            t = s0 + int(np.argmax(x[s0 : s0 + int(period)]))
            run_marks = [t]
            while True:
                period = sr / float(np.interp(t / sr, run_t, run_f))
                lo, hi = t + int(0.8 * period), t + int(math.ceil(1.2 * period)) + 1
                if hi >= s1:
                    break
                t = lo + int(np.argmax(x[lo:hi]))
                run_marks.append(t)
            for m in run_marks:
                if 0 < m < len(x) - 1:
                    d, v = _parabola(x[m - 1], x[m], x[m + 1])
                    marks.append((m + d) / sr)
                    amps.append(v)
            marks.append(np.nan)  # run separator
            amps.append(np.nan)
        i = k + 1
    return np.array(marks, np.float64), np.array(amps, np.float64)


def _hnr_frames(x: np.ndarray, sr: int, f0: np.ndarray, hop: int, frame: int) -> np.ndarray:
    """Autocorrelation HNR (dB) of each voiced frame (Boersma 1993), NaN elsewhere."""
    import librosa

    frames = librosa.util.frame(np.pad(x, frame // 2), frame_length=frame, hop_length=hop)[:, : len(f0)]
    window = np.hanning(frame)
    n_fft = 1 << int(math.ceil(math.log2(2 * frame)))
    rw = np.fft.irfft(np.abs(np.fft.rfft(window, n_fft)) ** 2, n_fft)[:frame]
    rw = rw / rw[0]
    out = np.full(len(f0), np.nan)
    for i in np.flatnonzero(np.isfinite(f0)):
        seg = frames[:, i] - frames[:, i].mean()
        r = np.fft.irfft(np.abs(np.fft.rfft(seg * window, n_fft)) ** 2, n_fft)[:frame]
        if r[0] <= 0:
            continue
        r = r / r[0] / np.maximum(rw, 1e-12)
        period = sr / f0[i]
        lo, hi = max(2, int(0.8 * period)), min(frame // 2, int(math.ceil(1.2 * period)))
        if hi <= lo:
            continue
        j = lo + int(np.argmax(r[lo : hi + 1]))
        peak = _parabola(r[j - 1], r[j], r[j + 1])[1] if j + 1 < frame else r[j]
        peak = float(np.clip(peak, 1e-6, 1 - 1e-6))
        out[i] = 10 * math.log10(peak / (1 - peak))
    return out


def analyse(audio: np.ndarray, sr: int = 16000, settings: CueSettings = CueSettings()) -> CueTracks:
    """All frame-level analyses of one clip: float audio in [-1, 1] (or int16) at ``sr`` Hz."""
    import librosa
    from scipy.signal import find_peaks

    x = _float_audio(audio)
    duration = len(x) / sr
    hop = max(1, int(round(settings.hop_s * sr)))
    pitch_frame = 1 << int(round(math.log2(settings.pitch_frame_s * sr)))
    if len(x) < pitch_frame:
        x = np.pad(x, (0, pitch_frame - len(x)))
    frames = 1 + len(x) // hop
    f0, voiced, _ = librosa.pyin(
        x, fmin=settings.fmin, fmax=settings.fmax, sr=sr, frame_length=pitch_frame, hop_length=hop, center=True
    )
    rms = librosa.feature.rms(y=x, frame_length=int(settings.rms_frame_s * sr), hop_length=hop, center=True)[0][:frames]
    power = rms.astype(np.float64) ** 2
    level = 10 * np.log10(np.maximum(power, 1e-10))
    # pyin finds "voiced" frames in near-silent noise; a voiced frame must be within silence_db of the loudest.
    f0 = np.where(voiced[:frames] & (level[: len(f0)] >= level.max() - settings.silence_db), f0[:frames], np.nan)
    times = np.arange(len(f0)) * hop / sr
    # Syllable nuclei: peaks of the smoothed intensity envelope (de Jong & Wempe 2009).
    width = max(1, int(round(settings.envelope_smooth_s / settings.hop_s)))
    envelope = np.convolve(level, np.ones(width) / width, mode="same")
    peaks, _ = find_peaks(
        envelope,
        prominence=settings.nucleus_prominence_db,
        height=float(np.median(envelope)),
        distance=max(1, int(round(settings.nucleus_min_gap_s / settings.hop_s))),
    )
    nuclei = np.array([p for p in peaks if np.isfinite(f0[p])], np.int64)
    spectrum = np.abs(librosa.stft(x, n_fft=pitch_frame, hop_length=hop, center=True)) ** 2
    freqs = librosa.fft_frequencies(sr=sr, n_fft=pitch_frame)
    hnr = _hnr_frames(x, sr, f0, hop, int(settings.hnr_frame_s * sr))
    marks, amps = _period_marks(x, sr, times, f0, hop)
    return CueTracks(sr, duration, times, f0, power, nuclei, hnr, spectrum[:, : len(f0)],
                     freqs, marks, amps, settings)


def region_mask(times: np.ndarray, intervals: Sequence[tuple[float, float]] | None) -> np.ndarray:
    """bool ``[F]``: frames whose centre lies in one of the ``[start, end)`` intervals (None: all)."""
    if intervals is None:
        return np.ones(len(times), bool)
    mask = np.zeros(len(times), bool)
    for start, end in intervals:
        if end < start:
            raise ValueError(f"interval ({start}, {end}) ends before it starts")
        mask |= (times >= start) & (times < end)
    return mask


def _nan_mean(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else math.nan


def _perturbation(marks: np.ndarray, amps: np.ndarray, in_region: np.ndarray, s: CueSettings) -> tuple[float, float]:
    """Local jitter and shimmer (percent) of the consecutive period pairs that start in the region."""
    periods = np.diff(marks)  # NaN across run separators
    a = amps[:-1]
    ok = np.isfinite(periods) & (periods >= 1 / s.fmax) & (periods <= 1 / s.fmin)
    dp, da, p_used, a_used = [], [], [], []
    for i in range(1, len(periods)):
        if ok[i] and ok[i - 1] and in_region[i - 1]:
            if max(periods[i], periods[i - 1]) / min(periods[i], periods[i - 1]) <= s.period_factor:
                dp.append(abs(periods[i] - periods[i - 1]))
                da.append(abs(a[i] - a[i - 1]))
                p_used.append(periods[i - 1])
                a_used.append(abs(a[i - 1]))
    if not dp:
        return math.nan, math.nan
    jitter = 100 * float(np.mean(dp) / np.mean(p_used))
    shimmer = 100 * float(np.mean(da) / np.mean(a_used)) if np.mean(a_used) > 0 else math.nan
    return jitter, shimmer


def _spectral(spectrum: np.ndarray, freqs: np.ndarray) -> tuple[float, float, float]:
    """Alpha ratio, Hammarberg index (dB) and third-octave slope (dB/octave) of an LTAS."""
    if spectrum.shape[1] == 0:
        return math.nan, math.nan, math.nan
    ltas = spectrum.mean(axis=1)
    tiny = 1e-20
    band = lambda lo, hi: (freqs >= lo) & (freqs < hi)  # noqa: E731
    alpha = 10 * math.log10((ltas[band(1000, 5000)].sum() + tiny) / (ltas[band(50, 1000)].sum() + tiny))
    hammarberg = 10 * math.log10((ltas[band(0, 2000)].max() + tiny) / (ltas[band(2000, 5000)].max() + tiny))
    centres = 125.0 * 2.0 ** (np.arange(16) / 3.0)  # 125 Hz .. 4 kHz
    levels = np.array([10 * math.log10(ltas[band(fc * 2 ** (-1 / 6), fc * 2 ** (1 / 6))].sum() + tiny) for fc in centres])
    slope = float(np.polyfit(np.log2(centres), levels, 1)[0])
    return alpha, hammarberg, slope


def summarise(tracks: CueTracks, intervals: Sequence[tuple[float, float]] | None = None) -> dict[str, float]:
    """The cues (``CUE_KEYS`` + ``CONTEXT_KEYS``) over the frames of ``intervals`` (s; None: whole clip)."""
    s = tracks.settings
    mask = region_mask(tracks.times, intervals)
    f0 = tracks.f0[mask]
    voiced = np.isfinite(f0)
    out = {k: math.nan for k in CUE_KEYS}
    out["duration_s"] = float(mask.sum() * s.hop_s)
    out["voiced_fraction"] = float(voiced.mean()) if mask.any() else math.nan
    if not mask.any():
        return out
    out["intensity_db"] = 10 * math.log10(max(float(tracks.power[mask].mean()), 1e-12))
    out["speech_rate_sps"] = float(mask[tracks.nuclei].sum() / out["duration_s"])
    if voiced.any():
        semitones = 12 * np.log2(f0[voiced] / 100.0)
        out["pitch_median_hz"] = float(np.median(f0[voiced]))
        out["pitch_median_st"] = 12 * math.log2(out["pitch_median_hz"] / 100.0)
        out["pitch_range_st"] = float(np.percentile(semitones, 95) - np.percentile(semitones, 5))
        out["hnr_db"] = _nan_mean(tracks.hnr[mask])
        voiced_frames = mask & np.isfinite(tracks.f0)
        out["alpha_ratio_db"], out["hammarberg_db"], out["spectral_slope_db_oct"] = _spectral(
            tracks.spectrum[:, voiced_frames], tracks.freqs
        )
    if len(tracks.marks) > 2:
        frame_of = np.clip(np.round(np.nan_to_num(tracks.marks, nan=-1.0) / s.hop_s).astype(int), 0, len(mask) - 1)
        in_region = mask[frame_of] & np.isfinite(tracks.marks)
        out["jitter_local_pct"], out["shimmer_local_pct"] = _perturbation(tracks.marks, tracks.amplitudes, in_region, s)
    return out


def compute_cues(
    audio: np.ndarray,
    sr: int = 16000,
    mask_seconds: Sequence[tuple[float, float]] | None = None,
    settings: CueSettings = CueSettings(),
) -> dict[str, float]:
    """Cues of ``audio`` (float in [-1, 1] or int16, ``sr`` Hz) over ``mask_seconds`` intervals (None: whole clip)."""
    return summarise(analyse(audio, sr, settings), mask_seconds)


def agreement(emotion: str, cue: str, difference: float, tolerance: float = 0.0) -> str:
    """"agree" / "disagree" when the literature expects a direction for ``cue`` under ``emotion``
    and ``difference`` (region minus reference) is beyond ``tolerance``; "n.a." otherwise."""
    expected = EXPECTED_DIRECTION.get(emotion, {}).get(cue, 0)
    if expected == 0 or not math.isfinite(difference) or abs(difference) <= tolerance:
        return "n.a."
    return "agree" if np.sign(difference) == expected else "disagree"
