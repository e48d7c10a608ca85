"""CO-VADA debiasing (Tsai et al., "CO-VADA: A Confidence-Oriented Voice Augmentation Debiasing
Approach for Fair Speech Emotion Recognition"): find the bias-aligned training clips with a
briefly trained probe, then add voice-transformed copies of them with the same labels.

1. :func:`train_bias_probe` trains a fresh probe (any logits model) for only
   ``probe_epochs`` epochs with the generalised cross-entropy (GCE) loss, which weighs
   each example's gradient by ``p_y^q`` and so makes the probe fit the easy, shortcut
   ("bias-aligned", e.g. speaker- or gender-typical) examples first. It returns every
   training example's confidence ``p_y`` and GCE loss.
2. :func:`bias_aligned` marks the ``easy_fraction`` most confident examples.
3. :func:`voice_augment` gives each marked clip ``copies`` random voice transforms
   (:mod:`edgeser.corpora.voice`: pitch, formants, speaking rate) that change the speaker
   traits the shortcut relies on while keeping the emotion; the pipeline adds them to
   the training set with the original labels.

Shapes: N examples, K classes; labels are integers [N] (or class distributions [N, K]
where stated). Seeded and deterministic on CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.corpora.voice import VoiceSettings, random_voice_transform, transform_voice
from edgeser.settings import check


@dataclass(frozen=True)
class DebiasSettings:
    """CO-VADA settings: the probe (epochs, GCE q, batch, learning rate), the share of
    examples marked bias-aligned, and the voice-transform ranges (semitones, ratios)."""

    enabled: bool = False
    probe_epochs: int = 3  # deliberately short: the probe stops while it knows only the easy examples
    gce_q: float = 0.7
    easy_fraction: float = 0.3  # share of training examples marked bias-aligned
    per_class: bool = False  # True: mark easy_fraction of each class (keeps the class balance)
    copies: int = 1  # voice-transformed copies per bias-aligned clip
    semitones_max: float = 3.0
    formant_ratio: tuple[float, float] = (0.85, 1.15)
    rate: tuple[float, float] = (0.9, 1.1)
    batch_size: int = 32
    learning_rate: float = 2e-3

    def __post_init__(self) -> None:
        check(1 <= self.probe_epochs <= 1000, "probe_epochs", f"must be in 1..1000, got {self.probe_epochs}")
        check(0 < self.gce_q <= 1, "gce_q", f"must be in (0, 1], got {self.gce_q}")
        check(0 < self.easy_fraction <= 1, "easy_fraction", f"must be in (0, 1], got {self.easy_fraction}")
        check(1 <= self.copies <= 16, "copies", f"must be in 1..16, got {self.copies}")
        check(1 <= self.batch_size <= 4096, "batch_size", f"must be in 1..4096, got {self.batch_size}")
        check(self.learning_rate > 0, "learning_rate", f"must be positive, got {self.learning_rate}")
        self.voice()  # validates semitones_max, formant_ratio, rate under their own names

    def voice(self) -> VoiceSettings:
        """The voice-transform ranges as :class:`edgeser.corpora.voice.VoiceSettings`."""
        return VoiceSettings(self.semitones_max, tuple(self.formant_ratio), tuple(self.rate))


@dataclass
class BiasProbeResult:
    """Per-example outputs of the probe after its last epoch (inference mode).

    ``confidence`` p_y [N], ``loss`` GCE [N], ``probs`` softmax [N, K], ``epoch_loss``
    the mean training GCE of each epoch.
    """

    confidence: np.ndarray
    loss: np.ndarray
    probs: np.ndarray
    epoch_loss: list[float] = field(default_factory=list)


def generalized_cross_entropy(probs, y, q: float):
    """GCE of Zhang & Sabuncu (2018), ``(1 − p_y^q) / q`` per example -> tf.float32 [N].

    ``probs``: class probabilities [N, K] (a tensor, so gradients flow); ``y``: integer
    labels [N] or class distributions [N, K] (then ``Σ_k t_k (1 − p_k^q) / q``).
    ``q`` in (0, 1]: q → 0 gives cross-entropy ``−log p_y``, q = 1 the MAE-like ``1 − p_y``.
    Its gradient is ``p_y^q`` times that of cross-entropy, so confident examples dominate.
    """
    import tensorflow as tf

    check(0 < q <= 1, "q", f"must be in (0, 1], got {q}")
    p = tf.cast(tf.convert_to_tensor(probs), tf.float32)
    y = tf.convert_to_tensor(y)
    if y.shape.rank == 1:
        y = tf.one_hot(tf.cast(y, tf.int32), tf.shape(p)[-1], dtype=tf.float32)
    targets = tf.cast(y, tf.float32)
    return tf.reduce_sum(targets * (1.0 - tf.pow(tf.maximum(p, 1e-12), q)), axis=-1) / q


def train_bias_probe(
    model_builder: Callable[[], object],
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    settings: DebiasSettings,
    seed: int,
) -> BiasProbeResult:
    """Train ``model_builder()`` (a fresh logits model [.., K]) on (x, y) with GCE.

    ``x``: the model's input [N, ...] (e.g. int8 features [N, T, C], cast to float32);
    ``y``: integer labels [N] in [0, num_classes). Adam, ``settings.probe_epochs``
    epochs of shuffled mini-batches, no early stopping on validation (the short schedule
    is the point). Returns :class:`BiasProbeResult` for every training example.
    """
    import tensorflow as tf

    from edgeser.models.training import logits_of, seed_everything

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y must be integer labels [N] with N = {len(x)}, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or (y.size and (y.min() < 0 or y.max() >= num_classes)):
        raise ValueError(f"y must be integers in [0, {num_classes}), got {y.dtype} in [{y.min()}, {y.max()}]")
    seed_everything(seed)
    model = model_builder()
    if model.output_shape[-1] != num_classes:
        raise ValueError(f"the probe outputs {model.output_shape[-1]} logits, expected num_classes = {num_classes}")
    optimizer = tf.keras.optimizers.Adam(settings.learning_rate)
    q = settings.gce_q

    @tf.function(autograph=False)  # no tensor-dependent Python control flow; autograph would cost seconds
    def step(xb, yb):
        with tf.GradientTape() as tape:
            logits = model(xb, training=True)
            loss = tf.reduce_mean(generalized_cross_entropy(tf.nn.softmax(logits), yb, q))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    epoch_loss = []
    for _ in range(settings.probe_epochs):
        order = rng.permutation(len(x))
        losses, sizes = [], []
        for start in range(0, len(x), settings.batch_size):
            idx = order[start:start + settings.batch_size]
            losses.append(float(step(tf.constant(x[idx]), tf.constant(y[idx].astype(np.int32)))))
            sizes.append(len(idx))
        epoch_loss.append(float(np.average(losses, weights=sizes)))
    probs = tf.nn.softmax(logits_of(model, x)).numpy().astype(np.float64)
    confidence = probs[np.arange(len(y)), y]
    loss = generalized_cross_entropy(probs, y.astype(np.int32), q).numpy().astype(np.float64)
    return BiasProbeResult(confidence=confidence, loss=loss, probs=probs, epoch_loss=epoch_loss)


def bias_aligned(
    scores: np.ndarray,
    fraction: float,
    kind: str = "confidence",
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask [N] of the ``round(fraction · N)`` most bias-aligned examples.

    ``kind``: "confidence" (``scores`` = p_y, highest first) or "loss" (lowest first).
    With ``labels`` [N], the share is taken within each class (``round(fraction · n_c)``).
    Ties go to the lower index (stable sort).
    """
    check(0 <= fraction <= 1, "fraction", f"must be in [0, 1], got {fraction}")
    check(kind in ("confidence", "loss"), "kind", f"must be 'confidence' or 'loss', got {kind!r}")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or np.isnan(scores).any():
        raise ValueError(f"scores must be a 1-D array without NaN, got shape {scores.shape}")
    key = -scores if kind == "confidence" else scores
    mask = np.zeros(scores.size, dtype=bool)
    groups = [np.arange(scores.size)]
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != scores.shape:
            raise ValueError(f"labels {labels.shape} and scores {scores.shape} differ in shape")
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    for members in groups:
        take = int(round(fraction * members.size))
        mask[members[np.argsort(key[members], kind="stable")[:take]]] = True
    return mask


def voice_augment(
    audios: Sequence[np.ndarray],
    labels: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    settings: DebiasSettings,
    sample_rate: int,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``settings.copies`` random voice transforms of every clip where ``mask`` is True.

    ``audios``: N clips [samples] (int16 or float); ``labels`` [N] or [N, K]; ``mask`` [N].
    Returns (new clips, their labels [M] / [M, K] copied from the source, source
    indices [M]) with M = copies · mask.sum(); a clip's length changes by 1/rate.
    """
    mask = np.asarray(mask, dtype=bool)
    labels = np.asarray(labels)
    if mask.shape != (len(audios),) or len(labels) != len(audios):
        raise ValueError(f"mask {mask.shape} and labels {labels.shape} must have one entry per clip ({len(audios)})")
    voice = settings.voice()
    sources = np.repeat(np.flatnonzero(mask), settings.copies)
    clips = [transform_voice(audios[i], sample_rate, random_voice_transform(rng, voice)) for i in sources]
    return clips, labels[sources], sources
