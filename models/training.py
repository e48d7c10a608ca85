"""Training loop for every edgeser classifier (keyword, acoustic, fusion).

One function, :func:`train_classifier`: Adam on sparse categorical cross-entropy
over logits, optional class weighting for imbalance, early stopping on the
validation unweighted average recall (UA) with the best weights restored, a
tqdm progress bar over epochs, and a history that :func:`plot_history` draws.
Seeded and deterministic on CPU (``tf.config.experimental.enable_op_determinism``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.evaluation.metrics import confusion_matrix, unweighted_average_recall
from edgeser.settings import check


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings of one model (units: epochs, examples, learning rate)."""

    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 2e-3
    patience: int = 8  # epochs without a better validation UA before stopping
    class_weighting: bool = True  # weight classes by inverse frequency
    label_smoothing: float = 0.0
    # SpecAugment on the training features, redrawn every epoch (single-input [N, T, C]
    # models only): share of frames / of channels masked per example, in up to 2 blocks
    # each, filled with the example's minimum (the silence code). 0 = off.
    time_mask: float = 0.0
    freq_mask: float = 0.0
    # BatchNormalization moving-average momentum set on every BN layer before training;
    # 0 keeps the layers' own (Keras: 0.99). Small data sets (few steps per epoch) need
    # e.g. 0.9, or the inference-mode statistics lag far behind the trained weights.
    bn_momentum: float = 0.0

    def __post_init__(self) -> None:
        check(self.epochs >= 1, "epochs", f"must be at least 1, got {self.epochs}")
        check(self.batch_size >= 1, "batch_size", f"must be at least 1, got {self.batch_size}")
        check(self.learning_rate > 0, "learning_rate", f"must be positive, got {self.learning_rate}")
        check(self.patience >= 1, "patience", f"must be at least 1, got {self.patience}")
        check(0 <= self.label_smoothing < 1, "label_smoothing", f"must be in [0, 1), got {self.label_smoothing}")
        for name in ("time_mask", "freq_mask"):
            check(0 <= getattr(self, name) < 1, name, f"must be in [0, 1), got {getattr(self, name)}")
        check(0 <= self.bn_momentum < 1, "bn_momentum", f"must be in [0, 1), got {self.bn_momentum}")


@dataclass
class TrainHistory:
    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_ua: list[float] = field(default_factory=list)
    val_ua: list[float] = field(default_factory=list)
    best_epoch: int = -1
    best_val_ua: float = float("nan")

    def to_dict(self) -> dict:
        clean = lambda xs: [None if (x is None or math.isnan(x)) else float(x) for x in xs]  # noqa: E731
        return {
            "loss": clean(self.loss),
            "val_loss": clean(self.val_loss),
            "train_ua": clean(self.train_ua),
            "val_ua": clean(self.val_ua),
            "best_epoch": self.best_epoch,
            "best_val_ua": None if math.isnan(self.best_val_ua) else self.best_val_ua,
        }


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # already enabled / not available
        pass


def class_weights(y: np.ndarray, num_classes: int) -> dict[int, float]:
    """Inverse-frequency weights normalised to mean 1 over the classes present."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}


def logits_of(model, x, batch_size: int = 256) -> np.ndarray:
    """Inference-mode logits [N, classes], calling the model directly on chunks.

    ``x`` is an array or a list of arrays (multi-input). Faster than ``predict`` for
    the small sets evaluated every epoch (no tf.data pipeline per call).
    """
    inputs = x if isinstance(x, (list, tuple)) else [x]
    count = len(inputs[0])
    chunks = []
    for start in range(0, count, batch_size):
        part = [np.asarray(a[start : start + batch_size], np.float32) for a in inputs]
        chunks.append(model(part if len(part) > 1 else part[0], training=False).numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, model.output_shape[-1]), np.float32)


def _loss_and_ua(logits: np.ndarray, y: np.ndarray, num_classes: int) -> tuple[float, float]:
    """Mean sparse cross-entropy of logits, and the UA of their argmax."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    loss = float(-log_probs[np.arange(len(y)), y].mean())
    return loss, unweighted_average_recall(confusion_matrix(y, logits.argmax(axis=-1), num_classes))


