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
    from edgeser.metrics import confusion_matrix, unweighted_average_recall

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


# -- multi-loss training (LossSettings, soft targets, teachers, embedding losses) -------------
import pytest  # noqa: E402

from edgeser.models.training import LossSettings, as_targets, embedding_layer_name  # noqa: E402
from edgeser.settings import SettingsError, from_mapping  # noqa: E402


def _embedding_model(name: str = "embedding"):
    import tensorflow as tf

    inp = tf.keras.Input((2,))
    emb = tf.keras.layers.Dense(8, activation="relu", name=name)(inp)
    return tf.keras.Model(inp, tf.keras.layers.Dense(3, name="logits")(emb), name="toy")


def test_loss_settings_validate_and_load_from_a_recipe_mapping():
    assert LossSettings() == LossSettings(ce=1.0, kl=0, focal=0, cosine=0, center=0, supcon=0, distill=0)
    with pytest.raises(SettingsError, match="focal: must be a finite weight >= 0"):
        LossSettings(focal=-0.1)
    with pytest.raises(SettingsError, match="at least one loss weight"):
        LossSettings(ce=0.0)
    with pytest.raises(SettingsError, match="distill_temperature: must be positive"):
        LossSettings(distill_temperature=0.0)
    settings = from_mapping(TrainSettings, {"epochs": 3, "loss": {"ce": 0.5, "focal": 1, "focal_gamma": 1.5}})
    assert settings.loss == LossSettings(ce=0.5, focal=1.0, focal_gamma=1.5)
    with pytest.raises(SettingsError, match=r"^training\.loss\.centre: unknown key"):
        from_mapping(TrainSettings, {"loss": {"centre": 1.0}}, "training")
    with pytest.raises(SettingsError, match=r"^loss\.supcon: must be a finite weight"):
        from_mapping(TrainSettings, {"loss": {"supcon": -1}})


