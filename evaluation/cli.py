"""Command-line entry point of the evaluation package (mounted by ``edgeser.cli``).

``edgeser evaluate RUN_DIR --corpus NAME --data ROOT [--backend keras|tflm] [--json]``
scores a trained run on every clip of a corpus folder (see :mod:`edgeser.evaluation.evaluate`).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console


def evaluate(
    run_dir: Path = typer.Argument(..., help="A run folder made by `edgeser train` (and `edgeser quantize` for tflm)."),
    corpus: str = typer.Option(..., "--corpus", help="Corpus reader name (ravdess, demo, emodb, ...)."),
    data: Path = typer.Option(..., "--data", help="Corpus folder; all its clips are the test set."),
    backend: str = typer.Option("keras", "--backend", help="keras (float models) or tflm (int8 on TFLite-Micro)."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON instead of the table."),
) -> None:
    """Score a trained run on any copy of a corpus: acoustic-only, keyword-only and fusion; JSON + confusion PNGs."""
    from edgeser.evaluation.evaluate import EvaluateError, evaluate_run, format_table

    console = Console(stderr=True)
    try:
        result = evaluate_run(run_dir, corpus, data, backend)
    except EvaluateError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1)
    if json_out:
        print(json.dumps(result, indent=2, sort_keys=True))
        return
    out = Console()
    out.print(format_table(result))
    if result["unknown_labels"]:
        counts = ", ".join(f"{k} {v}" for k, v in result["unknown_labels"].items())
        out.print(f"[yellow]skipped {result['skipped_unknown']} clip(s) with labels the run does not know: {counts}[/yellow]")
    if result["unreadable"]:
        out.print(f"[yellow]{len(result['unreadable'])} unreadable file(s) skipped (listed in the JSON)[/yellow]")
    if backend == "tflm":
        out.print("[dim]keyword-only has no int8 model; the tflm table shows acoustic-only and fusion[/dim]")
    out.print(f"results: {result['json']}")
