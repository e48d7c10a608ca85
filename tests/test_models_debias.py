"""CO-VADA: GCE numbers, a short GCE probe finds the easy (bias-aligned) examples, selection, augmentation."""

from __future__ import annotations

import numpy as np
import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
import tensorflow as tf

from edgeser.models.debias import (DebiasSettings, bias_aligned, generalized_cross_entropy, train_bias_probe,
                                   voice_augment)
from edgeser.settings import SettingsError, from_mapping

SR = 16000


def test_gce_matches_hand_computation():
    probs = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    y = np.array([0, 1, 0])
    got = generalized_cross_entropy(probs, y, 0.7).numpy()
    want = (1 - np.array([0.5, 0.8, 0.2]) ** 0.7) / 0.7  # 0.54918, 0.20659, 0.96553
    assert np.allclose(got, want, atol=1e-6)
    assert np.allclose(got, [0.549183, 0.206589, 0.965527], atol=1e-5)
    # q = 1: 1 - p_y; q -> 0: cross-entropy -log p_y; one-hot targets = integer labels.
    assert np.allclose(generalized_cross_entropy(probs, y, 1.0).numpy(), [0.5, 0.2, 0.8], atol=1e-7)
    assert np.allclose(generalized_cross_entropy(probs, y, 1e-4).numpy(), -np.log([0.5, 0.8, 0.2]), atol=1e-3)
    assert np.allclose(generalized_cross_entropy(probs, np.eye(3)[y], 0.7).numpy(), want, atol=1e-6)


def test_gce_gradient_is_p_y_to_the_q_times_cross_entropy_gradient():
    logits = tf.constant([[2.0, 0.5, -1.0], [0.1, 0.3, 0.2]])
    y = np.array([0, 2])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        p = tf.nn.softmax(logits)
        gce = generalized_cross_entropy(p, y, 0.7)
        ce = -tf.math.log(tf.gather(p, y, batch_dims=1))
    p_y = tf.gather(p, y, batch_dims=1).numpy()
    g_gce, g_ce = tape.gradient(gce, logits).numpy(), tape.gradient(ce, logits).numpy()
    assert np.allclose(g_gce, p_y[:, None] ** 0.7 * g_ce, atol=1e-6)


def test_bias_aligned_selects_the_confident_share():
    conf = np.array([0.9, 0.1, 0.5, 0.95, 0.3, 0.7, 0.2, 0.6, 0.8, 0.4])
    assert np.flatnonzero(bias_aligned(conf, 0.3)).tolist() == [0, 3, 8]
    loss = 1 - conf
    assert np.array_equal(bias_aligned(loss, 0.3, kind="loss"), bias_aligned(conf, 0.3))
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    # per class: round(0.4 * 5) = 2 of each: class 0 -> 3, 0; class 1 -> 8, 5
    assert np.flatnonzero(bias_aligned(conf, 0.4, labels=labels)).tolist() == [0, 3, 5, 8]
    assert not bias_aligned(conf, 0.0).any() and bias_aligned(conf, 1.0).all()
    assert np.flatnonzero(bias_aligned(np.ones(4), 0.5)).tolist() == [0, 1]  # ties: lower index
    with pytest.raises(ValueError, match="NaN"):
        bias_aligned(np.array([0.5, np.nan]), 0.5)
    with pytest.raises(SettingsError, match="kind"):
        bias_aligned(conf, 0.5, kind="entropy")


def _shortcut_data(seed=0, n=240, dim=8):
    """Two classes; 'easy' examples carry a strong cue in feature 0, the rest only a weak one in feature 1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    sign = 2.0 * y - 1.0
    easy = np.zeros(n, dtype=bool)
    easy[rng.permutation(n)[: n // 3]] = True
    x = rng.normal(0, 1, (n, dim))
    x[:, 1] += 0.3 * sign
    x[easy, 0] += 5.0 * sign[easy]
    return x.astype(np.float32), y, easy


def _builder(dim=8, classes=2):
    def build():
        inputs = tf.keras.Input((dim,))
        hidden = tf.keras.layers.Dense(16, activation="relu")(inputs)
        return tf.keras.Model(inputs, tf.keras.layers.Dense(classes)(hidden))
    return build


def test_short_gce_probe_finds_the_easy_examples():
    x, y, easy = _shortcut_data()
    settings = DebiasSettings(probe_epochs=3, batch_size=16, learning_rate=0.01, easy_fraction=1 / 3)
    result = train_bias_probe(_builder(), x, y, 2, settings, seed=0)
    assert result.confidence.shape == (240,) and result.probs.shape == (240, 2) and len(result.epoch_loss) == 3
    assert np.allclose(result.probs.sum(axis=1), 1, atol=1e-6)
    assert np.allclose(result.confidence, result.probs[np.arange(240), y])
    assert np.allclose(result.loss, (1 - result.confidence ** 0.7) / 0.7, atol=1e-5)
    assert result.epoch_loss[-1] < result.epoch_loss[0]
    assert result.confidence[easy].mean() > result.confidence[~easy].mean() + 0.15
    mask = bias_aligned(result.confidence, settings.easy_fraction)
    assert mask.sum() == 80
    assert (mask & easy).sum() / mask.sum() > 0.7  # chance would be 1/3 (measured: 0.81)
    again = train_bias_probe(_builder(), x, y, 2, settings, seed=0)
    assert np.array_equal(again.confidence, result.confidence)


def test_probe_refuses_bad_labels():
    x, y, _ = _shortcut_data(n=20)
    with pytest.raises(ValueError, match=r"integers in \[0, 2\)"):
        train_bias_probe(_builder(), x, y + 1, 2, DebiasSettings(), 0)
    with pytest.raises(ValueError, match="expected num_classes = 3"):
        train_bias_probe(_builder(), x, y, 3, DebiasSettings(), 0)


def test_voice_augment_copies_the_marked_clips_with_their_labels():
    t = np.arange(SR // 2) / SR
    audios = [0.2 * np.sin(2 * np.pi * (120 + 30 * k) * t) for k in range(4)]
    labels = np.array([3, 1, 0, 2])
    mask = np.array([True, False, True, False])
    settings = DebiasSettings(copies=2, rate=(1.0, 1.0))
    clips, new_labels, sources = voice_augment(audios, labels, mask, np.random.default_rng(0), settings, SR)
    assert sources.tolist() == [0, 0, 2, 2] and new_labels.tolist() == [3, 3, 0, 0]
    assert all(c.shape == audios[0].shape for c in clips)  # rate 1: duration kept
    assert not np.allclose(clips[0], clips[1])  # two different random transforms
    again = voice_augment(audios, labels, mask, np.random.default_rng(0), settings, SR)[0]
    assert all(np.array_equal(a, b) for a, b in zip(clips, again))


def test_settings_validate_and_load_from_yaml_mapping():
    s = from_mapping(DebiasSettings, {"enabled": True, "formant_ratio": [0.9, 1.1], "rate": [0.95, 1.05]})
    assert s.enabled and s.formant_ratio == (0.9, 1.1) and s.voice().rate == (0.95, 1.05)
    with pytest.raises(SettingsError, match="gce_q"):
        DebiasSettings(gce_q=0)
    with pytest.raises(SettingsError, match="easy_fraction"):
        DebiasSettings(easy_fraction=1.5)
    with pytest.raises(SettingsError, match="formant_ratio"):
        DebiasSettings(formant_ratio=(1.2, 0.8))
