"""Edge-TPU-mappable building blocks (tf-keras, legacy Keras 2).

Every block here converts, in full int8, to ops from Coral's supported-operations table
("TensorFlow models on the Edge TPU"): CONV_2D, DEPTHWISE_CONV_2D, MUL, ADD, MEAN over
x/y, LOGISTIC, RELU, RESHAPE, SOFTMAX on a [1, N] vector, FULLY_CONNECTED with a
1-D output. Nothing here emits TRANSPOSE, BATCH_MATMUL, GELU or a LayerNorm.

Layout. A sequence of T tokens with C channels is kept as an NHWC image
[1, T, 1, C] (time on y, x = 1), so a per-token projection is a 1x1 CONV_2D and a
temporal kernel is a (k, 1) convolution; the batch is 1 after conversion, so at most
3 dimensions are larger than 1.

Attention ("broadcast attention", one layer, all heads at once)::

    q = BN(conv1x1(x))        [1, T, 1, d]      k, v likewise
    k' = reshape(k)           [1, 1, T, d]      (same memory order: RESHAPE, no TRANSPOSE)
    p = q * k'                [1, T, T, d]      broadcast MUL: p[i,j,c] = q[i,c] k[j,c]
    s = HeadReduce(p)         [1, T, T, H]      fixed block 1x1 conv: per-head sum / sqrt(dh) + bias
    a = sigmoid(s)            [1, T, T, H]      LOGISTIC (sigmoid attention, no softmax)
    a' = HeadExpand(a)        [1, T, T, d]      fixed 0/1 1x1 conv: head weight onto its channels
    o = mean_j(a' * v'')      [1, T, 1, d]      v'' = v as [1, 1, T, d]; MEAN over x
    y = BN(conv1x1(o))        [1, T, 1, d]

The largest tensor is T*T*d bytes (int8): subsample time before attention.

For contrast, a stock tf-keras MultiHeadAttention + LayerNormalization + GELU block
converts (int8) to FULLY_CONNECTED x7 (2-D outputs), RESHAPE x10, TRANSPOSE x9,
BATCH_MATMUL x2, SOFTMAX on [1, H, T, T], MEAN over channels, SQUARED_DIFFERENCE, RSQRT,
SUB, GELU: see tests/test_models_convert.py::test_stock_keras_transformer_is_not_mappable.

Normalisation follows LeViT (Graham et al., 2021): every convolution is followed by a
BatchNormalization, which the TFLite converter folds into the convolution's weights
and bias, so normalisation costs no op at all on the device. The last BN of each
residual branch starts with gamma = 0 (the block starts as the identity).
"""

from __future__ import annotations

import math

import tensorflow as tf

from edgeser.models.heads import head_blocks

layers = tf.keras.layers


