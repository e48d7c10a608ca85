"""`edgeser noise`: corrupted audio at exact SNRs, the clean row equal to `edgeser evaluate`, the table,
the plot and JSON, and clear errors (a copy of the session's tiny trained run; a handful of clips)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeser.corpora.augment import to_float
from edgeser.evaluation.evaluate import EvaluateError, evaluate_run
from edgeser.evaluation.noise import (
    Condition, NoiseSettings, _deal, conditions, corrupt, noise_sweep, parse_kinds, parse_snrs,
)
from edgeser.corpora.audio import load_audio
from edgeser.settings import SettingsError

pytestmark = pytest.mark.slow
EMOTIONS = ("neutral", "happy", "sad", "angry")


@pytest.fixture(scope="module")
def run_copy(tiny_run, tmp_path_factory) -> Path:
    """A private copy of the tiny run (the sweep writes into RUN/noise/)."""
    out = tmp_path_factory.mktemp("noise") / "tiny"
    shutil.copytree(tiny_run, out, ignore=shutil.ignore_patterns("firmware", "cache"))
    return out


@pytest.fixture(scope="module")
def eight_clips(run_copy) -> Path:
    """A generic CSV corpus of 8 of the run's demo clips: 2 per emotion, 4 speakers."""
    with open(run_copy / "corpus" / "utterances.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    picked = []
    for emotion in EMOTIONS:
        picked += [r for r in rows if r["label"] == emotion and r["speaker"] in ("spk01", "spk04")][:1]
        picked += [r for r in rows if r["label"] == emotion and r["speaker"] in ("spk06", "spk07")][:1]
    folder = run_copy.parent / "eight"
    folder.mkdir()
    with open(folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "speaker"])
        for row in picked:
            writer.writerow([str(run_copy / "corpus" / row["path"]), row["label"], row["speaker"]])
    return folder


def _clip(run_copy: Path, index: int = 0) -> np.ndarray:
    with open(run_copy / "corpus" / "utterances.csv", newline="") as handle:
        row = list(csv.DictReader(handle))[index]
    return load_audio(run_copy / "corpus" / row["path"], 16000)


def _measured_snr(clean: np.ndarray, noisy: np.ndarray, gain: float) -> float:
    reference = to_float(clean) * gain
    residual = to_float(noisy) - reference
    return float(10 * np.log10(np.mean(reference**2) / np.mean(residual**2)))


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
def test_realised_snr_is_within_0_1_db_of_the_target(run_copy, kind):
    clean = _clip(run_copy, 0)
    others = [_clip(run_copy, i) for i in (30, 60, 90)]
    loud = (clean.astype(np.float64) * (30000 / np.abs(clean).max())).astype(np.int16)  # needs attenuation at -10 dB
    for audio in (clean, loud):
        for target in (30.0, 20.0, 10.0, 5.0, 0.0, -10.0):
            noisy, realised, gain = corrupt(audio, Condition(kind, target), np.random.default_rng(1), others)
            assert noisy.dtype == np.int16 and noisy.shape == audio.shape
            assert abs(_measured_snr(audio, noisy, gain) - target) < 0.1
            assert abs(realised - target) < 0.1
            assert np.abs(noisy.astype(np.int32)).max() <= 32767  # nothing clipped
    _, _, gain = corrupt(loud, Condition(kind, -10.0), np.random.default_rng(1), others)
    assert gain < 1.0


def test_noise_is_seeded_and_one_realisation_per_kind(run_copy):
    clean = _clip(run_copy, 5)
    a, _, _ = corrupt(clean, Condition("white", 10.0), np.random.default_rng([0, 1, 5]))
    b, _, _ = corrupt(clean, Condition("white", 10.0), np.random.default_rng([0, 1, 5]))
    c, _, _ = corrupt(clean, Condition("white", 0.0), np.random.default_rng([0, 1, 5]))
    assert np.array_equal(a, b)
    n10, n0 = to_float(a) - to_float(clean), to_float(c) - to_float(clean)
    assert np.corrcoef(n10, n0)[0, 1] > 0.999  # the same noise, only louder
    assert np.sqrt(np.mean(n0**2) / np.mean(n10**2)) == pytest.approx(10 ** (10 / 20), rel=1e-2)  # 10 dB = x3.16
    clean_copy, realised, gain = corrupt(clean, Condition("clean"), np.random.default_rng(0))
    assert np.array_equal(clean_copy, clean) and realised is None and gain == 1.0


def test_limit_deals_clips_over_the_classes():
    y = np.array([0, 0, 0, 0, 1, 1, 2])
    picked = _deal(y, 3, seed=0)
    assert sorted(y[picked].tolist()) == [0, 1, 2]
    assert len(set(_deal(y, 5, seed=0).tolist())) == 5 and np.array_equal(_deal(y, None, 0), np.arange(7))


def test_conditions_cover_every_kind_and_snr():
    settings = NoiseSettings(snrs=(20.0, 5.0), kinds=("white", "babble"), device_channel=True)
    names = [c.name for c in conditions(settings)]
    assert names == ["clean", "white 20 dB", "white 5 dB", "babble 20 dB", "babble 5 dB", "device"]


