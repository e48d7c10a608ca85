"""Dimensional emotion (valence, arousal, dominance) with a spherical auxiliary task.

After EmoSphere-SER (Cho et al., "EmoSphere-SER: Enhancing Speech Emotion Recognition
Through Spherical Representation with Auxiliary Classification"): V/A/D is regressed
with a CCC loss, and an auxiliary classifier predicts which *spherical region* of the
VAD space the utterance lies in, its weight decaying over training.

Coordinates. V/A/D live on [-1, 1] with neutral at the origin (0, 0, 0). For a point
(v, a, d) with radius r = sqrt(v² + a² + d²):

* ``r``     — emotional intensity, distance from neutral;
* ``theta`` — polar angle from the +dominance axis, arccos(d / r) in [0, π]
  (π/2 at the origin, by convention);
* ``phi``   — azimuth in the valence–arousal plane, atan2(a, v) in (-π, π].

Inverse: v = r sinθ cosφ, a = r sinθ sinφ, d = r cosθ (:func:`from_spherical`).

Regions (our exact partition; the paper's idea of angular sectors × radial intensity
levels). The angular part is the octant: the azimuth quadrant of φ (the signs of v and
a) times the elevation hemisphere (θ ≤ π/2, i.e. the sign of d); a zero coordinate
counts as positive. ``octant = 4·[v < 0] + 2·[a < 0] + [d < 0]``, so octant 0 is
(+v, +a, +d) and 7 is (−, −, −). The radial part splits r into ``bins`` equal-width
levels over [0, 1], the last one open: ``level = min(floor(r · bins), bins − 1)``
(bins = 2: "mild" r < 0.5, "strong" r ≥ 0.5). ``region = octant · bins + level``,
``num_regions(bins) = 8 · bins``.

The head (:func:`build_vad_head`): embedding [B, E] -> FC + ReLU [B, hidden] ->
{"vad": FC + TANH [B, 3], "region": FC logits [B, 8·bins]}. FULLY_CONNECTED with 1-D
outputs and TANH both map on the Edge TPU; int8 TANH has the fixed output scale 1/128.

Training (:func:`train_vad_head`): loss = mean over V/A/D of (1 − CCC) on each batch +
``aux_weight · aux_decay^epoch`` × cross-entropy of the region logits; early stopping
on the validation mean CCC, best weights restored.

Category anchors (:data:`CATEGORY_VAD`) for corpora with category labels only (RAVDESS,
CREMA-D, …): these are **our own coarse circumplex placement**, not values from a rated
lexicon or from any corpus. They encode only the commonly described signs and rough
relative sizes (e.g. angry: negative valence, high arousal, high dominance; fearful:
negative valence, high arousal, low dominance; sad: negative, low, low; calm:
positive valence, low arousal). Treat results trained on them as a proxy task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.dimensional import DIMENSIONS, ccc_scores
from edgeser.settings import check

NUM_OCTANTS = 8

# Our coarse circumplex placement (valence, arousal, dominance) on [-1, 1]; see module docstring.
CATEGORY_VAD: dict[str, tuple[float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0),
    "calm": (0.4, -0.6, 0.2),
    "happy": (0.7, 0.5, 0.4),
    "sad": (-0.6, -0.5, -0.4),
    "angry": (-0.6, 0.7, 0.6),
    "fearful": (-0.6, 0.6, -0.5),
    "disgust": (-0.6, 0.2, 0.3),
    "surprised": (0.2, 0.7, -0.2),
}
# edgeser's label vocabulary (corpora.labels) spells two of them differently.
_ALIASES = {"fear": "fearful", "surprise": "surprised"}
RATING_RANGE = (1.0, 5.0)  # IEMOCAP / MSP-IMPROV V/A/D ratings


# --- geometry ----------------------------------------------------------------------------------------
def _points(vad: np.ndarray) -> np.ndarray:
    x = np.asarray(vad, dtype=np.float64)
    if x.shape[-1:] != (3,) or x.ndim not in (1, 2):
        raise ValueError(f"expected V/A/D points shaped [3] or [N, 3], got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("V/A/D points hold NaN or infinite values")
    return x


def to_spherical(vad: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[N, 3] (or [3]) V/A/D centred at neutral -> (r, theta, phi), each [N] (or scalar arrays).

    r >= 0; theta = arccos(d / r) in [0, π] (π/2 where r = 0); phi = atan2(a, v) in (-π, π].
    """
    x = _points(vad)
    v, a, d = x[..., 0], x[..., 1], x[..., 2]
    r = np.sqrt(v * v + a * a + d * d)
    cos_theta = np.divide(d, r, out=np.zeros_like(r), where=r > 0)
    theta = np.arccos(np.clip(cos_theta, -1.0, 1.0))
    phi = np.arctan2(a, v)
    return r, theta, phi


