"""Frontend throughput: the NumPy MicroFrontend vs the TF op vs librosa log-mel.

    python -m edgeser.benchmarks.frontend [--seconds 60] [--repeats 5] [--json runs/bench/frontend.json]

Measures seconds of audio processed per CPU-second (``time.process_time``) on one
thread, on the same audio for all three: RAVDESS clips concatenated when
``../shared/data/ravdess`` is present, else a generated speech-like signal (the
output says which). Each measurement is repeated and the median reported.
"""

from __future__ import annotations

import os

# One thread everywhere; must be set before NumPy/TF are imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

DEFAULT_JSON = Path("runs/bench/frontend.json")


def _ravdess_root() -> Path:
    here = Path(__file__).resolve()
    return here.parents[1].parent / "shared" / "data" / "ravdess"


def load_bench_audio(seconds: float, sample_rate: int) -> tuple[np.ndarray, str]:
    """int16 audio of about ``seconds`` and a description of where it came from."""
    from edgeser.frontend.audio import AudioError, load_audio

    root = _ravdess_root()
    target = int(seconds * sample_rate)
    if root.is_dir():
        parts, total, used = [], 0, 0
        for path in sorted(root.rglob("*.wav")):
            try:
                clip = load_audio(path, sample_rate)
            except AudioError:
                continue
            parts.append(clip)
            total += clip.size
            used += 1
            if total >= target:
                break
        if parts:
            audio = np.concatenate(parts)[:target]
            return audio, f"RAVDESS speech: {used} clips concatenated from {root}"
    rng = np.random.default_rng(0)
    t = np.arange(target) / sample_rate
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    signal = 0.3 * voiced * envelope + 0.02 * rng.standard_normal(target)
    audio = np.clip(signal / np.max(np.abs(signal)) * 20000, -32768, 32767).astype(np.int16)
    return audio, "generated harmonic signal (RAVDESS not found)"


def _measure(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """CPU seconds of each function, ``repeats`` times, interleaved so load changes hit all alike."""
    for fn in fns.values():
        fn()  # warm-up (table building, TF op loading)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
    return times


def run(seconds: float, repeats: int, preset: str) -> dict:
    import librosa
    import tensorflow as tf

    from edgeser.frontend.config import FrontendConfig
    from edgeser.frontend.microfrontend import compute_raw
    from edgeser.frontend.tf_reference import tf_microfrontend

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised
        pass

    config = FrontendConfig.preset(preset)
    audio, source = load_bench_audio(seconds, config.sample_rate)
    duration = audio.size / config.sample_rate
    float_audio = audio.astype(np.float32) / 32768.0

    def numpy_frontend():
        return compute_raw(audio, config)

    def tf_op():
        return tf_microfrontend(audio, config)

    def librosa_logmel():
        mel = librosa.feature.melspectrogram(
            y=float_audio,
            sr=config.sample_rate,
            n_fft=config.fft_size,
            win_length=config.window_samples,
            hop_length=config.stride_samples,
            n_mels=config.num_channels,
            fmin=config.lower_band_hz,
            fmax=config.upper_band_hz,
            center=False,
        )
        return librosa.power_to_db(mel)

    identical = bool(np.array_equal(numpy_frontend(), tf_op()))
    results = {}
    measured = _measure(
        {"numpy_microfrontend": numpy_frontend, "tf_audio_microfrontend": tf_op, "librosa_logmel": librosa_logmel},
        repeats,
    )
    for name, times in measured.items():
        median = statistics.median(times)
        results[name] = {
            "cpu_seconds_median": median,
            "cpu_seconds_all": times,
            "audio_seconds_per_cpu_second": duration / median if median > 0 else float("inf"),
        }
    ratio = results["numpy_microfrontend"]["cpu_seconds_median"] / results["tf_audio_microfrontend"]["cpu_seconds_median"]
    return {
        "preset": preset,
        "config_sha256": config.sha256(),
        "audio_source": source,
        "audio_seconds": duration,
        "repeats": repeats,
        "threads": 1,
        "numpy_equals_tf": identical,
        "numpy_over_tf_time_ratio": ratio,
        "results": results,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "processor": platform.processor(), "numpy": np.__version__, "tensorflow": tf.__version__},
    }


def print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Frontend throughput, preset {report['preset']} "
                        f"({report['audio_seconds']:.1f} s audio, median of {report['repeats']}, 1 thread)")
    table.add_column("implementation")
    table.add_column("CPU s (median)", justify="right")
    table.add_column("× real time", justify="right")
    for name, row in report["results"].items():
        table.add_row(name, f"{row['cpu_seconds_median']:.4f}", f"{row['audio_seconds_per_cpu_second']:.0f}")
    console.print(table)
    console.print(f"audio: {report['audio_source']}")
    console.print(f"NumPy/TF time ratio: {report['numpy_over_tf_time_ratio']:.2f}; "
                  f"NumPy output identical to TF: {report['numpy_equals_tf']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of audio to process (default 60)")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions; the median is reported (default 5)")
    parser.add_argument("--preset", action="append", default=None,
                        help="frontend preset(s) to measure (default: micro_speech and coralmicro)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"output JSON (default {DEFAULT_JSON})")
    args = parser.parse_args(argv)

    from edgeser import atomic

    presets = args.preset or ["micro_speech", "coralmicro"]
    reports = []
    for preset in presets:
        report = run(args.seconds, max(1, args.repeats), preset)
        print_table(report)
        reports.append(report)
    atomic.write_json(args.json, {"benchmark": "frontend", "runs": reports})
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