# --------------------------------------------------------------------------- basics
def conv_bn(
    x: tf.Tensor,
    filters: int,
    kernel: int = 1,
    stride: int = 1,
    activation: str | None = None,
    zero_gamma: bool = False,
    name: str = "conv",
) -> tf.Tensor:
    """Temporal convolution + folded BatchNorm (+ ReLU/ReLU6) on [B, T, 1, Cin] -> [B, T/stride, 1, filters].

    ``kernel`` = 1 is a per-token (pointwise) projection; it converts to CONV_2D with the
    BN folded in. ``zero_gamma`` initialises the BN scale to 0 (residual branch output).
    """
    x = layers.Conv2D(filters, (kernel, 1), strides=(stride, 1), padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(gamma_initializer="zeros" if zero_gamma else "ones", name=f"{name}_bn")(x)
    return layers.Activation(activation, name=f"{name}_{activation}")(x) if activation else x


def dw_bn(x: tf.Tensor, kernel: int = 3, stride: int = 1, activation: str | None = "relu", name: str = "dw") -> tf.Tensor:
    """Depthwise temporal convolution + folded BN (+ activation): [B, T, 1, C] -> [B, T/stride, 1, C]."""
    # strides (s, s): TF's CPU depthwise kernel needs equal strides; x has size 1, so it stays 1.
    x = layers.DepthwiseConv2D((kernel, 1), strides=(stride, stride), padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation(activation, name=f"{name}_{activation}")(x) if activation else x


class ReduceMean(layers.Layer):
    """MEAN over spatial axes (1 = y/time, 2 = x) with keepdims; maps on the Edge TPU (x/y only)."""

    def __init__(self, axis: int | tuple[int, ...], **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(axis) if isinstance(axis, (tuple, list)) else (int(axis),)
        if not set(self.axis) <= {1, 2}:
            raise ValueError(f"ReduceMean axis must be within (1, 2) (x/y), got {self.axis}")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(x, axis=list(self.axis), keepdims=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


# ----------------------------------------------------------------- attention pieces
class HeadReduce(layers.Layer):
    """Per-head sum over channels as a fixed 1x1 conv: [B, T, S, d] -> [B, T, S, H].

    out[..., h] = sum_{c in head h} x[..., c] / sqrt(dh) + bias[h]; the weights are a
    constant (CONV_2D), the per-head bias is trained (initialised to ``-log(S)``, the
    sigmoid-attention bias of Ramapuram et al., 2024, so that sum_j sigmoid ~ 1 at start).
    """

    def __init__(self, num_heads: int, init_bias: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.init_bias = int(num_heads), float(init_bias)

    def build(self, input_shape) -> None:
        d = int(input_shape[-1])
        self.kernel = head_blocks(d, self.num_heads)[None, None] / math.sqrt(d // self.num_heads)  # numpy
        self.bias = self.add_weight(
            name="bias", shape=(self.num_heads,), initializer=tf.keras.initializers.Constant(self.init_bias)
        )
        super().build(input_shape)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        # The constant is made in call(), so it belongs to whichever graph is being traced.
        return tf.nn.bias_add(tf.nn.conv2d(x, tf.constant(self.kernel), strides=1, padding="VALID"), self.bias)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_heads": self.num_heads, "init_bias": self.init_bias}


class HeadExpand(layers.Layer):
    """Copy each head's weight onto its channels as a fixed 0/1 1x1 conv: [B, T, S, H] -> [B, T, S, d]."""

    def __init__(self, d_model: int, **kwargs):
        super().__init__(**kwargs)
        self.d_model = int(d_model)

    def build(self, input_shape) -> None:
        self.kernel = head_blocks(self.d_model, int(input_shape[-1])).T[None, None]  # numpy
        super().build(input_shape)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.conv2d(x, tf.constant(self.kernel), strides=1, padding="VALID")

    def get_config(self) -> dict:
        return {**super().get_config(), "d_model": self.d_model}


def sigmoid_attention(x: tf.Tensor, num_heads: int, name: str = "attn") -> tf.Tensor:
    """Multi-head sigmoid self-attention on [B, T, 1, d] -> [B, T, 1, d] (see module docstring).

    Weight of key j for query i and head h: sigmoid(q_i.k_j / sqrt(dh) + b_h); values are
    averaged over keys (MEAN over x), so the output stays bounded for int8.
    """
    t, d = int(x.shape[1]), int(x.shape[-1])
    q = conv_bn(x, d, name=f"{name}_q")                                                # [B, T, 1, d]
    k = layers.Reshape((1, t, d), name=f"{name}_k_row")(conv_bn(x, d, name=f"{name}_k"))  # [B, 1, T, d]
    v = layers.Reshape((1, t, d), name=f"{name}_v_row")(conv_bn(x, d, name=f"{name}_v"))  # [B, 1, T, d]
    p = layers.Multiply(name=f"{name}_qk")([q, k])                                     # [B, T, T, d]
    s = HeadReduce(num_heads, init_bias=-math.log(t), name=f"{name}_scores")(p)        # [B, T, T, H]
    a = layers.Activation("sigmoid", name=f"{name}_sigmoid")(s)                        # [B, T, T, H]
    a = HeadExpand(d, name=f"{name}_expand")(a)                                        # [B, T, T, d]
    o = ReduceMean(2, name=f"{name}_sum_v")(layers.Multiply(name=f"{name}_av")([a, v]))  # [B, T, 1, d]
    return conv_bn(o, d, zero_gamma=True, name=f"{name}_out")


def feed_forward(x: tf.Tensor, ff_dim: int, kernel: int = 3, name: str = "ff") -> tf.Tensor:
    """Conv feed-forward [B, T, 1, d] -> [B, T, 1, d]: pw(ff)+ReLU -> depthwise (k,1)+ReLU (relative position) -> pw(d)."""
    d = int(x.shape[-1])
    h = conv_bn(x, ff_dim, activation="relu", name=f"{name}_up")
    h = dw_bn(h, kernel, activation="relu", name=f"{name}_mix")
    return conv_bn(h, d, zero_gamma=True, name=f"{name}_down")


def transformer_block(x: tf.Tensor, num_heads: int, ff_dim: int, dropout: float = 0.0, name: str = "block") -> tf.Tensor:
    """x + Attn(x), then + FF(.): [B, T, 1, d] -> [B, T, 1, d]; ADD for the residuals, BN folded in convs."""
    a = sigmoid_attention(x, num_heads, name=f"{name}_attn")
    x = layers.Add(name=f"{name}_res1")([x, layers.Dropout(dropout, name=f"{name}_drop1")(a)])
    f = feed_forward(x, ff_dim, name=f"{name}_ff")
    return layers.Add(name=f"{name}_res2")([x, layers.Dropout(dropout, name=f"{name}_drop2")(f)])


# --------------------------------------------------------------------------- pooling
def pool_frames(x: tf.Tensor, method: str = "mean", name: str = "pool") -> tf.Tensor:
    """Pool frames [B, T, 1, d] -> [B, d] ([B, 2d] for "meanmax").

    "mean": MEAN over time.
    "flam": frame-level attention pooling (Wang et al.): e_t = w.tanh(W h_t + b) (1x1 convs),
    alpha = softmax_t(e) on a [B, T] vector (a 1-D SOFTMAX, the shape of any classifier
    head; T << Coral's 16,000-element limit), pooled = mean_t(alpha_t h_t) = sum_t(alpha_t h_t) / T.
    "meanmax": [mean_t h, max_t h] -> [B, 2d] (MEAN, MAX_POOL_2D over time, CONCATENATION):
    the peak of a cue, not only its average, as the max/range functionals of eGeMAPS.
    """
    t, d = int(x.shape[1]), int(x.shape[-1])
    if method == "meanmax":
        mean = layers.Reshape((d,), name=f"{name}_mean_out")(ReduceMean(1, name=f"{name}_mean")(x))
        peak = layers.Reshape((d,), name=f"{name}_max_out")(layers.MaxPooling2D((t, 1), name=f"{name}_max")(x))
        return layers.Concatenate(name=f"{name}_out")([mean, peak])
    if method == "flam":
        e = layers.Conv2D(d, 1, activation="tanh", name=f"{name}_hidden")(x)           # [B, T, 1, d]
        e = layers.Reshape((t,), name=f"{name}_flat")(layers.Conv2D(1, 1, name=f"{name}_score")(e))  # [B, T]
        alpha = layers.Reshape((t, 1, 1), name=f"{name}_alpha")(layers.Softmax(name=f"{name}_softmax")(e))
        x = layers.Multiply(name=f"{name}_weighted")([x, alpha])                        # [B, T, 1, d]
    elif method != "mean":
        raise ValueError(f"pooling must be 'mean', 'flam' or 'meanmax', got {method!r}")
    return layers.Reshape((d,), name=f"{name}_out")(ReduceMean(1, name=f"{name}_mean")(x))


CUSTOM_OBJECTS = {"ReduceMean": ReduceMean, "HeadReduce": HeadReduce, "HeadExpand": HeadExpand}
