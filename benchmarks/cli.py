"""``edgeser bench``: the latency benchmark command.

The main CLI registers :func:`bench` (``app.command(help=...)(bench)``); it is a plain
function with typer annotations so a test can mount it on a small typer app.

Failures the user can fix (a file that is not a TFLite model, a float or uncompiled
model on ``--backend edgetpu``, a missing Edge TPU runtime, a serial device that cannot
be opened or sends no BENCH block) print one sentence naming the file or device on
stderr and exit 2, before anything is written: ``--out`` is written only after every
measurement succeeded, each file atomically, ``bench.json`` last.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from edgeser.exits import BAD_INPUT

__all__ = ["bench"]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(BAD_INPUT)


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
    from edgeser.benchmarks.run_bench import run_bench

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


# -- `edgeser benchmark ...`: the benchmarks that train or time whole pipelines ----------------------------
benchmark_app = typer.Typer(
    help="Benchmarks that print a table and write JSON: accuracy on unseen speakers, the literature options, "
    "frontend throughput, and a run's device models on every backend.",
    no_args_is_help=True,
)
RECIPE_HELP = "Recipe YAML (default configs/ravdess.yaml, relative to the working folder)."
DATA_HELP = "RAVDESS folder (Actor_NN/...; default ../shared/data/ravdess)."
# the options the benchmarks on RAVDESS folds share (paths relative to the working folder)
RecipeOption = Annotated[Path, typer.Option("--recipe", help=RECIPE_HELP)]
DataOption = Annotated[Path, typer.Option("--data", help=DATA_HELP)]
FoldsOption = Annotated[int, typer.Option("--folds", help="Number of actor folds.")]
CacheOption = Annotated[Path, typer.Option("--cache", help="Feature cache and keyword-model folder.")]
QuietOption = Annotated[bool, typer.Option("--quiet", help="No progress bars.")]
RAVDESS_RECIPE, RAVDESS_DATA, CACHE = Path("configs/ravdess.yaml"), Path("../shared/data/ravdess"), Path("runs/.cache")


def _bad_input(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(BAD_INPUT)


def _recipe_and_data(recipe: Path, data: Path):
    """The recipe and the corpus folder, or one line naming what cannot be used (exit 2)."""
    from edgeser.recipe import load_recipe
    from edgeser.settings import SettingsError

    try:
        loaded = load_recipe(recipe)
    except SettingsError as exc:
        _bad_input(f"invalid recipe: {exc}")
    if not data.is_dir():
        _bad_input(f"{data}: no such folder; pass --data with a RAVDESS copy (Actor_NN/...)")
    return loaded


@benchmark_app.command("accuracy")
def benchmark_accuracy(
    recipe: RecipeOption = RAVDESS_RECIPE,
    data: DataOption = RAVDESS_DATA,
    folds: FoldsOption = 4,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the results here (+ .md table, .curves.png).")] = None,
    cache: CacheOption = CACHE,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Override the acoustic and fusion epochs (quick looks).")] = None,
    actors: Annotated[Optional[int], typer.Option("--actors", help="Use only the first N actors (quick looks).")] = None,
    only_folds: Annotated[Optional[int], typer.Option("--only-folds", help="Run only the first N folds (quick looks).")] = None,
    backend: Annotated[str, typer.Option("--backend", help="tflm: float and int8 TFLite-Micro scores; keras: float only.")] = "tflm",
    cross_data: Annotated[Optional[Path], typer.Option("--cross-data", help="A second corpus scored by every fold's models (e.g. ../shared/data/emodb).")] = None,
    cross_corpus: Annotated[str, typer.Option("--cross-corpus", help="Reader of --cross-data.")] = "emodb",
    egemaps: Annotated[bool, typer.Option("--egemaps/--no-egemaps", help="The eGeMAPS + LR reference row.")] = True,
    speaker_norm: Annotated[bool, typer.Option("--speaker-norm", help="Add fusion heads on per-speaker standardised "
                                               "embeddings: statistics from all of a speaker's clips, and running "
                                               "(what fusion.input_norm: speaker ships).")] = False,
    fold_seed: Annotated[Optional[int], typer.Option("--fold-seed", min=0, help="Seed of the folds (default: the recipe's "
                                                     "seed); keep it to score another training seed on the same folds.")] = None,
    quiet: QuietOption = False,
) -> None:
    """Leave-speakers-out accuracy on RAVDESS, float and int8 on TFLite-Micro, beside eGeMAPS + LR."""
    from rich.console import Console

    from edgeser.atomic import write_json, write_text
    from edgeser.benchmarks.accuracy import markdown_table, plot_curves, print_table, run_benchmark

    if backend not in ("tflm", "keras"):
        _bad_input(f"--backend must be tflm or keras, got {backend!r}")
    loaded = _recipe_and_data(recipe, data)
    if cross_data is not None and not cross_data.is_dir():
        _bad_input(f"{cross_data}: no such folder (--cross-data)")
    try:
        result = run_benchmark(loaded, data, folds, cache, actors, epochs, not quiet, only_folds, backend,
                               cross_corpus, cross_data, egemaps, speaker_norm, fold_seed)
    except (ValueError, RuntimeError) as exc:
        _bad_input(str(exc))
    print_table(result)
    if json_path:
        write_json(json_path, result)
        write_text(json_path.with_suffix(".md"), markdown_table(result))
        curves = plot_curves(result, json_path.with_suffix(".curves.png"))
        Console(stderr=True).print(f"results: {json_path} (table: {json_path.with_suffix('.md')}); learning curves: {curves}")


@benchmark_app.command("compare")
def benchmark_compare(
    base: Annotated[Path, typer.Argument(metavar="BASE.json", help="An `edgeser benchmark accuracy --json` result.")],
    other: Annotated[Path, typer.Argument(metavar="OTHER.json", help="Another, on the same folds.")],
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the comparison here (+ .md table).")] = None,
) -> None:
    """Two accuracy results on the same folds: each figure's paired difference, fold by fold."""
    from rich.console import Console
    from rich.table import Table

    from edgeser.atomic import write_json, write_text
    from edgeser.benchmarks.compare import CompareError, compare, load_result, markdown, to_json

    try:
        rows = compare(load_result(base), load_result(other), str(base), str(other))
    except CompareError as exc:
        _bad_input(str(exc))
    table = Table(title=f"other = {other}, base = {base}: paired over {len(rows[0].base) if rows else 0} folds")
    for column in ("figure", "base", "other", "Δ (points)", "better"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for r in rows:
        table.add_row(r.figure, f"{r.base_mean:.3f} ± {r.base_std:.3f}", f"{r.other_mean:.3f} ± {r.other_std:.3f}",
                      f"{r.delta_mean:+.1f} ± {r.delta_std:.1f}", f"{r.better_folds} of {len(r.base)}")
    Console().print(table)
    if json_path:
        write_json(json_path, to_json(rows, base, other))
        write_text(json_path.with_suffix(".md"), markdown(rows, base.stem, other.stem))


@benchmark_app.command("recipe-options")
def benchmark_recipe_options(
    recipe: RecipeOption = RAVDESS_RECIPE,
    data: DataOption = RAVDESS_DATA,
    folds: FoldsOption = 4,
    only_folds: Annotated[Optional[int], typer.Option("--only-folds", help="Run only the first N folds.")] = None,
    variants: Annotated[Optional[str], typer.Option("--variants", help="Comma-separated variant names (default: all).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Results (rewritten as they come; a rerun resumes).")] = None,
    cache: CacheOption = CACHE,
    quiet: QuietOption = False,
) -> None:
    """The literature training options, one per row, on the accuracy benchmark's folds."""
    from edgeser.benchmarks.recipe_options import VARIANTS, print_table, run

    loaded = _recipe_and_data(recipe, data)
    chosen = [v.strip() for v in (variants or ",".join(VARIANTS)).split(",") if v.strip()]
    try:
        result = run(loaded, data, chosen, folds, only_folds, json_path, cache, not quiet)
    except (ValueError, RuntimeError) as exc:
        _bad_input(str(exc))
    print_table(result)


@benchmark_app.command("frontend")
def benchmark_frontend(
    seconds: Annotated[float, typer.Option("--seconds", min=1.0, help="Seconds of audio to process (at least 1).")] = 60.0,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Repetitions; the median is reported.")] = 5,
    preset: Annotated[Optional[List[str]], typer.Option("--preset", help="Frontend preset(s) (default: micro_speech and coralmicro).")] = None,
    json_path: Annotated[Path, typer.Option("--json", help="Output JSON.")] = Path("runs/bench/frontend.json"),
) -> None:
    """Frontend throughput: the NumPy MicroFrontend vs TensorFlow's op vs librosa, one thread."""
    from edgeser import atomic
    from edgeser.benchmarks.frontend import print_table, run

    reports = []
    for name in preset or ["micro_speech", "coralmicro"]:
        report = run(seconds, repeats, name)
        print_table(report)
        reports.append(report)
    atomic.write_json(json_path, {"benchmark": "frontend", "runs": reports})
    typer.echo(f"wrote {json_path}")


@benchmark_app.command("run")
def benchmark_run(
    run_dir: Annotated[Path, typer.Argument(help="A run folder with *_int8.tflite models (edgeser quantize).")],
    runs: Annotated[int, typer.Option("--runs", help="Timed invocations.")] = 50,
    warmup: Annotated[int, typer.Option("--warmup", help="Untimed invocations first.")] = 5,
) -> None:
    """A run's device models, one by one and as the fused pipeline, on every backend this machine has."""
    from edgeser.benchmarks.latency import BenchError
    from edgeser.benchmarks.run_bench import write_bench
    from edgeser.rundir import RunDir

    run = RunDir.open(run_dir)
    try:
        write_bench(run, runs, warmup)
    except BenchError as exc:
        _fail(str(exc))
    typer.echo((run.path / "bench.md").read_text(), nl=False)
    typer.echo(f"written: {run.path / 'bench.json'}, {run.path / 'bench.md'}")


@benchmark_app.command("mltk-frontend")
def benchmark_mltk_frontend(
    data: DataOption = RAVDESS_DATA,
    clips: Annotated[int, typer.Option("--clips", help="How many clips, spread evenly over the corpus.")] = 40,
    recipe: Annotated[Path, typer.Option("--recipe", help="Its frontend is compared too.")] = RAVDESS_RECIPE,
    json_path: Annotated[Path, typer.Option("--json", help="Output JSON.")] = Path("runs/bench/mltk_frontend.json"),
) -> None:
    """Silicon Labs MLTK's AudioFeatureGenerator vs edgeser's MicroFrontend on real clips (needs silabs-mltk)."""
    from edgeser import atomic
    from edgeser.benchmarks.mltk_frontend import MltkMissing, compare, generator_class, print_table
    from edgeser.corpora import read_corpus
    from edgeser.frontend.config import PRESETS

    try:
        generator_class()
    except MltkMissing as exc:
        _bad_input(str(exc))
    loaded = _recipe_and_data(recipe, data)
    utterances = read_corpus(loaded.data.corpus, data).utterances
    if not utterances or clips < 1:
        _bad_input(f"{data}: no clips to compare (or --clips {clips} < 1)")
    step = max(1, len(utterances) // clips)
    paths = [Path(u.path) for u in utterances[::step][:clips]]
    configs = {"micro_speech preset": PRESETS["micro_speech"], f"{loaded.name} recipe": loaded.frontend}
    result = compare(paths, configs)
    print_table(result)
    atomic.write_json(json_path, {"benchmark": "mltk-frontend", "data": str(data), "results": result})
    typer.echo(f"wrote {json_path}")
