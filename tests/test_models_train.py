"""The models learn: a few optimiser steps on tone features lower the loss, deterministically on CPU.

Data: 4 classes of harmonic tones (pitch/vibrato per class) through the project's
MicroFrontend (edgeser.models.synthetic): int8 feature codes, not speech. A plain eager
GradientTape loop (no tracing) keeps this fast; the loss compared is the training-mode
loss (BatchNorm moving statistics lag behind in 30 steps).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from edgeser.models import AcousticConfig, KwsConfig, build_acoustic_model, build_kws_model
from edgeser.models.synthetic import tone_dataset

import tensorflow as tf  # noqa: E402

SMALL = dict(num_frames=50, d_model=32, num_heads=2, num_layers=1, ff_dim=64, subsample=2, embedding_dim=16, dropout=0.1)


def _train(build: Callable[[], tf.keras.Model], x: np.ndarray, y: np.ndarray, steps: int = 30, seed: int = 0) -> list[float]:
    """Adam(1e-2), batches of 16 drawn with a seeded generator; returns the per-step training losses."""
    tf.keras.utils.set_random_seed(seed)
    model, opt = build(), tf.keras.optimizers.Adam(1e-2)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    rng, losses = np.random.default_rng(seed), []
    for _ in range(steps):
        idx = rng.choice(len(x), 16, replace=False)
        with tf.GradientTape() as tape:
            loss = loss_fn(y[idx], model(x[idx], training=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        losses.append(float(loss))
    return losses


@pytest.mark.parametrize("pooling", ["mean", "flam"])
def test_acoustic_loss_falls(pooling: str) -> None:
    x, y = tone_dataset(8, 4, SMALL["num_frames"], seed=1)
    losses = _train(lambda: build_acoustic_model(AcousticConfig(**SMALL, pooling=pooling)), x, y)
    assert np.mean(losses[-3:]) < 0.5 * losses[0], losses


def test_training_is_deterministic_with_seed() -> None:
    x, y = tone_dataset(4, 4, SMALL["num_frames"], seed=3)
    build = lambda: build_acoustic_model(AcousticConfig(**SMALL, pooling="flam"))  # noqa: E731
    np.testing.assert_array_equal(_train(build, x, y, steps=5), _train(build, x, y, steps=5))


def test_kws_loss_falls() -> None:
    cfg = KwsConfig(num_keywords=2, channels=(32, 32), strides=(1, 2), embedding_dim=16)
    x, y = tone_dataset(8, cfg.num_classes, cfg.num_frames, seed=2)
    losses = _train(lambda: build_kws_model(cfg), x, y)
    assert np.mean(losses[-3:]) < 0.5 * losses[0], losses
