"""Smoke test of the RAVDESS accuracy benchmark's fold logic (benchmarks/accuracy.py) on a few actors."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pytest

from edgeser.benchmarks import accuracy

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ravdess(ravdess_root):
    """The real RAVDESS utterances; ``ravdess_root`` (conftest) skips with the reason when absent."""
    from edgeser.corpora import read_corpus

    return read_corpus("ravdess", ravdess_root).utterances


def _speakers(utts, indices):
    return {utts[i].speaker for i in indices}


def test_folds_split_by_actor_with_a_validation_pair(ravdess):
    folds = accuracy.make_folds(ravdess, 4, seed=0)
    assert len(folds) == 4
    tested = []
    for fold in folds:
        train, val, test = (_speakers(ravdess, p) for p in (fold.train, fold.val, fold.test))
        assert not train & test and not train & val and not val & test
        assert len(val) == 2 and {ravdess[i].gender for i in fold.val} == {"male", "female"}
        assert len(train) + len(val) + len(test) == 12
        assert set(fold.test_speakers) == test
        tested += sorted(test)
    assert sorted(tested) == sorted({u.speaker for u in ravdess})  # every actor tested exactly once


def test_two_folds_on_six_actors_one_epoch(ravdess, tmp_path, repo_root):
    """The per-fold training and scoring on 6 actors, 2 folds, 1 epoch, tiny models."""
    from edgeser.datasets import feature_matrix
    from edgeser.models.registry import plan_of
    from edgeser.recipe import load_recipe, recipe_from_dict

    recipe = load_recipe(repo_root / "configs/ravdess.yaml")
    small = recipe.to_dict()
    small["acoustic"].update(d_model=16, num_heads=2, num_layers=1, ff_dim=32, embedding_dim=16)
    small["fusion"].update(hidden_dim=16)
    small["keyword"].update(embedding_dim=16)
    for part in ("acoustic", "fusion"):
        small["training"][part].update(epochs=1, patience=1)
    small["data"]["clip_seconds"] = 1.5
    recipe = recipe_from_dict(small)

    actors = sorted({u.speaker for u in ravdess})[:6]
    utts = [u for u in ravdess if u.speaker in actors][::5]  # 12 clips per actor
    plan = plan_of(recipe)
    x, used, problems = feature_matrix(utts, recipe.frontend, plan.clip_frames, tmp_path / "cache", progress=False)
    assert not problems and len(used) == len(utts)
    labels = {"emotions": sorted({u.label for u in utts}), "keywords": ["yes", "no", "_unknown_", "_silence_"]}
    y = np.array([labels["emotions"].index(u.label) for u in utts])
    kw_emb = np.random.default_rng(0).normal(size=(len(utts), 16)).astype(np.float32)  # no keyword model needed

    folds = accuracy.make_folds(utts, 2, seed=0)
    MODELS = ("acoustic", "keyword", "fusion", "fusion_speaker", "fusion_speaker_running")  # the last two: --speaker-norm
    results = []
    for fold in folds:
        train, val, test = (_speakers(utts, p) for p in (fold.train, fold.val, fold.test))
        assert train and not train & test and not train & val and not val & test
        result = accuracy.run_fold(recipe, labels, x, y, kw_emb, fold, utterances=utts, speaker_norm=True)
        assert result["sizes"] == {"train": len(fold.train), "val": len(fold.val), "test": len(fold.test)}
        for model in MODELS:
            s = result["scores"][model]
            assert all(0.0 <= s[m] <= 1.0 for m in accuracy.METRICS)
            assert np.array(s["confusion"]).sum() == len(fold.test)
        results.append(result)

    # the distill variant's teacher trains on the fold's training clips as the recipe does (random
    # crops re-read their audio, speaker groups need their speakers): logits for every example
    from edgeser.benchmarks.recipe_options import fold_teacher

    assert recipe.training.random_crops and recipe.training.acoustic_speaker_group
    teacher = fold_teacher(recipe, labels, x, y, folds[0], utts, progress=False)
    logits = teacher(x[:5].astype(np.float32))
    assert logits.shape == (5, len(labels["emotions"])) and np.isfinite(logits).all()

    summary = accuracy.summarise(results)
    for model in MODELS:
        assert 0.0 <= summary[model]["macro_f1"]["mean"] <= 1.0 and summary[model]["macro_f1"]["std"] >= 0.0
    table = {"corpus": "ravdess", "classes": len(labels["emotions"]), "folds": results, "summary": summary,
             "note": accuracy.NOTE, "goal_macro_f1": 0.6, "acoustic_int8_kb": 10.0}
    from rich.console import Console

    buffer = io.StringIO()
    accuracy.print_table(table, Console(file=buffer, width=250))
    assert "mean±std" in buffer.getvalue() and "two fixed sentences" in buffer.getvalue()
    json.dumps(table)  # JSON-ready


def test_a_fold_scored_int8_on_tflm_and_on_emodb(ravdess, emodb_root, tiny_run, tmp_path):
    """run_fold with backend tflm and a second corpus: int8 scores next to float ones, EmoDB
    scored on its own four classes. The keyword model is the shared tiny run's (same frontend)."""
    from edgeser.datasets import feature_matrix, keyword_windows
    from edgeser.models.registry import plan_of
    from edgeser.recipe import recipe_from_dict
    from edgeser.rundir import RunDir

    kw_run = RunDir.open(tiny_run)
    small = kw_run.recipe.to_dict()
    small["name"] = "bench-smoke"
    small["data"].update(corpus="ravdess", root=str(ravdess_root_of(ravdess)))
    small["acoustic"].update(stem="conv2d", stem_channels=4, subsample=8, input_norm="utterance", pooling="meanmax")
    recipe = recipe_from_dict(small)
    actors = sorted({u.speaker for u in ravdess})[:6]
    utts = [u for u in ravdess if u.speaker in actors][::6]  # 10 clips per actor
    plan = plan_of(recipe)
    x, used, _ = feature_matrix(utts, recipe.frontend, plan.clip_frames, tmp_path / "cache", progress=False)
    keywords = json.loads((tiny_run / "labels.json").read_text())["keywords"]
    labels = {"emotions": sorted({u.label for u in utts}), "keywords": keywords}
    y = np.array([labels["emotions"].index(u.label) for u in utts])
    windows = keyword_windows(x, plan)
    from edgeser.models.registry import keyword_embeddings

    kw_emb = keyword_embeddings(kw_run, windows)
    base = accuracy.BaseData(kw_run, labels, utts, x, y, kw_emb, windows)
    cross = accuracy.load_cross(recipe, base, "emodb", emodb_root, tmp_path, progress=False)
    assert cross.labels == ["angry", "happy", "neutral", "sad"] and len(cross.side.y) == 339

    fold = accuracy.make_folds(utts, 2, seed=0)[0]
    result = accuracy.run_fold(recipe, labels, x, y, kw_emb, fold, backend="tflm", windows=windows, kw_run=kw_run,
                               cross=cross)
    for model in accuracy.INT8_MODELS:
        s = result["scores_int8"][model]
        assert np.array(s["confusion"]).sum() == len(fold.test) and 0 <= s["macro_f1"] <= 1
        for kind in ("float", "int8"):
            c = result["cross"][kind][model]
            assert np.array(c["confusion"]).shape == (4, 4) and np.array(c["confusion"]).sum() == 339
    assert len(result["acoustic_curves"]["train_ua"]) == result["acoustic_epochs"]
    summary = accuracy.summarise([result])
    assert set(summary["int8"]) == set(accuracy.INT8_MODELS) and set(summary["cross"]) == {"float", "int8"}
    table = {"corpus": "ravdess", "classes": len(labels["emotions"]), "folds": [result], "summary": summary,
             "note": accuracy.NOTE, "goal_macro_f1": accuracy.GOAL_MACRO_F1, "acoustic_int8_kb": 10.0,
             "cross_corpus": {"corpus": "emodb", "labels": cross.labels, "clips": 339},
             "egemaps": {"name": "eGeMAPSv02 + LR", "summary": {m: {"mean": 0.45, "std": 0.05} for m in accuracy.METRICS}}}
    from rich.console import Console

    buffer = io.StringIO()
    accuracy.print_table(table, Console(file=buffer, width=400))
    text = buffer.getvalue()
    assert "acoustic int8" in text and "eGeMAPS + LR" in text and "scored on all of emodb" in text
    assert "vs eGeMAPSv02 + LR" in text
    md = accuracy.markdown_table(table).splitlines()
    assert md[0].startswith("| fold | test actors | acoustic | keyword | fusion | acoustic int8 | fusion int8")
    assert md[2].startswith(f"| {fold.name} |") and md[-1].startswith("| eGeMAPSv02 + LR | same folds | 0.450 ± 0.050")
    png = accuracy.plot_curves(table, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def ravdess_root_of(utts):
    """The corpus folder of RAVDESS utterances (``Actor_NN/`` files)."""
    from pathlib import Path

    return Path(utts[0].path).parents[1]


def test_cli_refuses_a_missing_folder(tmp_path):
    from typer.testing import CliRunner

    from edgeser.cli import app

    result = CliRunner().invoke(app, ["benchmark", "accuracy", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no such folder" in " ".join(result.output.split())


def test_training_knobs_the_recipe_uses():
    """SpecAugment per epoch (time_mask/freq_mask) and bn_momentum: validated, seeded, shape-preserving."""
    from edgeser.models.training import TrainSettings, spec_augment_batch
    from edgeser.settings import SettingsError

    x = np.random.default_rng(0).integers(-100, 127, size=(4, 50, 40)).astype(np.float32)
    settings = TrainSettings(time_mask=0.1, freq_mask=0.1, bn_momentum=0.9)
    a = spec_augment_batch(x, settings, np.random.default_rng(1))
    b = spec_augment_batch(x, settings, np.random.default_rng(1))
    assert a.shape == x.shape and a.dtype == x.dtype and np.array_equal(a, b)
    assert not np.array_equal(a, x) and (a == a.min(axis=(1, 2), keepdims=True)).sum() > (x == x.min()).sum()
    for bad in ({"time_mask": 1.0}, {"freq_mask": -0.1}, {"bn_momentum": 1.0}):
        with pytest.raises(SettingsError):
            TrainSettings(**bad)


def test_each_recipe_option_variant_switches_on_its_option_only(repo_root):
    """benchmarks/recipe_options.py: every variant is the base recipe plus one literature option."""
    from edgeser.benchmarks.recipe_options import TEACHER, VARIANTS
    from edgeser.recipe import load_recipe

    base = load_recipe(repo_root / "configs/ravdess.yaml")
    assert base.training.acoustic_speaker_group == 4
    on = {name: build(base).training for name, (_, build) in VARIANTS.items()}
    assert on["plain"].acoustic == base.training.acoustic and on["plain"].vad.enabled and on["plain"].ensemble_heads == 3
    # the options that refuse speaker groups switch them off, and so does their reference row only
    no_groups = {"no_speaker_groups", "eam", "center_supcon", "multi_loss", "co_vada"}
    assert {n for n, t in on.items() if t.acoustic_speaker_group == 0} == no_groups
    assert on["no_speaker_groups"] == dataclasses.replace(base.training, acoustic_speaker_group=0)
    assert on["eam"].eam.enabled and not on["eam"].debias.enabled and on["eam"].acoustic == base.training.acoustic
    assert on["focal"].acoustic.loss.focal == 1.0 and on["focal"].acoustic.loss.ce == 0.0
    assert on["kl_ls"].acoustic.loss.kl == 1.0 and on["kl_ls"].acoustic.label_smoothing == 0.1
    assert on["center_supcon"].acoustic.loss.center > 0 and on["center_supcon"].acoustic.loss.supcon > 0
    assert on["multi_loss"].eam.enabled and on["multi_loss"].acoustic.loss.focal > 0
    assert on["co_vada"].debias.enabled and not on["co_vada"].eam.enabled
    assert on["distill"].teacher == TEACHER and on["distill"].acoustic.loss.distill == 1.0
    # everything but the loss is the recipe's own optimisation
    assert all(t.acoustic.epochs == base.training.acoustic.epochs for t in on.values())


def test_the_cached_base_run_keys_on_what_it_trains_only(repo_root, tmp_path):
    """The base run (features + keyword model) is shared by every variant of a recipe that
    changes only the acoustic model's training: its hash ignores those options."""
    from edgeser.recipe import load_recipe
    from edgeser.search_space import apply_params

    recipe = load_recipe(repo_root / "configs/ravdess.yaml")
    key = accuracy.base_recipe(recipe, tmp_path).sha256()
    acoustic_only = [{"training.random_crops": 0}, {"training.random_crop_min_seconds": 0.0},
                     {"training.eam.enabled": True, "training.acoustic_speaker_group": 0},
                     {"training.acoustic_speaker_group": 2}, {"training.acoustic.mixup": 0.0},
                     {"acoustic.d_model": 48}, {"fusion.speaker_prior_weight": 3.0}]
    for change in acoustic_only:
        assert accuracy.base_recipe(apply_params(recipe, change), tmp_path).sha256() == key, change
    teacher = apply_params(recipe, {"training.teacher": "egemaps", "training.acoustic.loss.distill": 1.0})
    assert accuracy.base_recipe(teacher, tmp_path).sha256() == key
    for k, v in {"training.keyword.epochs": 3, "frontend.num_channels": 32, "data.clip_seconds": 3.0}.items():
        assert accuracy.base_recipe(apply_params(recipe, {k: v}), tmp_path).sha256() != key, k


def test_recipe_options_measure_each_variant_against_its_reference(repo_root):
    """Variants that switch speaker groups off (EAM, CO-VADA, center / supcon) are compared with
    ``no_speaker_groups`` on the same folds, the others with ``plain``."""
    from rich.console import Console

    from edgeser.benchmarks.recipe_options import VARIANTS, print_table, reference_of, summarise
    from edgeser.recipe import load_recipe

    base = load_recipe(repo_root / "configs/ravdess.yaml")
    REFERENCE = {name: reference_of(name, base) for name in VARIANTS if reference_of(name, base) != "plain"}
    assert set(REFERENCE) == {"eam", "center_supcon", "multi_loss", "co_vada"}
    without_groups = dataclasses.replace(base, training=dataclasses.replace(base.training, acoustic_speaker_group=0))
    assert {reference_of(name, without_groups) for name in VARIANTS} == {"plain"}

    def fold(name, f1, fusion=0.5):
        return {"fold": name, "seconds": 10.0, "options": {"acoustic": {}},
                "scores": {"acoustic": {"macro_f1": f1, "ua": f1}, "fusion": {"macro_f1": fusion, "ua": fusion}}}

    runs = {"plain": [fold("fold0", 0.50), fold("fold1", 0.40)],
            "no_speaker_groups": [fold("fold0", 0.40), fold("fold1", 0.30)],
            "eam": [fold("fold0", 0.45), fold("fold1", 0.33)],
            "focal": [fold("fold0", 0.46)]}
    result = {"runs": runs, "classes": 8, "folds": 4, "folds_done": ["fold0", "fold1"], "references": REFERENCE}
    summary = summarise(result)
    assert REFERENCE["eam"] == "no_speaker_groups" and "focal" not in REFERENCE
    assert summary["eam"]["reference"] == "no_speaker_groups"
    assert summary["eam"]["delta_acoustic_f1"]["mean"] == pytest.approx(0.04)  # +0.05 and +0.03
    assert summary["focal"]["reference"] == "plain"
    assert summary["focal"]["delta_acoustic_f1"]["mean"] == pytest.approx(-0.04) and summary["focal"]["delta_acoustic_f1"]["n"] == 1
    result["summary"] = summary
    buffer = io.StringIO()
    print_table(result, Console(file=buffer, width=250))
    text = buffer.getvalue()
    assert "+0.040±0.010 vs no_speaker_groups" in text and "-0.040±0.000 vs plain" in text
