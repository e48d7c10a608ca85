"""Cross-corpus protocol (`edgeser evaluate --train-corpus ...`): shared labels, speaker folds, self vs
cross scores, keras and tflm, outputs and argument errors. Small corpora cut from the session's tiny
run (its keyword model is reused), one epoch per model, two folds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from edgeser.evaluation.cross_corpus import CrossCorpusSettings, cross_corpus_evaluation
from edgeser.evaluation.evaluate import EvaluateError
from edgeser.settings import SettingsError

pytestmark = pytest.mark.slow
SPEAKERS = ("spk01", "spk02", "spk03", "spk04", "spk05", "spk06")


def _rows(tiny_run: Path) -> list[dict]:
    with open(tiny_run / "corpus" / "utterances.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _write(folder: Path, rows: list[dict], tiny_run: Path) -> Path:
    folder.mkdir(parents=True)
    with open(folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "speaker", "gender"])
        for row in rows:
            writer.writerow([str(tiny_run / "corpus" / row["path"]), row["label"], row["speaker"], row["gender"]])
    return folder


@pytest.fixture(scope="module")
def corpora(tiny_run, tmp_path_factory):
    """A: 6 speakers × 4 emotions × 2 sentences (+2 'boredom' clips, outside the label set).
    B: the clips of A's fold-0 test speakers (+2 'fear' clips, a class A lacks)."""
    from edgeser.benchmarks.accuracy import make_folds
    from edgeser.corpora import read_corpus

    root = tmp_path_factory.mktemp("cross")
    rows = [r for r in _rows(tiny_run) if r["speaker"] in SPEAKERS and r["path"].split("_s")[-1][:2] in ("01", "02")]
    assert len(rows) == 48
    extra = [dict(r, label="boredom") for r in _rows(tiny_run) if r["speaker"] == "spk07"][:2]
    a = _write(root / "a", rows + extra, tiny_run)
    utts = [u for u in read_corpus("generic", a).utterances if u.label != "boredom"]
    test_speakers = set(make_folds(utts, 2, seed=0)[0].test_speakers)
    fear = [dict(r, label="fear") for r in _rows(tiny_run) if r["speaker"] == "spk08"][:2]
    b = _write(root / "b", [r for r in rows if r["speaker"] in test_speakers] + fear, tiny_run)
    return a, b, sorted(test_speakers), root


def _check(result: dict, test_speakers: list[str], backend: str) -> None:
    assert result["labels"] == ["neutral", "happy", "sad", "angry"]
    assert result["dropped"] == {"train": {"boredom": 2}, "test": {"fear": 2}}
    assert result["clips"] == {"train": 48, "test": 8 * len(test_speakers)}
    assert result["backend"] == ("keras float" if backend == "keras" else "tflm int8")
    folds = result["folds"]
    assert len(folds) == 2 and sorted(folds[0]["test_speakers"]) == test_speakers
    assert set(folds[0]["test_speakers"]).isdisjoint(folds[1]["test_speakers"])
    assert sorted(folds[0]["test_speakers"] + folds[1]["test_speakers"]) == list(SPEAKERS)
    for fold in folds:
        assert fold["sizes"]["test"] == 8 * len(fold["test_speakers"]) and fold["sizes"]["cross"] == result["clips"]["test"]
        assert fold["acoustic_epochs"] == 1
    # B holds exactly fold 0's held-out clips: that fold's cross-corpus scores are its self scores.
    for model in ("acoustic", "fusion"):
        assert folds[0]["cross"][model]["confusion"] == folds[0]["self"][model]["confusion"]
        s = result["summary"][model]
        for part in ("self", "cross"):
            uas = [f[part][model]["ua"] for f in folds]
            assert s[part]["ua"]["mean"] == pytest.approx(np.mean(uas)) and s[part]["ua"]["std"] == pytest.approx(np.std(uas))
            recalls = np.array([[np.nan if r is None else r for r in f[part][model]["per_class_recall"]] for f in folds])
            assert s[part]["per_class_recall"] == pytest.approx(list(np.nanmean(recalls, axis=0)))
        assert s["gap_ua"] == pytest.approx(s["self"]["ua"]["mean"] - s["cross"]["ua"]["mean"])


