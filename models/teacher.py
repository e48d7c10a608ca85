"""Teachers for knowledge distillation: logits of a trained model on the student's features.

:func:`teacher_logits` runs a teacher on features x [N, T, C] (float32, the same int8
codes the student sees) and returns its logits [N, K], to pass as
``train_classifier(..., teacher_logits=...)`` with ``TrainSettings.loss.distill > 0``.
A teacher is one of:

* a Keras model file (``.keras``, ``.h5``, ``.hdf5``) taking the same feature input;
  edgeser's custom layers are known to the loader;
* an ONNX file (``.onnx``, e.g. a PyTorch model exported with ``torch.onnx.export``), run
  with onnxruntime (pinned, installed by ``make setup``);
* an edgeser run folder (holds ``recipe.yaml``): its trained acoustic model;
* ``egemaps`` (:data:`EGEMAPS`): eGeMAPS functionals + balanced logistic regression,
  cross-fitted over the training speakers. It needs the clips' audio, so the callers that
  have it compute its logits (``evaluation.egemaps.teacher_logits``) and pass them on.

The teacher's input shape must match x's [T, C] and its class count the expected K;
anything else is refused with the file named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
EGEMAPS = "egemaps"  # training.teacher: the eGeMAPS + LR baseline as the teacher


class TeacherError(ValueError):
    """A teacher that cannot be used for these features (names the file and why)."""


def _check_features(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3:
        raise TeacherError(f"features must be [N, T, C], got shape {x.shape}")
    return x.astype(np.float32, copy=False)


def _check_input_shape(source: Path, expected, x: np.ndarray) -> None:
    """``expected``: the teacher's input shape with batch axis (None / str / -1 = any)."""
    dims = list(expected)[1:]
    fixed = lambda d: isinstance(d, (int, np.integer)) and d > 0  # noqa: E731
    if len(dims) != x.ndim - 1 or any(fixed(d) and d != s for d, s in zip(dims, x.shape[1:])):
        raise TeacherError(f"{source}: the teacher takes input {list(expected)}, the features are "
                           f"[N, {', '.join(map(str, x.shape[1:]))}] (frames, channels must match)")


def _check_logits(source: Path, logits: np.ndarray, count: int, num_classes: int | None) -> np.ndarray:
    logits = np.asarray(logits, np.float32)
    if logits.ndim != 2 or len(logits) != count:
        raise TeacherError(f"{source}: the teacher's output has shape {logits.shape}, expected logits [{count}, K]")
    if num_classes is not None and logits.shape[1] != num_classes:
        raise TeacherError(f"{source}: the teacher has {logits.shape[1]} classes, the student {num_classes}")
    if not np.all(np.isfinite(logits)):
        raise TeacherError(f"{source}: the teacher's logits are not all finite")
    return logits


def _keras_logits(model, source: Path, x: np.ndarray, batch_size: int) -> np.ndarray:
    from edgeser.models.training import logits_of

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise TeacherError(f"{source}: the teacher must have one input and one output, "
                           f"has {len(model.inputs)} and {len(model.outputs)}")
    _check_input_shape(source, model.inputs[0].shape, x)
    return logits_of(model, x, batch_size=batch_size)


def _load_keras(source: Path):
    import tensorflow as tf

    from edgeser.models.layers import HeadExpand, HeadReduce, ReduceMean

    custom = {"ReduceMean": ReduceMean, "HeadReduce": HeadReduce, "HeadExpand": HeadExpand}
    try:
        return tf.keras.models.load_model(source, compile=False, custom_objects=custom)
    except Exception as exc:  # corrupt file, unknown layer, wrong format
        raise TeacherError(f"{source}: cannot load the Keras model ({type(exc).__name__}: {exc})") from None


def _onnx_logits(source: Path, x: np.ndarray, batch_size: int) -> np.ndarray:
    try:
        import onnxruntime as ort
    except ImportError:
        raise TeacherError(f"{source}: ONNX teachers need onnxruntime, which is not installed "
                           "(`make setup` installs the pinned version)") from None
    try:
        session = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise TeacherError(f"{source}: cannot load the ONNX model ({type(exc).__name__}: {exc})") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise TeacherError(f"{source}: the teacher must have one input, has {len(inputs)}")
    if inputs[0].type != "tensor(float)":
        raise TeacherError(f"{source}: the teacher's input is {inputs[0].type}, expected tensor(float)")
    shape = inputs[0].shape
    _check_input_shape(source, shape, x)
    fixed_batch = isinstance(shape[0], (int, np.integer)) and shape[0] > 0
    if fixed_batch:
        batch_size = int(shape[0])  # the model takes exactly this many examples
    chunks = []
    for start in range(0, len(x), batch_size):
        part = x[start : start + batch_size]
        short = batch_size - len(part) if fixed_batch else 0
        if short:  # pad the last chunk to the fixed batch size
            part = np.concatenate([part, np.repeat(part[-1:], short, axis=0)])
        out = session.run(None, {inputs[0].name: part})[0]
        chunks.append(out[: len(out) - short])
    return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


def teacher_logits(source: str | Path, x: np.ndarray, num_classes: int | None = None, *,
                   batch_size: int = 256) -> np.ndarray:
    """Logits [N, K] (float32) of the teacher ``source`` on features ``x`` [N, T, C].

    ``source``: a ``.keras``/``.h5`` model file, an ``.onnx`` file, or an edgeser run
    folder (its trained acoustic model). ``num_classes``: the student's K, checked
    against the teacher's output (None: not checked). Raises :class:`TeacherError`
    naming ``source`` when it is missing, of an unknown kind, or does not fit x.
    """
    if str(source) == EGEMAPS:
        raise TeacherError("training.teacher: egemaps is computed from the training clips' audio and labels "
                           "(evaluation.egemaps.teacher_logits); pass its logits instead of the name")
    source = Path(source)
    x = _check_features(x)
    if source.is_dir():
        from edgeser.models.registry import load
        from edgeser.rundir import RunDir, RunDirError

        try:
            run = RunDir.open(source)
        except RunDirError as exc:
            raise TeacherError(str(exc)) from None
        if not (source / "acoustic.weights.npz").is_file():
            raise TeacherError(f"{source}: the run has no trained acoustic model (acoustic.weights.npz); "
                               "run its train_acoustic stage first")
        logits = _keras_logits(load(run, "acoustic"), source, x, batch_size)
    elif not source.is_file():
        raise TeacherError(f"{source}: no such teacher file or run folder")
    elif source.suffix.lower() in KERAS_SUFFIXES:
        logits = _keras_logits(_load_keras(source), source, x, batch_size)
    elif source.suffix.lower() == ".onnx":
        logits = _onnx_logits(source, x, batch_size)
    else:
        raise TeacherError(f"{source}: unknown teacher kind {source.suffix!r}; expected a Keras model "
                           f"({', '.join(KERAS_SUFFIXES)}), an .onnx file or an edgeser run folder")
    return _check_logits(source, logits, len(x), num_classes)
