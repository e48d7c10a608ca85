"""The ``edgeser`` command line: one sub-command per stage.

Each stage's package owns its command's implementation; this module only
mounts them, so ``edgeser --help`` lists the whole toolchain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

import edgeser  # noqa: F401  (selects tf-keras before TensorFlow is imported)
from edgeser.benchmarks.cli import bench, benchmark_app
from edgeser.corpora.cli import app as data_app
from edgeser.evaluation.cli import baseline, evaluate, explain, noise
from edgeser.frontend.cli import features
from edgeser.quantize.cli import check, compile_edgetpu, convert, memory
from edgeser.report import report
from edgeser.exits import BAD_INPUT, FAILED, INTERRUPTED
from edgeser.settings import SettingsError

app = typer.Typer(
    name="edgeser",
    help="Speech emotion recognition from real corpora onto the Coral Edge TPU microcontroller.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
recipe_app = typer.Typer(help="Read and validate recipes (configs/*.yaml).", no_args_is_help=True)
app.add_typer(recipe_app, name="recipe")
app.add_typer(data_app, name="data", help="Corpora: statistics of a corpus, the generated demo corpus.")
app.add_typer(benchmark_app, name="benchmark")
app.command(help="Compute MicroFrontend features for audio files or folders (one .npy per file).")(features)
app.command(help="Predict, op by op, what Coral's edgetpu_compiler maps to the Edge TPU; exit 1 if anything falls back.")(check)
app.command(help="Flash and measured TFLite-Micro arena of int8 models against the memory budget.")(memory)
app.command(help="A user's ONNX model (PyTorch, ...) to full int8 with its Edge TPU check: <name>_int8.tflite.")(convert)
app.command("compile", help="Co-compile int8 models with Coral's edgetpu_compiler (when installed) and parse its log.")(
    compile_edgetpu
)
app.command(
    help="Score a run on a corpus (RUN --corpus --data), or train on corpus A and compare self- vs cross-corpus UAR "
    "on corpus B (--train-corpus A --test-corpus B)."
)(evaluate)
app.command(help="Noise robustness: UAR/macro-F1 of acoustic-only and fusion per noise kind x SNR (+ device channel).")(noise)
app.command(help="Explain the acoustic model's prediction on one clip: saliency, and acoustic cues there vs the literature.")(
    explain
)
app.command(help="Classical baseline: openSMILE eGeMAPS/ComParE functionals + logistic regression / MLP, leave-speakers-out.")(
    baseline
)
app.command(help="Render RUN_DIR/report.html and report.md from whatever the run folder holds.")(report)
app.command(help="Latency of .tflite models on the host (LiteRT, TFLite-Micro), an Edge TPU, or the board.")(bench)


@recipe_app.command("check")
def recipe_check(path: Path = typer.Argument(..., help="Recipe YAML file.")) -> None:
    """Validate a recipe and print it with its hash; exit 2 with the key's path when invalid."""
    from edgeser.recipe import load_recipe

    console = Console()
    try:
        recipe = load_recipe(path)
    except SettingsError as exc:
        console.print(f"[red]invalid recipe:[/red] {exc}")
        raise typer.Exit(BAD_INPUT)
    console.print(recipe.to_yaml(), end="")
    console.print(f"# recipe sha256: {recipe.sha256()}", soft_wrap=True)


def _run_folder(recipe_path: Path, out: Optional[Path], data: Optional[Path], force: bool):
    """Load the recipe (with ``--data`` as its corpus folder) and open its run folder."""
    import dataclasses

    from edgeser.recipe import load_recipe
    from edgeser.rundir import RunDir, RunDirError

    console = Console(stderr=True)
    try:
        recipe = load_recipe(recipe_path)
    except SettingsError as exc:
        console.print(f"[red]invalid recipe:[/red] {exc}")
        raise typer.Exit(BAD_INPUT)
    if data is not None:
        if not data.is_dir():
            console.print(f"[red]{data}: no such corpus folder[/red]")
            raise typer.Exit(BAD_INPUT)
        recipe = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, root=str(data.resolve())))
    try:
        return RunDir.create(out or Path("runs") / recipe.name, recipe, replace_recipe=force)
    except RunDirError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(BAD_INPUT)


