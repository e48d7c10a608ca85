"""Training loop for every edgeser classifier (keyword, acoustic, fusion).

One function, :func:`train_classifier`: Adam on a weighted sum of losses over logits
(:class:`LossSettings`: cross-entropy by default; KL, focal, cosine, center,
supervised-contrastive and distillation terms from :mod:`edgeser.models.losses`),
integer labels or soft targets, optional class weighting for imbalance, label
smoothing, SpecAugment masks redrawn every epoch, early stopping on the validation
unweighted average recall (UA) with the best weights restored, a tqdm progress bar
over epochs, and a history that :func:`plot_history` draws.

The epoch loop is :func:`fit`, shared by two learners: :class:`KerasLearner` (one custom
training step, ``tf.GradientTape`` inside a ``tf.function`` traced once per call, batch
size left open) and, with ``framework="torch"`` (recipe ``training.framework``), the
PyTorch twin's ``TorchLearner`` (:mod:`edgeser.models.torch_training`). Both are fed
batches of a seeded NumPy shuffle; seeded and deterministic on CPU
(``tf.config.experimental.enable_op_determinism``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.metrics import confusion_matrix, unweighted_average_recall
from edgeser.settings import check

LOSS_WEIGHTS = ("ce", "kl", "focal", "cosine", "center", "supcon", "distill")
EMBEDDING_LAYERS = ("embedding", "hidden")  # where center / supcon losses look, in this order


@dataclass(frozen=True)
class LossSettings:
    """Weights of the loss terms (0 = off) and their parameters.

    Per example: ``ce * CE + kl * KL + focal * Focal(focal_gamma) + cosine * (1 - cos)
    + center * Center + distill * T^2 KL(teacher/T || student/T)`` (T = distill_temperature),
    times the example's class weight, averaged over the batch; plus
    ``supcon * SupCon(supcon_temperature)`` of the batch. Center and SupCon act on the
    output of the layer named "embedding" (or "hidden"); centers move with rate
    ``center_alpha`` (Wen et al., 2016). See :mod:`edgeser.models.losses`.
    """

    ce: float = 1.0  # cross-entropy on the (label-distribution) targets
    kl: float = 0.0  # KL divergence to the label distribution
    focal: float = 0.0  # focal loss (Lin et al., 2017)
    focal_gamma: float = 2.0  # focusing exponent of the focal loss
    cosine: float = 0.0  # 1 - cosine(softmax, target)
    center: float = 0.0  # center loss on the embedding
    center_alpha: float = 0.5  # rate the class centers move at
    supcon: float = 0.0  # supervised contrastive loss on the embedding
    supcon_temperature: float = 0.1  # temperature of the SupCon similarities
    distill: float = 0.0  # KL to the teacher's softened outputs
    distill_temperature: float = 2.0  # softening temperature of teacher and student

    def __post_init__(self) -> None:
        for name in LOSS_WEIGHTS:
            value = getattr(self, name)
            check(value >= 0 and math.isfinite(value), name, f"must be a finite weight >= 0, got {value}")
        check(any(getattr(self, n) > 0 for n in LOSS_WEIGHTS), "ce",
              f"at least one loss weight ({', '.join(LOSS_WEIGHTS)}) must be > 0")
        check(self.focal_gamma >= 0, "focal_gamma", f"must be >= 0, got {self.focal_gamma}")
        check(0 < self.center_alpha <= 1, "center_alpha", f"must be in (0, 1], got {self.center_alpha}")
        for name in ("supcon_temperature", "distill_temperature"):
            check(getattr(self, name) > 0, name, f"must be positive, got {getattr(self, name)}")

    @property
    def needs_embedding(self) -> bool:
        """Whether a term (center, supcon) acts on the embedding layer."""
        return self.center > 0 or self.supcon > 0


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings of one model (units: epochs, examples, learning rate)."""

    epochs: int = 30  # at most; early stopping may end sooner
    batch_size: int = 32  # examples per step
    learning_rate: float = 2e-3  # Adam's, at the start of the schedule
    patience: int = 8  # epochs without a better validation UA before stopping
    class_weighting: bool = True  # weight classes by inverse frequency
    label_smoothing: float = 0.0  # share of each target spread over all classes
    # SpecAugment on the training features, redrawn every epoch (single-input [N, T, C]
    # models only): share of frames / of channels masked per example, in up to 2 blocks
    # each, filled with the example's minimum (the silence code). 0 = off.
    time_mask: float = 0.0
    freq_mask: float = 0.0
    # BatchNormalization moving-average momentum set on every BN layer before training;
    # 0 keeps the layers' own (Keras: 0.99). Small data sets (few steps per epoch) need
    # e.g. 0.9, or the inference-mode statistics lag far behind the trained weights.
    bn_momentum: float = 0.0
    # mixup (Zhang et al., 2018) on the model inputs: each batch is mixed with a shuffled copy
    # of itself, x = l x_i + (1 - l) x_j, targets likewise, l ~ Beta(mixup, mixup). 0 = off.
    mixup: float = 0.0
    # "constant", or "cosine": the learning rate decays to 0 over the epochs (per step).
    lr_schedule: str = "constant"
    # Feature-domain warps of [N, T, C] inputs, redrawn every epoch (corpora.augment.warp_features):
    # the mel axis stretched by U(1 - freq_warp, 1 + freq_warp) (VTLP: another vocal tract), the time
    # axis by U(1 - time_warp, 1 + time_warp) (another speaking rate). 0 = off.
    freq_warp: float = 0.0
    time_warp: float = 0.0
    loss: LossSettings = field(default_factory=LossSettings)  # the loss terms and their weights

    def __post_init__(self) -> None:
        check(1 <= self.epochs <= 10_000, "epochs", f"must be in 1..10000, got {self.epochs}")
        check(1 <= self.batch_size <= 4096, "batch_size", f"must be in 1..4096, got {self.batch_size}")
        check(self.learning_rate > 0, "learning_rate", f"must be positive, got {self.learning_rate}")
        check(self.patience >= 1, "patience", f"must be at least 1, got {self.patience}")
        check(0 <= self.label_smoothing < 1, "label_smoothing", f"must be in [0, 1), got {self.label_smoothing}")
        for name in ("time_mask", "freq_mask"):
            check(0 <= getattr(self, name) < 1, name, f"must be in [0, 1), got {getattr(self, name)}")
        check(0 <= self.bn_momentum < 1, "bn_momentum", f"must be in [0, 1), got {self.bn_momentum}")
        check(0 <= self.mixup <= 10 and math.isfinite(self.mixup), "mixup", f"must be in [0, 10], got {self.mixup}")
        for name in ("freq_warp", "time_warp"):
            check(0 <= getattr(self, name) < 0.5, name, f"must be in [0, 0.5), got {getattr(self, name)}")
        check(self.lr_schedule in ("constant", "cosine"), "lr_schedule",
              f"must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        check(isinstance(self.loss, LossSettings), "loss", f"must be a LossSettings, got {type(self.loss).__name__}")


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


def as_targets(y, num_classes: int, what: str = "y") -> np.ndarray:
    """Integer labels [N] or soft targets [N, K] -> class distributions [N, K] float32.

    Soft targets must be finite, >= 0 and have rows summing to 1 (within 1e-3).
    ``what`` names the array in the ValueError raised for anything else.
    """
    y = np.asarray(y)
    if y.ndim == 1:
        if y.size and not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{what}: integer labels [N] expected, got dtype {y.dtype} (soft targets must be [N, {num_classes}])")
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{what}: labels must be in [0, {num_classes}), got {y.min()}..{y.max()}")
        return np.eye(num_classes, dtype=np.float32)[y.astype(np.int64)]
    if y.ndim != 2 or y.shape[1] != num_classes:
        raise ValueError(f"{what}: expected integer labels [N] or soft targets [N, {num_classes}], got shape {y.shape}")
    t = y.astype(np.float32)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"{what}: soft targets must be finite and >= 0")
    sums = t.sum(axis=1)
    if t.size and not np.allclose(sums, 1.0, atol=1e-3):
        bad = int(np.argmax(np.abs(sums - 1)))
        raise ValueError(f"{what}: soft target rows must sum to 1, row {bad} sums to {sums[bad]:.4f}")
    return t


