"""edgeser.models: Edge-TPU-mappable acoustic transformer, DSResNet-SE keyword spotter, fusion head.

Legacy Keras 2 (tf-keras) is required: Keras 3 on TF 2.16.2 aborts in the int8 converter,
so TF_USE_LEGACY_KERAS=1 is set here before anything imports TensorFlow. The names below
are imported lazily (PEP 562), so importing a sibling module (e.g. training) stays cheap.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

_LAZY = {
    "AcousticConfig": "acoustic", "build_acoustic_model": "acoustic", "embedding_model": "acoustic",
    "KwsConfig": "kws", "build_kws_model": "kws", "build_kws_embedding_model": "kws",
    "FusionConfig": "fusion", "build_fusion_model": "fusion", "pool_keyword_embeddings": "fusion",
    "CUSTOM_OBJECTS": "layers",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"edgeser.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'edgeser.models' has no attribute {name!r}")
