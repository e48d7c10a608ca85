"""Run folders: recipe copied in, manifest of outputs, atomic writes, resumable stages."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from edgeser import atomic
from edgeser.recipe import recipe_from_dict
from edgeser.rundir import RunDir, RunDirError, file_sha256


def test_outputs_are_recorded_with_hash_stage_and_recipe(tmp_path):
    recipe = recipe_from_dict({"name": "r"})
    run = RunDir.create(tmp_path / "run", recipe)
    assert (run.path / "recipe.yaml").is_file()
    out = run.write_json("metrics.json", {"ua": 0.5}, stage="evaluate")
    run.save_npy("x.npy", np.arange(4), stage="features")
    manifest = json.loads((run.path / "manifest.json").read_text())
    entry = manifest["files"]["metrics.json"]
    assert entry["sha256"] == file_sha256(out)
    assert entry["stage"] == "evaluate" and entry["recipe_sha256"] == recipe.sha256()
    assert manifest["recipe_sha256"] == recipe.sha256()
    assert np.array_equal(np.load(run.path / "x.npy"), np.arange(4))


def test_stage_done_tracks_recipe_and_file_integrity(tmp_path):
    recipe = recipe_from_dict({"name": "r"})
    run = RunDir.create(tmp_path, recipe)
    assert not run.stage_done("train")
    run.write_bytes("model.bin", b"weights", stage="train")
    run.finish_stage("train", 1.25)
    assert run.stage_done("train")
    assert RunDir.open(tmp_path).stage_done("train")
    (tmp_path / "model.bin").write_bytes(b"tampered")
    assert not run.stage_done("train")
    run.write_bytes("model.bin", b"weights", stage="train")
    assert run.stage_done("train")
    (tmp_path / "model.bin").unlink()
    assert not run.stage_done("train")


def test_a_different_recipe_is_refused_unless_forced(tmp_path):
    RunDir.create(tmp_path, recipe_from_dict({"name": "a"}))
    with pytest.raises(RunDirError, match="different recipe"):
        RunDir.create(tmp_path, recipe_from_dict({"name": "b"}))
    run = RunDir.create(tmp_path, recipe_from_dict({"name": "b"}), replace_recipe=True)
    assert run.recipe.name == "b"
    with pytest.raises(RunDirError, match="not a run folder"):
        RunDir.open(tmp_path / "elsewhere")


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "out.json"
    atomic.write_json(target, {"v": 1})

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise Boom()
    assert json.loads(target.read_text()) == {"v": 1}
    assert os.listdir(tmp_path) == ["out.json"]