def embedding_layer_name(model) -> str:
    """The layer center / supcon losses act on: "embedding", else "hidden" (``quant_`` prefix for QAT)."""
    names = {layer.name for layer in model.layers}
    for name in EMBEDDING_LAYERS:
        for candidate in (name, f"quant_{name}"):
            if candidate in names:
                return candidate
    raise ValueError(
        f"model {model.name!r} has no layer named 'embedding' or 'hidden': center and supcon losses "
        "need one (set loss.center and loss.supcon to 0 for this model)"
    )


def per_example_loss(loss: LossSettings, targets, logits, embeddings=None, centers=None, teacher=None):
    """The weighted per-example terms [N] of ``loss`` (all but supcon, a batch term).

    ``targets`` [N, K] (already label-smoothed), ``logits`` [N, K], ``embeddings`` [N, E]
    and ``centers`` [K, E] when ``loss.center > 0``, ``teacher`` logits [N, K] when
    ``loss.distill > 0``.
    """
    import tensorflow as tf

    from edgeser.models import losses as L

    total = tf.zeros(tf.shape(logits)[:1], tf.float32)
    if loss.ce:
        total += loss.ce * L.soft_cross_entropy(targets, logits)
    if loss.kl:
        total += loss.kl * L.kl_divergence(targets, logits)
    if loss.focal:
        total += loss.focal * L.focal_loss(targets, logits, loss.focal_gamma)
    if loss.cosine:
        total += loss.cosine * L.cosine_distance(targets, logits)
    if loss.center:
        total += loss.center * L.center_loss(embeddings, targets, centers)
    if loss.distill:
        total += loss.distill * L.distillation(teacher, logits, loss.distill_temperature)
    return total


