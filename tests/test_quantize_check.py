"""Edge TPU static check: tiny Keras models that each break one documented rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)

tf = pytest.importorskip("tensorflow")
L = tf.keras.layers

from edgeser.quantize.convert import quantize_keras_model  # noqa: E402
from edgeser.quantize.edgetpu_check import NotATFLiteModel, check_model, format_table  # noqa: E402


def _int8(model) -> bytes:
    rng = np.random.default_rng(0)
    shape = tuple(1 if d is None else d for d in model.input_shape)
    return quantize_keras_model(model, [rng.standard_normal(shape).astype(np.float32) for _ in range(4)])


def _int8_keeping_dynamic_batch(model) -> bytes:
    """The plain converter on the model as built (edgeser's own path always fixes batch 1)."""
    rng = np.random.default_rng(0)
    shape = tuple(1 if d is None else d for d in model.input_shape)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.standard_normal(shape).astype(np.float32)] for _ in range(4))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def _model(shape, body, batch_size=1):
    i = L.Input(shape, batch_size=batch_size)
    return tf.keras.Model(i, body(i))


def _first_bad(report):
    bad = report.first_unmapped
    assert bad is not None, [(op.name, op.maps) for op in report.ops]
    return bad


@pytest.fixture(scope="module")
def good_conv() -> bytes:
    def body(x):
        x = L.Conv2D(8, 3, padding="same", activation="relu")(x)
        x = L.DepthwiseConv2D(3, padding="same")(x)
        x = L.MaxPooling2D()(x)
        x = L.GlobalAveragePooling2D()(x)  # MEAN over y/x
        x = L.Dense(4)(x)  # FULLY_CONNECTED with [1, 4] output
        return L.Softmax()(x)

    return _int8(_model((16, 8, 4), body))


def test_good_conv_model_is_fully_mapped(good_conv):
    report = check_model(good_conv)
    names = [op.name for op in report.ops]
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"} <= set(names)
    assert all(op.maps for op in report.ops), [(op.name, op.reason) for op in report.ops]
    assert report.fraction_mapped == 1.0 and report.cpu_count == 0 and report.first_unmapped is None
    d = report.to_dict()
    json.dumps(d)
    assert d["ops"][0]["inputs"][0]["type"] == "INT8"
    format_table(report)  # renders without error


def test_float_model_is_flagged():
    i = L.Input((8, 8, 2), batch_size=1)
    m = tf.keras.Model(i, L.Conv2D(4, 3)(i))
    flt = tf.lite.TFLiteConverter.from_keras_model(m).convert()
    bad = _first_bad(check_model(flt))
    assert bad.index == 0 and "float32" in bad.reason and "8-bit" in bad.reason


def test_dynamic_batch_is_flagged():
    bad = _first_bad(check_model(_int8_keeping_dynamic_batch(_model((8, 8, 2), lambda x: L.Conv2D(4, 3)(x), batch_size=None))))
    assert "dynamic shape" in bad.reason


def test_five_d_tensor_with_four_dims_over_one_is_flagged():
    bad = _first_bad(check_model(_int8(_model((2, 3, 4, 5), lambda x: x * 2.0 + 1.0))))
    assert "3 innermost dimensions" in bad.reason


def test_dense_on_a_sequence_is_flagged():
    report = check_model(_int8(_model((10, 8), lambda x: L.Dense(6)(x))))
    fc = [op for op in report.ops if op.name == "FULLY_CONNECTED"]
    assert fc and not fc[0].maps and "1-D output" in fc[0].reason


def test_mean_over_channels_is_flagged():
    report = check_model(_int8(_model((10, 8), lambda x: tf.reduce_mean(x, axis=-1, keepdims=True))))
    bad = _first_bad(report)
    assert bad.name == "MEAN" and "channel" in bad.reason
    # The letter of Coral's table allows a z-reduction when z % 4 == 0 (here z = 8).
    assert check_model(_int8(_model((10, 8), lambda x: tf.reduce_mean(x, axis=-1, keepdims=True))), strict=False).fully_mapped


def test_matmul_of_two_activations_is_flagged():
    def body(x):
        a = L.Conv1D(8, 1)(x)
        return tf.matmul(a, x, transpose_b=True)

    bad = _first_bad(check_model(_int8(_model((10, 8), body))))
    assert bad.name == "BATCH_MATMUL" and "two activations" in bad.reason


