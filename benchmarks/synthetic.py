"""Tiny full-int8 models for tests and examples (tf-keras conv net → int8 TFLite).

Shaped like a slice of the project's feature input (``[T, C]`` log-mel frames as a
``[T, C, 1]`` image), small enough to convert in a few seconds. Not for training:
the representative set is deterministic random data in the feature range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)


def build_tiny_keras(frames: int = 49, channels: int = 40, filters: int = 8, classes: int = 4, float_only: bool = False):
    import tensorflow as tf

    inp = tf.keras.Input(shape=(frames, channels, 1), batch_size=1, name="features")
    x = tf.keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(inp)
    x = tf.keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2D(filters * 2, 1, activation="relu")(x)
    x = tf.keras.layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
    x = tf.keras.layers.Flatten()(x)
    out = tf.keras.layers.Dense(classes)(x)
    return tf.keras.Model(inp, out)


def tiny_int8_tflite(frames: int = 49, channels: int = 40, filters: int = 8, classes: int = 4, seed: int = 0) -> bytes:
    """Full-int8 (int8 in/out) .tflite bytes of :func:`build_tiny_keras`."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = build_tiny_keras(frames, channels, filters, classes)
    rng = np.random.default_rng(seed)

    def rep():
        for _ in range(8):
            yield [rng.uniform(0.0, 1.0, size=(1, frames, channels, 1)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def tiny_float_tflite(frames: int = 49, channels: int = 40, filters: int = 8, classes: int = 4, seed: int = 0) -> bytes:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = build_tiny_keras(frames, channels, filters, classes)
    return bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def write_tiny_models(folder: str | Path) -> dict[str, Path]:
    """Write ``small.tflite`` (8 filters), ``large.tflite`` (32 filters) and ``float.tflite``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {
        "small": folder / "small.tflite",
        "large": folder / "large.tflite",
        "float": folder / "float.tflite",
    }
    out["small"].write_bytes(tiny_int8_tflite(filters=8))
    out["large"].write_bytes(tiny_int8_tflite(filters=32))
    out["float"].write_bytes(tiny_float_tflite(filters=8))
    return out
