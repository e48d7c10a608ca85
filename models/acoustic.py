"""Acoustic transformer for speech-emotion recognition on int8 MicroFrontend features.

    features [T, C] (int8 codes as float32) -> * 1/128 -> [T, 1, C]
    -> input_norm "utterance": minus the clip's mean per channel   [T, 1, C]   (MEAN + SUB)
    -> stem "conv1d": subsampling convs (stride 2/3, kernel 3)   [T', 1, d]   T' = ceil(T / subsample)
       stem "conv2d": [T, C, 1] -> 2 x (3x3 conv, stride 2, ReLU) [T/4, C/4, 2s]
                      -> RESHAPE [T/4, 1, C/4 * 2s] -> conv (stride subsample / 4)  [T', 1, d]
    -> num_layers x (sigmoid attention + conv FF)                 [T', 1, d]
    -> pooling ("mean" | "flam" | "meanmax")                      [d] ([2d] for meanmax)
    -> FC + ReLU  ("embedding")                                   [embedding_dim]
    -> dropout -> FC ("logits")                                   [num_classes]

With ``members: M`` > 1 the model is M such models of the same config, trained apart
(seeds seed, seed + 1, ...; ``train_options.train_acoustic``) and run side by side on the
same input (:func:`ensemble_of`): "embedding" is their embeddings concatenated
[M * embedding_dim] (the fusion head reads all of them), "logits" the mean of their logits.

Defaults: 150 frames (3 s at 20 ms) x 40 channels, subsample 6 -> T' = 25, d = 64: the
largest activation (the [25, 25, 64] attention product) is 40,000 bytes in int8.

The 2-D stem (s = ``stem_channels``) treats the features as a time x mel image, as the
CNN front ends of most SER models do: local spectro-temporal patterns (formant moves,
harmonics, onsets) are learnt once and shared across mel bands, which a 1-D stem (one
kernel per band) cannot. ``input_norm: utterance`` removes the clip's mean log energy per
band (cepstral mean normalisation): level and channel colouring of the microphone and the
speaker, not emotion. Every op maps on the Edge TPU (CONV_2D, MEAN, SUB, MAX_POOL_2D,
RESHAPE, CONCATENATION).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from edgeser.settings import added, check

if TYPE_CHECKING:  # TensorFlow loads when a model is built, not when a recipe is read
    import tensorflow as tf



def _is_2_3_smooth(n: int) -> bool:
    if n < 1:
        return False
    for p in (2, 3):
        while n % p == 0:
            n //= p
    return n == 1


def subsample_strides(subsample: int) -> list[int]:
    """Factor the time subsampling into conv strides of 2 and 3 (e.g. 6 -> [2, 3], 8 -> [2, 2, 2])."""
    check(_is_2_3_smooth(subsample), "subsample", f"must be a product of 2s and 3s, got {subsample}")
    strides, rest = [], int(subsample)
    for p in (2, 3):
        while rest % p == 0:
            strides.append(p)
            rest //= p
    return strides or [1]


@dataclass(frozen=True)
class AcousticConfig:
    """Sizes of the acoustic transformer (see module docstring for the shapes)."""

    num_frames: int = 150  # T: input frames (20 ms each by default)
    num_channels: int = 40  # C: mel channels of the frontend
    d_model: int = 64  # d: width of every transformer block
    num_heads: int = 4  # attention heads (d_model / num_heads channels each)
    num_layers: int = 3  # transformer blocks
    ff_dim: int = 128  # hidden width of the conv feed-forward
    subsample: int = 6  # time subsampling of the stem: T' = ceil(T / subsample)
    pooling: str = "mean"  # "mean" | "flam" (frame-level attention) | "meanmax"
    num_classes: int = 4  # emotions (set from the recipe's label list)
    dropout: float = 0.1  # before the logits, training only
    embedding_dim: int = 64  # width of the "embedding" layer the fusion head reads
    stem: str = "conv1d"  # "conv1d" | "conv2d"
    stem_channels: int = 16  # conv2d: channels of the first 3x3 conv (the second has twice as many)
    input_norm: str = "none"  # "none" | "utterance" (minus the clip's mean per channel)
    # a seed ensemble: this many models of this config, trained with seeds seed, seed + 1, ...,
    # run as one graph (embeddings concatenated, logits averaged; see the module docstring)
    members: int = added(1)

    def __post_init__(self) -> None:
        check(self.pooling in POOLINGS, "pooling", f"must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        check(self.stem in ("conv1d", "conv2d"), "stem", f"must be 'conv1d' or 'conv2d', got {self.stem!r}")
        check(self.input_norm in ("none", "utterance"), "input_norm",
              f"must be 'none' or 'utterance', got {self.input_norm!r}")
        if self.stem == "conv2d":
            check(self.subsample % 4 == 0, "subsample", f"must be a multiple of 4 with stem conv2d, got {self.subsample}")
            check(self.stem_channels >= 1, "stem_channels", f"must be positive, got {self.stem_channels}")
        for f in ("num_frames", "num_channels", "d_model", "num_heads", "ff_dim", "num_classes", "embedding_dim"):
            check(getattr(self, f) >= 1, f, f"must be positive, got {getattr(self, f)}")
        for f, most in (("num_frames", 6000), ("num_channels", 256), ("d_model", 1024), ("num_heads", 64),
                        ("ff_dim", 4096), ("num_classes", 256), ("embedding_dim", 1024), ("num_layers", 32),
                        ("stem_channels", 256), ("subsample", 64)):
            check(getattr(self, f) <= most, f, f"{getattr(self, f)} is beyond what fits the board (at most {most})")
        check(self.d_model % self.num_heads == 0, "d_model",
              f"{self.d_model} must be divisible by num_heads={self.num_heads}")
        check(_is_2_3_smooth(self.subsample), "subsample", f"must be a product of 2s and 3s, got {self.subsample}")
        check(self.num_layers >= 0, "num_layers", f"must be >= 0, got {self.num_layers}")
        check(0.0 <= self.dropout < 1.0, "dropout", f"must be in [0, 1), got {self.dropout}")
        check(1 <= self.members <= MAX_MEMBERS, "members", f"must be in 1..{MAX_MEMBERS}, got {self.members}")

    @property
    def output_dim(self) -> int:
        """Width of the "embedding" output the fusion head reads: ``embedding_dim`` per member."""
        return self.embedding_dim * self.members

    @property
    def member(self) -> "AcousticConfig":
        """The config of one member (``members`` = 1)."""
        return dataclasses.replace(self, members=1)

    @property
    def strides(self) -> list[int]:
        """Time strides of the stem, in order (conv2d: 2, 2, then what is left of ``subsample``)."""
        if self.stem == "conv2d":
            return [2, 2, self.subsample // 4]
        return subsample_strides(self.subsample)

    @property
    def num_tokens(self) -> int:
        """T' = frames after subsampling ('same' padding rounds up at each stride)."""
        t = self.num_frames
        for s in self.strides:
            t = -(-t // s)
        return t


POOLINGS = ("mean", "flam", "meanmax")
MAX_MEMBERS = 8


def conv2d_stem(x: tf.Tensor, cfg: AcousticConfig) -> tf.Tensor:
    """Time x mel convolutions: [B, T, 1, C] -> [B, T', 1, d] (see module docstring)."""
    import tensorflow as tf

    from edgeser.models.layers import conv_bn

    layers = tf.keras.layers
    t, c = int(x.shape[1]), int(x.shape[-1])
    x = layers.Reshape((t, c, 1), name="to_image")(x)                                        # [B, T, C, 1]
    for i, filters in enumerate((cfg.stem_channels, 2 * cfg.stem_channels)):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False, name=f"stem{i}_conv")(x)
        x = layers.BatchNormalization(name=f"stem{i}_bn")(x)
        x = layers.Activation("relu", name=f"stem{i}_relu")(x)                              # [B, T/2^i, C/2^i, f]
    t, c, f = (int(d) for d in x.shape[1:])
    x = layers.Reshape((t, 1, c * f), name="to_tokens2d")(x)                                 # [B, T/4, 1, C/4 * f]
    rest = cfg.subsample // 4
    return conv_bn(x, cfg.d_model, kernel=3 if rest > 1 else 1, stride=rest, activation="relu", name="proj")