def _loss_and_ua(logits: np.ndarray, targets: np.ndarray, num_classes: int) -> tuple[float, float]:
    """Mean cross-entropy of logits against ``targets`` [N, K], and the UA of their argmax."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    loss = float(-(targets * log_probs).sum(axis=-1).mean())
    labels = targets.argmax(axis=-1)
    return loss, unweighted_average_recall(confusion_matrix(labels, logits.argmax(axis=-1), num_classes))


def spec_augment_batch(x: np.ndarray, settings: TrainSettings, rng: np.random.Generator) -> np.ndarray:
    """``x`` [N, T, C] with the feature-domain warps (when set) then
    :func:`edgeser.corpora.augment.spec_augment` applied to each example."""
    from edgeser.corpora.augment import spec_augment, warp_features

    def one(e: np.ndarray) -> np.ndarray:
        if settings.freq_warp > 0 or settings.time_warp > 0:
            e = warp_features(e, rng, settings.freq_warp, settings.time_warp)
        if settings.time_mask > 0 or settings.freq_mask > 0:
            e = spec_augment(e, rng, settings.time_mask, settings.freq_mask)
        return e

    return np.stack([one(e) for e in x]).astype(x.dtype)


def mixup_batch(xs: list[np.ndarray], targets: np.ndarray, alpha: float,
                rng: np.random.Generator, partner: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Mixup of one batch: inputs ``xs`` (each [B, ...]) and ``targets`` [B, K] mixed with a
    shuffled copy of the batch (or the given ``partner`` rows [B]), one weight
    l ~ Beta(alpha, alpha) per example [B]."""
    n = len(targets)
    lam = rng.beta(alpha, alpha, size=n).astype(np.float32)
    partner = rng.permutation(n) if partner is None else partner
    mixed = [lam.reshape((n,) + (1,) * (a.ndim - 1)) * a + (1 - lam.reshape((n,) + (1,) * (a.ndim - 1))) * a[partner]
             for a in xs]
    return mixed, lam[:, None] * targets + (1 - lam[:, None]) * targets[partner]


def _inputs(x) -> list[np.ndarray]:
    return [np.asarray(a, np.float32) for a in (x if isinstance(x, (list, tuple)) else [x])]


