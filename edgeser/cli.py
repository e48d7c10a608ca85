"""The ``edgeser`` command line: one sub-command per stage.

Each stage's package owns its command's implementation; this module only
mounts them, so ``edgeser --help`` lists the whole toolchain.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

import edgeser  # noqa: F401  (selects tf-keras before TensorFlow is imported)
from edgeser.corpora.cli import app as data_app
from edgeser.frontend.cli import features
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
app.command(help="Compute MicroFrontend features for audio files or folders (one .npy per file).")(features)


@recipe_app.command("check")
def recipe_check(path: Path = typer.Argument(..., help="Recipe YAML file.")) -> None:
    """Validate a recipe and print it with its hash; exit 1 with the key's path when invalid."""
    from edgeser.recipe import load_recipe

    console = Console()
    try:
        recipe = load_recipe(path)
    except SettingsError as exc:
        console.print(f"[red]invalid recipe:[/red] {exc}")
        raise typer.Exit(1)
    console.print(recipe.to_yaml(), end="")
    console.print(f"# recipe sha256: {recipe.sha256()}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