def build_acoustic_model(cfg: AcousticConfig = AcousticConfig(), name: str = "acoustic") -> tf.keras.Model:
    """Keras model: float32 [B, num_frames, num_channels] int8 codes -> float32 logits [B, num_classes]
    (``members`` > 1: :func:`ensemble_of` fresh members)."""
    import tensorflow as tf

    if cfg.members > 1:
        return ensemble_of([build_acoustic_model(cfg.member) for _ in range(cfg.members)], name)

    from edgeser.models.layers import ReduceMean, conv_bn, pool_frames, transformer_block

    layers = tf.keras.layers
    inp = layers.Input((cfg.num_frames, cfg.num_channels), name="features")
    x = layers.Rescaling(1.0 / 128.0, name="scale")(inp)
    x = layers.Reshape((cfg.num_frames, 1, cfg.num_channels), name="to_tokens")(x)           # [B, T, 1, C]
    if cfg.input_norm == "utterance":
        x = layers.Subtract(name="utterance_norm")([x, ReduceMean(1, name="utterance_mean")(x)])
    if cfg.stem == "conv2d":
        x = conv2d_stem(x, cfg)
    else:
        for i, s in enumerate(subsample_strides(cfg.subsample)):
            x = conv_bn(x, cfg.d_model, kernel=3, stride=s, activation="relu", name=f"sub{i}")  # [B, T/s, 1, d]
    for i in range(cfg.num_layers):
        x = transformer_block(x, cfg.num_heads, cfg.ff_dim, cfg.dropout, name=f"block{i}")
    x = pool_frames(x, cfg.pooling, name="pool")                                             # [B, d]
    emb = layers.Dense(cfg.embedding_dim, activation="relu", name="embedding")(x)           # [B, E]
    logits = layers.Dense(cfg.num_classes, name="logits")(layers.Dropout(cfg.dropout, name="head_drop")(emb))
    return tf.keras.Model(inp, logits, name=name)


