"""Run directories: ``runs/<name>/`` with the recipe and a manifest of every output.

``manifest.json`` records, for every file a stage wrote: its sha256, size, the
stage, and the recipe hash it was made under; and, for every finished stage,
its wall time. All writes are atomic (temp file + rename), so a stage that fails
leaves the earlier outputs — and the manifest — as they were.

A stage counts as done when the manifest says it finished under the current
recipe hash and every file it recorded still exists with the recorded hash;
that is what lets an interrupted pipeline resume from the last finished stage.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from edgeser import atomic
from edgeser.recipe import Recipe, load_recipe

MANIFEST = "manifest.json"
RECIPE_FILE = "recipe.yaml"


class RunDirError(RuntimeError):
    """A run directory that cannot be used as asked (names the folder and why)."""


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class RunDir:
    """One run's folder. ``RunDir.create(path, recipe)`` or ``RunDir.open(path)``."""

    def __init__(self, path: Path, recipe: Recipe):
        self.path = Path(path)
        self.recipe = recipe
        self.recipe_sha256 = recipe.sha256()

    # Construction ----------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, recipe: Recipe, *, replace_recipe: bool = False) -> "RunDir":
        """Create (or reuse) ``path`` for ``recipe``.

        Reusing a folder made with a different recipe is refused unless
        ``replace_recipe``; then stages recorded under the old recipe no longer
        count as done (their files stay until overwritten).
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        recipe_file = path / RECIPE_FILE
        if recipe_file.exists():
            existing = load_recipe(recipe_file)
            if existing.sha256() != recipe.sha256() and not replace_recipe:
                raise RunDirError(
                    f"{path}: this run folder holds a different recipe ({existing.name}, "
                    f"sha256 {existing.sha256()[:12]}); choose another --out folder or pass --force"
                )
        run = cls(path, recipe)
        atomic.write_text(recipe_file, recipe.to_yaml())
        manifest = run.manifest()
        manifest["recipe_sha256"] = run.recipe_sha256
        manifest["recipe_name"] = recipe.name
        run._save_manifest(manifest)
        return run

    @classmethod
    def open(cls, path: str | Path) -> "RunDir":
        path = Path(path)
        if not (path / RECIPE_FILE).is_file():
            raise RunDirError(f"{path}: not a run folder (no {RECIPE_FILE}); make one with `edgeser train`")
        return cls(path, load_recipe(path / RECIPE_FILE))

    # Manifest --------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        file = self.path / MANIFEST
        if not file.exists():
            return {"files": {}, "stages": {}}
        try:
            data = json.loads(file.read_text())
        except json.JSONDecodeError as exc:
            raise RunDirError(f"{file}: manifest is not valid JSON ({exc})") from None
        data.setdefault("files", {})
        data.setdefault("stages", {})
        return data

    def _save_manifest(self, manifest: dict[str, Any]) -> None:
        atomic.write_json(self.path / MANIFEST, manifest)

    def record(self, relpath: str | Path, stage: str) -> Path:
        """Record an existing file of this run (written by other code) in the manifest."""
        file = self.path / relpath
        if not file.is_file():
            raise RunDirError(f"{file}: cannot record a file that does not exist")
        manifest = self.manifest()
        manifest["files"][str(Path(relpath))] = {
            "sha256": file_sha256(file),
            "bytes": file.stat().st_size,
            "stage": stage,
            "recipe_sha256": self.recipe_sha256,
            "written_at": _now(),
        }
        self._save_manifest(manifest)
        return file

    # Writing outputs ----------------------------------------------------------
    def write_bytes(self, relpath: str | Path, data: bytes, stage: str) -> Path:
        atomic.write_bytes(self.path / relpath, data)
        return self.record(relpath, stage)

    def write_text(self, relpath: str | Path, text: str, stage: str) -> Path:
        return self.write_bytes(relpath, text.encode("utf-8"), stage)

    def write_json(self, relpath: str | Path, obj: Any, stage: str) -> Path:
        return self.write_text(relpath, json.dumps(obj, indent=2, sort_keys=True) + "\n", stage)

    def save_npy(self, relpath: str | Path, array: np.ndarray, stage: str) -> Path:
        atomic.save_npy(self.path / relpath, array)
        return self.record(relpath, stage)

    # Stages ----------------------------------------------------------------
    def finish_stage(self, stage: str, seconds: float, **info: Any) -> None:
        manifest = self.manifest()
        manifest["stages"][stage] = {
            "recipe_sha256": self.recipe_sha256,
            "seconds": round(float(seconds), 3),
            "finished_at": _now(),
            **info,
        }
        self._save_manifest(manifest)

    def stage_files(self, stage: str) -> list[str]:
        return [name for name, entry in self.manifest()["files"].items() if entry["stage"] == stage]

    def stage_done(self, stage: str) -> bool:
        """True when ``stage`` finished under this recipe and its files are intact."""
        manifest = self.manifest()
        entry = manifest["stages"].get(stage)
        if not entry or entry.get("recipe_sha256") != self.recipe_sha256:
            return False
        for name, record in manifest["files"].items():
            if record["stage"] != stage:
                continue
            file = self.path / name
            if record.get("recipe_sha256") != self.recipe_sha256 or not file.is_file():
                return False
            if file_sha256(file) != record["sha256"]:
                return False
        return True

    def invalidate(self, stage: str) -> None:
        """Forget that ``stage`` finished (its files stay until overwritten)."""
        manifest = self.manifest()
        manifest["stages"].pop(stage, None)
        self._save_manifest(manifest)
