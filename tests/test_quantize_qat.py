"""Quantisation-aware training (edgeser.quantize.qat) on a tiny acoustic transformer.

One float model is trained once on tone features (edgeser.models.synthetic), then
quantised two ways: PTQ of the float model, and QAT fine-tuning followed by the same
converter. Checked: same int8 op list, int8 in/out, 100 % predicted Edge TPU mapping,
the int8 model after QAT tracks its float model at least as well as PTQ's does, and
QAT is deterministic for a seed.

Training runs with ``tf.config.run_functions_eagerly(True)``: on 24 examples tracing the
fit/evaluate/predict graphs (float and QAT) costs over a minute on 2 busy cores, eager
steps a few seconds. The conversion traces its own graph as always.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

pytest.importorskip("tensorflow_model_optimization", reason="QAT needs tensorflow-model-optimization")

import edgeser  # noqa: E402,F401  (tf-keras before TensorFlow)
from edgeser.models.acoustic import AcousticConfig, build_acoustic_model  # noqa: E402
from edgeser.models.convert_check import inspect_tflite  # noqa: E402
from edgeser.models.synthetic import tone_dataset  # noqa: E402
from edgeser.models.fusion import FusionConfig, build_fusion_model  # noqa: E402
from edgeser.models.training import TrainSettings, seed_everything, train_classifier  # noqa: E402
from edgeser.evaluation.int8 import compare_float_int8, run_int8  # noqa: E402
from edgeser.quantize.convert import quantize_keras_model  # noqa: E402
from edgeser.quantize.edgetpu_check import check_model  # noqa: E402
from edgeser.quantize.qat import qat_embedding_model, qat_finetune  # noqa: E402

PIN = (-128.0, 127.0)
CFG = AcousticConfig(num_frames=12, num_channels=8, d_model=8, num_heads=2, num_layers=1, ff_dim=8,
                     subsample=2, num_classes=3, embedding_dim=8, dropout=0.0)
QAT_SETTINGS = TrainSettings(epochs=2, batch_size=12, learning_rate=3e-4, class_weighting=False)


@contextlib.contextmanager
def _eager():
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    try:
        with warnings.catch_warnings():  # tf.data's own functions still trace: expected here
            warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run_functions_eagerly`")
            yield
    finally:
        tf.config.run_functions_eagerly(False)


def _relative_error(keras_model, tflite: bytes, x: np.ndarray) -> float:
    """Mean |float - int8| logit error over the float logits' spread (scale-free)."""
    f = np.asarray(keras_model(x, training=False))
    return float(np.mean(np.abs(f - run_int8(tflite, x))) / (np.std(f) + 1e-12))


@pytest.fixture(scope="module")
def trained():
    x, y = tone_dataset(8, 3, CFG.num_frames, CFG.num_channels, seed=1)
    seed_everything(0)
    model = build_acoustic_model(CFG)
    settings = TrainSettings(epochs=6, batch_size=12, learning_rate=1e-2, class_weighting=False)
    with _eager():
        train_classifier(model, (x, y), (x, y), 3, settings, seed=0, progress=False)
    representative = [x[i : i + 1] for i in range(len(x))]
    ptq = quantize_keras_model(model, representative, pin_input_range=PIN)
    float_weights = [w.copy() for w in model.get_weights()]
    with _eager():
        qat = qat_finetune(model, (x, y), (x, y), 3, QAT_SETTINGS, seed=0)
    qat_int8 = quantize_keras_model(qat, representative, pin_input_range=PIN)
    return {"x": x, "y": y, "float": model, "ptq": ptq, "qat": qat, "qat_int8": qat_int8, "rep": representative,
            "float_weights": float_weights}


