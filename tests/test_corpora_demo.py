"""The eSpeak NG demo corpus: layout, readers, determinism, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgeser.corpora import read_corpus
from edgeser.corpora.demo import DemoConfig, generate_demo
from edgeser.settings import SettingsError

TINY = DemoConfig(speakers=2, sentences=1, repetitions=1, keyword_repetitions=1,
                  emotions=("neutral", "sad", "angry"), keywords=("yes", "stop"))


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_demo_deterministic_and_readable(tmp_path):
    a = generate_demo(tmp_path / "a", seed=7, config=TINY)
    b = generate_demo(tmp_path / "b", seed=7, config=TINY)
    assert (a.utterances, a.keywords) == (6, 4)
    files_a, files_b = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert files_a.keys() == files_b.keys()
    assert all(files_a[k] == files_b[k] for k in files_a), "same seed must give identical bytes"
    c = generate_demo(tmp_path / "c", seed=8, config=TINY)
    assert c.utterances == 6
    assert files_a["wav/spk01/spk01_neutral_s01_r1.wav"] != tree_bytes(tmp_path / "c")["wav/spk01/spk01_neutral_s01_r1.wav"]

    result = read_corpus("demo", tmp_path / "a")
    assert result.problems == [] and len(result.utterances) == 6
    assert {(u.speaker, u.gender) for u in result.utterances} == {("spk01", "male"), ("spk02", "female")}
    assert {u.label for u in result.utterances} == {"neutral", "sad", "angry"}
    assert all("light" in u.transcript for u in result.utterances)
    info = sf.info(result.utterances[0].path)
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    # Prosody: sad is slower and softer than angry for the same speaker and sentence.
    sad, _ = sf.read(str(tmp_path / "a/wav/spk01/spk01_sad_s01_r1.wav"))
    angry, _ = sf.read(str(tmp_path / "a/wav/spk01/spk01_angry_s01_r1.wav"))
    assert len(sad) > len(angry) and np.sqrt(np.mean(sad**2)) < np.sqrt(np.mean(angry**2))
    keywords = read_corpus("demo_keywords", tmp_path / "a")
    assert sorted((u.label, u.speaker) for u in keywords.utterances) == [
        ("stop", "spk01"), ("stop", "spk02"), ("yes", "spk01"), ("yes", "spk02")]
    sc = read_corpus("speech_commands", tmp_path / "a" / "keywords", keywords=("yes", "stop"))
    assert len([u for u in sc.utterances if u.extra["split"] == "test"]) == 2  # the last speaker


def test_demo_config_checked():
    with pytest.raises(SettingsError, match="speakers"):
        DemoConfig(speakers=0)
    with pytest.raises(SettingsError, match="emotions"):
        DemoConfig(emotions=("bored",))


def test_cli_demo(tmp_path):
    from typer.testing import CliRunner

    from edgeser.corpora.cli import app

    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d"), "--seed", "1", "--speakers", "1",
                                      "--sentences", "1", "--keyword-repetitions", "0"])
    assert result.exit_code == 0, result.output
    assert "4 utterances" in result.output
    stats = CliRunner().invoke(app, ["stats", str(tmp_path / "d"), "--corpus", "demo"])
    assert stats.exit_code == 0, stats.output
    assert "4 clips" in stats.output
    bad = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "e"), "--speakers", "99"])
    assert bad.exit_code == 2
