"""Full-integer post-training quantisation of a Keras model, with edgeser metadata.

The result is what every later stage takes: a .tflite whose inputs, outputs,
activations and weights are all int8 (weights per-channel for convolutions, the
converter's default), built only from ``TFLITE_BUILTINS_INT8`` kernels, and whose
``Model.metadata`` vector carries:

* ``edgeser.frontend_config`` — ``FrontendConfig.to_json()``, the feature settings the
  model was trained on (``edgeser check`` compares it with the recipe's);
* ``edgeser.labels`` — JSON list of class names, index = output unit;
* any further ``name -> str`` entries the caller passes.

Metadata is written by editing the flatbuffer with the schema's object API
(``ModelT``): each entry is a new ``Buffer`` plus a ``Metadata(name, buffer)`` row, and
the model is re-serialised with the ``TFL3`` identifier. Tensors, ops and weights are
untouched, so the edited model computes exactly what the converter's output did.

Quantisation-aware training (recipe ``quantize.qat``) lives in :mod:`edgeser.quantize.qat`;
the QAT model goes through :func:`quantize_keras_model` unchanged.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ai_edge_litert import schema_py_generated as schema

from edgeser import tflite_file

FRONTEND_KEY = "edgeser.frontend_config"
LABELS_KEY = "edgeser.labels"


def _tf():
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    return tf


REPRESENTATIVE_EXAMPLES = 200  # training examples used to calibrate int8 ranges


def representative_examples(arrays: Sequence[np.ndarray], seed: int,
                            count: int = REPRESENTATIVE_EXAMPLES) -> list[list[np.ndarray]]:
    """Up to ``count`` examples drawn (seeded, in order) from ``arrays`` (one per model input,
    aligned on axis 0), each a list of [1, ...] float32 inputs: the calibration set."""
    rng = np.random.default_rng(seed)
    total = len(arrays[0])
    pick = np.sort(rng.choice(total, size=min(total, count), replace=False))
    return [[a[i : i + 1].astype(np.float32) for a in arrays] for i in pick]


def quantize_keras_model(
    model: Any,
    representative: Iterable[np.ndarray | Sequence[np.ndarray]],
    metadata: Mapping[str, str] | None = None,
    pin_input_range: tuple[float, float] | None = None,
) -> bytes:
    """Convert a tf-keras model to a full-int8 .tflite (int8 inputs and outputs).

    ``representative``: real training features, one example per item, each shaped like
    the model input with or without its batch axis of 1 (e.g. ``[1, T, C]`` float32
    values in the range the Keras model sees); a tuple/list per item for multi-input
    models. Production code must pass features from the training split; random data
    gives wrong activation ranges.

    ``pin_input_range=(-128, 127)`` for models whose input is the frontend's int8 codes:
    the input quantisation is then exactly scale 1, zero point 0, so the board feeds its
    features unchanged (see :func:`edgeser.models.convert_check.convert_int8`, which does
    the conversion: int8 I/O, TFLITE_BUILTINS_INT8 only, per-channel weights, batch 1).

    ``metadata``: ``name -> str`` entries stored in the model (see module docstring;
    use :data:`FRONTEND_KEY` and :data:`LABELS_KEY` or :func:`edgeser_metadata`).

    Returns the .tflite bytes.
    """
    _tf()
    from edgeser.models.convert_check import convert_int8

    samples = list(representative)
    if not samples:
        raise ValueError("the representative set is empty: pass real training features")
    tflite = bytes(convert_int8(model, samples, pin_input_range=pin_input_range))
    if metadata:
        tflite = add_metadata(tflite, metadata)
    return tflite


def edgeser_metadata(frontend_json: str, labels: Sequence[str], **extra: str) -> dict[str, str]:
    """The standard metadata dict: frontend config JSON and the label list."""
    out = {FRONTEND_KEY: frontend_json, LABELS_KEY: json.dumps(list(labels))}
    out.update(extra)
    return out


def add_metadata(tflite: bytes, entries: Mapping[str, str | bytes]) -> bytes:
    """Return ``tflite`` with ``entries`` stored as Model.metadata (replacing same-named ones)."""
    model = tflite_file.parse(tflite)
    if model.metadata is None:
        model.metadata = []
    if model.buffers is None:
        model.buffers = []
    names = set(entries)
    model.metadata = [m for m in model.metadata if tflite_file.text(m.name) not in names]
    for name, value in entries.items():
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        buf = schema.BufferT()
        buf.data = np.frombuffer(data, dtype=np.uint8).copy()
        model.buffers.append(buf)
        meta = schema.MetadataT()
        meta.name = name
        meta.buffer = len(model.buffers) - 1
        model.metadata.append(meta)
    return tflite_file.serialise(model)


def read_metadata_bytes(tflite: bytes) -> dict[str, bytes]:
    """All Model.metadata entries as raw bytes (including the converter's own)."""
    return tflite_file.metadata_bytes(tflite)


def read_metadata(tflite: bytes) -> dict[str, str]:
    """Model.metadata entries that are UTF-8 text, ``name -> str`` (trailing NULs stripped).

    Binary entries (the converter's ``CONVERSION_METADATA`` flatbuffer) are left out;
    use :func:`read_metadata_bytes` for those.
    """
    out: dict[str, str] = {}
    for name, data in read_metadata_bytes(tflite).items():
        try:
            out[name] = data.decode("utf-8").rstrip("\x00")
        except UnicodeDecodeError:
            continue
    return out


def read_labels(tflite: bytes) -> list[str] | None:
    """The stored label list, or None when the model has none."""
    text = read_metadata(tflite).get(LABELS_KEY)
    return None if text is None else list(json.loads(text))


def read_frontend_json(tflite: bytes) -> str | None:
    """The stored FrontendConfig JSON, or None."""
    return read_metadata(tflite).get(FRONTEND_KEY)