def _make_step(model, net, optimizer, settings: TrainSettings, inputs: list[np.ndarray], num_classes: int, centers):
    """The training step: one tf.function, traced once (batch axis left open).

    ``step(x, targets, weights, teacher) -> summed (weighted) loss of the batch``, where
    ``x`` is the input batch (a list for multi-input models), ``targets`` [B, K]
    smoothed, ``weights`` [B] class weights, ``teacher`` [B, K] logits (ignored unless
    distilling). ``net`` returns logits, or (logits, embeddings) when a term needs them.
    """
    import tensorflow as tf

    from edgeser.models import losses as L

    loss = settings.loss
    specs = [tf.TensorSpec((None, *a.shape[1:]), tf.float32) for a in inputs]
    k_spec = tf.TensorSpec((None, num_classes), tf.float32)
    variables = model.trainable_variables

    @tf.function(input_signature=[specs, k_spec, tf.TensorSpec((None,), tf.float32), k_spec])
    def step(x, targets, weights, teacher):
        with tf.GradientTape() as tape:
            out = net(x if len(x) > 1 else x[0], training=True)
            logits, emb = (out[0], out[1]) if loss.needs_embedding else (out, None)
            per_example = per_example_loss(loss, targets, logits, emb, centers, teacher)
            batch = tf.cast(tf.shape(logits)[0], tf.float32)
            total = tf.reduce_sum(per_example * weights)
            if loss.supcon:
                total += batch * loss.supcon * L.supervised_contrastive(emb, tf.argmax(targets, -1), loss.supcon_temperature)
            objective = total / batch
            if net.losses:  # regularisation terms, as model.fit adds them
                objective += tf.add_n(net.losses)
        optimizer.apply_gradients(zip(tape.gradient(objective, variables), variables))
        if loss.center:
            centers.assign(L.update_centers(centers, emb, targets, loss.center_alpha))
        return objective * batch

    return step


def train_classifier(
    model,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    num_classes: int,
    settings: TrainSettings,
    seed: int,
    description: str = "train",
    progress: bool = True,
    *,
    teacher_logits: np.ndarray | None = None,
    framework: str = "tensorflow",
    twin_config=None,
    speakers: tuple[np.ndarray, np.ndarray] | None = None,
    speaker_group: int = 0,
) -> TrainHistory:
    """Train ``model`` (logits output) in place; restores the best-val-UA weights (with an
    empty ``val``, e.g. ``x`` [0, ...] and ``y`` [0], it runs every epoch and keeps the last).

    ``train``/``val`` are ``(x, y)`` with x of the model's input shape(s) plus a
    leading example axis (a list of arrays for multi-input models) and y integer
    labels [N] or soft targets [N, num_classes] (rows summing to 1; UA uses their
    argmax). The objective is ``settings.loss`` (:class:`LossSettings`), per example
    times its class weight (inverse frequency of the argmax label) when
    ``settings.class_weighting``, on label-smoothed targets. ``teacher_logits``
    [N_train, num_classes] (aligned with the training examples) are required when
    ``settings.loss.distill > 0``. With ``settings.time_mask``/``freq_mask`` > 0 (and a
    single [N, T, C] input) each epoch trains on a fresh SpecAugment-masked copy of x.
    Batches are a seeded shuffle (``np.random.default_rng(seed)``).

    ``framework="torch"`` trains the model's PyTorch twin (built from ``twin_config``, the
    model's config dataclass; :mod:`edgeser.models.torch_training`) with the same loop, data,
    batches and settings, starting from the Keras model's weights and copying the trained
    weights back into it.

    ``speakers`` (the training and validation examples' speakers, [N] and [Nv]) with
    ``speaker_group`` = G: batches of groups of G examples of one speaker, the classifier trains on
    the embedding centred over each group, and the model leaves with a typical speaker's
    mean folded into its logits layer (:mod:`edgeser.models.speaker_training`; TensorFlow only).

    Returns the per-epoch history: ``loss`` the training objective (example-weighted
    mean over the epoch's batches), ``val_loss`` the validation cross-entropy.
    """
    if speakers is not None and framework != "tensorflow":
        raise ValueError(f"{description}: training.acoustic_speaker_group trains with TensorFlow only, "
                         f"not framework {framework!r}")
    if framework == "torch":
        from edgeser.models.torch_training import TorchLearner

        bad = [f"loss.{n}" for n in LOSS_WEIGHTS if n != "ce" and getattr(settings.loss, n) > 0]
        if bad:
            raise ValueError(f"{description}: training.framework torch trains the cross-entropy loss only; "
                             f"{', '.join(bad)} is TensorFlow-only (set it to 0 or use framework tensorflow)")
        data = prepare_data(train, val, num_classes, settings, description, teacher_logits)
        learner = TorchLearner(model, twin_config, settings, data, seed)
        history = fit(learner, data, settings, seed, description, progress)
        learner.copy_back()
        return history
    if framework != "tensorflow":
        raise ValueError(f"{description}: framework must be 'tensorflow' or 'torch', got {framework!r}")
    seed_everything(seed)
    data = prepare_data(train, val, num_classes, settings, description, teacher_logits)
    if speakers is None:
        return fit(KerasLearner(model, settings, data, num_classes), data, settings, seed, description, progress)
    from edgeser.models.speaker_training import fold_typical_speaker

    data.groups, data.val_groups = (np.asarray([str(s) for s in g]) for g in speakers)
    data.group_size = speaker_group
    for name, groups, n in (("training", data.groups, len(data.targets)), ("validation", data.val_groups,
                                                                          len(data.val_targets))):
        if len(groups) != n:
            raise ValueError(f"{description}: {len(groups)} {name} speakers for {n} examples")
    learner = SpeakerGroupLearner(model, settings, data, num_classes, speaker_group)
    history = fit(learner, data, settings, seed, description, progress)
    fold_typical_speaker(model, learner.embeddings(data.x_train), data.groups)
    return history