def _run(run, stages) -> None:
    """Run stages; bad input (a corpus, an audio file, a setting) ends with one clear line, exit 2."""
    from edgeser.corpora.types import CorpusLayoutError
    from edgeser.corpora.audio import AudioError
    from edgeser.pipeline import PipelineError
    from edgeser.rundir import RunDirError, RunLockedError
    from edgeser.stages import run_stages

    console = Console(stderr=True)
    try:
        run_stages(run, stages)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: run the same command again to resume[/yellow]")
        raise typer.Exit(INTERRUPTED)
    except RunLockedError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(FAILED)
    except (CorpusLayoutError, AudioError, PipelineError, RunDirError, SettingsError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        console.print("(earlier stages' outputs are kept; fix the input and run the same command again)")
        raise typer.Exit(BAD_INPUT)


def _over_budget(run) -> None:
    """Exit 1 after the stages when the run's models are over ``budget.memory_bytes`` or
    ``budget.latency_ms`` (memory.json, latency.json), naming each figure."""
    import json

    over = []
    for name, key, unit in (("memory.json", "total_bytes", "B"), ("latency.json", "latency_ms", "ms")):
        path = run.path / name
        doc = json.loads(path.read_text()) if path.is_file() else {}
        if doc.get("over_budget"):
            budget = doc.get("budget_bytes", doc.get("budget_ms"))
            over.append(f"{name.split('.')[0]} {doc[key]:g} {unit} > budget {budget:g} {unit}")
    if over:
        Console(stderr=True).print(f"[red]over budget:[/red] {'; '.join(over)} (recipe `budget:`); every output "
                                   "is written, see the summary and report", soft_wrap=True)
        raise typer.Exit(FAILED)


RECIPE_OPTION = typer.Option(Path("configs/demo.yaml"), "--recipe", "-r", help="Recipe YAML file.")
DATA_OPTION = typer.Option(None, "--data", help="Corpus folder (overrides the recipe's data.root).")
FORCE_OPTION = typer.Option(False, "--force", help="Reuse an --out folder made with a different recipe.")


@app.command()
def train(
    recipe: Path = RECIPE_OPTION,
    data: Optional[Path] = DATA_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default runs/<recipe name>)."),
    force: bool = FORCE_OPTION,
) -> None:
    """Train keyword -> acoustic -> fusion models into a run folder (resumes where it stopped)."""
    from edgeser.pipeline import TRAIN_STAGES

    _run(_run_folder(recipe, out, data, force), TRAIN_STAGES)


