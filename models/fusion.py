"""Late-fusion head: acoustic embedding + pooled keyword embedding -> emotion logits.

    acoustic [Ea], keywords [Ek] -> CONCATENATION [Ea + Ek] -> FC + ReLU [hidden] -> FC [num_classes]

Every FULLY_CONNECTED has a 1-D output (batch 1), CONCATENATION joins two activations:
both map on the Edge TPU. The keyword input is the mean of the KWS "embedding" outputs
over an utterance's windows (`pool_keyword_embeddings`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from edgeser.settings import check

layers = tf.keras.layers


@dataclass(frozen=True)
class FusionConfig:
    """Sizes of the fusion head (input sizes are the two embedding_dims)."""

    acoustic_dim: int = 64
    keyword_dim: int = 64
    hidden_dim: int = 64
    num_classes: int = 4
    dropout: float = 0.2

    def __post_init__(self) -> None:
        for f in ("acoustic_dim", "keyword_dim", "hidden_dim", "num_classes"):
            check(1 <= getattr(self, f) <= 4096, f, f"must be in 1..4096, got {getattr(self, f)}")
        check(0.0 <= self.dropout < 1.0, "dropout", f"must be in [0, 1), got {self.dropout}")


def build_fusion_model(cfg: FusionConfig = FusionConfig(), name: str = "fusion") -> tf.keras.Model:
    """Keras model with inputs ("acoustic" [B, Ea], "keywords" [B, Ek]) -> logits [B, num_classes]."""
    a = layers.Input((cfg.acoustic_dim,), name="acoustic")
    k = layers.Input((cfg.keyword_dim,), name="keywords")
    x = layers.Concatenate(name="concat")([a, k])
    x = layers.Dropout(cfg.dropout, name="in_drop")(x)
    x = layers.Dense(cfg.hidden_dim, activation="relu", name="hidden")(x)
    x = layers.Dropout(cfg.dropout, name="hidden_drop")(x)
    return tf.keras.Model([a, k], layers.Dense(cfg.num_classes, name="logits")(x), name=name)


def pool_keyword_embeddings(window_embeddings: np.ndarray) -> np.ndarray:
    """[num_windows, Ek] KWS embeddings of one utterance -> [Ek] (mean over windows)."""
    e = np.asarray(window_embeddings, dtype=np.float32)
    if e.ndim != 2 or len(e) == 0:
        raise ValueError(f"expected [num_windows >= 1, Ek] embeddings, got shape {e.shape}")
    return e.mean(axis=0)
