"""Benchmark a run's three device models on every backend this machine has.

``python -m edgeser.benchmarks.run_bench RUN_DIR`` (what ``make bench`` runs) times
the keyword, acoustic and fusion int8 models one by one and as the fused pipeline
(frontend + K keyword windows + acoustic + fusion) on LiteRT and TFLite-Micro, and
on an Edge TPU when Coral's runtime, a device and compiled models are present. It
adds the *predicted* Dev Board Micro latency and writes ``bench.json`` and a markdown
table ``bench.md`` into the run folder (recorded in its manifest, stage "bench").
"""

from __future__ import annotations

import argparse
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
    from edgeser.benchmarks.cli import run_bench

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a run folder with *_int8.tflite models (edgeser quantize)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)
    run = RunDir.open(args.run_dir)
    write_bench(run, args.runs, args.warmup)
    print((run.path / "bench.md").read_text(), end="")
    print(f"written: {run.path / 'bench.json'}, {run.path / 'bench.md'}")


if __name__ == "__main__":
    main()