def from_spherical(r: np.ndarray, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_spherical`: (r, theta, phi) -> V/A/D [..., 3]."""
    r, theta, phi = (np.asarray(t, dtype=np.float64) for t in (r, theta, phi))
    return np.stack([r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi), r * np.cos(theta)], axis=-1)


def num_regions(bins: int) -> int:
    """Number of spherical regions: 8 octants × ``bins`` radial levels."""
    if bins < 1:
        raise ValueError(f"radius bins must be at least 1, got {bins}")
    return NUM_OCTANTS * bins


def spherical_region(vad: np.ndarray, bins: int) -> int | np.ndarray:
    """Region index of a V/A/D point [3] (-> int) or of points [N, 3] (-> int64 [N]).

    ``region = octant · bins + level`` (module docstring): octant from the azimuth
    quadrant and elevation hemisphere, level = min(floor(r · bins), bins − 1).
    """
    num_regions(bins)
    x = _points(vad)
    r, theta, phi = to_spherical(x)
    # Octant from the angles (equal to the coordinate signs, zero counting as positive).
    neg_v = np.abs(phi) > math.pi / 2
    neg_a = phi < 0
    neg_d = theta > math.pi / 2
    octant = 4 * neg_v.astype(np.int64) + 2 * neg_a.astype(np.int64) + neg_d.astype(np.int64)
    level = np.minimum(np.floor(r * bins).astype(np.int64), bins - 1)
    region = octant * bins + level
    return int(region) if x.ndim == 1 else region


# --- targets ---------------------------------------------------------------------------------------
def category_vad(label: str) -> tuple[float, float, float]:
    """The anchor of a category label (``fear``/``surprise`` spellings accepted)."""
    key = _ALIASES.get(label.strip().lower(), label.strip().lower())
    if key not in CATEGORY_VAD:
        raise KeyError(f"no V/A/D anchor for label {label!r} (anchors: {', '.join(CATEGORY_VAD)})")
    return CATEGORY_VAD[key]


def rating_to_unit(value: float, source: str = "rating") -> float:
    """A 1–5 V/A/D rating -> [-1, 1] (3 -> 0): (x − 3) / 2."""
    lo, hi = RATING_RANGE
    if not (lo <= value <= hi):
        raise ValueError(f"{source}: V/A/D rating {value} outside {lo:g}–{hi:g}")
    return (float(value) - 3.0) / 2.0


def vad_targets(utterances: Iterable) -> np.ndarray:
    """V/A/D targets [N, 3] float32 on [-1, 1] for :class:`edgeser.corpora.Utterance` objects.

    The corpus' own ratings (``valence/arousal/dominance``, 1–5 as in IEMOCAP and
    MSP-IMPROV) when all three are present; else the label's :data:`CATEGORY_VAD`
    anchor. A clip with only some of the three ratings, a rating outside 1–5, or a
    label without an anchor is refused with its path.
    """
    rows = []
    for u in utterances:
        values = (u.valence, u.arousal, u.dominance)
        given = [v is not None for v in values]
        if all(given):
            rows.append([rating_to_unit(float(v), f"{u.path} {name}") for v, name in zip(values, DIMENSIONS)])
        elif any(given):
            missing = [n for n, g in zip(DIMENSIONS, given) if not g]
            raise ValueError(f"{u.path}: V/A/D ratings incomplete (missing {', '.join(missing)})")
        else:
            try:
                rows.append(list(category_vad(u.label)))
            except KeyError as exc:
                raise ValueError(f"{u.path}: {exc.args[0]}") from None
    return np.asarray(rows, dtype=np.float32).reshape(-1, 3)


# --- settings ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VadSettings:
    """The dimensional head and its training (epochs, examples, learning rate)."""

    enabled: bool = False
    aux_weight: float = 0.5  # weight of the region cross-entropy at epoch 0
    aux_decay: float = 0.9  # multiplied into the aux weight after every epoch
    radius_bins: int = 2  # radial intensity levels per octant
    epochs: int = 40
    patience: int = 8  # epochs without a better validation mean CCC before stopping
    learning_rate: float = 2e-3
    hidden_dim: int = 64
    batch_size: int = 32

    def __post_init__(self) -> None:
        check(self.aux_weight >= 0, "aux_weight", f"must be >= 0, got {self.aux_weight}")
        check(0 < self.aux_decay <= 1, "aux_decay", f"must be in (0, 1], got {self.aux_decay}")
        check(1 <= self.radius_bins <= 64, "radius_bins", f"must be in 1..64, got {self.radius_bins}")
        check(1 <= self.epochs <= 10_000, "epochs", f"must be in 1..10000, got {self.epochs}")
        check(self.patience >= 1, "patience", f"must be at least 1, got {self.patience}")
        check(self.learning_rate > 0, "learning_rate", f"must be positive, got {self.learning_rate}")
        check(1 <= self.hidden_dim <= 4096, "hidden_dim", f"must be in 1..4096, got {self.hidden_dim}")
        check(2 <= self.batch_size <= 4096, "batch_size", f"must be in 2..4096 (CCC needs a variance), got {self.batch_size}")

    def aux_weight_at(self, epoch: int) -> float:
        """Auxiliary weight used during ``epoch`` (0-based): aux_weight · aux_decay^epoch."""
        return self.aux_weight * self.aux_decay**epoch


# --- model ---------------------------------------------------------------------------------------------
def build_vad_head(embedding_dim: int, hidden_dim: int, num_regions: int, name: str = "vad_head"):
    """Keras model: "embedding" [B, E] -> {"vad": [B, 3] tanh in (-1, 1), "region": [B, num_regions] logits}."""
    import tensorflow as tf

    layers = tf.keras.layers
    for arg, value in (("embedding_dim", embedding_dim), ("hidden_dim", hidden_dim), ("num_regions", num_regions)):
        if value < 1:
            raise ValueError(f"build_vad_head: {arg} must be positive, got {value}")
    e = layers.Input((embedding_dim,), name="embedding")
    h = layers.Dense(hidden_dim, activation="relu", name="hidden")(e)
    vad = layers.Dense(3, activation="tanh", name="vad")(h)
    region = layers.Dense(num_regions, name="region")(h)
    return tf.keras.Model(e, {"vad": vad, "region": region}, name=name)


def ccc_loss(true, pred):
    """Mean over the 3 dimensions of (1 − CCC) on a batch [B, 3] (TensorFlow, population moments).

    1e-8 is added to the CCC denominator so a batch whose targets and predictions are
    both constant gives a finite loss (1) instead of NaN.
    """
    import tensorflow as tf

    mt = tf.reduce_mean(true, axis=0)
    mp = tf.reduce_mean(pred, axis=0)
    cov = tf.reduce_mean((true - mt) * (pred - mp), axis=0)
    vt = tf.reduce_mean(tf.square(true - mt), axis=0)
    vp = tf.reduce_mean(tf.square(pred - mp), axis=0)
    c = 2.0 * cov / (vt + vp + tf.square(mt - mp) + 1e-8)
    return tf.reduce_mean(1.0 - c)


@dataclass
class VadHistory:
    """Per-epoch training record; ``val_ccc`` holds the validation mean CCC."""

    loss: list[float] = field(default_factory=list)
    val_ccc: list[float] = field(default_factory=list)
    val_scores: list[dict[str, float]] = field(default_factory=list)
    aux_weight: list[float] = field(default_factory=list)
    best_epoch: int = -1
    best_val_ccc: float = float("nan")

    def to_dict(self) -> dict:
        return {
            "loss": list(self.loss),
            "val_ccc": list(self.val_ccc),
            "val_scores": [dict(s) for s in self.val_scores],
            "aux_weight": list(self.aux_weight),
            "best_epoch": self.best_epoch,
            "best_val_ccc": None if math.isnan(self.best_val_ccc) else self.best_val_ccc,
        }


def predict_vad(head, embeddings: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Inference-mode V/A/D [N, 3] of a head for embeddings [N, E]."""
    x = np.asarray(embeddings, np.float32)
    parts = [head(x[i : i + batch_size], training=False)["vad"].numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 3), np.float32)


def _check_pair(data: Sequence[np.ndarray], name: str, embedding_dim: int) -> tuple[np.ndarray, np.ndarray]:
    emb, vad = (np.asarray(a, np.float32) for a in data)
    if emb.ndim != 2 or emb.shape[1] != embedding_dim:
        raise ValueError(f"{name}: embeddings must be [N, {embedding_dim}], got {emb.shape}")
    if vad.shape != (len(emb), 3):
        raise ValueError(f"{name}: V/A/D targets must be [{len(emb)}, 3], got {vad.shape}")
    if len(emb) < 2:
        raise ValueError(f"{name}: need at least 2 examples (CCC needs a variance), got {len(emb)}")
    if np.abs(vad).max() > 1.0 + 1e-6:
        raise ValueError(f"{name}: V/A/D targets must lie in [-1, 1] (see vad_targets), max |x| = {np.abs(vad).max():.3g}")
    return emb, vad


def train_vad_head(
    head,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    settings: VadSettings,
    seed: int,
) -> VadHistory:
    """Train ``head`` (from :func:`build_vad_head`) in place on (embeddings [N, E], V/A/D [N, 3]).

    Each epoch: the training set shuffled (seeded) and cut into ceil(N / batch_size)
    near-equal batches (no batch of 1); per batch, Adam on
    ``ccc_loss(vad) + aux_weight_at(epoch) · CE(region logits, spherical_region(vad))``.
    After each epoch the validation mean CCC (:func:`ccc_scores`) decides early
    stopping (``patience``); the best weights are restored. Returns the history.
    """
    import tensorflow as tf

    from edgeser.models.training import seed_everything

    embedding_dim = int(head.inputs[0].shape[-1])
    regions = int(head.output["region"].shape[-1]) if isinstance(head.output, dict) else None
    if regions != num_regions(settings.radius_bins):
        raise ValueError(
            f"head has {regions} region outputs but radius_bins={settings.radius_bins} needs {num_regions(settings.radius_bins)}"
        )
    x_train, y_train = _check_pair(train, "train", embedding_dim)
    x_val, y_val = _check_pair(val, "val", embedding_dim)
    r_train = spherical_region(y_train, settings.radius_bins).astype(np.int32)

    seed_everything(seed)
    rng = np.random.default_rng(seed)
    optimizer = tf.keras.optimizers.Adam(settings.learning_rate)
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(autograph=False)
    def step(x, y, r, aux):
        with tf.GradientTape() as tape:
            out = head(x, training=True)
            loss = ccc_loss(y, out["vad"]) + aux * ce(r, out["region"])
        grads = tape.gradient(loss, head.trainable_variables)
        optimizer.apply_gradients(zip(grads, head.trainable_variables))
        return loss

    history = VadHistory()
    best = head.get_weights()
    waited = 0
    num_batches = max(1, math.ceil(len(x_train) / settings.batch_size))
    for epoch in range(settings.epochs):
        aux = settings.aux_weight_at(epoch)
        order = rng.permutation(len(x_train))
        losses = []
        for idx in np.array_split(order, num_batches):
            loss = step(x_train[idx], y_train[idx], r_train[idx], tf.constant(aux, tf.float32))
            losses.append(float(loss))
        scores = ccc_scores(y_val, predict_vad(head, x_val))
        mean = scores["mean"]
        history.loss.append(float(np.mean(losses)))
        history.val_ccc.append(mean)
        history.val_scores.append(scores)
        history.aux_weight.append(aux)
        if math.isnan(history.best_val_ccc) or (not math.isnan(mean) and mean > history.best_val_ccc):
            history.best_val_ccc, history.best_epoch = mean, epoch
            best = head.get_weights()
            waited = 0
        else:
            waited += 1
            if waited >= settings.patience:
                break
    head.set_weights(best)
    return history


def int8_vad_outputs(outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Split the dequantised outputs of a converted head into (vad [N, 3], region logits [N, R]).

    The converter orders a dict-output model's outputs by key ("region", then "vad");
    this picks them by width instead (R = 8 · bins is never 3), so the order does not matter.
    """
    if len(outputs) != 2:
        raise ValueError(f"a V/A/D head has 2 outputs (vad, region), got {len(outputs)}")
    a, b = (np.asarray(o) for o in outputs)
    return (a, b) if a.shape[-1] == 3 else (b, a)
