"""Training losses on logits, as pure TensorFlow functions of tensors.

Shapes: N examples, K classes, E embedding size. ``targets`` are class distributions
[N, K] (one-hot, label-smoothed or soft labels; rows sum to 1), ``logits`` the model's
unnormalised outputs [N, K]. Unless stated, a function returns the per-example loss
[N] (float32), so that the caller can weight examples (class weights) and reduce.

* :func:`soft_cross_entropy` - ``-sum_k t_k log p_k``.
* :func:`kl_divergence` - ``sum_k t_k (log t_k - log p_k)``, ``0 log 0 = 0``
  (label-distribution learning, e.g. EM2LDL uses KL + (1 - cos)).
* :func:`focal_loss` - ``-sum_k t_k (1 - p_k)^gamma log p_k`` (Lin et al., 2017).
* :func:`cosine_distance` - ``1 - cos(t, softmax(logits))``.
* :func:`center_loss` / :func:`update_centers` - Wen et al., 2016.
* :func:`supervised_contrastive` - Khosla et al., 2020 (a scalar).
* :func:`distillation` - ``T^2 KL(softmax(teacher/T) || softmax(student/T))`` (Hinton et al., 2015).
"""

from __future__ import annotations

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
import tensorflow as tf


def _f32(x) -> tf.Tensor:
    return tf.cast(tf.convert_to_tensor(x), tf.float32)


def soft_cross_entropy(targets, logits) -> tf.Tensor:
    """Cross-entropy of distributions ``targets`` [N, K] under ``softmax(logits)`` [N, K] -> [N] (nats)."""
    return -tf.reduce_sum(_f32(targets) * tf.nn.log_softmax(_f32(logits), axis=-1), axis=-1)


def kl_divergence(targets, logits) -> tf.Tensor:
    """KL(targets || softmax(logits)) = sum_k t_k (log t_k - log p_k) -> [N] (nats).

    Terms with t_k = 0 contribute 0 (``0 log 0 = 0``); for one-hot targets this equals
    :func:`soft_cross_entropy`.
    """
    t = _f32(targets)
    log_t = tf.math.log(tf.where(t > 0, t, tf.ones_like(t)))  # log 1 = 0 where t = 0
    return tf.reduce_sum(t * (log_t - tf.nn.log_softmax(_f32(logits), axis=-1)), axis=-1)


def focal_loss(targets, logits, gamma: float = 2.0) -> tf.Tensor:
    """Focal loss ``-sum_k t_k (1 - p_k)^gamma log p_k`` -> [N]; ``gamma = 0`` is cross-entropy."""
    log_p = tf.nn.log_softmax(_f32(logits), axis=-1)
    modulation = tf.pow(1.0 - tf.exp(log_p), float(gamma)) if gamma else tf.ones_like(log_p)
    return -tf.reduce_sum(_f32(targets) * modulation * log_p, axis=-1)


def cosine_distance(targets, logits) -> tf.Tensor:
    """``1 - cos(t, softmax(logits))`` per example -> [N], in [0, 1] (both vectors are non-negative)."""
    t = tf.math.l2_normalize(_f32(targets), axis=-1, epsilon=1e-12)
    p = tf.math.l2_normalize(tf.nn.softmax(_f32(logits), axis=-1), axis=-1, epsilon=1e-12)
    return 1.0 - tf.reduce_sum(t * p, axis=-1)


def center_loss(embeddings, targets, centers) -> tf.Tensor:
    """``0.5 ||e_i - c_{y_i}||^2`` -> [N], with ``y_i = argmax targets_i``.

    ``embeddings`` [N, E], ``targets`` [N, K], ``centers`` [K, E]. Centers are treated
    as constants here (no gradient); move them with :func:`update_centers`.
    """
    y = tf.argmax(_f32(targets), axis=-1)
    own = tf.gather(tf.stop_gradient(_f32(centers)), y)
    return 0.5 * tf.reduce_sum(tf.square(_f32(embeddings) - own), axis=-1)


def update_centers(centers, embeddings, targets, alpha: float = 0.5) -> tf.Tensor:
    """One center update of Wen et al. (2016) -> new centers [K, E].

    ``c_j <- c_j - alpha * sum_{i: y_i = j} (c_j - e_i) / (1 + n_j)`` with ``n_j`` the
    number of examples of class j in the batch (``y_i = argmax targets_i``); classes
    absent from the batch keep their center.
    """
    c = _f32(centers)
    e = tf.stop_gradient(_f32(embeddings))
    onehot = tf.one_hot(tf.argmax(_f32(targets), axis=-1), tf.shape(c)[0], dtype=tf.float32)  # [N, K]
    counts = tf.reduce_sum(onehot, axis=0)  # [K]
    sums = tf.matmul(onehot, e, transpose_a=True)  # [K, E]: sum of e_i per class
    delta = (counts[:, None] * c - sums) / (1.0 + counts[:, None])
    return c - float(alpha) * delta


def supervised_contrastive(embeddings, labels, temperature: float = 0.1) -> tf.Tensor:
    """Supervised contrastive loss (Khosla et al., 2020, L_out) -> scalar.

    ``embeddings`` [N, E] are L2-normalised; for anchor i with positives P(i) (same
    label, not i) and all others A(i) (not i):
    ``L_i = -1/|P(i)| sum_{p in P(i)} log( exp(z_i.z_p / T) / sum_{a in A(i)} exp(z_i.z_a / T) )``.
    The result is the mean over anchors that have at least one positive; 0 when none has.
    ``labels`` [N] are integer classes.
    """
    z = tf.math.l2_normalize(_f32(embeddings), axis=-1, epsilon=1e-12)
    labels = tf.reshape(tf.cast(labels, tf.int64), [-1])
    n = tf.shape(z)[0]
    sim = tf.matmul(z, z, transpose_b=True) / float(temperature)  # [N, N]
    self_mask = tf.eye(n, dtype=tf.bool)
    sim = tf.where(self_mask, tf.fill(tf.shape(sim), tf.constant(-1e9, tf.float32)), sim)  # drop a = i
    log_prob = sim - tf.reduce_logsumexp(sim, axis=1, keepdims=True)
    positive = tf.logical_and(tf.equal(labels[:, None], labels[None, :]), tf.logical_not(self_mask))
    positive = tf.cast(positive, tf.float32)
    num_pos = tf.reduce_sum(positive, axis=1)  # [N]
    per_anchor = -tf.reduce_sum(positive * log_prob, axis=1) / tf.maximum(num_pos, 1.0)
    has = tf.cast(num_pos > 0, tf.float32)
    return tf.reduce_sum(per_anchor * has) / tf.maximum(tf.reduce_sum(has), 1.0)


def distillation(teacher_logits, logits, temperature: float = 2.0) -> tf.Tensor:
    """Knowledge distillation ``T^2 KL(softmax(teacher/T) || softmax(student/T))`` -> [N].

    The T^2 factor keeps the gradient size independent of T (Hinton et al., 2015).
    """
    t = float(temperature)
    soft = tf.nn.softmax(tf.stop_gradient(_f32(teacher_logits)) / t, axis=-1)
    return t * t * kl_divergence(soft, _f32(logits) / t)
