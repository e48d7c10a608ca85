"""Benchmarks built on the runners: one model, per-op breakdown, two models in alternation, the pipeline.

* :func:`benchmark_model` — warm-up then N timed invocations of one model on one
  backend/variant; optional per-op breakdown.
* :func:`profile_ops` — per-op times by isolation: each op is cut out as a one-op model
  (:func:`~edgeser.benchmarks.latency.single_op_model`) and timed alone on the same
  backend. Neither LiteRT's nor TFLite-Micro's Python API exposes its op profiler, so
  this is what is possible from Python; the sum of the ops is reported next to the
  whole-model median (they differ by the interpreter's per-invoke overhead and cache
  effects; on XNNPACK also by fusion across ops).
* :func:`compare_models` — two models in one process, invocations interleaved A, B,
  A, B … so drift in machine load hits both alike; reports the ratio of medians.
* :func:`pipeline_latency` — end-to-end time of the fused pipeline on one clip:
  MicroFrontend (NumPy, :func:`edgeser.frontend.microfrontend.compute_raw`) on the
  audio, the keyword model over its K sliding windows, the acoustic model, the fusion
  head; every run times the whole chain and each stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from edgeser.benchmarks.backends import open_runner
from edgeser.benchmarks.latency import (
    BenchError,
    LatencyStats,
    make_inputs,
    read_model,
    single_op_model,
    time_calls,
)
from edgeser.tflite_file import ModelFile

DEFAULT_KWS_HOP_SECONDS = 0.5  # configs/*.yaml keyword_hop_seconds


@dataclass(frozen=True, eq=False)
class Timing:
    """How a model is timed: ``warmup`` untimed, then ``runs`` timed invocations, on rows of
    ``features`` (real model inputs, ``[N, ...]``; None = random int8) that the result names
    ``features_source``."""

    warmup: int = 10
    runs: int = 100
    features: np.ndarray | None = None
    features_source: str = "features"


def benchmark_model(
    mf: ModelFile,
    backend: str,
    variant: str = "",
    timing: Timing = Timing(),
    per_op: bool = False,
    per_op_runs: int | None = None,
    arena_size: int | None = None,
) -> dict[str, Any]:
    """Latency of one model on ``backend`` (milliseconds), optionally with per-op medians."""
    warmup, runs = timing.warmup, timing.runs
    runner = open_runner(backend, mf.data, variant, source=mf.path, arena_size=arena_size)
    inputs, how = make_inputs(runner.input_specs(), timing.features, timing.features_source)
    runner.set_inputs(inputs)
    samples = time_calls(runner.invoke, warmup, runs)
    stats = LatencyStats.from_samples(samples)
    result: dict[str, Any] = {
        "model": mf.path,
        "backend": backend,
        "variant": variant or None,
        "label": runner.label,
        "inputs": how,
        "input_shapes": [list(s.shape) for s in runner.input_specs()],
        "warmup": warmup,
        "runs": runs,
        "stats": stats.to_dict(),
        "samples_ms": [round(float(s), 6) for s in samples],
        "measured": True,
    }
    result.update({k: v for k, v in runner.info().items()})
    if per_op and backend == "edgetpu":
        result["ops_method"] = "not possible: a compiled model runs as one edgetpu-custom-op; see the prediction's per-op costs"
    elif per_op:
        result["ops"] = profile_ops(mf, backend, variant, warmup=min(warmup, 3), runs=per_op_runs or max(5, min(runs, 30)))
        total = sum(o["median_ms"] for o in result["ops"] if o["median_ms"] is not None)
        result["ops_sum_ms"] = total
        result["ops_method"] = "each op timed alone as a one-op model on the same backend (isolation)"
    return result


def profile_ops(mf: ModelFile, backend: str, variant: str = "", warmup: int = 3, runs: int = 20) -> list[dict[str, Any]]:
    """Median time of every op of the main subgraph, each run alone as a one-op model."""
    from edgeser.benchmarks.predict import op_costs

    costs = {c.index: c for c in op_costs(mf)}
    out = []
    for k, name in enumerate(mf.op_names):
        row: dict[str, Any] = {"index": k, "op": name, "macs": costs[k].macs if k in costs else None}
        try:
            sub = single_op_model(mf.data, k)
            r = open_runner(backend, sub, variant, source=f"{mf.path} op {k} ({name})")
            ins, _ = make_inputs(r.input_specs())
            r.set_inputs(ins)
            row["median_ms"] = float(np.median(time_calls(r.invoke, warmup, runs)))
        except Exception as exc:  # an op that cannot run alone: say so in its row
            row["median_ms"] = None
            row["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        out.append(row)
    return out


def interleaved_times(first: Callable[[], Any], second: Callable[[], Any], runs: int, warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds of ``first`` and ``second`` timed alternately ``runs`` times after ``warmup``
    untimed rounds of both, so load drift on a shared machine hits both alike."""
    for _ in range(max(0, warmup)):
        first()
        second()
    a, b = np.empty(runs), np.empty(runs)
    clock = time.perf_counter_ns
    for i in range(runs):
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        a[i], b[i] = (t1 - t0) / 1e6, (t2 - t1) / 1e6
    return a, b


