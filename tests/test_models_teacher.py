"""Knowledge distillation: teachers (edgeser.models.teacher) and a student that learns from one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.models.teacher import TeacherError, teacher_logits
from edgeser.models.training import LossSettings, TrainSettings, logits_of, seed_everything, train_classifier

T, C, K = 6, 4, 3
REPO = Path(__file__).resolve().parents[1]


def _features(n: int = 90, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (n, T, C)).astype(np.float32)


def _teacher_model():
    """A fixed (untrained) linear teacher on the time-mean of the features; well-spread argmax."""
    import tensorflow as tf

    seed_everything(3)
    inp = tf.keras.Input((T, C))
    out = tf.keras.layers.Dense(K, kernel_initializer=tf.keras.initializers.RandomNormal(0, 3.0, seed=3))(
        tf.keras.layers.GlobalAveragePooling1D()(inp))
    return tf.keras.Model(inp, out, name="teacher")


@pytest.fixture(scope="module")
def saved_teacher(tmp_path_factory):
    path = tmp_path_factory.mktemp("teacher") / "teacher.keras"
    model = _teacher_model()
    model.save(path)
    return path, model


def test_keras_teacher_logits_match_the_model(saved_teacher):
    path, model = saved_teacher
    x = _features(10)
    got = teacher_logits(path, x, num_classes=K)
    assert got.shape == (10, K) and got.dtype == np.float32
    np.testing.assert_allclose(got, model(x, training=False).numpy(), rtol=1e-6, atol=1e-6)


def test_teacher_shape_and_class_mismatch_name_the_file(saved_teacher, tmp_path):
    path, _ = saved_teacher
    with pytest.raises(TeacherError, match=r"teacher\.keras.*frames, channels must match"):
        teacher_logits(path, np.zeros((2, T, C + 1), np.float32))
    with pytest.raises(TeacherError, match=r"teacher\.keras.*3 classes, the student 4"):
        teacher_logits(path, _features(2), num_classes=4)
    with pytest.raises(TeacherError, match=r"\[N, T, C\]"):
        teacher_logits(path, np.zeros((2, T * C), np.float32))
    with pytest.raises(TeacherError, match="no such teacher"):
        teacher_logits(tmp_path / "missing.keras", _features(2))
    odd = tmp_path / "teacher.pt"
    odd.write_bytes(b"x")
    with pytest.raises(TeacherError, match=r"teacher\.pt.*unknown teacher kind"):
        teacher_logits(odd, _features(2))
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    with pytest.raises(TeacherError, match=r"broken\.keras.*cannot load"):
        teacher_logits(broken, _features(2))
    with pytest.raises(TeacherError, match="not a run folder"):
        teacher_logits(tmp_path, _features(2))


def test_onnx_teacher_matches_the_keras_teacher(saved_teacher, tmp_path):
    """The same linear teacher written as ONNX (ReduceMean over time, MatMul, Add) gives the same logits
    through onnxruntime, with a dynamic and with a fixed batch; a broken .onnx is named."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    _, model = saved_teacher
    kernel, bias = model.layers[-1].get_weights()
    x = _features(10)
    for batch in ("N", 4):  # 4: the last chunk of 10 is padded and cut back
        graph = helper.make_graph(
            [helper.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=0),
             helper.make_node("MatMul", ["m", "w"], ["mw"]), helper.make_node("Add", ["mw", "b"], ["y"])],
            "teacher", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, T, C])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, K])],
            initializer=[numpy_helper.from_array(kernel, "w"), numpy_helper.from_array(bias, "b")],
        )
        path = tmp_path / f"teacher_{batch}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
        got = teacher_logits(path, x, num_classes=K)
        np.testing.assert_allclose(got, model(x, training=False).numpy(), rtol=1e-5, atol=1e-5)
    broken = tmp_path / "teacher.onnx"
    broken.write_bytes(b"\x08\x07")
    with pytest.raises(TeacherError, match=r"teacher\.onnx: cannot load the ONNX model"):
        teacher_logits(broken, _features(2))


