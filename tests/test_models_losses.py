"""edgeser.models.losses against NumPy / hand computations on small tensors."""

from __future__ import annotations

import numpy as np
import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.models import losses

LOGITS = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0], [-1.0, 3.0, 1.0]], np.float32)
SOFT = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [0.1, 0.6, 0.3]], np.float32)
ONEHOT = np.eye(3, dtype=np.float32)[[0, 2, 1]]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _np(t) -> np.ndarray:
    return np.asarray(t.numpy(), np.float64)


def test_soft_cross_entropy_matches_numpy():
    expected = -(SOFT * np.log(_softmax(LOGITS))).sum(-1)
    np.testing.assert_allclose(_np(losses.soft_cross_entropy(SOFT, LOGITS)), expected, rtol=1e-5)
    # uniform logits: CE = log 3 whatever the target
    assert losses.soft_cross_entropy(SOFT[1:2], LOGITS[1:2]).numpy()[0] == pytest.approx(np.log(3), rel=1e-6)


def test_kl_divergence_with_zero_targets_and_onehot_equals_ce():
    p = _softmax(LOGITS)
    t = SOFT.astype(np.float64)
    expected = np.array([sum(tk * (np.log(tk) - np.log(pk)) for tk, pk in zip(ti, pi) if tk > 0) for ti, pi in zip(t, p)])
    got = _np(losses.kl_divergence(SOFT, LOGITS))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert np.all(np.isfinite(got))  # 0 log 0 = 0 in row 1
    np.testing.assert_allclose(_np(losses.kl_divergence(ONEHOT, LOGITS)), _np(losses.soft_cross_entropy(ONEHOT, LOGITS)), rtol=1e-6)
    # KL of a distribution with itself is 0
    np.testing.assert_allclose(_np(losses.kl_divergence(_softmax(LOGITS), LOGITS)), 0.0, atol=1e-6)


def test_focal_loss_hand_value_and_gamma_zero_is_ce():
    p = _softmax(LOGITS)
    expected = -(SOFT * (1 - p) ** 2 * np.log(p)).sum(-1)
    np.testing.assert_allclose(_np(losses.focal_loss(SOFT, LOGITS, 2.0)), expected, rtol=1e-5)
    np.testing.assert_allclose(_np(losses.focal_loss(SOFT, LOGITS, 0.0)), _np(losses.soft_cross_entropy(SOFT, LOGITS)), rtol=1e-6)
    # hand value: logits (0, 0) one-hot -> p = 1/2, loss = (1/2)^2 * log 2
    assert losses.focal_loss([[1.0, 0.0]], [[0.0, 0.0]], 2.0).numpy()[0] == pytest.approx(0.25 * np.log(2), rel=1e-6)


def test_cosine_distance():
    p = _softmax(LOGITS)
    expected = 1 - (SOFT * p).sum(-1) / (np.linalg.norm(SOFT, axis=-1) * np.linalg.norm(p, axis=-1))
    np.testing.assert_allclose(_np(losses.cosine_distance(SOFT, LOGITS)), expected, rtol=1e-5, atol=1e-7)
    # uniform prediction vs uniform target: distance 0; vs one-hot: 1 - 1/sqrt(3)
    got = _np(losses.cosine_distance([[1 / 3] * 3, [1.0, 0.0, 0.0]], np.zeros((2, 3), np.float32)))
    np.testing.assert_allclose(got, [0.0, 1 - 1 / np.sqrt(3)], atol=1e-6)


def test_center_loss_and_wen_update():
    emb = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 4.0]], np.float32)
    targets = np.eye(2, dtype=np.float32)[[0, 0, 1]]
    centers = np.array([[1.0, 1.0], [0.0, 0.0]], np.float32)
    # 0.5*||(0,-1)||^2 = 0.5; 0.5*||(2,1)||^2 = 2.5; 0.5*||(0,4)||^2 = 8
    np.testing.assert_allclose(_np(losses.center_loss(emb, targets, centers)), [0.5, 2.5, 8.0], rtol=1e-6)
    new = _np(losses.update_centers(centers, emb, targets, alpha=0.5))
    # class 0: n=2, sum(c - e) = (0,1) + (-2,-1) = (-2, 0); c - 0.5 * (-2, 0)/3 = (1 + 1/3, 1)
    # class 1: n=1, c - e = (0, -4); c - 0.5 * (0, -4)/2 = (0, 1)
    np.testing.assert_allclose(new, [[1 + 1 / 3, 1.0], [0.0, 1.0]], rtol=1e-6)
    # a class absent from the batch keeps its center
    three = np.vstack([centers, [[5.0, 5.0]]])
    new3 = _np(losses.update_centers(three, emb, np.eye(3, dtype=np.float32)[[0, 0, 1]], alpha=0.5))
    np.testing.assert_allclose(new3[2], [5.0, 5.0])


def _supcon_numpy(emb: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    n, total, anchors = len(z), 0.0, 0
    for i in range(n):
        positives = [p for p in range(n) if p != i and labels[p] == labels[i]]
        if not positives:
            continue
        denom = sum(np.exp(z[i] @ z[a] / temperature) for a in range(n) if a != i)
        total += -np.mean([np.log(np.exp(z[i] @ z[p] / temperature) / denom) for p in positives])
        anchors += 1
    return total / anchors


def test_supervised_contrastive_matches_loop():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(5, 3)).astype(np.float32)
    labels = np.array([0, 1, 0, 2, 1])  # anchor 3 has no positive: ignored
    got = float(losses.supervised_contrastive(emb, labels, 0.5).numpy())
    assert got == pytest.approx(_supcon_numpy(emb, labels, 0.5), rel=1e-5)
    # scale-free: the embeddings are L2-normalised first
    assert float(losses.supervised_contrastive(emb * 7, labels, 0.5).numpy()) == pytest.approx(got, rel=1e-5)


def test_supervised_contrastive_without_positive_pairs_is_zero():
    emb = np.eye(3, dtype=np.float32)
    assert float(losses.supervised_contrastive(emb, np.array([0, 1, 2]), 0.1).numpy()) == 0.0


def test_distillation_is_t2_kl_and_zero_for_identical_logits():
    teacher = LOGITS[[2, 0, 1]]
    t = 2.0
    pt, ps = _softmax(teacher / t), _softmax(LOGITS / t)
    expected = t * t * (pt * (np.log(pt) - np.log(ps))).sum(-1)
    np.testing.assert_allclose(_np(losses.distillation(teacher, LOGITS, t)), expected, rtol=1e-5)
    np.testing.assert_allclose(_np(losses.distillation(LOGITS, LOGITS, 3.0)), 0.0, atol=1e-5)


def test_gradients_flow_to_logits_and_embeddings():
    import tensorflow as tf

    logits = tf.Variable(LOGITS)
    emb = tf.Variable(np.ones((3, 2), np.float32))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(losses.focal_loss(SOFT, logits) + losses.cosine_distance(SOFT, logits))
        total += tf.reduce_sum(losses.center_loss(emb, ONEHOT, np.zeros((3, 2), np.float32)))
    g_logits, g_emb = tape.gradient(total, [logits, emb])
    assert np.all(np.isfinite(g_logits.numpy())) and np.abs(g_logits.numpy()).sum() > 0
    np.testing.assert_allclose(g_emb.numpy(), np.ones((3, 2)))  # d/de 0.5 ||e - 0||^2 = e
