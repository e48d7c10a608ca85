"""Every model converts to full-int8 TFLite with only Edge-TPU-mappable builtin ops.

The check reads the converter's flatbuffer (edgeser.models.convert_check), op by op,
against an allow-list taken from Coral's supported-operations table (see that module's
docstring for each op's documented limit and how it is checked). Representative data are
synthetic tones run through the project's MicroFrontend (edgeser.models.synthetic):
feature-like int8 codes (silence at -128, saturation at 127), not speech; good enough to
calibrate ranges for a structural test, not for accuracy.

For contrast, a stock Keras MultiHeadAttention + LayerNormalization + GELU block is
converted the same way: it emits TRANSPOSE, BATCH_MATMUL, GELU (and FULLY_CONNECTED with
2-D outputs), which the Edge TPU does not map. That is why the transformer is redesigned.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from edgeser.models import (
    AcousticConfig, FusionConfig, KwsConfig, build_acoustic_model, build_fusion_model, build_kws_model,
)
from edgeser.models.convert_check import (
    EDGETPU_OPS, FORBIDDEN_OPS, TfliteReport, convert_int8, edgetpu_problems, inspect_tflite, int8_op_names,
)
from edgeser.models.synthetic import tone_dataset

import tensorflow as tf  # noqa: E402

FEATURE_RANGE = (-128.0, 127.0)


def _convert(model: tf.keras.Model, rep, pin=FEATURE_RANGE) -> tuple[bytes, TfliteReport]:
    buf = convert_int8(model, rep, pin_input_range=pin)
    return buf, inspect_tflite(buf)


def _activate_branches(model: tf.keras.Model) -> tf.keras.Model:
    """Set every BatchNorm gamma to 1: a fresh model starts its residual branches at 0 (identity
    blocks), which would leave attention out of the int8 comparison."""
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            gamma, *rest = layer.get_weights()
            layer.set_weights([np.ones_like(gamma), *rest])
    return model


@pytest.fixture(scope="module")
def converted() -> dict[str, tuple[tf.keras.Model, bytes, TfliteReport, np.ndarray]]:
    """Convert each model once for the whole module (conversion takes seconds)."""
    tf.keras.utils.set_random_seed(0)
    out = {}
    xa, _ = tone_dataset(2, 4, 150)
    xk, _ = tone_dataset(2, 4, 49)
    for name, model, x in [
        ("acoustic_mean", _activate_branches(build_acoustic_model(AcousticConfig())), xa),
        ("acoustic_flam", _activate_branches(build_acoustic_model(AcousticConfig(pooling="flam"))), xa),
        ("acoustic_stem2d", _activate_branches(build_acoustic_model(AcousticConfig(
            stem="conv2d", subsample=8, input_norm="utterance", pooling="meanmax"))), xa),
        ("kws", build_kws_model(KwsConfig()), xk),
    ]:
        out[name] = (model, *_convert(model, list(x)), x)
    fusion = build_fusion_model(FusionConfig())
    rng = np.random.default_rng(0)
    emb = [(rng.uniform(0, 2, 64).astype(np.float32), rng.uniform(0, 2, 64).astype(np.float32)) for _ in range(8)]
    out["fusion"] = (fusion, *_convert(fusion, emb, pin=None), None)
    return out


EXPECTED_OPS = {
    "acoustic_mean": {"MUL", "RESHAPE", "CONV_2D", "DEPTHWISE_CONV_2D", "LOGISTIC", "MEAN", "ADD", "FULLY_CONNECTED"},
    "acoustic_flam": {"MUL", "RESHAPE", "CONV_2D", "DEPTHWISE_CONV_2D", "LOGISTIC", "MEAN", "ADD", "FULLY_CONNECTED",
                      "TANH", "SOFTMAX"},
    # 2-D stem (CONV_2D over time x mel), per-utterance normalisation (MEAN + SUB), mean+max pooling
    "acoustic_stem2d": {"MUL", "RESHAPE", "CONV_2D", "DEPTHWISE_CONV_2D", "LOGISTIC", "MEAN", "ADD", "FULLY_CONNECTED",
                        "SUB", "MAX_POOL_2D", "CONCATENATION"},
    "kws": {"MUL", "RESHAPE", "CONV_2D", "DEPTHWISE_CONV_2D", "LOGISTIC", "MEAN", "ADD", "FULLY_CONNECTED"},
    "fusion": {"CONCATENATION", "FULLY_CONNECTED"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_OPS))
def test_only_edgetpu_ops(converted, name: str) -> None:
    _, _, report, _ = converted[name]
    ops = set(report.op_names)
    assert ops == EXPECTED_OPS[name], Counter(report.op_names)
    assert ops <= EDGETPU_OPS and not ops & FORBIDDEN_OPS
    assert edgetpu_problems(report) == []
    # int8 in and out, no float tensor anywhere, batch 1, at most 3 dims > 1.
    for i in report.inputs + report.outputs:
        assert report.tensors[i].dtype == "int8" and report.tensors[i].shape[0] == 1
    assert all(t.dtype in ("int8", "int32") for t in report.tensors)
    assert all(sum(d > 1 for d in t.shape) <= 3 for t in report.tensors if not t.is_const)


@pytest.mark.parametrize("name", ["acoustic_mean", "acoustic_flam", "acoustic_stem2d", "kws"])
def test_feature_input_is_identity_quantised(converted, name: str) -> None:
    """Input scale 1, zero point 0: the int8 input tensor holds the frontend's int8 codes as they are."""
    _, _, report, _ = converted[name]
    t = report.tensors[report.inputs[0]]
    assert t.scale == (1.0,) and t.zero_point == (0,)