def ensemble_of(members: Sequence[tf.keras.Model], name: str = "acoustic") -> tf.keras.Model:
    """Single acoustic models of one config as one model on one input.

    [B, T, C] -> each member's embedding [B, E] -> "embedding" (CONCATENATION) [B, M * E]
    -> "logits" (FC) [B, num_classes], whose weights are the members' logits layers stacked
    and divided by M: the mean of the members' logits. The members' other layers are reused,
    not copied, so trained members make the trained ensemble.
    """
    import numpy as np
    import tensorflow as tf

    layers = tf.keras.layers
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least two members, got {len(members)}")
    inp = layers.Input(members[0].input_shape[1:], name="features")
    trunks = [embedding_model(m, name=f"member{i}") for i, m in enumerate(members)]
    emb = layers.Concatenate(name="embedding")([t(inp) for t in trunks])                     # [B, M * E]
    heads = [m.get_layer("logits") for m in members]
    logits = layers.Dense(heads[0].units, name="logits")
    model = tf.keras.Model(inp, logits(emb), name=name)  # trained as members only: no dropout of its own
    kernels, biases = zip(*(h.get_weights() for h in heads))
    logits.set_weights([np.concatenate(kernels) / len(heads), np.mean(biases, axis=0)])
    return model


def embedding_model(model: tf.keras.Model, name: str | None = None) -> tf.keras.Model:
    """The same weights, cut at the layer named "embedding": input -> [B, embedding_dim]
    (named ``name``, default ``{model.name}_embedding``)."""
    import tensorflow as tf

    return tf.keras.Model(model.inputs, model.get_layer("embedding").output, name=name or f"{model.name}_embedding")