def test_qat_converts_to_the_same_int8_ops_and_maps(trained):
    ptq, qat = inspect_tflite(trained["ptq"]), inspect_tflite(trained["qat_int8"])
    assert qat.op_names == ptq.op_names
    assert "QUANTIZE" not in qat.op_names and "DEQUANTIZE" not in qat.op_names
    for index in (*qat.inputs, *qat.outputs):
        assert qat.tensors[index].dtype == "int8"
    # pin_input_range still gives the board's feature codes: scale 1, zero point 0.
    assert qat.tensors[qat.inputs[0]].scale == (1.0,) and qat.tensors[qat.inputs[0]].zero_point == (0,)
    report = check_model(trained["qat_int8"]).to_dict()
    assert report["cpu_count"] == 0 and report["mapped_count"] == len(qat.op_names)


def test_qat_int8_tracks_its_float_model_at_least_as_well_as_ptq(trained):
    x, y = trained["x"], trained["y"]
    ptq = compare_float_int8(trained["float"], trained["ptq"], x, y, 3)
    qat = compare_float_int8(trained["qat"], trained["qat_int8"], x, y, 3)
    print(f"\nPTQ {ptq}\nQAT {qat}\nrelative logit error PTQ "
          f"{_relative_error(trained['float'], trained['ptq'], x):.4f} QAT {_relative_error(trained['qat'], trained['qat_int8'], x):.4f}")
    assert qat.argmax_agreement >= ptq.argmax_agreement
    assert qat.argmax_agreement >= 0.95
    # Scale-free logit error: QAT's int8 model follows its float model more closely.
    assert _relative_error(trained["qat"], trained["qat_int8"], x) <= _relative_error(trained["float"], trained["ptq"], x)
    # ... and QAT did not wreck the classifier it started from.
    assert qat.int8_wa >= ptq.float_wa - 0.15


def test_qat_ranges_start_from_calibration_not_tfmot_default(trained):
    # tfmot starts every activation range at [-6, 6]; two epochs of EMA (decay 0.999)
    # would leave the logits' int8 step ~0.047. calibrate_ranges puts it where PTQ does.
    def out_scale(buf):
        r = inspect_tflite(buf)
        return r.tensors[r.outputs[0]].scale[0]

    ratio = out_scale(trained["qat_int8"]) / out_scale(trained["ptq"])
    assert 0.5 < ratio < 2.0


def test_qat_multi_input_fusion_head_converts():
    rng = np.random.default_rng(0)
    acoustic = rng.normal(size=(16, 8)).astype(np.float32)
    keywords = np.abs(rng.normal(size=(16, 8))).astype(np.float32)
    y = rng.integers(0, 3, 16)
    seed_everything(0)
    fusion = build_fusion_model(FusionConfig(acoustic_dim=8, keyword_dim=8, hidden_dim=8, num_classes=3))
    with _eager():
        qat = qat_finetune(fusion, ([acoustic, keywords], y), ([acoustic, keywords], y), 3,
                           TrainSettings(epochs=1, batch_size=8, learning_rate=1e-4), seed=0)
    representative = [[acoustic[i : i + 1], keywords[i : i + 1]] for i in range(16)]
    names = inspect_tflite(quantize_keras_model(qat, representative)).op_names
    assert names == inspect_tflite(quantize_keras_model(fusion, representative)).op_names
    assert names == ["CONCATENATION", "FULLY_CONNECTED", "FULLY_CONNECTED"]


def test_qat_embedding_cut_converts(trained):
    emb = quantize_keras_model(qat_embedding_model(trained["qat"]), trained["rep"], pin_input_range=PIN)
    names = inspect_tflite(emb).op_names
    assert names == inspect_tflite(trained["ptq"]).op_names[:-1]  # the same net without the logits FC
    assert check_model(emb).to_dict()["cpu_count"] == 0


def test_qat_is_deterministic_for_a_seed(trained):
    x, y = trained["x"], trained["y"]
    with _eager():
        again = qat_finetune(trained["float"], (x, y), (x, y), 3, QAT_SETTINGS, seed=0)
    first = trained["qat"].get_weights()
    assert len(first) > len(trained["float_weights"])  # quantiser ranges and step counters came in
    for wa, wb in zip(first, again.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    # The float model QAT started from is left as it was.
    for before, after in zip(trained["float_weights"], trained["float"].get_weights()):
        np.testing.assert_array_equal(before, after)
