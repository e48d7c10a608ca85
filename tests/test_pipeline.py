"""The whole pipeline on a tiny recipe: demo corpus -> features -> three models -> int8 ->
Edge TPU check -> memory -> int8 evaluation on TFLite-Micro -> latency -> firmware export,
then a resumed run that redoes only what changed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgeser.cli import app
from edgeser.pipeline import DEMO_STAGES
from edgeser.rundir import RunDir

pytestmark = pytest.mark.slow


def test_every_stage_finished_and_recorded(tiny_run):
    run = RunDir.open(tiny_run)
    for stage in DEMO_STAGES:
        assert run.stage_done(stage.name), stage.name
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    for name in ("keyword_int8.tflite", "acoustic_int8.tflite", "fusion_int8.tflite", "features.npz", "evaluate.json"):
        assert manifest["files"][name]["recipe_sha256"] == run.recipe_sha256
    assert (tiny_run / "summary.md").read_text().count("|") > 20


def test_device_models_are_int8_fully_mapped_and_within_the_goal(tiny_run):
    from edgeser.quantize.convert import read_frontend_json, read_labels

    check = json.loads((tiny_run / "check.json").read_text())
    for name in ("keyword", "acoustic", "fusion"):
        assert check[name]["cpu_count"] == 0 and check[name]["fraction_mapped"] == 1.0, name
        data = (tiny_run / f"{name}_int8.tflite").read_bytes()
        assert read_frontend_json(data) == RunDir.open(tiny_run).recipe.frontend.to_json()
        assert read_labels(data)
    memory = json.loads((tiny_run / "memory.json").read_text())
    assert memory["total_bytes"] < memory["goal_bytes"] and not memory["over_budget"]
    assert all(m["arena_bytes"] > 0 for m in memory["models"].values())


def test_feature_models_take_the_frontend_codes_unchanged(tiny_run):
    from edgeser.quantize.c_export import io_quantization

    for name in ("keyword", "acoustic"):
        (inp,), _ = io_quantization((tiny_run / f"{name}_int8.tflite").read_bytes())
        assert (inp.scale, inp.zero_point, inp.dtype) == (1.0, 0, "int8")


def test_evaluation_and_benchmark_figures_are_sane(tiny_run):
    scores = json.loads((tiny_run / "evaluate.json").read_text())["scores"]
    labels = json.loads((tiny_run / "labels.json").read_text())["emotions"]
    assert labels == ["angry", "happy", "neutral", "sad"]
    for name in ("acoustic", "fusion"):
        s = scores[name]
        assert 0.0 <= s["wa"] <= 1.0 and sum(map(sum, s["confusion"])) > 0
    bench = json.loads((tiny_run / "bench.json").read_text())["backends"]
    for backend in ("litert", "tflm"):
        total = bench[backend]["pipeline"]["stages"]["total"]
        assert 0 < total["min_ms"] <= total["median_ms"] <= total["max_ms"]
        assert len(bench[backend]["results"]) >= 3  # each device model timed alone too
    assert "predicted" in bench["tflm"]["pipeline"]["predicted"]["label"]
    assert "| tflm | pipeline" in (tiny_run / "bench.md").read_text()
    assert (tiny_run / "firmware" / "frontend_config.h").is_file()
    assert (tiny_run / "firmware" / "edgeser_acoustic_model.cc").is_file()


def test_rerun_resumes_and_redoes_only_what_changed(private_run, repo_root):
    tiny_run = private_run  # this test damages an output
    recipe = str(repo_root / "tests/data/tiny.yaml")
    result = CliRunner().invoke(app, ["demo", "--recipe", recipe, "--out", str(tiny_run)])
    assert result.exit_code == 0
    assert result.output.count("skipped") >= len(DEMO_STAGES)
    before = json.loads((tiny_run / "manifest.json").read_text())["stages"]
    (tiny_run / "memory.json").write_text("{}")  # a damaged output of a late stage
    result = CliRunner().invoke(app, ["demo", "--recipe", recipe, "--out", str(tiny_run)])
    assert result.exit_code == 0, result.output
    after = json.loads((tiny_run / "manifest.json").read_text())["stages"]
    assert after["train_acoustic"] == before["train_acoustic"]  # not retrained
    assert after["memory"]["finished_at"] >= before["memory"]["finished_at"]
    assert json.loads((tiny_run / "memory.json").read_text())["total_bytes"] > 0


def test_a_different_recipe_in_the_same_folder_is_refused(tiny_run, repo_root):
    result = CliRunner().invoke(app, ["train", "--recipe", str(repo_root / "configs/demo.yaml"), "--out", str(tiny_run)])
    assert result.exit_code == 2
    assert "different recipe" in " ".join(result.output.split())


def test_quantisation_aware_training_option_gives_mapped_int8_models(tiny_run, tmp_path):
    """recipe quantize.qat: the quantize stage fine-tunes with fake quantisation, same op set."""
    import dataclasses
    import shutil

    from edgeser.pipeline import stage_check, stage_quantize
    from edgeser.quantize.edgetpu_check import check_model

    copy = tmp_path / "qat"
    shutil.copytree(tiny_run, copy)
    base = RunDir.open(copy).recipe
    recipe = dataclasses.replace(base, quantize=dataclasses.replace(base.quantize, qat=True, qat_epochs=1))
    run = RunDir(copy, recipe)
    ptq_ops = [op.name for op in check_model(tiny_run / "acoustic_int8.tflite").ops]
    summary = stage_quantize(run)
    assert summary["qat"] is True
    assert [op.name for op in check_model(copy / "acoustic_int8.tflite").ops] == ptq_ops
    assert all(v == "{0}/{0} mapped".format(v.split("/")[0]) for v in stage_check(run).values())
    report = json.loads((copy / "quantize_report.json").read_text())
    assert report["qat"] is True and report["models"]["fusion"]["argmax_agreement"] >= 0.8


def test_a_wrong_corpus_folder_ends_with_one_clear_error(tmp_path, repo_root):
    empty = tmp_path / "not_ravdess"
    empty.mkdir()
    recipe = str(repo_root / "configs/ravdess.yaml")
    result = CliRunner().invoke(app, ["train", "--recipe", recipe, "--data", str(empty), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "does not hold a RAVDESS corpus" in text and "Traceback" not in text
    run = RunDir.open(tmp_path / "run")
    assert run.stage_done("corpus") and not run.stage_done("features")  # earlier output kept


def test_literature_options_run_through_the_pipeline(tiny_run, tmp_path):
    """EAM, CO-VADA, multi-loss, the VAD head and a 2-head ensemble in the real train stages:
    extra training clips are made, the extra metrics are written, the VAD head ships int8 and mapped."""
    import dataclasses
    import shutil

    from edgeser.corpora.mixup import EamSettings
    from edgeser.models.debias import DebiasSettings
    from edgeser.models.training import LossSettings
    from edgeser.models.vad import VadSettings
    from edgeser.pipeline import stage_check, stage_quantize, stage_train_acoustic, stage_train_fusion

    copy = tmp_path / "options"
    shutil.copytree(tiny_run, copy)
    base = RunDir.open(copy).recipe
    t = base.training
    training = dataclasses.replace(
        t,
        eam=EamSettings(enabled=True, copies=0.5),
        debias=DebiasSettings(enabled=True, probe_epochs=1, easy_fraction=0.25),
        vad=VadSettings(enabled=True, epochs=2, patience=2),
        ensemble_heads=2,
        acoustic=dataclasses.replace(t.acoustic, loss=LossSettings(ce=1.0, focal=0.5, center=0.01, supcon=0.1)),
    )
    run = RunDir(copy, dataclasses.replace(base, training=training))
    data = np.load(copy / "features.npz")
    train_clips = len(data["split_train"])
    summary = stage_train_acoustic(run)
    assert summary["eam_clips"] == round(0.5 * train_clips)
    assert summary["debias_clips"] == summary["debias_bias_aligned"] == round(0.25 * train_clips)
    assert summary["training_examples"] == train_clips + summary["eam_clips"] + summary["debias_clips"]
    summary = stage_train_fusion(run)
    metrics = json.loads((copy / "train_metrics.json").read_text())["options"]
    assert set(metrics["vad_ccc"]) == {"valence", "arousal", "dominance", "mean"}
    assert 0.0 <= metrics["fusion_ensemble"]["macro_f1"] <= 1.0
    assert (copy / "vad.weights.npz").is_file() and (copy / "fusion_head1.weights.npz").is_file()
    stage_quantize(run)
    checks = stage_check(run)
    assert checks["vad"] == "{0}/{0} mapped".format(checks["vad"].split("/")[0])


def test_latency_is_checked_against_the_budget(tiny_run, private_run):
    """latency.json: the predicted board time of one streaming decision vs budget.latency_ms; a
    run over its budget ends `edgeser quantize` with exit 1, naming the figure, outputs kept."""
    import dataclasses

    import typer

    from edgeser.cli import _over_budget
    from edgeser.pipeline import stage_latency

    doc = json.loads((tiny_run / "latency.json").read_text())
    assert doc["checked"] == "streaming_decision_ms" and doc["budget_ms"] == 22.0 and not doc["over_budget"]
    decision = doc["predicted"]["streaming_decision_ms"]
    assert 0 < decision < doc["predicted"]["clip_ms"] and decision == pytest.approx(doc["latency_ms"], abs=1e-3)
    assert "budget 22 ms" in (tiny_run / "summary.md").read_text()
    opened = RunDir.open(private_run)
    tight = dataclasses.replace(opened.recipe, budget=dataclasses.replace(opened.recipe.budget, latency_ms=decision / 2))
    run = RunDir(private_run, tight)
    summary = stage_latency(run)
    assert summary["over_budget"] and json.loads((private_run / "latency.json").read_text())["over_budget"]
    with pytest.raises(typer.Exit) as info:
        _over_budget(run)
    assert info.value.exit_code == 1
    _over_budget(RunDir.open(tiny_run))  # within the budget: no exit