def test_cli_cross_corpus_keras(tiny_run, corpora):
    import typer
    from typer.testing import CliRunner

    from edgeser.evaluation.cli import evaluate

    a, b, test_speakers, root = corpora
    app = typer.Typer()
    app.command()(evaluate)
    app.command("unused")(lambda: None)
    out = root / "out_keras"
    args = ["evaluate", "--train-corpus", "generic", "--train-data", str(a), "--test-corpus", "generic", "--test-data", str(b),
            "--recipe", str(tiny_run / "recipe.yaml"), "--folds", "2", "--epochs", "1", "--out", str(out),
            "--cache", str(root / "cache"), "--keyword-run", str(tiny_run), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    _check(doc, test_speakers, "keras")
    assert json.loads((out / "cross_corpus_keras.json").read_text())["folds"] == doc["folds"]
    assert (out / "cross_corpus_keras.png").read_bytes()[:4] == b"\x89PNG"
    table = (out / "cross_corpus_keras.md").read_text()
    assert "| acoustic-only |" in table and "| fusion |" in table and "cross UAR (generic→generic)" in table
    assert not list(out.glob(".*.tmp"))


def test_tflm_backend_scores_int8_models(tiny_run, corpora):
    from edgeser.recipe import load_recipe

    a, b, test_speakers, root = corpora
    settings = CrossCorpusSettings("generic", "generic", folds=2, backend="tflm", epochs=1)
    result = cross_corpus_evaluation(load_recipe(tiny_run / "recipe.yaml"), a, b, settings, root / "out_tflm",
                                     root / "cache", keyword_run=tiny_run, progress=False)
    _check(result, test_speakers, "tflm")
    assert (root / "out_tflm" / "cross_corpus_tflm.png").is_file()


def test_settings_and_corpus_errors(tiny_run, corpora, tmp_path):
    from edgeser.recipe import load_recipe

    a, b, _, root = corpora
    with pytest.raises(SettingsError, match="folds"):
        CrossCorpusSettings("ravdess", "demo", folds=1)
    with pytest.raises(SettingsError, match="backend"):
        CrossCorpusSettings("ravdess", "demo", backend="edgetpu")
    recipe = load_recipe(tiny_run / "recipe.yaml")
    one_class = [r for r in _rows(tiny_run) if r["label"] == "sad"][:3]
    only_sad = _write(tmp_path / "sad", one_class, tiny_run)
    with pytest.raises(EvaluateError, match="share 1 class"):
        cross_corpus_evaluation(recipe, a, only_sad, CrossCorpusSettings("generic", "generic", 2), tmp_path / "o",
                                tmp_path / "c", keyword_run=tiny_run, progress=False)
    with pytest.raises(EvaluateError, match="no such corpus folder.*--test-data"):
        cross_corpus_evaluation(recipe, a, tmp_path / "missing", CrossCorpusSettings("generic", "generic", 2),
                                tmp_path / "o", tmp_path / "c", keyword_run=tiny_run, progress=False)
    with pytest.raises(EvaluateError, match="unknown corpus"):
        cross_corpus_evaluation(recipe, a, b, CrossCorpusSettings("generic", "nonesuch", 2), tmp_path / "o",
                                tmp_path / "c", keyword_run=tiny_run, progress=False)
    import dataclasses

    other = dataclasses.replace(recipe, frontend=dataclasses.replace(recipe.frontend, pcan=False))
    with pytest.raises(EvaluateError, match="frontend settings differ"):
        cross_corpus_evaluation(other, a, b, CrossCorpusSettings("generic", "generic", 2), tmp_path / "o",
                                tmp_path / "c", keyword_run=tiny_run, progress=False)
    assert not (tmp_path / "o").exists()


def test_cli_forms_are_exclusive(tiny_run, corpora):
    import typer
    from typer.testing import CliRunner

    from edgeser.evaluation.cli import evaluate

    a, b, _, _ = corpora
    app = typer.Typer()
    app.command()(evaluate)
    app.command("unused")(lambda: None)
    runner = CliRunner()
    neither = runner.invoke(app, ["evaluate", "--corpus", "demo", "--data", str(a)])
    assert neither.exit_code == 2 and "give RUN_DIR" in neither.output
    both = runner.invoke(app, ["evaluate", str(tiny_run), "--train-corpus", "generic", "--train-data", str(a),
                               "--test-corpus", "generic", "--test-data", str(b)])
    assert both.exit_code == 2 and "not both" in both.output
    missing = runner.invoke(app, ["evaluate", "--train-corpus", "generic", "--train-data", str(a)])
    assert missing.exit_code == 2 and "--test-corpus, --test-data" in missing.output
    run_form = runner.invoke(app, ["evaluate", str(tiny_run), "--corpus", "demo"])
    assert run_form.exit_code == 2 and "needs --data" in run_form.output
    mixed = runner.invoke(app, ["evaluate", str(tiny_run), "--corpus", "demo", "--data", str(a), "--folds", "3",
                                "--test-data", str(b)])
    assert mixed.exit_code == 2 and "--test-data" in mixed.output and "cross-corpus form" in mixed.output
