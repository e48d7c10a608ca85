"""``edgeser features``: extract MicroFrontend features from audio files/folders.

The main CLI registers :func:`features` (``app.command("features")(features)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from edgeser.exits import BAD_INPUT

from edgeser.frontend.config import FrontendConfig

__all__ = ["features", "load_frontend_config"]


def load_frontend_config(recipe: Optional[Path], preset: Optional[str]) -> FrontendConfig:
    """The config from exactly one of a recipe's ``frontend:`` section or a preset name."""
    if (recipe is None) == (preset is None):
        raise typer.BadParameter("give exactly one of --recipe or --preset")
    if preset is not None:
        return FrontendConfig.preset(preset)
    from edgeser.strict_yaml import read_yaml_file

    data = read_yaml_file(recipe, "recipe file")  # SettingsError, as the frontend section's own
    if not isinstance(data, dict) or not isinstance(data.get("frontend"), dict):
        raise typer.BadParameter(f"{recipe} has no 'frontend:' section")
    return FrontendConfig.from_dict(data["frontend"], path="frontend")


def features(
    paths: Annotated[List[Path], typer.Argument(metavar="PATH...", help="Audio files or folders (searched recursively).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for the .npy files.")],
    recipe: Annotated[
        Optional[Path], typer.Option("--recipe", "-r", help="Recipe YAML; its frontend: section is used.")
    ] = None,
    preset: Annotated[
        Optional[str], typer.Option("--preset", "-p", help="Frontend preset (micro_speech, coralmicro).")
    ] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Write the uint16 frontend output instead of int8.")] = False,
) -> None:
    """Extract features (int8, or uint16 with --raw) into OUT, one .npy per audio file."""
    from rich.console import Console
    from rich.text import Text

    from edgeser.settings import SettingsError
    from edgeser.frontend.batch import extract_to_dir

    console = Console()
    try:
        config = load_frontend_config(recipe, preset)
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from None
    if Path(out).exists() and not Path(out).is_dir():
        console.print(f"[red]error:[/red] --out {out} is a file; it must be a folder (made if missing)")
        raise typer.Exit(code=BAD_INPUT)
    report = extract_to_dir(list(paths), config, Path(out), raw=raw, progress=True)

    kind = "uint16 raw" if raw else "int8"
    console.print(f"[bold]{len(report.written)}[/bold] {kind} feature file(s) written to {out}")
    if report.skipped:
        console.print(f"[bold yellow]{len(report.skipped)} skipped:[/bold yellow]")
        for path, reason in report.skipped:
            # full paths, never truncated or wrapped, so they can be copied
            console.print(Text(f"  {path}: {reason}"), soft_wrap=True)
    if not report.written:
        console.print("[red]nothing was written[/red]")
        raise typer.Exit(code=BAD_INPUT)
