"""``edgeser data …``: corpus statistics and the demo corpus.

    edgeser data stats ROOT --corpus ravdess [--json]
    edgeser data demo --out DIR [--seed N]
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edgeser.exits import BAD_INPUT

app = typer.Typer(help="Corpora: statistics of a corpus on disk, and the synthetic demo corpus.", no_args_is_help=True)


@app.command()
def stats(
    root: Path = typer.Argument(..., help="The corpus' root folder."),
    corpus: str = typer.Option(..., "--corpus", "-c", help="Corpus name (ravdess, iemocap, cremad, generic, demo …)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    folds: int = typer.Option(5, help="Folds for the speaker k-fold column (when the corpus has no sessions)."),
    seed: int = typer.Option(0, help="Seed of the speaker k-fold."),
) -> None:
    """Clips per class, speaker, gender and fold, total duration, and every problem found."""
    from rich.console import Console
    from rich.table import Table

    from edgeser.corpora.registry import read_corpus
    from edgeser.corpora.stats import corpus_stats
    from edgeser.corpora.types import CorpusLayoutError

    try:
        result = read_corpus(corpus, root)
    except (CorpusLayoutError, KeyError) as exc:
        typer.echo(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", err=True)
        raise typer.Exit(BAD_INPUT)
    s = corpus_stats(corpus, result, folds=folds, seed=seed)
    if as_json:
        typer.echo(json.dumps(s.to_dict(), indent=2))
        return
    console = Console(width=120)
    console.print(f"[bold]{corpus}[/bold] at {root}: {s.clips} clips, {len(s.per_speaker)} speakers, "
                  f"{s.duration_s / 60:.1f} min ({s.duration_s:.1f} s), {len(s.problems)} problems", soft_wrap=True)
    for title, counts in (("class", s.per_class), ("gender", s.per_gender), (f"fold ({s.fold_kind})", s.per_fold),
                          ("speaker", s.per_speaker), ("excluded by class set", s.excluded)):
        if not counts:
            continue
        table = Table(title=f"clips per {title}" if not title.startswith("excluded") else title)
        table.add_column(title.split(" ")[0])
        table.add_column("clips", justify="right")
        for key, value in counts.items():
            table.add_row(str(key), str(value))
        console.print(table)
    if s.problems:
        table = Table(title=f"problems ({len(s.problems)} files skipped)")
        table.add_column("path", overflow="fold")
        table.add_column("reason", overflow="fold")
        for path, reason in s.problems:
            table.add_row(path, reason)
        console.print(table)


@app.command()
def demo(
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write the demo corpus into."),
    seed: int = typer.Option(0, help="Seed: the same seed gives the same bytes."),
    speakers: int = typer.Option(8, help="Number of synthetic speakers (1-12)."),
    sentences: int = typer.Option(6, help="Sentences per speaker and emotion (1-10)."),
    repetitions: int = typer.Option(1, help="Repetitions of each sentence."),
    keyword_repetitions: int = typer.Option(2, help="Repetitions of each keyword per speaker."),
) -> None:
    """Render the synthetic eSpeak NG demo corpus (offline, deterministic)."""
    from edgeser.corpora.demo import DemoConfig, generate_demo
    from edgeser.settings import SettingsError

    try:
        config = DemoConfig(speakers=speakers, sentences=sentences, repetitions=repetitions,
                            keyword_repetitions=keyword_repetitions)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(BAD_INPUT)
    result = generate_demo(out, seed=seed, config=config)
    typer.echo(f"demo corpus: {result.utterances} utterances, {result.keywords} keyword clips, "
               f"{result.bytes / 1e6:.1f} MB in {result.seconds:.1f} s -> {out}")


if __name__ == "__main__":  # pragma: no cover
    app()
