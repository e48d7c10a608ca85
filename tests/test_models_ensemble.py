"""Entropy-weighted ensemble of fusion heads: weights, combination, training, int8 cost."""

from __future__ import annotations

import math

import numpy as np
import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.benchmarks.measure import ensemble_cost
from edgeser.models.ensemble import (
    combine,
    entropy_weights,
    predict_logits,
    predictive_entropy,
    softmax,
    train_heads,
)

UNIFORM = np.zeros((1, 4))
CONFIDENT = np.array([[8.0, 0.0, 0.0, 0.0]])


def test_entropy_weights_favour_the_confident_head():
    w = entropy_weights([CONFIDENT, UNIFORM])
    assert w.shape == (1, 2) and w.sum() == pytest.approx(1.0)
    h_conf = predictive_entropy(CONFIDENT)[0]
    # w ∝ exp(-H): uniform head has H = ln 4
    expected = math.exp(-h_conf) / (math.exp(-h_conf) + math.exp(-math.log(4)))
    assert w[0, 0] == pytest.approx(expected)
    assert w[0, 0] > 0.75 > w[0, 1]
    assert predictive_entropy(UNIFORM)[0] == pytest.approx(math.log(4))


def test_identical_heads_equal_one_head():
    z = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_allclose(entropy_weights([z, z, z]), np.full((5, 3), 1 / 3))
    np.testing.assert_allclose(combine([z, z, z]), softmax(z), atol=1e-12)


def test_confident_correct_beats_uniform():
    probs = combine([CONFIDENT, UNIFORM])
    assert probs.argmax(axis=1).tolist() == [0]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_entropy_weighting_overrules_a_plain_mean():
    # head A: fairly sure of class 0; head B: vague, leaning to class 1.
    a = np.log(np.array([[0.55, 0.45, 1e-9, 1e-9]]))
    b = np.log(np.array([[0.28, 0.42, 0.15, 0.15]]))
    assert (softmax(a) + softmax(b)).argmax() == 1  # the plain mean picks class 1
    h_a, h_b = -(0.55 * math.log(0.55) + 0.45 * math.log(0.45)), -(
        0.28 * math.log(0.28) + 0.42 * math.log(0.42) + 0.3 * math.log(0.15)
    )
    w_a = 1 / (1 + math.exp(h_a - h_b))
    probs = combine([a, b])
    assert probs[0, 0] == pytest.approx(w_a * 0.55 + (1 - w_a) * 0.28, abs=1e-6)
    assert probs.argmax() == 0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least one head"):
        combine([])
    with pytest.raises(ValueError, match="one shape"):
        combine([np.zeros((2, 4)), np.zeros((3, 4))])
    with pytest.raises(ValueError, match="temperature"):
        entropy_weights([UNIFORM], temperature=0)


@pytest.fixture(scope="module")
def trained():
    """Two tiny fusion heads on separable synthetic embeddings (3 classes)."""
    from edgeser.models.fusion import FusionConfig, build_fusion_model
    from edgeser.models.training import TrainSettings

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 2.0

    def data(n):
        y = rng.integers(0, 3, size=n)
        x = centres[y] + rng.normal(size=(n, 16))
        return [x[:, :8].astype(np.float32), x[:, 8:].astype(np.float32)], y

    train, val = data(96), data(48)
    cfg = FusionConfig(acoustic_dim=8, keyword_dim=8, hidden_dim=16, num_classes=3, dropout=0.0)
    settings = TrainSettings(epochs=3, batch_size=32, learning_rate=2e-2, patience=3)
    heads = train_heads(lambda: build_fusion_model(cfg), train, val, 3, settings, seeds=[0, 1])
    return heads, train, val


def test_train_heads_gives_distinct_trained_heads(trained):
    heads, _, (x_val, y_val) = trained
    assert len(heads) == 2
    assert not np.allclose(heads[0].get_weights()[0], heads[1].get_weights()[0])
    logits = predict_logits(heads, x_val)
    for z in logits:
        assert (z.argmax(axis=1) == y_val).mean() > 0.8
    assert (combine(logits).argmax(axis=1) == y_val).mean() > 0.8
    with pytest.raises(ValueError, match="seeds must differ"):
        train_heads(lambda: None, None, None, 3, None, seeds=[1, 1])


def test_cost_of_three_heads_is_three_times_one():
    # Flash, arena and latency do not depend on the trained values: fresh heads suffice.
    import tensorflow as tf

    from edgeser.models.fusion import FusionConfig, build_fusion_model

    cfg = FusionConfig(acoustic_dim=8, keyword_dim=8, hidden_dim=16, num_classes=3)
    heads = []
    for seed in range(3):
        tf.keras.utils.set_random_seed(seed)
        heads.append(build_fusion_model(cfg))
    rng = np.random.default_rng(0)
    representative = [(rng.normal(size=(1, 8)).astype(np.float32), rng.normal(size=(1, 8)).astype(np.float32)) for _ in range(32)]
    cost = ensemble_cost(heads, representative, runs=30)
    one = ensemble_cost(heads[:1], representative, runs=5)
    assert cost["heads"] == 3 and len(cost["flash_bytes"]) == 3
    assert cost["flash_bytes"][0] == one["flash_total"]
    assert cost["flash_ratio"] == pytest.approx(3.0, rel=0.01)
    assert cost["flash_total"] == sum(cost["flash_bytes"])
    assert cost["arena_shared"] == max(cost["arena_bytes"]) > 0
    assert cost["ensemble_ms"] > cost["single_ms"] > 0
    assert cost["latency_ratio"] > 1.5
    assert one["flash_ratio"] == 1.0
