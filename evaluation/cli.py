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
import sys
from pathlib import Path
from typing import Optional

import typer

from edgeser.exits import BAD_INPUT
from rich.console import Console


def _fail(console: Console, message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(BAD_INPUT)


def _show(result: dict, json_out: bool, format_table, notes: list[str]) -> None:
    """Print ``result`` as JSON (``--json``), or its table then the ``notes`` lines (rich markup)."""
    if json_out:
        print(json.dumps(result, indent=2, sort_keys=True))
        return
    printer = Console()
    printer.print(format_table(result))
    for note in notes:
        printer.print(note)


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
    notes = []
    if result["unknown_labels"]:
        counts = ", ".join(f"{k} {v}" for k, v in result["unknown_labels"].items())
        notes.append(f"[yellow]skipped {result['skipped_unknown']} clip(s) with labels the run does not know: {counts}[/yellow]")
    if result["unreadable"]:
        notes.append(f"[yellow]{len(result['unreadable'])} unreadable file(s) skipped (listed in the JSON)[/yellow]")
    if backend == "tflm":
        notes.append("[dim]keyword-only has no int8 model; the tflm table shows acoustic-only and fusion[/dim]")
    _show(result, json_out, format_table, notes + [f"results: {result['json']}"])


def _cross_corpus(console: Console, train_corpus: str, train_data: Path, test_corpus: str, test_data: Path,
                  recipe_path: Optional[Path], folds: int, backend: str, epochs: Optional[int], out: Optional[Path],
                  cache: Optional[Path], keyword_run: Optional[Path], json_out: bool) -> None:
    from edgeser.evaluation.cross_corpus import (
        CrossCorpusSettings, cross_corpus_evaluation, default_out, default_recipe, format_table,
    )
    from edgeser.benchmarks.accuracy import DEFAULT_CACHE, prepare_base
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
        cache = cache or DEFAULT_CACHE
        base_run = lambda train_recipe: prepare_base(train_recipe, train_data, cache)  # noqa: E731
        result = cross_corpus_evaluation(recipe, train_data, test_data, settings, out or default_out(train_corpus, test_corpus),
                                         cache, keyword_run or base_run, progress=not json_out)
    except (SettingsError, EvaluateError) as exc:
        _fail(console, str(exc))
    notes = [f"[yellow]{side} corpus: clips outside the shared classes dropped: "
             f"{', '.join(f'{k} {v}' for k, v in counts.items())}[/yellow]"
             for side, counts in result["dropped"].items() if counts]
    _show(result, json_out, format_table, notes + [f"results: {result['json']}  plot: {result['plot']}"])


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
    _show(result, json_out, format_table, [f"results: {result['json']}  plot: {result['plot']}"])


def baseline(
    corpus: str = typer.Option(..., "--corpus", help="Corpus reader name (ravdess, emodb, demo, ...)."),
    data: Path = typer.Option(..., "--data", help="The corpus folder."),
    folds: int = typer.Option(4, "--folds", help="Leave-speakers-out folds (as the accuracy benchmark)."),
    feature_set: str = typer.Option("eGeMAPSv02", "--feature-set", help="eGeMAPSv02 (88) or ComParE_2016 (6373)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the results as JSON here."),
    cache: Path = typer.Option(Path("runs/.cache/egemaps"), "--cache", help="Per-clip functionals cache folder."),
    seed: int = typer.Option(0, "--seed", help="Seeds the folds and the classifiers."),
) -> None:
    """Classical baseline: openSMILE functionals + logistic regression / MLP, leave-speakers-out."""
    from edgeser.atomic import write_json
    from edgeser.corpora import CorpusLayoutError
    from edgeser.evaluation.egemaps import BaselineError, print_table, run_baseline

    console = Console(stderr=True)
    if not data.is_dir():
        console.print(f"[red]{data}: no such corpus folder[/red]")
        raise typer.Exit(BAD_INPUT)
    try:
        result = run_baseline(corpus, data, folds, feature_set, cache, seed, progress=sys.stderr.isatty())
    except (BaselineError, CorpusLayoutError, KeyError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(BAD_INPUT)
    print_table(result)
    if json_out is not None:
        write_json(json_out, result)
        console.print(f"results: {json_out}")


def explain(
    clip: Path = typer.Argument(..., help="An audio file (WAV/FLAC/OGG)."),
    run: Path = typer.Option(..., "--run", help="A run folder made by `edgeser train` (and `edgeser quantize` for tflm)."),
    out: Path = typer.Option(..., "--out", help="Folder for explain.json and explain.png."),
    method: str = typer.Option("occlusion", "--method", help="occlusion, gradient or both."),
    backend: str = typer.Option("keras", "--backend", help="keras (float model) or tflm (int8 on TFLite-Micro)."),
    share: float = typer.Option(0.2, "--share", help="Share of frames counted as salient."),
) -> None:
    """Explain the acoustic model's prediction on one clip: saliency and acoustic cues; JSON + PNG."""
    from rich.table import Table

    from edgeser.evaluation.explain import ExplainError, explain_clip

    console = Console(stderr=True)
    try:
        result = explain_clip(clip, run, out, method=method, backend=backend, share=share)
    except ExplainError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(BAD_INPUT)
    for warning in result["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    table = Table(title=f"{clip.name}: predicted {result['predicted']} ({result['backend']}, {method})")
    for column in ("cue", "salient", "whole", "difference", "expected", "agreement"):
        table.add_column(column, justify="left" if column in ("cue", "agreement") else "right")
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for key, c in result["cues"].items():
        table.add_row(key, fmt(c["salient"]), fmt(c["whole"]), fmt(c["difference"]), f"{c['expected']:+d}", c["agreement"])
    Console().print(table)
    typer.echo(f"salient intervals (s): {result['salient_intervals_s']}")
    typer.echo(f"results: {result['json']}")
    typer.echo(f"plot: {result['png']}")