@dataclass
class TrainingData:
    """What every learner trains on: inputs (lists of float32 arrays), targets [N, K], the
    label-smoothed targets, per-example class weights [N] and teacher logits [N, K]."""

    x_train: list[np.ndarray]
    x_val: list[np.ndarray]
    targets: np.ndarray
    val_targets: np.ndarray
    smoothed: np.ndarray
    weights: np.ndarray
    teacher: np.ndarray
    groups: np.ndarray | None = None  # the training examples' speakers [N] (speaker-centred training)
    val_groups: np.ndarray | None = None  # the validation examples' speakers [Nv]
    group_size: int = 0  # examples of one speaker per group of a batch

    @property
    def labels(self) -> np.ndarray:
        return self.targets.argmax(axis=-1)


def prepare_data(train, val, num_classes: int, settings: TrainSettings, description: str,
                 teacher_logits: np.ndarray | None) -> TrainingData:
    """Checked inputs and targets, class weights and smoothed targets (ValueError names ``description``)."""
    loss = settings.loss
    x_train, x_val = _inputs(train[0]), _inputs(val[0])
    targets = as_targets(train[1], num_classes, f"{description}: training labels")
    val_targets = as_targets(val[1], num_classes, f"{description}: validation labels")
    count = len(targets)
    for name, arrays, n in (("training", x_train, count), ("validation", x_val, len(val_targets))):
        if any(len(a) != n for a in arrays):
            raise ValueError(f"{description}: {name} inputs have {[len(a) for a in arrays]} examples, labels {n}")
    if count == 0:
        raise ValueError(f"{description}: no training examples")
    if loss.distill > 0:
        if teacher_logits is None:
            raise ValueError(f"{description}: loss.distill = {loss.distill} needs teacher_logits [N_train, {num_classes}]")
        teacher = np.asarray(teacher_logits, np.float32)
        if teacher.shape != (count, num_classes) or not np.all(np.isfinite(teacher)):
            raise ValueError(f"{description}: teacher_logits must be finite with shape ({count}, {num_classes}), "
                             f"got {teacher.shape}")
    elif teacher_logits is not None:
        raise ValueError(f"{description}: teacher_logits given but loss.distill is 0 (set a distill weight)")
    else:
        teacher = targets  # a placeholder of the right shape; no term reads it

    labels = targets.argmax(axis=-1)
    if settings.class_weighting:
        weights = np.asarray(list(class_weights(labels, num_classes).values()), np.float32)[labels]
    else:
        weights = np.ones(count, np.float32)
    smoothed = targets * (1 - settings.label_smoothing) + settings.label_smoothing / num_classes
    return TrainingData(x_train, x_val, targets, val_targets, smoothed.astype(np.float32), weights, teacher)


