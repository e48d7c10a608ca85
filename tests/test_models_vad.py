"""EmoSphere-SER dimensional head: spherical geometry, regions, targets, training, int8 on the Edge TPU."""

from __future__ import annotations

import math

import numpy as np
import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.corpora.types import Utterance
from edgeser.dimensional import ccc_scores
from edgeser.models.vad import (
    CATEGORY_VAD,
    VadSettings,
    build_vad_head,
    from_spherical,
    int8_vad_outputs,
    num_regions,
    predict_vad,
    spherical_region,
    to_spherical,
    train_vad_head,
    vad_targets,
)
from edgeser.settings import SettingsError


def test_spherical_known_points_and_round_trip():
    r, theta, phi = to_spherical(np.array([[0.0, 0.0, 0.5], [0.0, -1.0, 0.0], [1.0, 1.0, 0.0]]))
    np.testing.assert_allclose(r, [0.5, 1.0, math.sqrt(2)])
    np.testing.assert_allclose(theta, [0.0, math.pi / 2, math.pi / 2])
    np.testing.assert_allclose(phi[1:], [-math.pi / 2, math.pi / 4])
    pts = np.random.default_rng(0).uniform(-1, 1, size=(100, 3))
    np.testing.assert_allclose(from_spherical(*to_spherical(pts)), pts, atol=1e-12)
    assert np.all((0 <= to_spherical(pts)[1]) & (to_spherical(pts)[1] <= math.pi))


def test_region_of_points_in_known_octants():
    bins = 2
    assert num_regions(bins) == 16
    # (+, +, +) octant 0; r = sqrt(0.03) < 0.5 -> level 0; r = sqrt(0.75) -> level 1
    assert spherical_region(np.array([0.1, 0.1, 0.1]), bins) == 0
    assert spherical_region(np.array([0.5, 0.5, 0.5]), bins) == 1
    # (-v, +a, -d): octant 4 + 0 + 1 = 5, strong -> 5 * 2 + 1 = 11
    assert spherical_region(np.array([-0.6, 0.7, -0.5]), bins) == 11
    # (-, -, -) octant 7, mild -> 14
    assert spherical_region(np.array([-0.1, -0.2, -0.1]), bins) == 14
    # radius beyond 1 stays in the last level; zero counts as positive
    assert spherical_region(np.array([0.0, -1.0, 1.0]), bins) == (2 * 2 + 1)
    regions = spherical_region(np.array([[0.1, 0.1, 0.1], [-1.0, -1.0, -1.0]]), 3)
    assert regions.tolist() == [0, 7 * 3 + 2]


def test_settings_validate():
    s = VadSettings()
    assert (s.enabled, s.aux_weight, s.aux_decay, s.radius_bins, s.epochs, s.patience) == (False, 0.5, 0.9, 2, 40, 8)
    assert s.aux_weight_at(2) == pytest.approx(0.5 * 0.81)
    with pytest.raises(SettingsError, match="aux_decay"):
        VadSettings(aux_decay=1.5)
    with pytest.raises(SettingsError, match="radius_bins"):
        VadSettings(radius_bins=0)


def _utt(label, **vad):
    return Utterance(path=f"/c/{label}.wav", corpus="x", label=label, speaker="s1", **vad)


def test_vad_targets_use_ratings_else_anchors():
    out = vad_targets([_utt("angry", valence=1.0, arousal=5.0, dominance=4.0), _utt("sad"), _utt("fear")])
    np.testing.assert_allclose(out[0], [-1.0, 1.0, 0.5])
    np.testing.assert_allclose(out[1], CATEGORY_VAD["sad"])
    np.testing.assert_allclose(out[2], CATEGORY_VAD["fearful"])
    assert out.dtype == np.float32
    # the anchors sit in the octants their descriptions give
    assert spherical_region(np.array(CATEGORY_VAD["angry"]), 1) == 4 * 1 + 0 + 0
    assert spherical_region(np.array(CATEGORY_VAD["sad"]), 1) == 7
    with pytest.raises(ValueError, match="/c/boredom.wav.*no V/A/D anchor"):
        vad_targets([_utt("boredom")])
    with pytest.raises(ValueError, match="incomplete.*dominance"):
        vad_targets([_utt("happy", valence=2.0, arousal=3.0)])
    with pytest.raises(ValueError, match="outside 1"):
        vad_targets([_utt("happy", valence=7.0, arousal=3.0, dominance=3.0)])


def _linear_data(rng, w, n):
    x = rng.normal(size=(n, w.shape[0])).astype(np.float32)
    return x, np.clip(x @ w, -1, 1).astype(np.float32)


def test_head_learns_a_linear_vad_relation():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(16, 3)) / 4.0 * 0.5
    train, val = _linear_data(rng, w, 192), _linear_data(rng, w, 64)
    settings = VadSettings(enabled=True, epochs=25, patience=8, hidden_dim=32, learning_rate=6e-3)
    head = build_vad_head(16, settings.hidden_dim, num_regions(settings.radius_bins))
    history = train_vad_head(head, train, val, settings, seed=0)
    assert history.aux_weight[:3] == pytest.approx([0.5, 0.45, 0.405])
    scores = ccc_scores(val[1], predict_vad(head, val[0]))
    assert scores["mean"] > 0.8, scores
    # the best epoch's weights were restored
    assert scores["mean"] == pytest.approx(history.best_val_ccc, abs=1e-5)


def test_train_refuses_mismatched_bins_and_bad_targets():
    head = build_vad_head(4, 8, num_regions(2))
    x = np.zeros((8, 4), np.float32)
    with pytest.raises(ValueError, match="region outputs"):
        train_vad_head(head, (x, np.zeros((8, 3))), (x, np.zeros((8, 3))), VadSettings(radius_bins=3), 0)
    with pytest.raises(ValueError, match=r"train: V/A/D targets must lie in \[-1, 1\]"):
        train_vad_head(head, (x, np.full((8, 3), 3.0)), (x, np.zeros((8, 3))), VadSettings(), 0)


def test_head_is_full_int8_on_the_edge_tpu():
    import tensorflow as tf

    from edgeser.evaluation.int8 import Int8Model
    from edgeser.quantize.convert import quantize_keras_model
    from edgeser.quantize.edgetpu_check import check_model

    tf.keras.utils.set_random_seed(0)
    head = build_vad_head(16, 32, num_regions(2))
    x = np.random.default_rng(1).normal(size=(64, 16)).astype(np.float32)
    tflite = quantize_keras_model(head, [x[i : i + 1] for i in range(len(x))])
    report = check_model(tflite)
    assert report.fully_mapped and report.fraction_mapped == 1.0
    assert [op.name for op in report.ops] == ["FULLY_CONNECTED"] * 3 + ["TANH"]
    vad, region = int8_vad_outputs(Int8Model(tflite, backend="tflm")(x))
    assert vad.shape == (64, 3) and region.shape == (64, 16)
    float_vad = predict_vad(head, x)
    assert np.abs(vad - float_vad).mean() < 0.05
    assert np.abs(vad - float_vad).max() < 0.1
