"""Feature-like int8 data for unit tests and for calibration when no corpus is at hand.

`tone_features` renders a class-dependent harmonic tone (pitch, vibrato and loudness
envelope differ per class, plus noise) as int16 audio and runs it through the project's
MicroFrontend (`edgeser.frontend.features.compute_features`), so the arrays have the
real feature statistics (silence at -128, speech-band energy, PCAN). Without the
frontend it falls back to a plain NumPy log-mel with the same frame layout. This is
not speech: real calibration data must come from the corpus.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000


def tone_audio(label: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """int16 mono audio of a harmonic tone whose pitch and vibrato depend on ``label``."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 140.0 * 1.5 ** label * rng.uniform(0.95, 1.05)
    vib = 1.0 + 0.03 * (label % 3) * np.sin(2 * np.pi * (2 + label) * t)
    phase = 2 * np.pi * np.cumsum(f0 * vib) / SAMPLE_RATE
    wave = sum(np.sin(h * phase) / h for h in range(1, 6))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(1.0, 3.0) * t + rng.uniform(0, 6.28)) ** 2
    audio = 6000 * env * wave + rng.normal(0, 300, t.shape)
    return np.clip(audio, -32768, 32767).astype(np.int16)


def _numpy_logmel(audio: np.ndarray, num_channels: int) -> np.ndarray:
    """Fallback log-mel [frames, channels] int8 (30 ms window, 20 ms hop, 125-7500 Hz)."""
    win, hop, nfft = 480, 320, 512
    n = 1 + (len(audio) - win) // hop
    frames = np.stack([audio[i * hop: i * hop + win] for i in range(n)]).astype(np.float32) * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, nfft)) ** 2
    mel = lambda f: 1127.0 * np.log1p(f / 700.0)  # noqa: E731
    edges = np.linspace(mel(125.0), mel(7500.0), num_channels + 2)
    bins = mel(np.fft.rfftfreq(nfft, 1 / SAMPLE_RATE))
    fb = np.clip(np.minimum((bins[None] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None]),
                            (edges[2:, None] - bins[None]) / (edges[2:, None] - edges[1:-1, None])), 0, None)
    logmel = np.log(power @ fb.T + 1.0)
    return np.clip(np.round((logmel - 14.0) * 10.0 - 128.0), -128, 127).astype(np.int8)


def tone_features(label: int, num_frames: int, num_channels: int = 40, seed: int = 0) -> np.ndarray:
    """int8 [num_frames, num_channels] features of a ``label``-dependent tone (padded with -128)."""
    rng = np.random.default_rng([seed, label])
    audio = tone_audio(label, (num_frames + 1) * 0.02 + 0.01, rng)
    try:
        from edgeser.frontend import FrontendConfig
        from edgeser.frontend.features import compute_features
    except ImportError:
        feats = _numpy_logmel(audio, num_channels)
    else:
        feats = compute_features(audio, FrontendConfig(num_channels=num_channels))
    out = np.full((num_frames, num_channels), -128, np.int8)
    out[: min(num_frames, len(feats))] = feats[:num_frames]
    return out


def tone_dataset(num_per_class: int, num_classes: int, num_frames: int, num_channels: int = 40,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x float32 [N, num_frames, num_channels] int8 codes, y int32 [N]) for N = num_per_class * num_classes."""
    y = np.repeat(np.arange(num_classes, dtype=np.int32), num_per_class)
    x = np.stack([tone_features(int(c), num_frames, num_channels, seed=seed * 100003 + i) for i, c in enumerate(y)])
    return x.astype(np.float32), y
