"""Training the acoustic classifier on speaker-centred embeddings (``training.acoustic_speaker_group``).

The fusion head reads the acoustic embedding standardised per speaker (``fusion.input_norm:
speaker``), yet a plain acoustic model learns its embedding for raw use: its classifier never
sees a voice's offset taken out. Here it does. Every training batch is made of groups of G
examples of one speaker each (``batch_size / G`` speakers a batch, so the BatchNormalization
layers still see several voices), and the classifier reads

    c = embedding - mean_group                                          [B, E]

with the group's mean of the step (gradients flow through it, as in batch normalisation);
mixup pairs examples within a group. Train and validation UA centre each speaker with the
mean of all of its examples, as the fusion head's training and validation do. After training
the mean of a typical training speaker (the mean of the speakers' means) is folded into the
logits layer's bias (:func:`fold_typical_speaker`), so the model keeps its graph, ops and
weights' scale, and its own logits serve a voice the board has no statistics of yet.

The variance is not divided out: a first version standardised each group (z-scores) and, once
the typical speaker's 1 / std was folded into the logits kernel, its int8 acoustic logits broke
(docs/accuracy.md, "Speaker groups"); the fusion head still standardises per speaker.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def speaker_batches(groups: np.ndarray, group_size: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches: index arrays [batch_size] (the last may be shorter), each made of
    consecutive groups of ``group_size`` examples of one speaker.

    Each speaker's examples are shuffled and cut into groups; a speaker's last group is filled
    up from the start of its shuffled list (so every example is seen, a few twice; a speaker
    with fewer than ``group_size`` examples repeats them), and the groups are shuffled into
    batches. ``groups``: every example's speaker [N].
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


def typical_speaker_mean(emb: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """Mean [E] of a typical speaker: the mean of the speakers' means (each speaker counts once)."""
    emb = np.asarray(emb, np.float64)
    groups = np.asarray([str(g) for g in groups])
    return np.mean([emb[groups == g].mean(axis=0) for g in np.unique(groups)], axis=0)


def fold_typical_speaker(model, emb: np.ndarray, groups: Sequence[str]) -> None:
    """Fold a typical training speaker's centring into ``model``'s "logits" layer, in place:
    b' = b - m W, so that logits(e) = W e + b' = W (e - m) + b. ``emb`` [N, E]: the training
    examples' embeddings, ``groups`` their speakers."""
    layer = model.get_layer("logits")
    kernel, bias = layer.get_weights()
    mean = typical_speaker_mean(emb, groups)
    layer.set_weights([kernel, (bias.astype(np.float64) - mean @ kernel.astype(np.float64)).astype(np.float32)])


def group_centred_net(model, group_size: int):
    """The training net: ``model``'s own layers, with the embedding [B, E] centred over each
    group of ``group_size`` consecutive examples before dropout and the logits layer."""
    import tensorflow as tf

    class GroupCentre(tf.keras.layers.Layer):
        def call(self, e):
            width = tf.shape(e)[-1]
            grouped = tf.reshape(e, [-1, group_size, width])                                 # [B / G, G, E]
            return tf.reshape(grouped - tf.reduce_mean(grouped, axis=1, keepdims=True), [-1, width])

    centred = GroupCentre(name="speaker_group_centred")(model.get_layer("embedding").output)
    logits = model.get_layer("logits")(model.get_layer("head_drop")(centred))
    return tf.keras.Model(model.inputs, logits, name=f"{model.name}_speaker_groups")
