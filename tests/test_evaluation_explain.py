"""Saliency (edgeser.evaluation.saliency) on hand-built models, and `edgeser explain` end to end."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeser.evaluation.saliency import (
    crop_offset,
    frame_intervals,
    frame_times,
    gradient_saliency,
    occlusion_saliency,
    salient_frames,
    softmax,
)

T, C, FILL = 40, 12, -128.0
SCALE = 50.0  # logit 0 = mean(x[10:20, 5]) / SCALE, logit 1 = 0


@pytest.fixture(scope="module")
def window_model():
    """A Keras model whose only evidence is frames 10-19 of channel 5."""
    import tensorflow as tf

    inp = tf.keras.layers.Input((T, C))
    logit = tf.keras.layers.Lambda(lambda x: tf.reduce_mean(x[:, 10:20, 5], axis=1, keepdims=True) / SCALE)(inp)
    out = tf.keras.layers.Lambda(lambda z: tf.concat([z, tf.zeros_like(z)], axis=-1))(logit)
    return tf.keras.Model(inp, out)


def numpy_predict(batch: np.ndarray) -> np.ndarray:
    z = batch[:, 10:20, 5].mean(axis=1) / SCALE
    return np.stack([z, np.zeros_like(z)], axis=1)


def example() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(-20, 80, (T, C)).astype(np.float32)


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def test_occlusion_single_cells_match_hand_computation(window_model):
    x = example()
    keras_fn = lambda b: window_model(b, training=False).numpy()  # noqa: E731
    s = occlusion_saliency(keras_fn, x, target=0, patch=(1, 1), stride=(1, 1), fill=FILL)
    m = x[10:20, 5].mean()
    expected = np.zeros((T, C))
    for t in range(10, 20):
        expected[t, 5] = sigmoid(m / SCALE) - sigmoid((m - (x[t, 5] - FILL) / 10) / SCALE)
    np.testing.assert_allclose(s, expected, atol=1e-6)
    # the same map from a plain NumPy predict_fn (what the TFLite-Micro backend plugs in)
    np.testing.assert_allclose(occlusion_saliency(numpy_predict, x, 0, (1, 1), (1, 1), FILL), expected, atol=1e-6)
    # the other class loses exactly what class 0 gains
    np.testing.assert_allclose(occlusion_saliency(numpy_predict, x, 1, (1, 1), (1, 1), FILL), -expected, atol=1e-6)


def test_occlusion_patches_concentrate_on_the_evidence():
    s = occlusion_saliency(numpy_predict, example(), target=0, patch=(4, 4), fill=FILL)
    per_frame = s.sum(axis=1)
    assert per_frame[8:22].sum() == pytest.approx(per_frame.sum())  # patches reach at most 2 frames beyond
    assert per_frame[:7].max() == 0 and per_frame[23:].max() == 0
    assert np.all(per_frame[10:20] > 0)
    mask = salient_frames(s, share=0.25)  # 10 frames
    assert mask.sum() == 10 and set(np.flatnonzero(mask)) <= set(range(8, 22))
    assert s[:, 8:].sum() == 0 and s[:, :2].sum() == 0  # channel 5 lies in the patches of channels 2-5 and 4-7


def test_occlusion_checks_its_input():
    with pytest.raises(ValueError, match="frames, channels"):
        occlusion_saliency(numpy_predict, np.zeros((1, T, C)), 0)
    with pytest.raises(ValueError, match="target 3"):
        occlusion_saliency(numpy_predict, example(), 3)


def test_gradient_saliency_is_the_models_weighting(window_model):
    x = example()
    g = gradient_saliency(window_model, x, target=0, mode="gradient")
    expected = np.zeros((T, C))
    expected[10:20, 5] = 1 / (10 * SCALE)
    np.testing.assert_allclose(g, expected, atol=1e-7)
    gi = gradient_saliency(window_model, x, target=0, mode="input", baseline=FILL)
    np.testing.assert_allclose(gi, (x - FILL) * expected, rtol=1e-5, atol=1e-7)
    # SmoothGrad: a linear model's gradient is the same everywhere; seeded noise is reproducible
    smooth = gradient_saliency(window_model, x, target=0, samples=4, seed=3)
    np.testing.assert_allclose(smooth, expected, atol=1e-7)
    a = gradient_saliency(window_model, x, 0, mode="input", baseline=FILL, samples=4, seed=3)
    b = gradient_saliency(window_model, x, 0, mode="input", baseline=FILL, samples=4, seed=3)
    np.testing.assert_array_equal(a, b)
    assert set(np.flatnonzero(salient_frames(g, 0.25))) == set(range(10, 20))
    with pytest.raises(ValueError, match="mode"):
        gradient_saliency(window_model, x, 0, mode="other")


def test_salient_frames_share_and_ties():
    s = np.zeros((10, 2))
    s[[7, 2, 5], 0] = [3.0, 2.0, 1.0]
    assert list(np.flatnonzero(salient_frames(s, 0.2))) == [2, 7]
    assert list(np.flatnonzero(salient_frames(s, 0.3))) == [2, 5, 7]
    assert salient_frames(s, 0.01).sum() == 1
    assert list(np.flatnonzero(salient_frames(np.zeros((4, 1)), 0.5))) == [0, 1]  # ties: earlier frames
    with pytest.raises(ValueError, match="share"):
        salient_frames(s, 0.0)
    assert softmax(np.array([[0.0, math.log(3.0)]]))[0, 1] == pytest.approx(0.75)


def test_frames_to_seconds_follow_the_centre_crop():
    from edgeser.datasets import fit_frames

    raw = np.repeat(np.arange(120, dtype=np.int8)[:, None], 3, axis=1)
    assert crop_offset(120, 100) == 10 and fit_frames(raw, 100, -128)[0, 0] == 10
    short = raw[:80]
    fitted = fit_frames(short, 100, -128)
    assert crop_offset(80, 100) == -10 and fitted[10, 0] == 0 and fitted[9, 0] == -128
    np.testing.assert_allclose(frame_times(3, 20, 30, offset=10), [[0.2, 0.23], [0.22, 0.25], [0.24, 0.27]])
    mask = np.zeros(10, bool)
    mask[[2, 3, 6]] = True
    assert frame_intervals(mask, 20, 30) == [(0.04, 0.09), (0.12, 0.15)]
    # padded clip: frames before the audio carry nothing; the end is clipped to the duration
    assert frame_intervals(mask, 20, 30, offset=-5) == [(0.02, 0.05)]
    assert frame_intervals(mask, 20, 30, offset=0, duration_s=0.13) == [(0.04, 0.09), (0.12, 0.13)]


# -- edgeser explain on the tiny trained run --------------------------------------------------
def _demo_clip(run: Path, label: str = "angry") -> Path:
    import csv

    with open(run / "corpus" / "utterances.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["label"] == label)
    return run / "corpus" / row["path"]


def _app():
    import typer

    from edgeser.evaluation.cli import explain

    app = typer.Typer()
    app.command()(explain)
    app.command("unused")(lambda: None)  # two commands: typer keeps the sub-command name
    return app


@pytest.mark.slow
def test_cli_writes_json_and_png(tiny_run, tmp_path):
    from typer.testing import CliRunner

    from edgeser.evaluation.cues import CUE_KEYS

    clip = _demo_clip(tiny_run)
    out = tmp_path / "explained"
    args = ["explain", str(clip), "--run", str(tiny_run), "--out", str(out), "--method", "both"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "predicted" in result.output and "explain.json" in result.output
    doc = json.loads((out / "explain.json").read_text())
    assert (out / "explain.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(doc["cues"]) == set(CUE_KEYS)
    for cue in doc["cues"].values():
        assert set(cue) == {"salient", "whole", "difference", "ratio", "z", "expected", "agreement"}
        assert cue["agreement"] in ("agree", "disagree", "n.a.")
    assert doc["predicted"] in doc["labels"]
    assert sum(doc["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert len(doc["salient_frames"]) == math.ceil(0.2 * doc["frames"])
    assert doc["salient_intervals_s"] and all(0 <= a < b <= doc["duration_s"] + 1e-9 for a, b in doc["salient_intervals_s"])
    assert doc["cues"]["pitch_median_hz"]["whole"] > 50  # the demo speech is voiced
    assert sorted(p.name for p in out.iterdir()) == ["explain.json", "explain.png"]  # atomic: no temp files left


@pytest.mark.slow
def test_tflm_occlusion_and_clear_errors(tiny_run, tmp_path):
    from edgeser.evaluation.explain import ExplainError, explain_clip

    clip = _demo_clip(tiny_run, "sad")
    doc = explain_clip(clip, tiny_run, tmp_path / "tflm", method="occlusion", backend="tflm")
    assert doc["backend"] == "tflm int8" and len(doc["frame_saliency"]) == doc["frames"]

    with pytest.raises(ExplainError, match="does not exist"):
        explain_clip(tmp_path / "missing.wav", tiny_run, tmp_path / "x")
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with pytest.raises(ExplainError, match="bad.wav: not a readable audio file"):
        explain_clip(bad, tiny_run, tmp_path / "x")
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    for name in ("recipe.yaml", "labels.json"):
        shutil.copy(tiny_run / name, untrained / name)
    with pytest.raises(ExplainError, match="no trained acoustic model.*acoustic.weights.npz"):
        explain_clip(clip, untrained, tmp_path / "x")
    with pytest.raises(ExplainError, match="not a run folder"):
        explain_clip(clip, tmp_path, tmp_path / "x")
    with pytest.raises(ExplainError, match="method must be"):
        explain_clip(clip, tiny_run, tmp_path / "x", method="lime")
    assert not (tmp_path / "x").exists()
