"""The reference: TensorFlow's ``audio_microfrontend`` op with a config's settings.

TensorFlow is imported lazily (it is slow to import and only tests/benchmarks
need it). The op runs the TFLite-Micro C frontend; :mod:`.microfrontend` is
checked bit for bit against it.
"""

from __future__ import annotations

import os

import numpy as np

from edgeser.frontend.config import FrontendConfig
from edgeser.frontend.microfrontend import op_attributes

__all__ = ["tf_microfrontend", "load_op"]


def load_op():
    """Import TF quietly and return the ``audio_microfrontend`` Python function."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tensorflow.lite.experimental.microfrontend.python.ops import audio_microfrontend_op

    return audio_microfrontend_op.audio_microfrontend


def tf_microfrontend(audio: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """uint16 [frames, channels] from the TF op (out_scale=1, no stacking, frame_stride=1)."""
    audio_microfrontend = load_op()
    import tensorflow as tf

    samples = np.ascontiguousarray(np.asarray(audio, dtype=np.int16))
    attrs = op_attributes(config)
    result = audio_microfrontend(
        tf.constant(samples, dtype=tf.int16),
        left_context=0,
        right_context=0,
        frame_stride=1,
        zero_padding=False,
        out_scale=1,
        out_type=tf.uint16,
        **attrs,
    )
    out = np.asarray(result.numpy(), dtype=np.uint16)
    return out.reshape(-1, config.num_channels)
