"""The stage runner resumes after the last finished stage and keeps earlier outputs."""

from __future__ import annotations

import pytest

from edgeser.recipe import recipe_from_dict
from edgeser.rundir import RunDir
from edgeser.stages import Stage, run_stages


def test_interrupted_pipeline_resumes_from_last_finished_stage(tmp_path):
    calls: list[str] = []
    fail = {"second": True}

    def first(run: RunDir) -> dict:
        calls.append("first")
        run.write_text("a.txt", "A", stage="first")
        return {"rows": 1}

    def second(run: RunDir) -> dict:
        calls.append("second")
        if fail["second"]:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-stage
        run.write_text("b.txt", "B", stage="second")
        return {}

    stages = [Stage("first", first, "write a"), Stage("second", second, "write b")]
    run = RunDir.create(tmp_path, recipe_from_dict({"name": "t"}))
    with pytest.raises(KeyboardInterrupt):
        run_stages(run, stages)
    assert run.stage_done("first") and not run.stage_done("second")
    assert (tmp_path / "a.txt").read_text() == "A"

    fail["second"] = False
    results = run_stages(RunDir.open(tmp_path), stages)
    assert calls == ["first", "second", "second"]
    assert [r.skipped for r in results] == [True, False]
    assert results[0].summary == {"rows": 1}
    # A third run does nothing; a changed recipe redoes everything.
    run_stages(RunDir.open(tmp_path), stages)
    assert calls == ["first", "second", "second"]
    # A damaged output redoes its stage and every stage after it.
    (tmp_path / "a.txt").write_text("damaged")
    run_stages(RunDir.open(tmp_path), stages)
    assert calls[-2:] == ["first", "second"] and (tmp_path / "a.txt").read_text() == "A"
    changed = RunDir.create(tmp_path, recipe_from_dict({"name": "t", "seed": 1}), replace_recipe=True)
    run_stages(changed, stages)
    assert calls[-2:] == ["first", "second"]


def test_a_stage_finished_before_the_stage_it_follows_is_stale(tmp_path):
    calls: list[str] = []

    def make(name: str):
        def fn(run: RunDir) -> dict:
            calls.append(name)
            run.write_text(f"{name}.txt", name, stage=name)
            return {}

        return Stage(name, fn, name)

    train, quantize = make("train"), make("quantize")
    run = RunDir.create(tmp_path, recipe_from_dict({"name": "t"}))
    run_stages(run, [train, quantize])
    manifest = run.manifest()
    manifest["stages"]["train"]["finished_at"] = "9999-01-01T00:00:00+00:00"  # retrained after quantising
    run._save_manifest(manifest)
    run_stages(run, [train, quantize])
    assert calls == ["train", "quantize", "quantize"]
