"""edgeser: speech emotion recognition from real corpora onto the Coral Edge TPU.

Importing edgeser selects the legacy Keras 2 (``tf-keras``) for TensorFlow before
TensorFlow is imported anywhere: with TensorFlow 2.16 and Keras 3 the full-int8
TFLite converter aborts ("Failed to infer result type(s)") on models that
tf-keras converts. It also silences TensorFlow's C++ start-up logging (CUDA plugin
registration noise on CPU-only machines); Python exceptions are unaffected.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
