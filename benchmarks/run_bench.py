"""Benchmark a run's three device models on every backend this machine has.

``edgeser benchmark run RUN_DIR`` (what ``make bench`` runs) times
the keyword, acoustic and fusion int8 models one by one and as the fused pipeline
(frontend + K keyword windows + acoustic + fusion) on LiteRT and TFLite-Micro, and
on an Edge TPU when Coral's runtime, a device and compiled models are present. It
adds the *predicted* Dev Board Micro latency and writes ``bench.json`` and a markdown
table ``bench.md`` into the run folder (recorded in its manifest, stage "bench").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeser.rundir import RunDir

DEVICE_MODELS = ("keyword", "acoustic", "fusion")


def available_backends(run_dir: Path) -> list[str]:
    """litert and tflm always; edgetpu when the runtime, a device and compiled models exist."""
    from edgeser.benchmarks.backends import edgetpu_available

    backends = ["litert", "tflm"]
    compiled = list((run_dir / "edgetpu").glob("*_edgetpu.tflite")) if (run_dir / "edgetpu").is_dir() else []
    if compiled and edgetpu_available()[0]:
        backends.append("edgetpu")
    return backends


def bench_run(run_dir: Path, runs: int = 50, warmup: int = 5) -> dict[str, Any]:
    """The bench.json document: ``{backend: run_bench document}`` plus the prediction."""

    models = [run_dir / f"{name}_int8.tflite" for name in DEVICE_MODELS]
    doc: dict[str, Any] = {"run": str(run_dir), "backends": {}}
    for backend in available_backends(run_dir):
        if backend == "edgetpu":
            chosen = sorted((run_dir / "edgetpu").glob("*_edgetpu.tflite"))
        else:
            chosen = models
        variant = "builtin" if backend == "litert" else "all"
        doc["backends"][backend] = run_bench(
            chosen, backend=backend, variant=variant, warmup=warmup, runs=runs, pipeline=run_dir, predict=backend == "tflm"
        )
    return doc


def markdown_table(doc: dict[str, Any]) -> str:
    """Per model and pipeline: min / median / p90 / p99 / max (ms) per backend, then the prediction."""
    lines = ["| backend | what | min | median | p90 | p99 | max |", "|---|---|---:|---:|---:|---:|---:|"]
    predicted = None
    for backend, sub in doc["backends"].items():
        for result in sub["results"]:
            s = result["stats"]
            name = Path(result["model"]).name
            lines.append(
                f"| {backend} | {name} | {s['min_ms']:.3f} | {s['median_ms']:.3f} | {s['p90_ms']:.3f} | {s['p99_ms']:.3f} | {s['max_ms']:.3f} |"
            )
        pipe = sub.get("pipeline")
        if pipe:
            s = pipe["stages"]["total"]
            what = f"pipeline: frontend + {pipe['keyword_windows']} keyword windows + acoustic + fusion"
            lines.append(
                f"| {backend} | {what} | {s['min_ms']:.3f} | {s['median_ms']:.3f} | {s['p90_ms']:.3f} | {s['p99_ms']:.3f} | {s['max_ms']:.3f} |"
            )
            predicted = pipe.get("predicted") or predicted
    if predicted and "clip_ms" in predicted:
        lines += [
            "",
            f"PREDICTED Dev Board Micro (analytic model, not measured): one clip {predicted['clip_ms']:.1f} ms, "
            f"one streaming decision {predicted['streaming_decision_ms']:.1f} ms (paper: 21–23 ms).",
        ]
    return "\n".join(lines) + "\n"


def write_bench(run: RunDir, runs: int = 50, warmup: int = 5) -> dict[str, Any]:
    doc = bench_run(run.path, runs=runs, warmup=warmup)
    with run.locked():
        run.write_json("bench.json", doc, "bench", sources=run.model_files())
        run.write_text("bench.md", markdown_table(doc), "bench")
    return doc


def run_bench(
    models: list[Path],
    backend: str = "litert",
    variant: str = "all",
    warmup: int = 10,
    runs: int = 100,
    input_npy: Path | None = None,
    per_op: bool = False,
    predict: bool = True,
    vs: Path | None = None,
    pipeline: Path | None = None,
    audio_seconds: float | None = None,
    port: str | None = None,
    board_command: str | None = None,
    board_timeout: float = 120.0,
    baud: int = 115200,
    arena_kb: int | None = None,
) -> dict[str, Any]:
    """Run everything asked for and return the bench.json document (raises BenchError)."""
    import edgeser  # noqa: F401  (tf-keras before TensorFlow)
    from edgeser.benchmarks import backends as B
    from edgeser.benchmarks.board import board_bench
    from edgeser.benchmarks.latency import BenchError, load_features, read_model
    from edgeser.benchmarks.measure import Timing, benchmark_model, compare_models, find_pipeline_models, pipeline_latency
    from edgeser.benchmarks.predict import predict_model
    from edgeser.benchmarks.report import make_document

    if backend not in B.BACKENDS:
        raise BenchError(f"unknown backend '{backend}': choose one of {', '.join(B.BACKENDS)}.")
    if warmup < 0 or runs < 1:
        raise BenchError(f"--runs must be at least 1 and --warmup at least 0 (got runs={runs}, warmup={warmup}).")
    if not models and pipeline is None and backend != "board":
        raise BenchError("give at least one MODEL.tflite (or --pipeline RUN_DIR).")
    if backend == "board" and not port:
        raise BenchError("the board backend needs --port (a serial device such as /dev/ttyACM0, or a pyserial URL).")

    # Read and check every file first: a bad one fails before any timing or writing.
    files = [read_model(p) for p in models]
    other = read_model(vs) if vs is not None else None
    features = load_features(input_npy) if input_npy is not None else None
    variants = B.variants_for(backend, None if variant == "all" else variant) if backend != "board" else [""]
    if backend == "edgetpu":
        for mf in files + ([other] if other else []):
            B.check_edgetpu_model(mf)
        ok, why = B.edgetpu_available()
        if not ok:
            raise BenchError(f"the edgetpu backend cannot run here because {why}: install Coral's Edge TPU runtime and connect a USB Accelerator.")

    settings: dict[str, Any] = {
        "backend": backend,
        "variants": variants,
        "warmup": warmup,
        "runs": runs,
        "input": str(input_npy) if input_npy else "deterministic random int8 (numpy default_rng(0))",
    }
    arena = arena_kb * 1024 if arena_kb else None
    results, comparisons, predictions = [], [], []
    pipe = None
    board = None
    if backend == "board":
        settings["port"] = port
        board = board_bench(port, command=board_command, timeout_s=board_timeout, baudrate=baud).to_dict()
    else:
        timing = Timing(warmup, runs, features, str(input_npy) if input_npy else "features")
        for mf in files:
            for v in variants:
                results.append(benchmark_model(mf, backend, v, timing, per_op=per_op, arena_size=arena))
                if other is not None:
                    comparisons.append(compare_models(mf, other, backend, v, timing))
        if pipeline is not None:
            found = find_pipeline_models(pipeline, compiled=backend == "edgetpu")
            pipe = pipeline_latency(
                found["keyword"], found["acoustic"], found["fusion"], audio_seconds,
                backend=backend, runs=runs, variant=variants[0] or "builtin", warmup=min(warmup, 3),
            )
            if predict and backend != "edgetpu":
                from edgeser.benchmarks.predict import predict_pipeline

                try:
                    pipe["predicted"] = predict_pipeline(
                        found["keyword"], found["acoustic"], found["fusion"], pipe["keyword_windows"], pipe["frames"]
                    )
                except BenchError as exc:
                    pipe["predicted"] = {"error": str(exc)}
    if predict:
        seen: set[str] = set()
        for mf in files + ([other] if other else []):
            if mf.path in seen:
                continue
            seen.add(mf.path)
            try:
                predictions.append(predict_model(mf).to_dict())
            except BenchError as exc:
                predictions.append({"model": mf.path, "label": "predicted", "error": str(exc)})
    return make_document(settings, results, [p for p in predictions if "error" not in p], comparisons, pipe, board) | {
        "prediction_errors": [p["error"] for p in predictions if "error" in p]
    }
