"""RAVDESS reader and `edgeser data stats` on the real clips in ../shared/data/ravdess."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

RAVDESS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ravdess"
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not RAVDESS.is_dir(), reason=f"real RAVDESS clips not found at {RAVDESS}"),
]


def test_real_ravdess_counts_labels_speakers():
    from edgeser.corpora import read_corpus

    result = read_corpus("ravdess", RAVDESS)
    assert result.problems == []
    utts = result.utterances
    assert len(utts) == 720
    assert len({u.speaker for u in utts}) == 12
    per_label = Counter(u.label for u in utts)
    assert per_label.pop("neutral") == 48
    assert set(per_label.values()) == {96} and len(per_label) == 7
    for u in utts:
        name = Path(u.path).stem.split("-")
        assert u.speaker == f"Actor_{name[6]}"
        assert u.gender == ("male" if int(name[6]) % 2 else "female")
        assert Path(u.path).parent.name == u.speaker
    assert Counter(u.gender for u in utts) == {"male": 360, "female": 360}
    assert Counter(u.speaker for u in utts) == {f"Actor_{i:02d}": 60 for i in range(1, 13)}


def test_real_ravdess_cli_stats():
    from typer.testing import CliRunner

    from edgeser.corpora.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["stats", str(RAVDESS), "--corpus", "ravdess"])
    assert result.exit_code == 0, result.output
    assert "720 clips" in result.output and "12 speakers" in result.output
    result = runner.invoke(app, ["stats", str(RAVDESS), "--corpus", "ravdess", "--json"])
    data = json.loads(result.output)
    assert data["clips"] == 720 and data["speakers"] == 12
    assert data["per_class"]["neutral"] == 48
    assert all(v == 96 for k, v in data["per_class"].items() if k != "neutral")
    assert sum(data["per_fold"].values()) == 720 and len(data["per_fold"]) == 5
    assert data["problems"] == []
