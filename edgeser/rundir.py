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

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from edgeser import atomic
from edgeser.recipe import Recipe, load_recipe

MANIFEST = "manifest.json"
RECIPE_FILE = "recipe.yaml"
LOCK_FILE = ".lock"
# what results of later commands (evaluate, noise, bench, ...) are made from
MODEL_SUFFIXES = (".weights.npz", "_int8.tflite")
_HELD: dict[str, list[int]] = {}  # run folder -> [lock fd, depth]: this process holds its lock


class RunDirError(RuntimeError):
    """A run directory that cannot be used as asked (names the folder and why)."""


class RunLockedError(RunDirError):
    """Another process holds the run folder's lock: nothing is wrong with the input, try again later."""


def stale_reason(manifest: dict[str, Any], relpath: str) -> str | None:
    """Why the recorded result ``relpath`` no longer describes the run, or None.

    A result is stale when it was made under another recipe than the run's, or when a
    model it was made from (its ``sources``) has changed or gone since. Files the
    manifest does not list are not judged (None).
    """
    files = manifest.get("files", {})
    record = files.get(relpath)
    if record is None:
        return None
    if record.get("recipe_sha256") != manifest.get("recipe_sha256"):
        return f"{relpath} was made under an earlier recipe (sha256 {str(record.get('recipe_sha256'))[:12]})"
    for source, sha in (record.get("sources") or {}).items():
        now = files.get(source, {}).get("sha256")
        if now != sha:
            return f"{relpath} was made from an earlier {source}" if now else f"{relpath} was made from {source}, now gone"
    return None


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
        # set by open() when recipe.yaml's hash differs from the one the run was made with
        self.recipe_changed: str | None = None

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
            existing = load_recipe(recipe_file, drop_derived=True)
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
        from edgeser.settings import SettingsError

        try:
            run = cls(path, load_recipe(path / RECIPE_FILE, drop_derived=True))
        except SettingsError as exc:
            raise RunDirError(f"{path}: its {RECIPE_FILE} is not a valid recipe ({exc})") from None
        manifest = run.manifest()  # a corrupt manifest is reported here, with the remedy
        made_with = manifest.get("recipe_sha256")
        if made_with and made_with != run.recipe_sha256:
            run.recipe_changed = made_with
        return run

    # Manifest --------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        file = self.path / MANIFEST
        if not file.exists():
            return {"files": {}, "stages": {}}
        try:
            data = json.loads(file.read_text())
        except json.JSONDecodeError as exc:
            raise RunDirError(
                f"{file}: manifest is not valid JSON ({exc}). It records what every stage wrote; "
                f"restore it, or move it aside (mv {file} {file}.bad) to redo every stage"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("files", {}), dict) \
                or not isinstance(data.get("stages", {}), dict):
            raise RunDirError(f"{file}: manifest is not an edgeser manifest (expected an object with "
                              f"'files' and 'stages'); move it aside (mv {file} {file}.bad) to redo every stage")
        data.setdefault("files", {})
        data.setdefault("stages", {})
        return data

    def _save_manifest(self, manifest: dict[str, Any]) -> None:
        atomic.write_json(self.path / MANIFEST, manifest)

    def record(self, relpath: str | Path, stage: str, sources: tuple[str, ...] = ()) -> Path:
        """Record an existing file of this run (written by other code) in the manifest.

        ``sources``: the run files it was made from (e.g. :meth:`model_files`); their
        current hashes are kept with it, so a later retrain marks it stale (:func:`stale_reason`).
        """
        file = self.path / relpath
        if not file.is_file():
            raise RunDirError(f"{file}: cannot record a file that does not exist")
        manifest = self.manifest()
        entry = {
            "sha256": file_sha256(file),
            "bytes": file.stat().st_size,
            "stage": stage,
            "recipe_sha256": self.recipe_sha256,
            "written_at": _now(),
        }
        if sources:
            entry["sources"] = {src: manifest["files"].get(src, {}).get("sha256") for src in sources}
        manifest["files"][str(Path(relpath))] = entry
        self._save_manifest(manifest)
        return file

    # Writing outputs ----------------------------------------------------------
    def write_bytes(self, relpath: str | Path, data: bytes, stage: str, sources: tuple[str, ...] = ()) -> Path:
        atomic.write_bytes(self.path / relpath, data)
        return self.record(relpath, stage, sources)

    def write_text(self, relpath: str | Path, text: str, stage: str, sources: tuple[str, ...] = ()) -> Path:
        return self.write_bytes(relpath, text.encode("utf-8"), stage, sources)

    def write_json(self, relpath: str | Path, obj: Any, stage: str, sources: tuple[str, ...] = ()) -> Path:
        return self.write_text(relpath, json.dumps(obj, indent=2, sort_keys=True) + "\n", stage, sources)

    def labels(self) -> dict[str, list[str]]:
        """``labels.json`` of the features stage: ``{"emotions": [...], "keywords": [...]}``."""
        path = self.path / "labels.json"
        if not path.is_file():
            raise RunDirError(f"{self.path}: no labels.json; run the features stage first")
        return json.loads(path.read_text())

    def model_files(self) -> tuple[str, ...]:
        """The trained and int8 models the manifest lists (what results are made from)."""
        return tuple(sorted(n for n in self.manifest()["files"] if "/" not in n and n.endswith(MODEL_SUFFIXES)))

    # Concurrency -----------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, wait: bool = False):
        """Hold the run folder's lock (``RUN/.lock``, flock) for the block.

        A second edgeser process that wants to write into the same run is refused at
        once with the holder's pid, instead of both retraining and the last writer
        winning; with ``wait`` it waits for its turn instead (shared caches, such as the
        accuracy benchmark's base run that parallel search trials all read). Re-entrant
        within one process; released when the block ends (or the process dies: the
        kernel drops flock locks with the process).
        """
        key = str(self.path.resolve())
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
            try:
                yield self
            finally:
                held[1] -= 1
            return
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise RunLockedError(
                f"{self.path}: another edgeser command is writing into this run folder ({holder}); "
                "wait for it to finish, or use another --out folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {_now()}\n".encode())
        _HELD[key] = [fd, 1]
        try:
            yield self
        finally:
            _HELD.pop(key, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

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

    def stage_status(self, stage: str) -> str | None:
        """None when ``stage`` finished under this recipe with its files intact, else why not."""
        manifest = self.manifest()
        entry = manifest["stages"].get(stage)
        if not entry:
            return "it has not finished yet"
        if entry.get("recipe_sha256") != self.recipe_sha256:
            return (f"it finished under another recipe (sha256 {str(entry.get('recipe_sha256'))[:12]}, "
                    f"now {self.recipe_sha256[:12]}: {RECIPE_FILE} changed)")
        for name, record in manifest["files"].items():
            if record["stage"] != stage:
                continue
            file = self.path / name
            if record.get("recipe_sha256") != self.recipe_sha256:
                return f"{name} was written under another recipe"
            if not file.is_file():
                return f"{name} is missing"
            if file_sha256(file) != record["sha256"]:
                return f"{name} changed since the stage wrote it (sha256 differs from the manifest)"
        return None

    def stage_done(self, stage: str) -> bool:
        """True when ``stage`` finished under this recipe and its files are intact."""
        return self.stage_status(stage) is None

    def invalidate(self, stage: str) -> None:
        """Forget that ``stage`` finished (its files stay until overwritten)."""
        manifest = self.manifest()
        manifest["stages"].pop(stage, None)
        self._save_manifest(manifest)