def test_default_acoustic_budget(converted) -> None:
    _, buf, report, _ = converted["acoustic_mean"]
    assert report.int8_weight_bytes < 300_000, report.int8_weight_bytes
    assert report.const_bytes < 300_000
    biggest = report.largest_activation
    assert biggest.shape == (1, 25, 25, 64) and biggest.nbytes <= 64 * 1024
    assert len(buf) < 400_000


@pytest.mark.parametrize("name", ["acoustic_mean", "acoustic_flam", "acoustic_stem2d", "kws"])
def test_int8_model_tracks_float_model(converted, name: str) -> None:
    """The int8 .tflite, fed the int8 codes, gives logits close to the float Keras model's
    (attention active: see _activate_branches)."""
    model, buf, report, x = converted[name]
    interp = tf.lite.Interpreter(model_content=buf)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    got = []
    for xi in x:
        interp.set_tensor(inp["index"], xi[None].astype(np.int8))
        interp.invoke()
        s, z = out["quantization"]
        got.append((interp.get_tensor(out["index"]).astype(np.float32) - z) * s)
    want = model(x, training=False).numpy()
    got = np.concatenate(got)
    assert np.abs(got - want).max() <= 0.1 * np.abs(want).max() + 4 * out["quantization"][0]
    assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.99


def test_normalisation_is_folded_and_weights_per_channel(converted) -> None:
    """BN leaves no op behind: MUL = input scale + 2 per block (q*k, a*v), ADD = 2 residuals per block."""
    _, _, report, _ = converted["acoustic_mean"]
    ops, n = Counter(report.op_names), AcousticConfig().num_layers
    assert ops["MUL"] == 1 + 2 * n and ops["ADD"] == 2 * n and ops["LOGISTIC"] == n
    assert ops["MEAN"] == n + 1  # one key-axis sum per block + the pooling
    conv_weights = [t for t in report.tensors if t.is_const and t.dtype == "int8" and len(t.shape) == 4]
    assert sum(len(t.scale) > 1 for t in conv_weights) >= len(conv_weights) - 1  # per-channel (1-channel convs excepted)


def test_int8_op_names_helper() -> None:
    model = build_fusion_model(FusionConfig(acoustic_dim=8, keyword_dim=8, hidden_dim=8))
    rng = np.random.default_rng(1)
    rep = [(rng.random(8, dtype=np.float32), rng.random(8, dtype=np.float32)) for _ in range(4)]
    assert int8_op_names(model, rep) == ["CONCATENATION", "FULLY_CONNECTED", "FULLY_CONNECTED"]


def test_stock_keras_transformer_is_not_mappable() -> None:
    """Stock MHA + LayerNorm + GELU: the converter emits TRANSPOSE, BATCH_MATMUL and GELU (split at block 1)."""
    L = tf.keras.layers
    inp = L.Input((25, 64))
    x = L.LayerNormalization()(inp + L.MultiHeadAttention(4, 16)(inp, inp))
    x = L.LayerNormalization()(x + L.Dense(64)(L.Dense(128, activation="gelu")(x)))
    model = tf.keras.Model(inp, L.Dense(4)(L.GlobalAveragePooling1D()(x)))
    rng = np.random.default_rng(0)
    _, report = _convert(model, [rng.normal(size=(25, 64)).astype(np.float32) for _ in range(4)], pin=None)
    ops = Counter(report.op_names)
    assert {"TRANSPOSE", "BATCH_MATMUL", "GELU"} <= set(ops), ops
    assert {"SQUARED_DIFFERENCE", "RSQRT"} <= set(ops)  # LayerNorm as the converter emits it
    problems = edgetpu_problems(report)
    assert any("TRANSPOSE" in p for p in problems) and any("not 1-D" in p for p in problems)
    assert any("MEAN" in p and "not x/y" in p for p in problems)  # LayerNorm's channel mean


def test_from_keras_model_path_emits_the_same_ops() -> None:
    """convert_int8's fast concrete-function path and TFLiteConverter.from_keras_model agree op for op."""
    cfg = AcousticConfig(num_frames=50, d_model=32, num_heads=2, num_layers=1, ff_dim=64, subsample=2, pooling="flam")
    model = build_acoustic_model(cfg)
    x, _ = tone_dataset(1, 4, cfg.num_frames)
    fast = inspect_tflite(convert_int8(model, list(x), pin_input_range=FEATURE_RANGE))
    keras = inspect_tflite(convert_int8(model, list(x), pin_input_range=FEATURE_RANGE, via_keras=True))
    assert fast.op_names == keras.op_names
    assert [t.shape for t in fast.tensors if not t.is_const] == [t.shape for t in keras.tensors if not t.is_const]
    assert edgetpu_problems(keras) == []
