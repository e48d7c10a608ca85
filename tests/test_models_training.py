"""The shared training loop: loss falls, early stopping keeps the best-UA weights, seeded runs repeat."""

from __future__ import annotations

import numpy as np

import edgeser  # noqa: F401
from edgeser.models.training import TrainSettings, class_weights, plot_history, seed_everything, train_classifier


def _toy(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 240)
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0]])
    x = (centers[y] + rng.normal(0, 0.8, (240, 2))).astype(np.float32)
    return (x[:180], y[:180]), (x[180:], y[180:])


def _model():
    import tensorflow as tf

    inp = tf.keras.Input((2,))
    return tf.keras.Model(inp, tf.keras.layers.Dense(3)(tf.keras.layers.Dense(8, activation="relu")(inp)))


def test_loss_falls_and_best_weights_restored(tmp_path):
    train, val = _toy()
    model = _model()
    history = train_classifier(model, train, val, 3, TrainSettings(epochs=15, batch_size=16, learning_rate=1e-2, patience=15), seed=1, progress=False)
    assert history.loss[-1] < history.loss[0]
    assert history.best_val_ua > 0.8
    logits = model.predict(val[0], verbose=0)
    from edgeser.evaluation.metrics import confusion_matrix, unweighted_average_recall

    assert unweighted_average_recall(confusion_matrix(val[1], logits.argmax(-1), 3)) == history.best_val_ua
    png = plot_history(history, "toy", tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seeded_training_is_deterministic():
    train, val = _toy()
    runs = []
    for _ in range(2):
        seed_everything(7)  # before the weights are initialised
        model = _model()
        train_classifier(model, train, val, 3, TrainSettings(epochs=2, patience=2), seed=7, progress=False)
        runs.append(model.predict(val[0], verbose=0))
    assert np.array_equal(runs[0], runs[1])


def test_class_weights_inverse_frequency():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert w[0] == 4 / (2 * 3) and w[1] == 4 / (2 * 1) and w[2] == 0.0
