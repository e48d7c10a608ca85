"""PTQ conversion: int8 I/O, metadata round trip, identical outputs after the edit; float vs int8."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)

tf = pytest.importorskip("tensorflow")
L = tf.keras.layers

from edgeser.frontend import FrontendConfig  # noqa: E402
from edgeser.quantize.convert import (  # noqa: E402
    FRONTEND_KEY,
    LABELS_KEY,
    add_metadata,
    edgeser_metadata,
    quantize_keras_model,
    read_labels,
    read_metadata,
)

LABELS = ["angry", "happy", "neutral", "sad"]


@pytest.fixture(scope="module")
def keras_model():
    tf.keras.utils.set_random_seed(1)
    i = L.Input((12, 1, 8), batch_size=1)
    x = L.Conv2D(16, (3, 1), padding="same", activation="relu")(i)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(len(LABELS))(x)
    return tf.keras.Model(i, x)


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(3)
    return rng.standard_normal((40, 12, 1, 8)).astype(np.float32)


@pytest.fixture(scope="module")
def int8_plain(keras_model, features) -> bytes:
    return quantize_keras_model(keras_model, [f[None] for f in features[:16]])


def test_int8_io_and_metadata_round_trip(keras_model, features):
    meta = edgeser_metadata(FrontendConfig().to_json(), LABELS, recipe_sha256="abc")
    model = quantize_keras_model(keras_model, [f for f in features[:16]], meta)  # no batch axis: added
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model)
    assert interp.get_input_details()[0]["dtype"] == np.int8
    assert interp.get_output_details()[0]["dtype"] == np.int8
    stored = read_metadata(model)
    assert FrontendConfig.from_json(stored[FRONTEND_KEY]) == FrontendConfig()
    assert json.loads(stored[LABELS_KEY]) == LABELS and read_labels(model) == LABELS
    assert stored["recipe_sha256"] == "abc"
    assert "min_runtime_version" in stored  # the converter's own entry survives
    # Replacing an entry keeps one copy.
    again = add_metadata(model, {LABELS_KEY: json.dumps(["a"])})
    assert read_labels(again) == ["a"]


def _litert(model: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def _tflm(model: bytes, x: np.ndarray) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=64 * 1024)
    interp.set_input(x, 0)
    interp.invoke()
    return interp.get_output(0)


def test_metadata_edit_keeps_outputs_identical(int8_plain):
    edited = add_metadata(int8_plain, edgeser_metadata(FrontendConfig().to_json(), LABELS))
    assert edited != int8_plain
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = rng.integers(-128, 128, size=(1, 12, 1, 8), dtype=np.int8)
        ref = _litert(int8_plain, x)
        assert np.array_equal(ref, _litert(edited, x))
        assert np.array_equal(_tflm(int8_plain, x), _tflm(edited, x))
        # XNNPACK and TFLM's reference kernels may round differently by one step.
        assert np.abs(ref.astype(int) - _tflm(edited, x).astype(int)).max() <= 1


def test_empty_representative_set_is_refused(keras_model):
    with pytest.raises(ValueError, match="representative"):
        quantize_keras_model(keras_model, [])


def test_float_vs_int8(keras_model, int8_plain, features):
    from edgeser.evaluation.int8 import compare_float_int8

    logits = keras_model(features).numpy()
    y = logits.argmax(axis=1)  # labels = the float model's own predictions
    c = compare_float_int8(keras_model, int8_plain, features, y, num_classes=len(LABELS))
    assert c.n == len(features)
    assert c.float_wa == pytest.approx(1.0) and c.float_ua == pytest.approx(1.0)
    assert c.argmax_agreement >= 0.8
    assert c.int8_wa == pytest.approx(c.argmax_agreement)
    assert 0.0 <= c.mean_abs_logit_error < 0.1 * float(np.abs(logits).max())
    json.dumps(c.to_dict())


def test_quantize_helpers_round_trip():
    from edgeser.quantize.arith import dequantize_output, quantize_input

    x = np.array([-1.0, 0.0, 0.26, 10.0])
    q = quantize_input(x, 0.05, -3)
    assert q.tolist() == [-23, -3, 2, 127]
    assert dequantize_output(q, 0.05, -3).tolist() == pytest.approx([-1.0, 0.0, 0.25, 6.5])


def test_conv_weights_are_per_channel_and_ops_are_int8(int8_plain):
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromPackedBuf(int8_plain, 0)
    sg = m.subgraphs[0]
    conv = next(op for op in sg.operators if m.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.CONV_2D)
    weights = sg.tensors[conv.inputs[1]]
    assert weights.type == schema.TensorType.INT8 and len(weights.quantization.scale) == 16  # one per filter
    float_tensors = [t.name for t in sg.tensors if t.type == schema.TensorType.FLOAT32]
    assert float_tensors == []