def test_run_folder_teacher(tiny_run):
    import json

    from edgeser.models.registry import load as run_model
    from edgeser.rundir import RunDir

    with np.load(tiny_run / "features.npz") as data:
        x = data["x"][:8].astype(np.float32)
    k = len(json.loads((tiny_run / "labels.json").read_text())["emotions"])
    got = teacher_logits(tiny_run, x, num_classes=k)
    np.testing.assert_allclose(got, logits_of(run_model(RunDir.open(tiny_run), "acoustic"), x), rtol=1e-5, atol=1e-5)
    with pytest.raises(TeacherError, match=f"{tiny_run.name}.*classes"):
        teacher_logits(tiny_run, x, num_classes=k + 1)


def test_distillation_moves_the_student_to_the_teacher(saved_teacher):
    """Trained on the teacher's logits alone (ce 0, distill 1), the student takes its decisions."""
    import tensorflow as tf

    path, _ = saved_teacher
    x = _features(96, seed=1)
    soft = teacher_logits(path, x, num_classes=K)
    decided = soft.argmax(-1)
    assert len(set(decided.tolist())) == K  # a teacher that uses every class

    seed_everything(0)
    inp = tf.keras.Input((T, C))
    hidden = tf.keras.layers.Dense(16, activation="relu")(tf.keras.layers.Flatten()(inp))
    student = tf.keras.Model(inp, tf.keras.layers.Dense(K)(hidden), name="student")
    before = float(np.mean(logits_of(student, x).argmax(-1) == decided))
    settings = TrainSettings(epochs=12, batch_size=32, learning_rate=2e-2, patience=12, class_weighting=False,
                             loss=LossSettings(ce=0.0, distill=1.0, distill_temperature=2.0))
    # labels only drive early stopping / UA here: the student never sees them in its loss
    history = train_classifier(student, (x, decided), (x, decided), K, settings, seed=0, progress=False,
                               teacher_logits=soft)
    after = float(np.mean(logits_of(student, x).argmax(-1) == decided))
    assert history.loss[-1] < history.loss[0]
    assert after >= 0.9 and after > before


def test_per_clip_teacher_logits_follow_the_random_crops():
    from edgeser.recipe import load_recipe
    from edgeser.search_space import apply_params
    from edgeser.train_options import per_example_teacher

    with pytest.raises(TeacherError, match="computed from the training clips' audio"):
        teacher_logits("egemaps", _features(2))
    base = load_recipe(REPO / "configs" / "demo.yaml")
    recipe = apply_params(base, {"training.random_crops": 2})
    clips = np.arange(6, dtype=np.float32).reshape(3, 2)
    rows = per_example_teacher(recipe, clips, 3, 9)
    # the clips, then each clip's crops in clip order (as extra_examples makes them)
    np.testing.assert_array_equal(rows, np.concatenate([clips, clips[[0, 0, 1, 1, 2, 2]]]))
    with pytest.raises(TeacherError, match=r"not \[4, K\]"):
        per_example_teacher(recipe, clips, 4, 12)
    with pytest.raises(TeacherError, match="EAM or CO-VADA"):
        per_example_teacher(apply_params(base, {"training.eam.enabled": True}), clips, 3, 3)


def test_the_pipeline_distils_from_the_egemaps_teacher(tmp_path):
    """A tiny demo with training.teacher: egemaps: every training clip scored once (its eGeMAPS
    vector cached in the run), and the student trains on CE + distillation."""
    import json

    from conftest import tiny_variant_run

    out = tiny_variant_run(tmp_path, "tiny_egemaps_teacher", {
        "training": {"teacher": "egemaps", "acoustic": {"epochs": 2, "patience": 2, "loss": {"ce": 1.0, "distill": 1.0}}}})
    train = json.loads((out / "manifest.json").read_text())["stages"]["train_acoustic"]["summary"]
    with np.load(out / "features.npz") as data:
        clips = len(data["split_train"])
    assert train["teacher_clips"] == clips > 0
    assert len(list((out / "cache" / "egemaps").rglob("*.npy"))) == clips