class KerasLearner:
    """The TensorFlow side of :func:`fit`: one traced training step, logits, weight snapshots."""

    def __init__(self, model, settings: TrainSettings, data: TrainingData, num_classes: int):
        import tensorflow as tf

        if settings.bn_momentum:
            for layer in model.submodules:
                if isinstance(layer, tf.keras.layers.BatchNormalization):
                    layer.momentum = settings.bn_momentum
        loss, x_train, count = settings.loss, data.x_train, len(data.targets)
        net, centers = model, None
        if loss.needs_embedding:
            layer = embedding_layer_name(model)
            net = tf.keras.Model(model.inputs, [model.outputs[0], model.get_layer(layer).output], name=f"{model.name}_train")
            if loss.center:
                labels = data.labels
                embedding_of = tf.keras.Model(model.inputs, model.get_layer(layer).output)
                emb = logits_of(embedding_of, x_train if len(x_train) > 1 else x_train[0])
                start = np.stack([emb[labels == k].mean(axis=0) if np.any(labels == k) else np.zeros(emb.shape[1])
                                  for k in range(num_classes)]).astype(np.float32)
                centers = tf.Variable(start, trainable=False, name="centers")  # class means at the start
        learning_rate = settings.learning_rate
        if settings.lr_schedule == "cosine":
            steps = settings.epochs * math.ceil(count / settings.batch_size)
            learning_rate = tf.keras.optimizers.schedules.CosineDecay(settings.learning_rate, steps)
        optimizer = tf.keras.optimizers.Adam(learning_rate)
        optimizer.build(model.trainable_variables)
        self.model = model
        self.step = _make_step(model, net, optimizer, settings, x_train, num_classes, centers)

    def logits(self, xs: list[np.ndarray]) -> np.ndarray:
        return logits_of(self.model, xs if len(xs) > 1 else xs[0])

    def snapshot(self):
        return self.model.get_weights()

    def restore(self, weights) -> None:
        self.model.set_weights(weights)


class SpeakerGroupLearner:
    """The learner of :func:`fit` for an acoustic model whose classifier trains on speaker-centred
    embeddings (:mod:`edgeser.models.speaker_training`); training its net trains ``model``."""

    def __init__(self, model, settings, data, num_classes: int, group_size: int):
        from edgeser.models.acoustic import embedding_model
        from edgeser.models.speaker_training import group_centred_net

        if settings.loss.needs_embedding:
            raise ValueError("training.acoustic_speaker_group: loss.center and loss.supcon act on the raw "
                             "embedding, the classifier here on the speaker-centred one; set them to 0")
        self.model, self.group_size = model, group_size
        self.embedding = embedding_model(model)
        self.step = KerasLearner(group_centred_net(model, group_size), settings, data, num_classes).step

    def embeddings(self, xs: list[np.ndarray]) -> np.ndarray:
        return logits_of(self.embedding, xs if len(xs) > 1 else xs[0])

    def speaker_logits(self, xs: list[np.ndarray], groups: np.ndarray) -> np.ndarray:
        """Logits [N, K] of the embeddings centred per speaker over all of ``xs``' rows."""
        if len(xs[0]) == 0:
            return np.zeros((0, self.model.output_shape[-1]), np.float32)
        from edgeser.models.speaker_norm import speaker_centre

        kernel, bias = self.model.get_layer("logits").get_weights()
        return speaker_centre(self.embeddings(xs), groups) @ kernel + bias

    def snapshot(self):
        return self.model.get_weights()

    def restore(self, weights) -> None:
        self.model.set_weights(weights)


