"""Training the acoustic classifier on speaker-standardised embeddings (``training.acoustic_speaker_group``).

The fusion head reads the acoustic embedding standardised per speaker (``fusion.input_norm:
speaker``), yet a plain acoustic model learns its embedding for raw use: its classifier never
sees a voice's offset and scale taken out. Here it does. Every training batch is made of
groups of G examples of one speaker each (``batch_size / G`` speakers a batch, so the
BatchNormalization layers still see several voices), and the classifier reads

    z = (embedding - mean_group) / sqrt(var_group + EPSILON^2)          [B, E]

with the group's statistics of the step (gradients flow through them, as in batch
normalisation); mixup pairs examples within a group. Train and validation UA standardise each
speaker with all of its examples, as the fusion head's training and validation do. After
training the statistics of a typical training speaker (the mean of the speakers' means and of
their variances) are folded into the logits layer (:func:`fold_typical_speaker`), so the model
keeps its graph and ops and its own logits serve a voice the board has no statistics of yet.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from edgeser.models.speaker_norm import EPSILON, speaker_standardise


def speaker_batches(groups: np.ndarray, group_size: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches: index arrays [batch_size] (the last may be shorter), each made of
    consecutive groups of ``group_size`` examples of one speaker.

    Each speaker's examples are shuffled and cut into groups; a speaker's last group is filled
    up from the start of its shuffled list (so every example is seen, a few twice; a speaker
    with fewer than ``group_size`` examples repeats them), and the groups are shuffled into batches. ``groups``: every example's speaker [N].
    """
    if group_size < 2 or batch_size % group_size:
        raise ValueError(f"a speaker group needs >= 2 examples and must divide the batch ({batch_size}), "
                         f"got {group_size}")
    groups = np.asarray(groups)
    chunks = []
    for g in np.unique(groups):
        rows = rng.permutation(np.flatnonzero(groups == g))
        rows = np.resize(rows, -(-len(rows) // group_size) * group_size)  # the last group filled up
        chunks.extend(rows.reshape(-1, group_size))
    order = rng.permutation(len(chunks))
    per_batch = batch_size // group_size
    return [np.concatenate([chunks[i] for i in order[start:start + per_batch]])
            for start in range(0, len(order), per_batch)]


def group_partners(n: int, group_size: int, rng: np.random.Generator) -> np.ndarray:
    """Mixup partners [n] of a batch of consecutive groups: a permutation within each group."""
    return np.concatenate([start + rng.permutation(min(group_size, n - start)) for start in range(0, n, group_size)])


def typical_speaker(emb: np.ndarray, groups: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean [E] and std [E] of a typical speaker: the mean of the speakers' means, the square
    root of the mean of their variances (each speaker counts once)."""
    emb = np.asarray(emb, np.float64)
    groups = np.asarray([str(g) for g in groups])
    names = np.unique(groups)
    means = np.stack([emb[groups == g].mean(axis=0) for g in names])
    variances = np.stack([emb[groups == g].var(axis=0) for g in names])
    return means.mean(axis=0), np.sqrt(variances.mean(axis=0))


def fold_typical_speaker(model, emb: np.ndarray, groups: Sequence[str]) -> None:
    """Fold a typical training speaker's standardisation into ``model``'s "logits" layer, in place:
    W' = W / s (per input row), b' = b - (m / s) W, with s = std + EPSILON, so that
    logits(e) = W' e + b' = W ((e - m) / s) + b. ``emb`` [N, E]: the training examples' embeddings."""
    mean, std = typical_speaker(emb, groups)
    layer = model.get_layer("logits")
    kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
    inv = 1.0 / (std + EPSILON)
    layer.set_weights([(kernel * inv[:, None]).astype(np.float32), (bias - (mean * inv) @ kernel).astype(np.float32)])


def group_standardised_net(model, group_size: int):
    """The training net: ``model``'s own layers, with the embedding [B, E] standardised over each
    group of ``group_size`` consecutive examples before dropout and the logits layer."""
    import tensorflow as tf

    class GroupStandardise(tf.keras.layers.Layer):
        def call(self, e):
            width = tf.shape(e)[-1]
            grouped = tf.reshape(e, [-1, group_size, width])                                 # [B / G, G, E]
            mean, var = tf.nn.moments(grouped, axes=[1], keepdims=True)
            return tf.reshape((grouped - mean) * tf.math.rsqrt(var + EPSILON ** 2), [-1, width])

    z = GroupStandardise(name="speaker_group_z")(model.get_layer("embedding").output)
    logits = model.get_layer("logits")(model.get_layer("head_drop")(z))
    return tf.keras.Model(model.inputs, logits, name=f"{model.name}_speaker_groups")


class SpeakerGroupLearner:
    """The learner of :func:`edgeser.models.training.fit` for an acoustic model whose classifier
    trains on speaker-standardised embeddings (module docstring); training its net trains ``model``."""

    def __init__(self, model, settings, data, num_classes: int, group_size: int):
        from edgeser.models.acoustic import embedding_model
        from edgeser.models.training import KerasLearner

        if settings.loss.needs_embedding:
            raise ValueError("training.acoustic_speaker_group: loss.center and loss.supcon act on the raw "
                             "embedding, the classifier here on the speaker-standardised one; set them to 0")
        self.model, self.group_size = model, group_size
        self.embedding = embedding_model(model)
        self.step = KerasLearner(group_standardised_net(model, group_size), settings, data, num_classes).step

    def embeddings(self, xs: list[np.ndarray]) -> np.ndarray:
        from edgeser.models.training import logits_of

        return logits_of(self.embedding, xs if len(xs) > 1 else xs[0])

    def speaker_logits(self, xs: list[np.ndarray], groups: np.ndarray) -> np.ndarray:
        """Logits [N, K] of the embeddings standardised per speaker over all of ``xs``' rows."""
        if len(xs[0]) == 0:
            return np.zeros((0, self.model.output_shape[-1]), np.float32)
        kernel, bias = self.model.get_layer("logits").get_weights()
        return speaker_standardise(self.embeddings(xs), groups) @ kernel + bias

    def snapshot(self):
        return self.model.get_weights()

    def restore(self, weights) -> None:
        self.model.set_weights(weights)
