"""`edgeser data stats` on tiny trees: tables, JSON, problems, layout errors."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from edgeser.corpora.cli import app


def make_ravdess(root):
    for actor in (1, 2, 3, 4):
        for emotion in (1, 3):
            path = root / f"Actor_{actor:02d}" / f"03-01-{emotion:02d}-01-01-01-{actor:02d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), np.zeros(8000, np.int16), 16000, subtype="PCM_16")
    (root / "Actor_01" / "03-01-04-01-01-01-01.wav").write_bytes(b"")


def test_stats_tables_and_problems(tmp_path):
    make_ravdess(tmp_path)
    result = CliRunner().invoke(app, ["stats", str(tmp_path), "--corpus", "ravdess"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "8 clips" in out and "4 speakers" in out and "1 problems" in out
    for word in ("clips per class", "clips per gender", "clips per fold", "clips per speaker", "problems", "empty"):
        assert word in out
    assert "4.0 s" in out  # 8 clips x 0.5 s


def test_stats_json(tmp_path):
    make_ravdess(tmp_path)
    result = CliRunner().invoke(app, ["stats", str(tmp_path), "--corpus", "ravdess", "--json", "--folds", "2"])
    data = json.loads(result.output)
    assert data["clips"] == 8 and data["per_class"] == {"happy": 4, "neutral": 4}
    assert data["per_gender"] == {"female": 4, "male": 4}
    assert data["per_fold"] == {"fold0": 4, "fold1": 4}
    assert data["duration_s"] == 4.0
    assert len(data["problems"]) == 1 and "empty" in data["problems"][0]["reason"]


def test_stats_layout_error_and_unknown_corpus(tmp_path):
    result = CliRunner().invoke(app, ["stats", str(tmp_path), "--corpus", "iemocap"])
    assert result.exit_code == 2
    assert "does not hold a IEMOCAP corpus" in result.output and "EmoEvaluation" in result.output
    result = CliRunner().invoke(app, ["stats", str(tmp_path), "--corpus", "nonsense"])
    assert result.exit_code == 2 and "unknown corpus" in result.output