def test_model_inputs_equal_evaluates(run_copy, eight_clips):
    """The sweep turns audio into model inputs exactly as `edgeser evaluate` does (same clips, same order)."""
    from edgeser.evaluation.evaluate import load_clips, open_run
    from edgeser.evaluation.noise import load_sweep_clips
    from edgeser.evaluation.predictor import clip_inputs

    run = open_run(run_copy)
    clips = load_sweep_clips(run, "generic", eight_clips)
    x, windows = clip_inputs(clips.audio, run.recipe)
    reference = load_clips(run, "generic", eight_clips)
    assert np.array_equal(x, reference.x) and np.array_equal(windows, reference.windows)
    assert np.array_equal(clips.y, reference.y) and len(clips.y) == 8


@pytest.mark.parametrize("backend", ["keras", "tflm"])
def test_sweep_table_rows_files_and_clean_row(run_copy, eight_clips, backend):
    kinds, snrs = (("white", "pink", "babble"), (20.0, 0.0)) if backend == "keras" else (("white",), (10.0,))
    settings = NoiseSettings(snrs=snrs, kinds=kinds, device_channel=True, backend=backend)
    result = noise_sweep(run_copy, "generic", eight_clips, settings, progress=False)
    assert result["clips"] == 8
    rows = {r["condition"]: r for r in result["rows"]}
    assert list(rows) == ["clean"] + [f"{k} {s:g} dB" for k in kinds for s in snrs] + ["device"]
    if backend == "tflm":  # (keras `evaluate_run` takes a minute of Keras predict(); its inputs are checked above)
        reference = evaluate_run(run_copy, "generic", eight_clips, backend)
        for model in ("acoustic", "fusion"):
            assert rows["clean"]["scores"][model] == reference["scores"][model]
    for row in result["rows"]:
        if row["snr_db"] is not None:
            realised = row["realised_snr_db"]
            assert abs(realised["min"] - row["snr_db"]) < 0.1 and abs(realised["max"] - row["snr_db"]) < 0.1
        for model in ("acoustic", "fusion"):
            s = row["scores"][model]
            assert np.array(s["confusion"]).sum() == 8 and 0.0 <= s["ua"] <= 1.0
    out = run_copy / "noise"
    stored = json.loads((out / f"noise_{backend}.json").read_text())
    assert stored["rows"] == json.loads(json.dumps(result["rows"]))
    assert (out / f"noise_{backend}.png").read_bytes()[:4] == b"\x89PNG"
    table = (out / f"noise_{backend}.md").read_text()
    assert all(f"| {name} |" in table for name in rows)
    assert not list(out.glob(".*.tmp"))
    manifest = json.loads((run_copy / "manifest.json").read_text())
    assert manifest["files"][f"noise/noise_{backend}.json"]["stage"] == "noise"


def test_bad_arguments_give_clear_errors(run_copy, eight_clips, tmp_path):
    with pytest.raises(SettingsError, match="unknown noise kind.*purple"):
        parse_kinds("white,purple")
    with pytest.raises(SettingsError, match="empty"):
        parse_kinds(" , ")
    for text in ("", "clean", " , "):
        with pytest.raises(SettingsError, match="snr.*empty"):
            parse_snrs(text)
    with pytest.raises(SettingsError, match="'loud' is neither"):
        parse_snrs("clean,20,loud")
    assert parse_snrs("clean,20,10dB,-5") == (20.0, 10.0, -5.0)
    with pytest.raises(SettingsError, match="snr"):
        NoiseSettings(snrs=())
    with pytest.raises(SettingsError, match="backend"):
        NoiseSettings(backend="edgetpu")
    with pytest.raises(SettingsError, match="limit"):
        NoiseSettings(limit=0)
    with pytest.raises(EvaluateError, match="babble.*only 1 clip"):
        noise_sweep(run_copy, "generic", eight_clips, NoiseSettings(snrs=(10.0,), kinds=("babble",), limit=1), progress=False)
    with pytest.raises(EvaluateError, match="not a run folder"):
        noise_sweep(tmp_path, "generic", eight_clips, NoiseSettings(), progress=False)


def test_cli_reports_bad_arguments(run_copy, eight_clips):
    import typer
    from typer.testing import CliRunner

    from edgeser.evaluation.cli import noise

    app = typer.Typer()
    app.command()(noise)
    app.command("unused")(lambda: None)
    runner = CliRunner()
    base = ["noise", str(run_copy), "--corpus", "generic", "--data", str(eight_clips)]
    bad_kind = runner.invoke(app, base + ["--kinds", "white,purple"])
    assert bad_kind.exit_code == 2 and "unknown noise kind" in bad_kind.output and "purple" in bad_kind.output
    no_snr = runner.invoke(app, base + ["--snr", "clean"])
    assert no_snr.exit_code == 2 and "empty" in no_snr.output
    ok = runner.invoke(app, base + ["--snr", "10", "--kinds", "white", "--limit", "4", "--json"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert doc["clips"] == 4 and [r["condition"] for r in doc["rows"]] == ["clean", "white 10 dB"]
