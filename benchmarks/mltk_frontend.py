"""Silicon Labs MLTK's AudioFeatureGenerator against edgeser's MicroFrontend, on real clips.

    edgeser benchmark mltk-frontend [--data ../shared/data/ravdess] [--clips 40] [--json PATH]

The paper aligned its training and device spectrograms with MLTK. edgeser's NumPy frontend is
bit-exact with TensorFlow's ``audio_microfrontend`` op and with the coralmicro SDK's C frontend
(tests/test_frontend_parity.py, tests/test_firmware_board.py); this measures how far MLTK's
generator is from it, with the same settings (MLTK's extra DC notch, dynamic quantisation and
activity detection off), per frontend configuration: the share of identical uint16 values,
the largest and mean difference, how many frames differ, and the same for the int8 codes the
models see (``frontend.features.to_int8``).

silabs-mltk 0.20 pins protobuf < 4, which edgeser's pinned set (TensorFlow 2.16 with Ray and
opensmile, protobuf 4.25) cannot share, so it runs from a virtual environment of its own:
:data:`SETUP` says how. docs/benchmarks.md has the measured figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

SETUP = (
    "silabs-mltk is not importable here. It pins protobuf < 4, which edgeser's own environment cannot share, "
    "so give it a virtual environment of its own, from the repository folder:\n"
    "  python3 -m venv .venv-mltk && .venv-mltk/bin/pip install silabs-mltk==0.20.0 && "
    ".venv-mltk/bin/pip install --no-deps -e .\n"
    "  .venv-mltk/bin/edgeser benchmark mltk-frontend"
)


class MltkMissing(RuntimeError):
    """silabs-mltk cannot be imported; the message says how to get it."""


def generator_class():
    """MLTK's (AudioFeatureGenerator, AudioFeatureGeneratorSettings), or :class:`MltkMissing`."""
    try:
        from mltk.core.preprocess.audio.audio_feature_generator import (
            AudioFeatureGenerator,
            AudioFeatureGeneratorSettings,
        )
    except ImportError as exc:
        raise MltkMissing(f"{SETUP}\n({exc})") from None
    return AudioFeatureGenerator, AudioFeatureGeneratorSettings


def mltk_features(audio: np.ndarray, config) -> np.ndarray:
    """uint16 [frames, channels] of int16 ``audio`` (whole milliseconds) through MLTK, with ``config``'s settings."""
    generator, settings_class = generator_class()
    s = settings_class()
    s.sample_rate_hz = config.sample_rate
    s.sample_length_ms = 1000 * len(audio) // config.sample_rate
    s.window_size_ms, s.window_step_ms = config.window_ms, config.stride_ms
    s.filterbank_n_channels = config.num_channels
    s.filterbank_lower_band_limit, s.filterbank_upper_band_limit = config.lower_band_hz, config.upper_band_hz
    s.noise_reduction_enable = config.noise_reduction
    s.noise_reduction_smoothing_bits = config.smoothing_bits
    s.noise_reduction_even_smoothing, s.noise_reduction_odd_smoothing = config.even_smoothing, config.odd_smoothing
    s.noise_reduction_min_signal_remaining = config.min_signal_remaining
    s.pcan_enable, s.pcan_strength, s.pcan_offset = config.pcan, config.pcan_strength, config.pcan_offset
    s.pcan_gain_bits = config.gain_bits
    s.log_scale_enable, s.log_scale_shift = config.log_scale, config.log_shift
    s.dc_notch_filter_enable = False  # MLTK's own additions, not in the MicroFrontend
    s.quantize_dynamic_scale_enable = False
    s.activity_detection_enable = False
    out = generator(s).process_sample(np.asarray(audio, np.int16), dtype=np.uint16)
    return np.asarray(out).reshape(-1, config.num_channels)


def compare(paths: Sequence[Path], configs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per named FrontendConfig: how MLTK's features of the clips ``paths`` differ from edgeser's."""
    from edgeser.corpora.audio import load_audio
    from edgeser.frontend.features import to_int8
    from edgeser.frontend.microfrontend import compute_raw

    generator_class()
    out = {}
    for name, config in configs.items():
        diffs, int8_diffs, frames, frames_differing, count_mismatches = [], [], 0, 0, 0
        for path in paths:
            audio = load_audio(path, config.sample_rate)
            audio = audio[: (len(audio) * 1000 // config.sample_rate) * config.sample_rate // 1000]  # whole ms
            ours, theirs = compute_raw(audio, config), mltk_features(audio, config)
            n = min(len(ours), len(theirs))
            count_mismatches += int(len(ours) != len(theirs))
            d = np.abs(ours[:n].astype(np.int64) - theirs[:n].astype(np.int64))
            q = np.abs(to_int8(ours[:n], config).astype(np.int64) - to_int8(theirs[:n].astype(np.uint16), config))
            diffs.append(d.ravel())
            int8_diffs.append(q.ravel())
            frames += n
            frames_differing += int(d.any(axis=1).sum())
        d, q = np.concatenate(diffs), np.concatenate(int8_diffs)
        out[name] = {
            "clips": len(paths), "frames": frames, "values": int(d.size),
            "identical_fraction": float(np.mean(d == 0)), "max_abs_diff": int(d.max()), "mean_abs_diff": float(d.mean()),
            "frames_differing": frames_differing, "frame_count_mismatches": count_mismatches,
            "int8_identical_fraction": float(np.mean(q == 0)), "int8_max_abs_diff": int(q.max()),
        }
    return out


def print_table(result: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="MLTK AudioFeatureGenerator vs edgeser MicroFrontend (uint16 output; int8 model input)")
    for column in ("configuration", "clips", "frames", "identical", "max |Δ|", "frames with Δ", "int8 identical",
                   "int8 max |Δ|"):
        table.add_column(column, justify="left" if column == "configuration" else "right")
    for name, r in result.items():
        table.add_row(name, str(r["clips"]), str(r["frames"]), f"{100 * r['identical_fraction']:.3f} %",
                      str(r["max_abs_diff"]), str(r["frames_differing"]), f"{100 * r['int8_identical_fraction']:.3f} %",
                      str(r["int8_max_abs_diff"]))
    Console().print(table)
