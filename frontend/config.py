"""`FrontendConfig`: the one source of the feature settings.

The fields mirror the TFLite-Micro MicroFrontend C library (``FrontendConfig`` in
``tensorflow/lite/experimental/microfrontend/lib/frontend_util.h``) and the
``audio_microfrontend`` TensorFlow op, plus the integer mapping from the
frontend's uint16 output to the int8 model input.

The int8 mapping is integer-only so that Python and the board compute it alike::

    int8 = clamp((raw * int8_scale_num + int8_scale_den // 2) // int8_scale_den
                 + int8_offset, -128, 127)

With the ``micro_speech`` values (256, 666, -128) this is TFLite-Micro's
micro_speech example mapping: raw 0 → -128, raw ≥ 666 → 127 (saturation).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

from edgeser.settings import SettingsError, check, from_mapping, to_mapping


@dataclass(frozen=True)
class FrontendConfig:
    """MicroFrontend settings (units in the names: Hz, ms, bits)."""

    sample_rate: int = 16000  # Hz of the audio the frontend reads
    window_ms: int = 30  # analysis window (Hann) per frame
    stride_ms: int = 20  # one frame per stride
    num_channels: int = 40  # mel filterbank channels = features per frame
    lower_band_hz: float = 125.0  # lowest filterbank edge
    upper_band_hz: float = 7500.0  # highest filterbank edge (below Nyquist)
    # Noise reduction (per-channel noise estimate subtracted from the energy).
    noise_reduction: bool = True
    smoothing_bits: int = 10  # fixed-point precision of the noise estimate
    even_smoothing: float = 0.025  # noise estimate update rate, even channels
    odd_smoothing: float = 0.06  # noise estimate update rate, odd channels
    min_signal_remaining: float = 0.05  # share of the energy never subtracted
    # Per-channel amplitude normalisation (PCAN) gain control.
    pcan: bool = True
    pcan_strength: float = 0.95  # exponent of the gain normalisation
    pcan_offset: float = 80.0  # added to the noise estimate before the power
    gain_bits: int = 21  # fixed-point bits of the PCAN gain
    # Log scale.
    log_scale: bool = True
    log_shift: int = 6  # right shift of the log2 output (scale of the codes)
    # uint16 frontend output -> int8 model input (see module docstring).
    int8_scale_num: int = 256  # int8 = raw * num / den + offset
    int8_scale_den: int = 666  # raw code that maps to the top of the int8 range
    int8_offset: int = -128  # int8 of raw 0 (silence)

    def __post_init__(self) -> None:
        check(4000 <= self.sample_rate <= 48000, "sample_rate", f"must be in 4000..48000 Hz, got {self.sample_rate}")
        check(self.window_ms <= 256, "window_ms", f"must be at most 256 ms (a frame, not a clip), got {self.window_ms}")
        check(self.window_ms > 0, "window_ms", f"must be positive, got {self.window_ms}")
        check(self.stride_ms > 0, "stride_ms", f"must be positive, got {self.stride_ms}")
        check(
            self.window_samples >= 2,
            "window_ms",
            f"{self.window_ms} ms is {self.window_samples} samples at {self.sample_rate} Hz; need at least 2",
        )
        check(self.stride_samples >= 1, "stride_ms", f"{self.stride_ms} ms is less than one sample")
        check(
            self.stride_ms <= self.window_ms,
            "stride_ms",
            f"{self.stride_ms} ms is longer than the window ({self.window_ms} ms)",
        )
        check(self.num_channels >= 1, "num_channels", f"must be at least 1, got {self.num_channels}")
        check(self.num_channels <= min(256, self.fft_size // 2), "num_channels",
              f"{self.num_channels} is more than the {self.fft_size // 2} FFT bins of a {self.window_ms} ms window "
              "can fill (and at most 256)")
        nyquist = self.sample_rate / 2
        check(self.lower_band_hz > 0, "lower_band_hz", f"must be positive, got {self.lower_band_hz}")
        check(
            self.upper_band_hz <= nyquist,
            "upper_band_hz",
            f"{self.upper_band_hz} Hz is above Nyquist ({nyquist} Hz at {self.sample_rate} Hz)",
        )
        check(
            self.lower_band_hz < self.upper_band_hz,
            "lower_band_hz",
            f"{self.lower_band_hz} Hz is not below upper_band_hz ({self.upper_band_hz} Hz)",
        )
        check(0 <= self.smoothing_bits <= 16, "smoothing_bits", f"must be in 0..16, got {self.smoothing_bits}")
        for name in ("even_smoothing", "odd_smoothing", "min_signal_remaining"):
            value = getattr(self, name)
            check(0.0 <= value <= 1.0, name, f"must be in [0, 1], got {value}")
        check(0.0 <= self.pcan_strength, "pcan_strength", f"must be non-negative, got {self.pcan_strength}")
        check(0.0 <= self.pcan_offset, "pcan_offset", f"must be non-negative, got {self.pcan_offset}")
        check(1 <= self.gain_bits <= 31, "gain_bits", f"must be in 1..31, got {self.gain_bits}")
        check(0 <= self.log_shift <= 15, "log_shift", f"must be in 0..15, got {self.log_shift}")
        check(self.int8_scale_num > 0, "int8_scale_num", f"must be positive, got {self.int8_scale_num}")
        check(self.int8_scale_den > 0, "int8_scale_den", f"must be positive, got {self.int8_scale_den}")
        check(-128 <= self.int8_offset <= 127, "int8_offset", f"must be in -128..127, got {self.int8_offset}")

    # Derived sizes, exactly as the C library computes them (integer division).
    @property
    def window_samples(self) -> int:
        """Window length in samples: ``window_ms * sample_rate // 1000``."""
        return self.window_ms * self.sample_rate // 1000

    @property
    def stride_samples(self) -> int:
        """Hop in samples: ``stride_ms * sample_rate // 1000``."""
        return self.stride_ms * self.sample_rate // 1000

    @property
    def fft_size(self) -> int:
        """The smallest power of two >= the window length."""
        size = 1
        while size < self.window_samples:
            size <<= 1
        return size

    def num_frames(self, num_samples: int) -> int:
        """Frames the frontend emits for ``num_samples`` (no padding)."""
        if num_samples < self.window_samples:
            return 0
        return 1 + (num_samples - self.window_samples) // self.stride_samples

    # Serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return to_mapping(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): what .tflite metadata and hashes use."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "frontend") -> "FrontendConfig":
        """Build from a mapping; ``preset: NAME`` starts from a preset and the rest overrides it."""
        data = dict(data)
        preset = data.pop("preset", None)
        if preset is not None:
            if preset not in PRESETS:
                raise SettingsError(f"{path}.preset", f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
            data = {**PRESETS[preset].to_dict(), **data}
        return from_mapping(cls, data, path)

    @classmethod
    def from_json(cls, text: str) -> "FrontendConfig":
        return cls.from_dict(json.loads(text))

    @classmethod
    def preset(cls, name: str) -> "FrontendConfig":
        if name not in PRESETS:
            raise SettingsError("preset", f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
        return PRESETS[name]

    def sha256(self) -> str:
        """Hash of the canonical JSON; keys the feature cache."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def replace(self, **changes: Any) -> "FrontendConfig":
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, FrontendConfig] = {
    # TFLite-Micro's micro_speech example.
    "micro_speech": FrontendConfig(),
    # The coralmicro keyword-spotting setting: 25/10 ms, 64 channels, no NR/PCAN.
    # Without PCAN the log output spans ln(2^32)*64 ≈ 1420, hence the wider mapping.
    "coralmicro": FrontendConfig(
        window_ms=25,
        stride_ms=10,
        num_channels=64,
        noise_reduction=False,
        pcan=False,
        int8_scale_den=1420,
    ),
}