def test_targets_from_labels_or_soft_rows():
    np.testing.assert_array_equal(as_targets(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    soft = np.array([[0.2, 0.8, 0.0]])
    np.testing.assert_array_equal(as_targets(soft, 3), soft.astype(np.float32))
    with pytest.raises(ValueError, match=r"train labels: labels must be in \[0, 3\), got 0\.\.3"):
        as_targets(np.array([0, 3]), 3, "train labels")
    with pytest.raises(ValueError, match="row 1 sums to 0.9000"):
        as_targets(np.array([[0.5, 0.5, 0.0], [0.3, 0.3, 0.3]]), 3)
    with pytest.raises(ValueError, match=r"soft targets \[N, 3\], got shape \(2, 4\)"):
        as_targets(np.full((2, 4), 0.25), 3)


def test_first_epoch_loss_is_class_weighted_smoothed_cross_entropy():
    """With a negligible learning rate the epoch loss is the hand-computed objective at the start."""
    train, val = _toy()
    x, y = train[0][:50], train[1][:50]
    seed_everything(3)
    model = _model()
    logits = model(x, training=False).numpy().astype(np.float64)
    settings = TrainSettings(epochs=1, batch_size=16, learning_rate=1e-12, label_smoothing=0.1)
    history = train_classifier(model, (x, y), val, 3, settings, seed=0, progress=False)
    log_p = logits - logits.max(-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    targets = np.eye(3)[y] * 0.9 + 0.1 / 3
    counts = np.bincount(y, minlength=3)
    weights = (len(y) / (3 * counts))[y]
    expected = float(np.mean(weights * -(targets * log_p).sum(-1)))
    assert history.loss[0] == pytest.approx(expected, rel=1e-4)


def test_soft_one_hot_targets_train_exactly_like_integer_labels():
    train, val = _toy()
    runs = []
    for y_train, y_val in ((train[1], val[1]), (np.eye(3)[train[1]], np.eye(3)[val[1]])):
        seed_everything(5)
        model = _model()
        train_classifier(model, (train[0], y_train), (val[0], y_val), 3, TrainSettings(epochs=2, patience=2), seed=5, progress=False)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_distill_needs_fitting_teacher_logits():
    train, val = _toy()
    distill = TrainSettings(epochs=1, loss=LossSettings(ce=0.0, distill=1.0))
    with pytest.raises(ValueError, match="loss.distill = 1.0 needs teacher_logits"):
        train_classifier(_model(), train, val, 3, distill, seed=0, progress=False)
    with pytest.raises(ValueError, match=r"teacher_logits must be finite with shape \(180, 3\), got \(10, 3\)"):
        train_classifier(_model(), train, val, 3, distill, seed=0, progress=False, teacher_logits=np.zeros((10, 3)))
    with pytest.raises(ValueError, match="teacher_logits given but loss.distill is 0"):
        train_classifier(_model(), train, val, 3, TrainSettings(epochs=1), seed=0, progress=False,
                         teacher_logits=np.zeros((180, 3)))


def test_embedding_losses_need_an_embedding_or_hidden_layer():
    assert embedding_layer_name(_embedding_model("embedding")) == "embedding"
    assert embedding_layer_name(_embedding_model("hidden")) == "hidden"
    train, val = _toy()
    with pytest.raises(ValueError, match=r"model 'toy' has no layer named 'embedding' or 'hidden'"):
        train_classifier(_embedding_model("dense_x"), train, val, 3,
                         TrainSettings(epochs=1, loss=LossSettings(center=0.1)), seed=0, progress=False)


def test_all_terms_together_train_a_separable_toy():
    """CE + KL + focal + cosine + center + supcon on the 'embedding' layer: loss falls, UA high."""
    train, val = _toy()
    seed_everything(2)
    model = _embedding_model()
    loss = LossSettings(ce=0.5, kl=0.5, focal=0.5, cosine=0.5, center=0.05, supcon=0.2, supcon_temperature=0.5)
    history = train_classifier(model, train, val, 3, TrainSettings(epochs=8, batch_size=32, learning_rate=1e-2, patience=8,
                                                                   loss=loss), seed=2, progress=False)
    assert history.loss[-1] < history.loss[0]
    assert history.best_val_ua > 0.8


def test_mixup_batch_mixes_inputs_and_targets_with_the_same_weights():
    from edgeser.models.training import mixup_batch

    x = np.arange(4 * 3, dtype=np.float32).reshape(4, 3)
    extra = np.arange(4, dtype=np.float32).reshape(4, 1) * 10
    t = np.eye(4, dtype=np.float32)
    (mx, me), mt = mixup_batch([x, extra], t, 0.4, np.random.default_rng(3))
    rng = np.random.default_rng(3)  # the same draws, by hand
    lam = rng.beta(0.4, 0.4, size=4).astype(np.float32)
    j = rng.permutation(4)
    np.testing.assert_allclose(mx, lam[:, None] * x + (1 - lam[:, None]) * x[j], rtol=1e-6)
    np.testing.assert_allclose(me, lam[:, None] * extra + (1 - lam[:, None]) * extra[j], rtol=1e-6)
    np.testing.assert_allclose(mt, lam[:, None] * t + (1 - lam[:, None]) * t[j], rtol=1e-6)
    np.testing.assert_allclose(mt.sum(axis=1), 1.0, rtol=1e-6)


def test_mixup_and_cosine_schedule_train_and_validate():
    from edgeser.settings import SettingsError

    train, val = _toy()
    model = _model()
    settings = TrainSettings(epochs=12, batch_size=16, learning_rate=1e-2, patience=12, mixup=0.2, lr_schedule="cosine")
    history = train_classifier(model, train, val, 3, settings, seed=1, progress=False)
    assert history.best_val_ua > 0.8 and history.loss[-1] < history.loss[0]
    import pytest

    for bad in ({"mixup": -0.1}, {"mixup": float("nan")}, {"lr_schedule": "step"}):
        with pytest.raises(SettingsError):
            TrainSettings(**bad)


def test_without_validation_examples_every_epoch_runs_and_the_last_weights_are_kept():
    """``training.train_on_validation``: an empty validation set means no early stopping (patience
    is never reached) and the weights after the last epoch stay, not a snapshot of an earlier one."""
    train, val = _toy()
    empty = (val[0][:0], val[1][:0])
    seed_everything(3)
    model = _model()
    settings = TrainSettings(epochs=6, batch_size=16, learning_rate=1e-2, patience=1)
    history = train_classifier(model, train, empty, 3, settings, seed=3, progress=False)
    assert len(history.loss) == 6 and history.best_epoch == 5
    assert np.isnan(history.best_val_ua) and all(np.isnan(v) for v in history.val_ua)
    assert history.to_dict()["best_val_ua"] is None
    # the model scores what the last epoch scored (its training UA, recorded after that epoch)
    from edgeser.metrics import confusion_matrix, unweighted_average_recall

    logits = model.predict(train[0], verbose=0)
    assert unweighted_average_recall(confusion_matrix(train[1], logits.argmax(-1), 3)) == history.train_ua[-1] > 0.8