@app.command()
def quantize(run_dir: Path = typer.Argument(..., help="A run folder made by `edgeser train`.")) -> None:
    """Full-int8 models, Edge TPU check, compile (if installed), memory and firmware export."""
    from edgeser.pipeline import QUANTIZE_STAGES, TRAIN_STAGES
    from edgeser.rundir import RunDir, RunDirError

    try:
        run = RunDir.open(run_dir)
    except RunDirError as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        raise typer.Exit(BAD_INPUT)
    missing = {s.name: run.stage_status(s.name) for s in TRAIN_STAGES if not run.stage_done(s.name)}
    if missing and run.recipe_changed:
        Console(stderr=True).print(
            f"[red]{run_dir}: recipe.yaml changed after training (the run was made with recipe sha256 "
            f"{run.recipe_changed[:12]}, the file now hashes to {run.recipe_sha256[:12]}), so its models do not "
            f"belong to it; restore recipe.yaml, or retrain: edgeser train --recipe {run_dir}/recipe.yaml "
            f"--out {run_dir} --force[/red]", soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    if missing:
        why = "; ".join(f"{name}: {reason}" for name, reason in missing.items())
        Console(stderr=True).print(f"[red]{run_dir}: the training stages are not done ({why}); "
                                   "run `edgeser train` first[/red]", soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    _run(run, TRAIN_STAGES + QUANTIZE_STAGES)  # the done training stages are skipped
    _over_budget(run)


@app.command()
def tune(
    recipe: Path = typer.Option(..., "--recipe", "-r", help="The base recipe (its budget is the constraint)."),
    data: Path = typer.Option(..., "--data", help="Corpus folder (the recipe's corpus reader)."),
    space: Optional[Path] = typer.Option(None, "--space", help="Search-space YAML (default: edgeser.search_space.DEFAULT_SPACE)."),
    trials: int = typer.Option(24, "--trials", help="Recipes to try."),
    folds: int = typer.Option(4, "--folds", help="Leave-speakers-out folds per trial."),
    address: Optional[str] = typer.Option(None, "--address", help="A Ray cluster to run on (default: a local one)."),
    cpus_per_trial: int = typer.Option(0, "--cpus-per-trial", help="CPUs per trial (0: every local core)."),
    actors: Optional[int] = typer.Option(None, "--actors", help="Keep the first N speakers (quick searches)."),
    seed: int = typer.Option(0, "--seed", help="Seeds the folds and the searcher."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder; the same folder again continues the search."),
) -> None:
    """Search recipes under the board's budget on Ray Tune (Optuna TPE, ASHA): trials table, Pareto plot, best.yaml."""
    import dataclasses

    from edgeser.recipe import load_recipe
    from edgeser.search_space import load_space
    from edgeser.tune import TuneError, TuneSettings, previous_search, run_search

    console = Console(stderr=True)
    try:
        base = load_recipe(recipe)
        if not data.is_dir():
            console.print(f"[red]error:[/red] --data {data}: no such corpus folder")
            raise typer.Exit(BAD_INPUT)
        base = dataclasses.replace(base, data=dataclasses.replace(base.data, root=str(data.resolve())))
        searched = load_space(space, base)
        settings = TuneSettings(trials=trials, folds=folds, seed=seed, address=address, cpus_per_trial=cpus_per_trial,
                                actors=actors)
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    if out.exists() and not out.is_dir():
        console.print(f"[red]error:[/red] --out {out} is a file; it must be a folder")
        raise typer.Exit(BAD_INPUT)
    try:
        import ray  # noqa: F401
        import optuna  # noqa: F401
    except ImportError as exc:
        console.print(f"[red]error:[/red] {exc.name} is not installed (make setup installs ray[tune] and optuna)")
        raise typer.Exit(BAD_INPUT)
    try:
        previous_search(out.resolve(), base)  # a search continues only from the recipe it started with
    except TuneError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    found = run_search(base, data, searched, settings, out, echo=console.print)
    best = next((t for t in found if t.get("best")), None)
    typer.echo((out / "trials.md").read_text(), nl=False)
    if best is None:
        console.print("[yellow]no feasible trial finished all its folds: no best.yaml[/yellow]")
        return
    typer.echo(f"best: trial {best['trial']}, int8 macro-F1 {best['macro_f1']:.3f} ± {best['macro_f1_std']:.3f}, "
               f"{best['latency_ms']:.2f} ms, {best['memory_bytes']} B -> {out / 'best.yaml'}")


@app.command()
def demo(
    recipe: Path = RECIPE_OPTION,
    data: Optional[Path] = DATA_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default runs/<recipe name>)."),
    force: bool = FORCE_OPTION,
) -> None:
    """The whole pipeline: corpus, features, training, int8, Edge TPU check, memory, evaluation, latency, summary."""
    from edgeser.pipeline import DEMO_STAGES
    from edgeser.summary import print_summary

    from edgeser.report import build_report

    run = _run_folder(recipe, out, data, force)
    _run(run, DEMO_STAGES)
    path = print_summary(run)
    html, _ = build_report(run.path)
    Console().print(f"summary: {path}\nreport:  {html} (open it in a browser; `edgeser report {run.path}` redraws it)")
    _over_budget(run)


def main() -> None:
    """The ``edgeser`` command. Exit codes (``edgeser.exits``): 0 success, 1 a failed check (over
    the memory or latency budget, ops off the Edge TPU), 2 bad usage or input (and missing
    optional tools), 130 interrupted. A run folder or recipe that cannot be
    used ends with one line naming it, never a traceback."""
    from edgeser.rundir import RunDirError, RunLockedError

    try:
        app()
    except (RunDirError, SettingsError) as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise SystemExit(FAILED if isinstance(exc, RunLockedError) else BAD_INPUT) from None


if __name__ == "__main__":
    main()
