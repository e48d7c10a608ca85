"""Command-line entry points of the evaluation package (mounted by ``edgeser.cli``).

``edgeser evaluate RUN_DIR --corpus NAME --data ROOT [--backend keras|tflm] [--json]``
scores a trained run on every clip of a corpus folder (see :mod:`edgeser.evaluation.evaluate`).

``edgeser evaluate --train-corpus A --train-data DIR_A --test-corpus B --test-data DIR_B
[--recipe R] [--folds K] [--backend keras|tflm] [--epochs N] [--out DIR]`` runs the
cross-corpus protocol (see :mod:`edgeser.evaluation.cross_corpus`).

``edgeser noise RUN_DIR --corpus NAME --data ROOT [--snr clean,20,10,5,0] [--kinds white,pink,babble]
[--device-channel] [--backend keras|tflm] [--limit N]`` sweeps noise conditions
(see :mod:`edgeser.evaluation.noise`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console


def _fail(console: Console, message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def evaluate(
    run_dir: Optional[Path] = typer.Argument(
        None, help="A run folder made by `edgeser train` (and `edgeser quantize` for tflm); omit it with --train-corpus."
    ),
    corpus: Optional[str] = typer.Option(None, "--corpus", help="Corpus reader name (ravdess, demo, emodb, ...)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Corpus folder; all its clips are the test set."),
    backend: str = typer.Option("keras", "--backend", help="keras (float models) or tflm (int8 on TFLite-Micro)."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON instead of the table."),
    train_corpus: Optional[str] = typer.Option(None, "--train-corpus", help="Cross-corpus: the corpus to train on (A)."),
    train_data: Optional[Path] = typer.Option(None, "--train-data", help="Cross-corpus: the folder of A."),
    test_corpus: Optional[str] = typer.Option(None, "--test-corpus", help="Cross-corpus: the corpus to test on (B)."),
    test_data: Optional[Path] = typer.Option(None, "--test-data", help="Cross-corpus: the folder of B."),
    recipe: Optional[Path] = typer.Option(None, "--recipe", help="Cross-corpus: recipe (default configs/<A>.yaml, else demo)."),
    folds: int = typer.Option(4, "--folds", help="Cross-corpus: speaker folds of A."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Cross-corpus: override acoustic and fusion epochs."),
    out: Optional[Path] = typer.Option(None, "--out", help="Cross-corpus: output folder (default runs/cross_<A>_to_<B>)."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Cross-corpus: feature cache and base keyword run (default runs/.cache)."),
    keyword_run: Optional[Path] = typer.Option(None, "--keyword-run", help="Cross-corpus: take the keyword model of this run."),
) -> None:
    """Score a trained run on a corpus (RUN_DIR --corpus --data), or train on corpus A and
    compare self-corpus with cross-corpus UAR on corpus B (--train-corpus ... --test-data)."""
    console = Console(stderr=True)
    cross_options = {"--train-data": train_data, "--test-corpus": test_corpus, "--test-data": test_data}
    if run_dir is not None and train_corpus is not None:
        _fail(console, "give either RUN_DIR (score a run: RUN_DIR --corpus --data) or --train-corpus (cross-corpus), not both")
    if run_dir is None and train_corpus is None:
        _fail(console, "give RUN_DIR --corpus NAME --data DIR to score a run, or --train-corpus A --train-data DIR_A "
                       "--test-corpus B --test-data DIR_B for the cross-corpus protocol")
    if train_corpus is not None:
        missing = [name for name, value in cross_options.items() if value is None]
        if missing:
            _fail(console, f"the cross-corpus protocol also needs {', '.join(missing)}")
        if corpus is not None or data is not None:
            _fail(console, "--corpus/--data score an existing run; with --train-corpus use --test-corpus/--test-data")
        _cross_corpus(console, train_corpus, train_data, test_corpus, test_data, recipe, folds, backend, epochs, out,
                      cache, keyword_run, json_out)
        return
    given = [name for name, value in {"--train-data": train_data, "--test-corpus": test_corpus, "--test-data": test_data,
                                      "--recipe": recipe, "--out": out, "--epochs": epochs, "--keyword-run": keyword_run,
                                      "--cache": cache}.items() if value is not None]
    if given:
        _fail(console, f"{', '.join(given)} belong to the cross-corpus form (--train-corpus ...); not with RUN_DIR")
    missing = [name for name, value in (("--corpus", corpus), ("--data", data)) if value is None]
    if missing:
        _fail(console, f"scoring {run_dir} needs {' and '.join(missing)}")
    _score_run(console, run_dir, corpus, data, backend, json_out)


def _score_run(console: Console, run_dir: Path, corpus: str, data: Path, backend: str, json_out: bool) -> None:
    from edgeser.evaluation.evaluate import EvaluateError, evaluate_run, format_table

    try:
        result = evaluate_run(run_dir, corpus, data, backend)
    except EvaluateError as exc:
        _fail(console, str(exc))
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


def _cross_corpus(console: Console, train_corpus: str, train_data: Path, test_corpus: str, test_data: Path,
                  recipe_path: Optional[Path], folds: int, backend: str, epochs: Optional[int], out: Optional[Path],
                  cache: Optional[Path], keyword_run: Optional[Path], json_out: bool) -> None:
    from edgeser.evaluation.cross_corpus import (
        CrossCorpusSettings, cross_corpus_evaluation, default_out, default_recipe, format_table,
    )
    from edgeser.evaluation.evaluate import EvaluateError
    from edgeser.recipe import load_recipe
    from edgeser.settings import SettingsError

    recipe_path = recipe_path or default_recipe(train_corpus)
    try:
        recipe = load_recipe(recipe_path)
    except (OSError, SettingsError) as exc:
        _fail(console, f"invalid recipe: {exc}")
    try:
        settings = CrossCorpusSettings(train_corpus, test_corpus, folds, backend, epochs)
        result = cross_corpus_evaluation(recipe, train_data, test_data, settings, out or default_out(train_corpus, test_corpus),
                                         cache, keyword_run, progress=not json_out)
    except (SettingsError, EvaluateError) as exc:
        _fail(console, str(exc))
    if json_out:
        print(json.dumps(result, indent=2, sort_keys=True))
        return
    printer = Console()
    printer.print(format_table(result))
    dropped = {side: counts for side, counts in result["dropped"].items() if counts}
    for side, counts in dropped.items():
        listing = ", ".join(f"{k} {v}" for k, v in counts.items())
        printer.print(f"[yellow]{side} corpus: clips outside the shared classes dropped: {listing}[/yellow]")
    printer.print(f"results: {result['json']}  plot: {result['plot']}")


def noise(
    run_dir: Path = typer.Argument(..., help="A run folder made by `edgeser train` (and `edgeser quantize` for tflm)."),
    corpus: str = typer.Option(..., "--corpus", help="Corpus reader name (ravdess, demo, emodb, ...)."),
    data: Path = typer.Option(..., "--data", help="Corpus folder; its clips (or --limit of them) are corrupted and scored."),
    snr: str = typer.Option("clean,20,10,5,0", "--snr", help="Comma-separated SNRs in dB (clean is always scored)."),
    kinds: str = typer.Option("white,pink,babble", "--kinds", help="Comma-separated noise kinds: white, pink, babble."),
    device_channel: bool = typer.Option(False, "--device-channel", help="Add a simulated MEMS-microphone + room row."),
    backend: str = typer.Option("keras", "--backend", help="keras (float models) or tflm (int8 on TFLite-Micro)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use at most N clips (dealt evenly over the classes, seeded)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the clip choice and of every noise draw."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON instead of the table."),
) -> None:
    """Noise robustness: UAR and macro-F1 of acoustic-only and fusion per noise kind × SNR (+ device channel)."""
    from edgeser.evaluation.evaluate import EvaluateError
    from edgeser.evaluation.noise import NoiseSettings, format_table, noise_sweep, parse_kinds, parse_snrs
    from edgeser.settings import SettingsError

    console = Console(stderr=True)
    try:
        settings = NoiseSettings(parse_snrs(snr), parse_kinds(kinds), device_channel, backend, limit, seed)
        result = noise_sweep(run_dir, corpus, data, settings, progress=not json_out)
    except (SettingsError, EvaluateError) as exc:
        _fail(console, str(exc))
    if json_out:
        print(json.dumps(result, indent=2, sort_keys=True))
        return
    printer = Console()
    printer.print(format_table(result))
    printer.print(f"results: {result['json']}  plot: {result['plot']}")