def compare_models(a: ModelFile, b: ModelFile, backend: str, variant: str = "", timing: Timing = Timing()) -> dict[str, Any]:
    """Interleaved A/B timing in one process; ``ratio`` = median(A) / median(B)."""
    ra = open_runner(backend, a.data, variant, source=a.path)
    rb = open_runner(backend, b.data, variant, source=b.path)
    for r in (ra, rb):
        ins, _ = make_inputs(r.input_specs(), timing.features, timing.features_source)
        r.set_inputs(ins)
    ta, tb = interleaved_times(ra.invoke, rb.invoke, timing.runs, timing.warmup)
    sa, sb = LatencyStats.from_samples(ta), LatencyStats.from_samples(tb)
    return {
        "backend": backend,
        "variant": variant or None,
        "label": ra.label,
        "a": {"model": a.path, "stats": sa.to_dict(), "samples_ms": ta.round(6).tolist()},
        "b": {"model": b.path, "stats": sb.to_dict(), "samples_ms": tb.round(6).tolist()},
        "ratio_of_medians": sa.median_ms / sb.median_ms if sb.median_ms else None,
        "method": "interleaved A,B invocations in one process after warm-up of both",
    }


# --- the fused pipeline ---------------------------------------------------------------------------------
def keyword_windows(num_frames: int, kw_frames: int, kw_hop: int) -> int:
    """Keyword windows over ``num_frames`` frames (the firmware's Schedule: f >= kw_frames, every kw_hop)."""
    if num_frames < kw_frames or kw_hop < 1:
        return 0
    return (num_frames - kw_frames) // kw_hop + 1


def _stored_frontend(data: bytes):
    """The FrontendConfig an edgeser model stores in its metadata, or None."""
    from edgeser.frontend.config import FrontendConfig
    from edgeser.quantize.convert import read_frontend_json

    try:
        text = read_frontend_json(data)
    except Exception:  # not an edgeser model, or metadata unreadable: use the default
        return None
    return FrontendConfig.from_json(text) if text else None


def pipeline_latency(
    kws: str | Path,
    acoustic: str | Path,
    fusion: str | Path,
    audio_seconds: float | None = None,
    backend: str = "litert",
    runs: int = 20,
    variant: str = "builtin",
    warmup: int = 2,
    frontend_config: Any = None,
    kws_hop_frames: int | None = None,
    audio: np.ndarray | None = None,
) -> dict[str, Any]:
    """End-to-end time of frontend + K keyword windows + acoustic + fusion on one clip.

    ``frontend_config`` defaults to the one stored in the acoustic model's metadata
    (else the default config). ``audio_seconds`` defaults to the acoustic model's window; K follows the firmware's
    schedule: ``(frames - kw_frames) // kw_hop + 1`` with ``kw_hop`` =
    ``kws_hop_frames`` or 0.5 s of frames. ``audio`` (int16) defaults to deterministic
    noise (``default_rng(0)``, σ = 3000), which costs the NumPy frontend the same as speech.
    """
    from edgeser.frontend.config import FrontendConfig
    from edgeser.frontend.microfrontend import compute_raw

    files = {"keyword": read_model(kws), "acoustic": read_model(acoustic), "fusion": read_model(fusion)}
    cfg = frontend_config or _stored_frontend(files["acoustic"].data) or FrontendConfig()
    runners = {k: open_runner(backend, mf.data, variant if backend == "litert" else "", source=mf.path) for k, mf in files.items()}
    for r in runners.values():
        ins, _ = make_inputs(r.input_specs())
        r.set_inputs(ins)
    kw_shape = runners["keyword"].input_specs()[0].shape
    ac_shape = runners["acoustic"].input_specs()[0].shape
    kw_frames = int(kw_shape[1]) if len(kw_shape) > 1 else 1
    ac_frames = int(ac_shape[1]) if len(ac_shape) > 1 else 1
    stride = cfg.stride_samples
    if audio is None:
        if audio_seconds is None:
            audio_seconds = (cfg.window_samples + (ac_frames - 1) * stride) / cfg.sample_rate
        n = int(round(audio_seconds * cfg.sample_rate))
        audio = np.clip(np.random.default_rng(0).normal(0, 3000, n), -32768, 32767).astype(np.int16)
    else:
        audio = np.asarray(audio, dtype=np.int16)
        audio_seconds = audio.size / cfg.sample_rate
    frames = cfg.num_frames(audio.size)
    hop = kws_hop_frames or max(1, int(round(DEFAULT_KWS_HOP_SECONDS * 1000 / cfg.stride_ms)))
    k_windows = keyword_windows(frames, kw_frames, hop)
    if k_windows == 0:
        raise BenchError(
            f"{audio_seconds:g} s of audio gives {frames} frames, fewer than the keyword model's window of {kw_frames} frames."
        )
    stages = {"frontend": [], "keyword": [], "acoustic": [], "fusion": [], "total": []}
    clock = time.perf_counter_ns

    def once(record: bool) -> None:
        t0 = clock()
        compute_raw(audio, cfg)
        t1 = clock()
        for _ in range(k_windows):
            runners["keyword"].invoke()
        t2 = clock()
        runners["acoustic"].invoke()
        t3 = clock()
        runners["fusion"].invoke()
        t4 = clock()
        if record:
            for name, dt in (("frontend", t1 - t0), ("keyword", t2 - t1), ("acoustic", t3 - t2), ("fusion", t4 - t3), ("total", t4 - t0)):
                stages[name].append(dt / 1e6)

    for _ in range(max(0, warmup)):
        once(False)
    for _ in range(runs):
        once(True)
    return {
        "backend": backend,
        "variant": (variant if backend == "litert" else None) or None,
        "audio_seconds": float(audio_seconds),
        "frames": int(frames),
        "keyword_window_frames": kw_frames,
        "keyword_hop_frames": hop,
        "keyword_windows": int(k_windows),
        "acoustic_frames": ac_frames,
        "models": {k: mf.path for k, mf in files.items()},
        "runs": runs,
        "warmup": warmup,
        "stages": {k: LatencyStats.from_samples(v).to_dict() for k, v in stages.items()},
        "samples_ms": [round(x, 6) for x in stages["total"]],
        "note": "frontend = NumPy MicroFrontend on the host (the board runs the C frontend); keyword = all K windows",
    }