def test_transpose_is_flagged():
    bad = _first_bad(check_model(_int8(_model((10, 8), lambda x: tf.transpose(x, [0, 2, 1])))))
    assert bad.name == "TRANSPOSE"


def test_gelu_is_flagged():
    bad = _first_bad(check_model(_int8(_model((10, 8), lambda x: L.Activation("gelu")(x)))))
    assert bad.name == "GELU" and "supported-operations" in bad.reason


def test_everything_after_the_first_bad_op_runs_on_the_cpu():
    def body(x):
        x = L.Conv2D(4, 3, padding="same")(x)
        x = tf.transpose(x, [0, 2, 1, 3])
        return L.Conv2D(4, 3, padding="same")(x)

    report = check_model(_int8(_model((8, 6, 2), body)))
    names = [op.name for op in report.ops]
    t = names.index("TRANSPOSE")
    assert all(not op.on_cpu and op.maps for op in report.ops[:t])
    assert all(op.on_cpu for op in report.ops[t:])
    last_conv = report.ops[len(names) - 1 - names[::-1].index("CONV_2D")]
    assert last_conv.index > t and last_conv.maps and last_conv.on_cpu  # maps, but after the split
    assert report.first_unmapped.index == t
    assert report.mapped_count == t and report.cpu_count == len(names) - t


def test_op_version_newer_than_the_compiler_is_flagged(good_conv):
    from ai_edge_litert import schema_py_generated as schema

    from edgeser.tflite_file import serialise

    m = schema.ModelT.InitFromPackedBuf(good_conv, 0)
    for code in m.operatorCodes:
        if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.CONV_2D:
            code.version = 6
    bad = _first_bad(check_model(serialise(m)))
    assert bad.name == "CONV_2D" and "version 6" in bad.reason


def test_not_a_tflite_file(tmp_path: Path):
    junk = tmp_path / "notes.tflite"
    junk.write_text("hello")
    with pytest.raises(NotATFLiteModel, match="notes.tflite"):
        check_model(junk)


def test_cli_exit_status(tmp_path: Path, good_conv):
    import typer
    from typer.testing import CliRunner

    from edgeser.quantize.cli import check

    app = typer.Typer()
    app.command()(check)
    app.command("other")(lambda: None)
    good = tmp_path / "good.tflite"
    good.write_bytes(good_conv)
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    runner = CliRunner()
    ok = runner.invoke(app, ["check", str(good), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["reports"][0]["fraction_mapped"] == 1.0
    bad = runner.invoke(app, ["check", str(good), str(junk)])
    assert bad.exit_code == 2
    assert "junk.tflite is not a TensorFlow Lite model" in " ".join(bad.output.split())


def test_float_io_quantize_dequantize_run_on_cpu_without_splitting():
    i = L.Input((8, 8, 2), batch_size=1)
    m = tf.keras.Model(i, L.Conv2D(4, 3)(i))
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    conv.representative_dataset = lambda: ([rng.standard_normal((1, 8, 8, 2)).astype(np.float32)] for _ in range(4))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    report = check_model(conv.convert())  # float input and output around an int8 body
    names = [op.name for op in report.ops]
    assert names[0] == "QUANTIZE" and names[-1] == "DEQUANTIZE"
    assert report.ops[0].boundary and report.ops[-1].boundary
    assert report.first_unmapped is None
    conv_op = report.ops[names.index("CONV_2D")]
    assert conv_op.maps and not conv_op.on_cpu
    assert report.cpu_count == 2 and not report.fully_mapped


def test_frontend_config_must_match_the_recipe(good_conv):
    from edgeser.frontend import FrontendConfig
    from edgeser.quantize.convert import add_metadata, edgeser_metadata

    assert "no FrontendConfig" in check_model(good_conv, frontend=FrontendConfig()).frontend_problem
    tagged = add_metadata(good_conv, edgeser_metadata(FrontendConfig().to_json(), ["a", "b", "c", "d"]))
    assert check_model(tagged, frontend=FrontendConfig()).frontend_problem == ""
    problem = check_model(tagged, frontend=FrontendConfig(num_channels=64)).frontend_problem
    assert "num_channels: model 40 vs recipe 64" in problem
