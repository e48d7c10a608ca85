"""`edgeser evaluate`: a tiny trained run scored on a corpus folder, keras and tflm backends."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from edgeser.evaluation.evaluate import EvaluateError, evaluate_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_run(private_run) -> Path:
    """This module's copy of the shared tiny run (evaluate writes RUN/evaluate_<corpus>/)."""
    return private_run


@pytest.fixture(scope="module")
def small_corpus(tiny_run, tmp_path_factory) -> Path:
    """A generic CSV corpus of 12 of the run's demo clips: known labels, a synonym
    (Anger -> angry) and labels the run never saw (boredom, calm)."""
    folder = tmp_path_factory.mktemp("small_corpus")
    with open(tiny_run / "corpus" / "utterances.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))[::16][:12]
    labels = ["angry", "Anger", "neutral", "boredom", "calm", "boredom", "sad", "happy", "sad", "angry", "neutral", "happy"]
    with open(folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "speaker"])
        for row, label in zip(rows, labels):
            writer.writerow([str(tiny_run / "corpus" / row["path"]), label, row["speaker"]])
    return folder


def _clip_count(run: Path) -> int:
    from edgeser.corpora import read_corpus

    return len(read_corpus("demo", run / "corpus").utterances)


def _check_result(result: dict, models: tuple[str, ...], clips: int) -> None:
    assert set(result["scores"]) == set(models)
    assert result["clips"] == clips and sum(result["class_counts"].values()) == clips
    labels = result["labels"]
    for name, s in result["scores"].items():
        for metric in ("wa", "ua", "macro_f1"):
            assert 0.0 <= s[metric] <= 1.0, (name, metric)
        assert len(s["per_class_recall"]) == len(labels)
        assert all(r is None or 0.0 <= r <= 1.0 for r in s["per_class_recall"])
        confusion = np.array(s["confusion"])
        assert confusion.shape == (len(labels), len(labels)) and confusion.sum() == clips
        assert list(confusion.sum(axis=1)) == [result["class_counts"][label] for label in labels]


@pytest.mark.parametrize("backend, models", [("keras", ("acoustic", "keyword", "fusion")), ("tflm", ("acoustic", "fusion"))])
def test_evaluate_on_the_runs_corpus(tiny_run, backend, models):
    result = evaluate_run(tiny_run, "demo", tiny_run / "corpus", backend)
    _check_result(result, models, _clip_count(tiny_run))
    assert result["unknown_labels"] == {} and result["skipped_unknown"] == 0
    out = tiny_run / "evaluate_demo"
    stored = json.loads((out / f"evaluate_{backend}.json").read_text())
    assert stored["scores"] == json.loads(json.dumps(result["scores"]))
    for name in models:
        assert (out / f"confusion_{backend}_{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temp file
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    assert manifest["files"][f"evaluate_demo/evaluate_{backend}.json"]["stage"] == "evaluate_demo"


def test_cli_prints_json_and_table(tiny_run, small_corpus):
    from typer.testing import CliRunner

    from edgeser.evaluation.cli import evaluate
    import typer

    app = typer.Typer()
    app.command()(evaluate)
    app.command("unused")(lambda: None)  # two commands: typer keeps the sub-command name
    runner = CliRunner()
    args = ["evaluate", str(tiny_run), "--corpus", "generic", "--data", str(small_corpus)]
    result = runner.invoke(app, args + ["--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["clips"] == 9
    table = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "acoustic-only" in table.stdout and "fusion" in table.stdout and "boredom 2" in table.stdout
    bad = runner.invoke(app, ["evaluate", str(small_corpus), "--corpus", "demo", "--data", str(small_corpus)])
    assert bad.exit_code == 2 and "not a run folder" in bad.output


@pytest.mark.parametrize("backend, models", [("keras", ("acoustic", "keyword", "fusion")), ("tflm", ("acoustic", "fusion"))])
def test_unknown_labels_are_reported_and_skipped(tiny_run, small_corpus, backend, models):
    result = evaluate_run(tiny_run, "generic", small_corpus, backend)
    assert result["unknown_labels"] == {"boredom": 2, "calm": 1} and result["skipped_unknown"] == 3
    assert result["clips"] == 9 and result["class_counts"]["angry"] == 3
    _check_result(result, models, 9)
    assert (tiny_run / "evaluate_generic" / f"evaluate_{backend}.json").is_file()


def test_clear_errors(tiny_run, tmp_path):
    with pytest.raises(EvaluateError, match="not a run folder"):
        evaluate_run(tmp_path, "demo", tiny_run / "corpus")
    with pytest.raises(EvaluateError, match="no such folder"):
        evaluate_run(tmp_path / "missing", "demo", tiny_run / "corpus")
    with pytest.raises(EvaluateError, match="does not hold a RAVDESS corpus"):
        evaluate_run(tiny_run, "ravdess", tiny_run / "corpus")
    with pytest.raises(EvaluateError, match="does not hold a demo corpus"):
        evaluate_run(tiny_run, "demo", tmp_path)
    with pytest.raises(EvaluateError, match="unknown corpus"):
        evaluate_run(tiny_run, "nonesuch", tiny_run / "corpus")
    with pytest.raises(EvaluateError, match="backend"):
        evaluate_run(tiny_run, "demo", tiny_run / "corpus", "edgetpu")
    (tmp_path / "labels.csv").write_text(f"path,label\n{tiny_run / 'corpus' / 'corpus-missing.wav'},boredom\n")
    with pytest.raises(EvaluateError, match="no usable clips"):
        evaluate_run(tiny_run, "generic", tmp_path)