def find_pipeline_models(run_dir: str | Path, compiled: bool = False) -> dict[str, Path]:
    """The keyword, acoustic and fusion .tflite files of a run directory (by name).

    ``compiled``: prefer ``*_edgetpu.tflite`` (Edge TPU backend); else prefer the plain int8 files.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BenchError(f"{run_dir} is not a run directory (no such folder).")
    files = sorted(run_dir.rglob("*.tflite"))
    found: dict[str, Path] = {}
    for role, keys in (("keyword", ("kws", "keyword")), ("acoustic", ("acoustic",)), ("fusion", ("fusion",))):
        cands = [f for f in files if any(k in f.name.lower() for k in keys)]
        pref = [f for f in cands if f.name.endswith("_edgetpu.tflite") == compiled]
        pick = (pref or cands)[:1]
        if not pick:
            raise BenchError(f"{run_dir} holds no {role} model (*{keys[0]}*.tflite).")
        found[role] = pick[0]
    return found


# --- cost on the microcontroller ------------------------------------------------------------------------
def ensemble_cost(
    heads: Sequence[Any],
    representative: Sequence[np.ndarray | Sequence[np.ndarray]],
    runs: int = 50,
    warmup: int = 5,
    arena: bool = True,
) -> dict[str, Any]:
    """Convert every head to full int8 and measure the ensemble against its first head alone.

    ``representative``: calibration examples as for
    :func:`edgeser.quantize.convert.quantize_keras_model` (training-split inputs; a
    tuple per example for the two-input fusion head).

    Latency: TFLite-Micro interpreter on the host (the kernels the Cortex-M7 runs, not
    board milliseconds). ``runs`` timed rounds after ``warmup``; each round times one
    invoke of head 0 ("single") and then, separately, one invoke of every head in turn
    ("ensemble"), interleaved so machine-load drift hits both alike; medians reported.
    Inputs: deterministic random int8 (these kernels' time does not depend on values).

    Returns a JSON-ready dict: ``heads``, ``flash_bytes`` (per head), ``flash_total``,
    ``flash_ratio`` (total / head 0), ``arena_bytes`` (per head; measured minimal TFLM
    arena, when ``arena``), ``arena_shared`` (the max: heads run one after another can
    share one arena), ``single_ms`` / ``ensemble_ms`` (median), ``latency_ratio``,
    ``runs``, ``backend``.
    """
    from edgeser.quantize.convert import quantize_keras_model

    heads = list(heads)
    if not heads:
        raise ValueError("ensemble_cost: no heads")
    if runs < 1:
        raise ValueError(f"ensemble_cost: runs must be at least 1, got {runs}")
    samples = list(representative)
    models = [quantize_keras_model(h, samples) for h in heads]
    runners = []
    for k, data in enumerate(models):
        runner = open_runner("tflm", data, source=f"head {k}")
        inputs, _ = make_inputs(runner.input_specs())
        runner.set_inputs(inputs)
        runners.append(runner)
    single, together = interleaved_times(runners[0].invoke, lambda: [r.invoke() for r in runners], runs, warmup)
    s, e = LatencyStats.from_samples(single), LatencyStats.from_samples(together)
    flash = [len(m) for m in models]
    out: dict[str, Any] = {
        "heads": len(heads),
        "backend": "tflm",
        "runs": runs,
        "flash_bytes": flash,
        "flash_total": int(sum(flash)),
        "flash_ratio": sum(flash) / flash[0],
        "single_ms": s.median_ms,
        "ensemble_ms": e.median_ms,
        "latency_ratio": e.median_ms / s.median_ms if s.median_ms else None,
        "single_stats": s.to_dict(),
        "ensemble_stats": e.to_dict(),
    }
    if arena:
        from edgeser.quantize.memory import measure_arena

        arenas = [measure_arena(m) for m in models]
        out["arena_bytes"] = arenas
        out["arena_shared"] = int(max(arenas))
    return out