def fit(learner, data: TrainingData, settings: TrainSettings, seed: int, description: str = "train",
        progress: bool = True) -> TrainHistory:
    """The epoch loop every learner shares: augmentation redrawn each epoch, a seeded shuffle,
    mixup per batch, train and validation UA per epoch, early stopping on validation UA, the best
    weights restored. Without validation examples (``training.train_on_validation``) every epoch
    runs and the last one's weights are kept (validation loss and UA are NaN, ``best_epoch`` the
    last epoch). ``learner`` has ``step(x, targets, weights, teacher) -> summed batch loss``,
    ``logits(xs)``, ``snapshot()`` and ``restore(snapshot)``. With ``data.groups`` (speakers) the
    batches are groups of ``data.group_size`` examples of one speaker
    (``speaker_training.speaker_batches``), mixup pairs within a group, and train and validation
    UA come from ``learner.speaker_logits(xs, groups)`` instead of ``logits(xs)``."""
    from tqdm.auto import tqdm

    x_train, count, num_classes = data.x_train, len(data.targets), data.targets.shape[1]
    by_speaker = data.groups is not None  # a SpeakerGroupLearner
    score = lambda xs, groups: learner.speaker_logits(xs, groups) if by_speaker else learner.logits(xs)  # noqa: E731
    history = TrainHistory()
    monitored = len(data.val_targets) > 0
    best_weights = learner.snapshot() if monitored else None
    waited = 0
    augment = (any(getattr(settings, k) > 0 for k in ("time_mask", "freq_mask", "freq_warp", "time_warp"))
               and len(x_train) == 1 and x_train[0].ndim == 3)
    rng = np.random.default_rng(seed)
    bar = tqdm(range(settings.epochs), desc=description, unit="epoch", disable=not progress, leave=True)
    for epoch in bar:
        epoch_x = [spec_augment_batch(x_train[0], settings, rng)] if augment else x_train
        if by_speaker:
            from edgeser.models.speaker_training import group_partners, speaker_batches

            batches = speaker_batches(data.groups, data.group_size, settings.batch_size, rng)
        else:
            order = rng.permutation(count)
            batches = [order[start:start + settings.batch_size] for start in range(0, count, settings.batch_size)]
        total, seen = 0.0, 0
        for rows in batches:
            batch_x, batch_t = [a[rows] for a in epoch_x], data.smoothed[rows]
            if settings.mixup > 0:
                partners = group_partners(len(rows), data.group_size, rng) if by_speaker else None
                batch_x, batch_t = mixup_batch(batch_x, batch_t, settings.mixup, rng, partners)
            total += float(learner.step(batch_x, batch_t, data.weights[rows], data.teacher[rows]))
            seen += len(rows)
        history.loss.append(total / seen)
        history.train_ua.append(_loss_and_ua(score(x_train, data.groups), data.targets, num_classes)[1])
        if not monitored:  # no validation set: every epoch runs, the last one is kept
            history.val_loss.append(math.nan)
            history.val_ua.append(math.nan)
            history.best_epoch = epoch
            bar.set_postfix(loss=f"{history.loss[-1]:.3f}", train_ua=f"{history.train_ua[-1]:.3f}")
            continue
        val_loss, val_ua = _loss_and_ua(score(data.x_val, data.val_groups), data.val_targets, num_classes)
        history.val_loss.append(val_loss)
        history.val_ua.append(val_ua)
        if math.isnan(history.best_val_ua) or val_ua > history.best_val_ua:
            history.best_val_ua, history.best_epoch = val_ua, epoch
            best_weights = learner.snapshot()
            waited = 0
        else:
            waited += 1
        bar.set_postfix(loss=f"{history.loss[-1]:.3f}", val_ua=f"{val_ua:.3f}", best=f"{history.best_val_ua:.3f}")
        if waited >= settings.patience:
            break
    if monitored:
        learner.restore(best_weights)
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
    ax_loss.set(xlabel="epoch", ylabel="training objective / val. cross-entropy", title="loss")
    ax_ua.plot(epochs, history.train_ua, label="train")
    ax_ua.plot(epochs, history.val_ua, label="validation")
    if history.best_epoch >= 0:
        kept = "best" if history.val_ua and not all(math.isnan(v) for v in history.val_ua) else "kept (last)"
        ax_ua.axvline(history.best_epoch + 1, color="grey", ls="--", lw=0.8, label=kept)
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
