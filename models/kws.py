"""DSResNet-SE keyword spotter: depthwise-separable residual blocks with squeeze-and-excitation.

    window [T_kw, C] int8 codes -> * 1/128 -> [T_kw, 1, C]
    -> stem conv (3,1) + BN + ReLU                                   [T_kw, 1, ch0]
    -> blocks: dw(3,1)+BN+ReLU -> pw+BN -> SE -> + shortcut -> ReLU   (stride 2 where listed)
    -> MEAN over time -> FC + ReLU ("embedding") -> FC ("logits")      [num_keywords + 2]

SE: MEAN over time (keepdims, [1, 1, 1, ch]) -> 1x1 conv ch/r + ReLU -> 1x1 conv ch ->
LOGISTIC -> broadcast MUL with [1, T, 1, ch]. Using 1x1 convs on the [1, 1, 1, ch]
tensor instead of Dense keeps SE free of FULLY_CONNECTED and reshapes.
The logits are keywords + "unknown" + "silence" (the last two classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING


from edgeser.settings import check

if TYPE_CHECKING:  # TensorFlow loads when a model is built, not when a recipe is read
    import tensorflow as tf



@dataclass(frozen=True)
class KwsConfig:
    """Sizes of the DSResNet-SE; defaults: 1 s window = 49 frames (30 ms window, 20 ms stride) x 40 channels."""

    num_frames: int = 49  # T: 1 s of 20 ms frames
    num_channels: int = 40  # C: mel channels
    num_keywords: int = 10  # keyword classes (plus the silence/unknown the recipe adds)
    channels: tuple[int, ...] = (64, 64, 96, 96)
    strides: tuple[int, ...] = (1, 2, 1, 2)
    se_ratio: int = 4
    embedding_dim: int = 64
    dropout: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))  # YAML gives lists
        object.__setattr__(self, "strides", tuple(int(s) for s in self.strides))
        check(len(self.channels) == len(self.strides) >= 1, "strides",
              f"needs one stride per block: channels {self.channels}, strides {self.strides}")
        check(min(self.channels) >= self.se_ratio >= 1, "channels", f"each must be >= se_ratio={self.se_ratio}")
        check(all(s in (1, 2) for s in self.strides), "strides", f"must be 1 or 2, got {self.strides}")
        for f in ("num_frames", "num_channels", "num_keywords", "embedding_dim"):
            check(getattr(self, f) >= 1, f, f"must be positive, got {getattr(self, f)}")
        for f, most in (("num_frames", 2000), ("num_channels", 256), ("num_keywords", 1000), ("embedding_dim", 1024)):
            check(getattr(self, f) <= most, f, f"{getattr(self, f)} is beyond what fits the board (at most {most})")
        check(len(self.channels) <= 16 and max(self.channels) <= 1024, "channels",
              f"at most 16 blocks of at most 1024 channels, got {self.channels}")
        check(0.0 <= self.dropout < 1.0, "dropout", f"must be in [0, 1), got {self.dropout}")

    @property
    def num_classes(self) -> int:
        """Keywords + unknown + silence."""
        return self.num_keywords + 2


def squeeze_excite(x: tf.Tensor, ratio: int, name: str) -> tf.Tensor:
    """SE on [B, T, 1, ch] -> [B, T, 1, ch]: channel gates from the time-averaged features."""
    import tensorflow as tf

    from edgeser.models.layers import ReduceMean

    layers = tf.keras.layers
    ch = int(x.shape[-1])
    g = ReduceMean(1, name=f"{name}_squeeze")(x)                                  # [B, 1, 1, ch]
    g = layers.Conv2D(max(ch // ratio, 1), 1, activation="relu", name=f"{name}_reduce")(g)
    g = layers.Conv2D(ch, 1, activation="sigmoid", name=f"{name}_expand")(g)      # [B, 1, 1, ch]
    return layers.Multiply(name=f"{name}_scale")([x, g])


def ds_res_se_block(x: tf.Tensor, filters: int, stride: int, se_ratio: int, name: str) -> tf.Tensor:
    """Depthwise-separable residual block with SE: [B, T, 1, c] -> [B, T/stride, 1, filters]."""
    import tensorflow as tf

    from edgeser.models.layers import conv_bn, dw_bn

    layers = tf.keras.layers
    h = dw_bn(x, 3, stride, activation="relu", name=f"{name}_dw")
    h = conv_bn(h, filters, name=f"{name}_pw")
    h = squeeze_excite(h, se_ratio, name=f"{name}_se")
    if stride != 1 or int(x.shape[-1]) != filters:
        x = conv_bn(x, filters, stride=stride, name=f"{name}_proj")
    return layers.Activation("relu", name=f"{name}_relu")(layers.Add(name=f"{name}_add")([x, h]))


def build_kws_model(cfg: KwsConfig = KwsConfig(), name: str = "kws") -> tf.keras.Model:
    """Keras model: float32 [B, num_frames, num_channels] int8 codes -> logits [B, num_keywords + 2]."""
    import tensorflow as tf

    from edgeser.models.layers import ReduceMean, conv_bn

    layers = tf.keras.layers
    inp = layers.Input((cfg.num_frames, cfg.num_channels), name="features")
    x = layers.Rescaling(1.0 / 128.0, name="scale")(inp)
    x = layers.Reshape((cfg.num_frames, 1, cfg.num_channels), name="to_tokens")(x)
    x = conv_bn(x, cfg.channels[0], kernel=3, activation="relu", name="stem")
    for i, (c, s) in enumerate(zip(cfg.channels, cfg.strides)):
        x = ds_res_se_block(x, c, s, cfg.se_ratio, name=f"block{i}")
    x = layers.Reshape((cfg.channels[-1],), name="pooled")(ReduceMean(1, name="pool")(x))
    emb = layers.Dense(cfg.embedding_dim, activation="relu", name="embedding")(x)
    logits = layers.Dense(cfg.num_classes, name="logits")(layers.Dropout(cfg.dropout, name="head_drop")(emb))
    return tf.keras.Model(inp, logits, name=name)


def build_kws_embedding_model(model: tf.keras.Model) -> tf.keras.Model:
    """The same weights, cut at the layer named "embedding": window -> [B, embedding_dim]."""
    import tensorflow as tf

    return tf.keras.Model(model.inputs, model.get_layer("embedding").output, name=f"{model.name}_embedding")
