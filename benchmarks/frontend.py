"""Frontend throughput: the NumPy MicroFrontend vs the TF op vs librosa log-mel.

    edgeser benchmark frontend [--seconds 60] [--repeats 5] [--json runs/bench/frontend.json]

Measures seconds of audio processed per CPU-second (``time.process_time``) on one
thread, on the same audio for all three: RAVDESS clips concatenated when
``../shared/data/ravdess`` is present, else a generated speech-like signal (the
output says which). Each measurement is repeated and the median reported.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

DEFAULT_JSON = Path("runs/bench/frontend.json")


def _ravdess_root() -> Path:
    return Path("../shared/data/ravdess")  # relative to the working folder (the repository's root)


def load_bench_audio(seconds: float, sample_rate: int) -> tuple[np.ndarray, str]:
    """int16 audio of about ``seconds`` and a description of where it came from."""
    from edgeser.corpora.audio import AudioError, load_audio

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

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one BLAS/OpenMP thread, for the rest of the process
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised in this process: its pools stay as they are
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