def spec_augment_batch(x: np.ndarray, settings: TrainSettings, rng: np.random.Generator) -> np.ndarray:
    """``x`` [N, T, C] with :func:`edgeser.corpora.augment.spec_augment` applied to each example."""
    from edgeser.corpora.augment import spec_augment

    return np.stack([spec_augment(e, rng, settings.time_mask, settings.freq_mask) for e in x]).astype(x.dtype)


def train_classifier(
    model,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    num_classes: int,
    settings: TrainSettings,
    seed: int,
    description: str = "train",
    progress: bool = True,
) -> TrainHistory:
    """Train ``model`` (logits output) in place; restores the best-val-UA weights.

    ``train``/``val`` are ``(x, y)`` with x of the model's input shape(s) plus a
    leading example axis (a list of arrays for multi-input models) and y integer
    labels [N]. With ``settings.time_mask``/``freq_mask`` > 0 (and a single [N, T, C]
    input) each epoch trains on a fresh SpecAugment-masked copy of x (seeded).
    Returns the per-epoch history.
    """
    import tensorflow as tf
    from tqdm.auto import tqdm

    seed_everything(seed)
    if settings.bn_momentum:
        for layer in model.submodules:
            if isinstance(layer, tf.keras.layers.BatchNormalization):
                layer.momentum = settings.bn_momentum
    x_train, y_train = train
    x_val, y_val = val
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if settings.label_smoothing:
        # Sparse CE has no label smoothing in tf-keras 2.16: use one-hot labels.
        loss = tf.keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=settings.label_smoothing)
    model.compile(optimizer=tf.keras.optimizers.Adam(settings.learning_rate), loss=loss)
    encode = (lambda y: tf.one_hot(y, num_classes).numpy()) if settings.label_smoothing else (lambda y: y)
    weights = class_weights(y_train, num_classes) if settings.class_weighting else None

    history = TrainHistory()
    best_weights = model.get_weights()
    waited = 0
    augment = (settings.time_mask > 0 or settings.freq_mask > 0) and isinstance(x_train, np.ndarray) and x_train.ndim == 3
    rng = np.random.default_rng(seed)
    bar = tqdm(range(settings.epochs), desc=description, unit="epoch", disable=not progress, leave=True)
    for epoch in bar:
        fit = model.fit(
            spec_augment_batch(x_train, settings, rng) if augment else x_train,
            encode(y_train),
            batch_size=settings.batch_size,
            epochs=1,
            shuffle=True,
            class_weight=weights,
            verbose=0,
        )
        history.loss.append(float(fit.history["loss"][-1]))
        history.train_ua.append(_loss_and_ua(logits_of(model, x_train), y_train, num_classes)[1])
        val_loss, val_ua = _loss_and_ua(logits_of(model, x_val), y_val, num_classes)
        history.val_loss.append(val_loss)
        history.val_ua.append(val_ua)
        if math.isnan(history.best_val_ua) or val_ua > history.best_val_ua:
            history.best_val_ua, history.best_epoch = val_ua, epoch
            best_weights = model.get_weights()
            waited = 0
        else:
            waited += 1
        bar.set_postfix(loss=f"{history.loss[-1]:.3f}", val_ua=f"{val_ua:.3f}", best=f"{history.best_val_ua:.3f}")
        if waited >= settings.patience:
            break
    model.set_weights(best_weights)
    return history


def plot_history(history: TrainHistory, title: str, path: str | Path) -> Path:
    """Loss and UA curves, train vs validation, as a PNG written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgeser.atomic import atomic_path

    epochs = np.arange(1, len(history.loss) + 1)
    fig, (ax_loss, ax_ua) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax_loss.plot(epochs, history.loss, label="train")
    ax_loss.plot(epochs, history.val_loss, label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_ua.plot(epochs, history.train_ua, label="train")
    ax_ua.plot(epochs, history.val_ua, label="validation")
    if history.best_epoch >= 0:
        ax_ua.axvline(history.best_epoch + 1, color="grey", ls="--", lw=0.8, label="best")
    ax_ua.set(xlabel="epoch", ylabel="UA", title="unweighted average recall", ylim=(0, 1))
    for ax in (ax_loss, ax_ua):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)
