"""Late-fusion head: acoustic embedding + pooled keyword embedding -> emotion logits.

    acoustic [Ea], keywords [Ek] -> CONCATENATION [Ea + Ek] -> FC + ReLU [hidden] -> FC [num_classes]

Every FULLY_CONNECTED has a 1-D output (batch 1), CONCATENATION joins two activations:
both map on the Edge TPU. The keyword input is the mean of the KWS "embedding" outputs
over an utterance's windows (`pool_keyword_embeddings`).

An acoustic seed ensemble (``acoustic.members`` = M) gets one head per member: head i reads
member i's embedding and the keyword embedding, and is trained alone (seed + i). The M heads
are one graph of the same three ops (:func:`merge_member_heads`): a hidden layer M * hidden
wide whose kernel is block-structured (head i's units see only member i's slice of the
acoustic input, and the keyword input), and a logits layer that takes the mean of the heads'
logits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from edgeser.settings import added, check

if TYPE_CHECKING:  # TensorFlow loads when a model is built, not when a recipe is read
    import tensorflow as tf



@dataclass(frozen=True)
class FusionConfig:
    """Sizes of the fusion head (input sizes are the two embedding_dims)."""

    acoustic_dim: int = 64  # acoustic embedding width
    keyword_dim: int = 64  # pooled keyword embedding width
    hidden_dim: int = 64  # the "hidden" layer (ReLU)
    num_classes: int = 4  # emotions
    dropout: float = 0.2  # after the hidden layer, training only
    # "standard": train on inputs standardised with the training set's mean and std per
    # dimension, then fold that affine map into the hidden layer (same ops, same size)
    # "speaker": train on each training speaker's inputs standardised with that speaker's
    # statistics; at test time and on the board, running statistics of the speaker's earlier
    # clips blended with the training set's (models.speaker_norm; the board keeps them)
    input_norm: str = added("none")
    speaker_prior_weight: float = added(10.0)  # clips the training set's statistics count for ("speaker")
    members: int = added(1)  # heads, one per acoustic member (derived from acoustic.members); hidden_dim each

    @property
    def member(self) -> "FusionConfig":
        """The config of one member's head: its slice of the acoustic input, ``hidden_dim`` units."""
        return dataclasses.replace(self, acoustic_dim=self.acoustic_dim // self.members, members=1)

    def __post_init__(self) -> None:
        for f in ("acoustic_dim", "keyword_dim", "hidden_dim", "num_classes"):
            check(1 <= getattr(self, f) <= 4096, f, f"must be in 1..4096, got {getattr(self, f)}")
        check(self.members >= 1 and self.acoustic_dim % self.members == 0, "members",
              f"must divide acoustic_dim ({self.acoustic_dim}), got {self.members}")
        check(0.0 <= self.dropout < 1.0, "dropout", f"must be in [0, 1), got {self.dropout}")
        check(self.input_norm in ("none", "standard", "speaker"), "input_norm",
              f"must be 'none', 'standard' or 'speaker', got {self.input_norm!r}")
        check(self.speaker_prior_weight > 0, "speaker_prior_weight", f"must be > 0, got {self.speaker_prior_weight}")


def build_fusion_model(cfg: FusionConfig = FusionConfig(), name: str = "fusion") -> tf.keras.Model:
    """Keras model with inputs ("acoustic" [B, Ea], "keywords" [B, Ek]) -> logits [B, num_classes]
    (the hidden layer is ``hidden_dim * members`` wide)."""
    import tensorflow as tf

    layers = tf.keras.layers
    a = layers.Input((cfg.acoustic_dim,), name="acoustic")
    k = layers.Input((cfg.keyword_dim,), name="keywords")
    x = layers.Concatenate(name="concat")([a, k])
    x = layers.Dropout(cfg.dropout, name="in_drop")(x)
    x = layers.Dense(cfg.hidden_dim * cfg.members, activation="relu", name="hidden")(x)
    x = layers.Dropout(cfg.dropout, name="hidden_drop")(x)
    return tf.keras.Model([a, k], layers.Dense(cfg.num_classes, name="logits")(x), name=name)


def merge_member_heads(heads: Sequence[tf.keras.Model], cfg: FusionConfig) -> tf.keras.Model:
    """Heads of ``cfg.member`` (head i: [member i's embedding [B, Ea / M], keywords [B, Ek]] ->
    logits) as one head of ``cfg`` on [all members' embeddings [B, Ea], keywords]: hidden
    kernel [Ea + Ek, M * H] with head i's rows in its block (zeros elsewhere), biases
    concatenated; logits kernel [M * H, K] the heads' stacked and divided by M, bias their
    mean. Its logits are the mean of the heads' logits."""
    m, e, h = cfg.members, cfg.member.acoustic_dim, cfg.hidden_dim
    if len(heads) != m:
        raise ValueError(f"{len(heads)} heads for {m} members")
    kernel = np.zeros((cfg.acoustic_dim + cfg.keyword_dim, m * h), np.float32)
    biases, out_kernels, out_biases = [], [], []
    for i, head in enumerate(heads):
        w, b = head.get_layer("hidden").get_weights()
        kernel[i * e:(i + 1) * e, i * h:(i + 1) * h] = w[:e]
        kernel[cfg.acoustic_dim:, i * h:(i + 1) * h] = w[e:]
        biases.append(b)
        wo, bo = head.get_layer("logits").get_weights()
        out_kernels.append(wo / m)
        out_biases.append(bo)
    merged = build_fusion_model(cfg, name=heads[0].name)
    merged.get_layer("hidden").set_weights([kernel, np.concatenate(biases)])
    merged.get_layer("logits").set_weights([np.concatenate(out_kernels), np.mean(out_biases, axis=0)])
    return merged


def keyword_only_head(embedding_dim: int, cfg: FusionConfig, name: str = "keyword_only") -> tf.keras.Model:
    """The unimodal keyword reference: the fusion head's MLP on the keyword embedding alone,
    [B, Ek] -> logits [B, num_classes]."""
    import tensorflow as tf

    layers = tf.keras.layers
    k = layers.Input((embedding_dim,), name="keywords")
    x = layers.Dropout(cfg.dropout)(k)
    x = layers.Dense(cfg.hidden_dim, activation="relu")(x)
    return tf.keras.Model(k, layers.Dense(cfg.num_classes)(layers.Dropout(cfg.dropout)(x)), name=name)


def fold_input_standardisation(model: tf.keras.Model, cfg: FusionConfig, mean: np.ndarray,
                                std: np.ndarray) -> tf.keras.Model:
    """A fusion head trained on standardised inputs ``z = (x - mean) / std`` ([Ea + Ek] each,
    in concatenation order) as a head of the same graph on raw inputs ``x``: the hidden layer
    becomes ``W' = W / std`` (per input row), ``b' = b - (mean / std) @ W``."""
    out = build_fusion_model(cfg, name=model.name)
    out.set_weights(model.get_weights())
    hidden = out.get_layer("hidden")
    kernel, bias = hidden.get_weights()
    scale = 1.0 / np.asarray(std, np.float64)
    folded = kernel.astype(np.float64) * scale[:, None]
    hidden.set_weights([folded.astype(np.float32),
                        (bias - (np.asarray(mean, np.float64) * scale) @ kernel.astype(np.float64)).astype(np.float32)])
    return out


def pool_keyword_embeddings(window_embeddings: np.ndarray) -> np.ndarray:
    """[num_windows, Ek] KWS embeddings of one utterance -> [Ek] (mean over windows)."""
    e = np.asarray(window_embeddings, dtype=np.float32)
    if e.ndim != 2 or len(e) == 0:
        raise ValueError(f"expected [num_windows >= 1, Ek] embeddings, got shape {e.shape}")
    return e.mean(axis=0)
