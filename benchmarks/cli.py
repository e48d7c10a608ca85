"""``edgeser bench``: the latency benchmark command.

The main CLI registers :func:`bench` (``app.command(help=...)(bench)``); it is a plain
function with typer annotations so a test can mount it on a small typer app.

Failures the user can fix (a file that is not a TFLite model, a float or uncompiled
model on ``--backend edgetpu``, a missing Edge TPU runtime, a serial device that cannot
be opened or sends no BENCH block) print one sentence naming the file or device on
stderr and exit 1, before anything is written: ``--out`` is written only after every
measurement succeeded, each file atomically, ``bench.json`` last.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, List, Optional

import typer

__all__ = ["bench", "run_bench"]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


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
    from edgeser.benchmarks.measure import benchmark_model, compare_models, find_pipeline_models, pipeline_latency
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
        for mf in files:
            for v in variants:
                results.append(
                    benchmark_model(
                        mf, backend, v, warmup, runs, features, str(input_npy) if input_npy else "features",
                        per_op=per_op, arena_size=arena,
                    )
                )
                if other is not None:
                    comparisons.append(compare_models(mf, other, backend, v, warmup, runs, features, str(input_npy) if input_npy else "features"))
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


def bench(
    models: Annotated[Optional[List[Path]], typer.Argument(metavar="MODEL.tflite...", help="Models to time (full-int8 .tflite; *_edgetpu.tflite for --backend edgetpu).")] = None,
    backend: Annotated[str, typer.Option("--backend", "-b", help="litert | tflm | edgetpu | board.")] = "litert",
    variant: Annotated[str, typer.Option("--variant", help="LiteRT kernels: builtin (XNNPACK), reference, or all.")] = "all",
    warmup: Annotated[int, typer.Option("--warmup", help="Untimed invocations first.")] = 10,
    runs: Annotated[int, typer.Option("--runs", "-n", help="Timed invocations.")] = 100,
    input_npy: Annotated[Optional[Path], typer.Option("--input", help="Features .npy for the first input (default: deterministic random int8).")] = None,
    per_op: Annotated[bool, typer.Option("--per-op", help="Per-op breakdown (each op timed alone as a one-op model).")] = False,
    predict: Annotated[bool, typer.Option("--predict/--no-predict", help="Add the PREDICTED Dev Board Micro latency (analytic model).")] = True,
    vs: Annotated[Optional[Path], typer.Option("--vs", help="Second model: run in alternation with each MODEL; report the ratio of medians.")] = None,
    pipeline: Annotated[Optional[Path], typer.Option("--pipeline", help="Run directory with keyword, acoustic, fusion .tflite: end-to-end time.")] = None,
    audio_seconds: Annotated[Optional[float], typer.Option("--audio-seconds", help="Clip length for --pipeline (default: the acoustic window).")] = None,
    port: Annotated[Optional[str], typer.Option("--port", help="Board serial device or pyserial URL (--backend board).")] = None,
    board_command: Annotated[Optional[str], typer.Option("--board-command", help="Line to send before reading (the current firmware needs none).")] = None,
    board_timeout: Annotated[float, typer.Option("--board-timeout", help="Seconds to wait for the BENCH block.")] = 120.0,
    baud: Annotated[int, typer.Option("--baud", help="Serial baud rate.")] = 115200,
    arena_kb: Annotated[Optional[int], typer.Option("--arena-kb", help="TFLite-Micro arena (default: smallest power of two from 64 KiB that fits).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the bench.json document on stdout instead of tables.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write bench.json and histogram PNGs into this folder.")] = None,
) -> None:
    """Time models on the host (LiteRT, TFLite-Micro), an Edge TPU, or the board; predict board latency."""
    from edgeser.benchmarks.latency import BenchError

    try:
        doc = run_bench(
            list(models or []), backend, variant, warmup, runs, input_npy, per_op, predict, vs, pipeline,
            audio_seconds, port, board_command, board_timeout, baud, arena_kb,
        )
    except BenchError as exc:
        _fail(str(exc))
        return
    written: list[Path] = []
    if out is not None:
        from edgeser.atomic import write_json
        from edgeser.benchmarks.report import write_histograms

        if out.exists() and not out.is_dir():
            _fail(f"{out} exists and is not a folder, so bench.json cannot be written there.")
        try:
            written = write_histograms(doc, out)
            written.append(write_json(out / "bench.json", doc))
        except OSError as exc:
            _fail(f"cannot write into {out}: {exc.strerror or exc}.")
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    from rich.console import Console

    from edgeser.benchmarks.report import print_document

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 140))
    print_document(doc, console)
    for err in doc.get("prediction_errors", []):
        console.print(f"[yellow]no prediction:[/yellow] {err}")
    if written:
        console.print(f"wrote {len(written)} files into {out} (bench.json + {len(written) - 1} histograms)")
