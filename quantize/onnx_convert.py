"""Users' own ONNX models (PyTorch and others) to full-int8 TFLite for the Edge TPU.

    MODEL.onnx --(onnx2tf)--> tf-keras model (channels last) --(convert_int8, calibration)--> int8 .tflite

onnx2tf turns the ONNX graph (channels first: NCW / NCHW, as PyTorch lays tensors out) into
a channels-last TensorFlow graph, so convolutions need no TRANSPOSE around them. A 3-D
input ``[N, C, W]`` becomes ``[N, W, C]`` and a 4-D ``[N, C, H, W]`` becomes ``[N, H, W, C]``;
the calibration data is given in the ONNX layout and permuted the same way (the int8 model's
input is the channels-last one: say so to the code that feeds it). ``keep_layout=True``
keeps the ONNX input layout instead; onnx2tf then adds a TRANSPOSE after the input, which
the Edge TPU does not map.

The full-int8 conversion is :func:`edgeser.models.convert_check.convert_int8`, the one every
edgeser model goes through (int8 input and output, per-channel weights, int8 builtins only).

onnx2tf pins TensorFlow 2.19 and other versions that conflict with edgeser's; it runs here
on TensorFlow 2.16 with its helper packages installed without their dependencies
(``constraints.txt`` and ``requirements-onnx.txt`` say which).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CHANNELS_LAST = {3: (0, 2, 1), 4: (0, 2, 3, 1), 5: (0, 2, 3, 4, 1)}  # ONNX (channels first) -> onnx2tf


class OnnxConvertError(ValueError):
    """The model or the calibration data cannot be converted; ``str(exc)`` names the file and why."""


@dataclass(frozen=True)
class OnnxInput:
    """One graph input: ``shape`` as the ONNX file declares it (0 = a dynamic dimension)."""

    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass
class OnnxModel:
    """A loaded, checked ONNX model: its inputs and the op types its nodes use."""

    path: Path
    proto: Any
    inputs: list[OnnxInput]
    op_types: dict[str, int] = field(default_factory=dict)  # op type -> count


def onnx2tf_available() -> str | None:
    """None when onnx, onnx2tf and onnxruntime import; else what is missing and how to get it."""
    missing = [m for m in ("onnx", "onnx2tf", "onnxruntime") if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    return (f"{', '.join(missing)} not installed: `make setup` installs the pinned onnx, onnxruntime, torch and "
            "onnx2tf (with its helpers, without their dependencies: requirements-onnx.txt)")


def load_onnx(path: str | Path) -> OnnxModel:
    """Read and check ``path``; raises :class:`OnnxConvertError` naming the file and the problem."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise OnnxConvertError(f"{path}: no such file")
    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
    except Exception as exc:  # DecodeError, ValidationError, ... : all mean "not a usable ONNX file"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxConvertError(f"{path}: not a valid ONNX model ({first[:200]})") from None
    graph = proto.graph
    initialisers = {t.name for t in graph.initializer}
    inputs = []
    for value in graph.input:
        if value.name in initialisers:
            continue
        tensor = value.type.tensor_type
        dims = tuple(int(d.dim_value) if d.HasField("dim_value") else 0 for d in tensor.shape.dim)
        inputs.append(OnnxInput(value.name, dims, onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name))
    if not inputs:
        raise OnnxConvertError(f"{path}: the graph has no inputs")
    op_types: dict[str, int] = {}
    for node in graph.node:
        op_types[node.op_type] = op_types.get(node.op_type, 0) + 1
    return OnnxModel(path, proto, inputs, op_types)


def unconvertible_ops(model: OnnxModel) -> list[str]:
    """Op types of ``model`` that onnx2tf has no converter for (its ``onnx2tf.ops.<OpType>`` modules)."""
    return sorted(op for op in model.op_types if importlib.util.find_spec(f"onnx2tf.ops.{op}") is None)


def read_calibration(source: str | Path, model: OnnxModel) -> list[np.ndarray]:
    """Calibration examples, one ``[n, *shape]`` float32 array per model input (ONNX layout).

    ``source``: a ``.npy`` (one-input models; ``[n, *shape]``, or one example ``shape``), a
    ``.npz`` with one array per input name, or a folder of ``.npy`` files (one-input models;
    each one example or a batch, concatenated in name order). Each example must match the
    input's shape (dynamic dimensions match anything).
    """
    source = Path(source)
    if not source.exists():
        raise OnnxConvertError(f"{source}: no such calibration file or folder")
    if source.is_dir():
        files = sorted(source.glob("*.npy"))
        if not files:
            raise OnnxConvertError(f"{source}: no .npy files in the calibration folder")
        arrays = {model.inputs[0].name: [_load_npy(f) for f in files]}
    elif source.suffix == ".npz" and source.is_file():
        with np.load(source, allow_pickle=False) as z:
            arrays = {k: [z[k]] for k in z.files}
        if len(model.inputs) == 1 and len(arrays) == 1:
            arrays = {model.inputs[0].name: next(iter(arrays.values()))}
    elif source.suffix == ".npy" and source.is_file():
        arrays = {model.inputs[0].name: [_load_npy(source)]}
    else:
        raise OnnxConvertError(f"{source}: calibration must be a .npy or .npz file or a folder of .npy files")
    missing = [i.name for i in model.inputs if i.name not in arrays]
    if missing:
        raise OnnxConvertError(f"{source}: no calibration data for input(s) {', '.join(missing)} "
                               f"(a model with several inputs needs a .npz keyed by input name)")
    out = []
    for spec in model.inputs:
        batch = [_as_batch(a, spec, source) for a in arrays[spec.name]]
        out.append(np.concatenate(batch).astype(np.float32))
    counts = {len(a) for a in out}
    if len(counts) != 1:
        raise OnnxConvertError(f"{source}: the inputs have different numbers of examples ({sorted(counts)})")
    if not np.all([np.isfinite(a).all() for a in out]):
        raise OnnxConvertError(f"{source}: calibration data holds NaN or infinite values")
    return out


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise OnnxConvertError(f"{path}: not a readable .npy file ({exc})") from None


def _as_batch(a: np.ndarray, spec: OnnxInput, source: Path) -> np.ndarray:
    """``a`` as ``[n, *spec.shape[1:]]``: an example without the batch dimension gets one."""
    want = spec.shape[1:]
    if a.ndim == len(want):
        a = a[None]
    ok = a.ndim == len(want) + 1 and all(w in (0, g) for w, g in zip(want, a.shape[1:]))
    if not ok or not np.issubdtype(a.dtype, np.number):
        shown = "x".join(str(d or "?") for d in spec.shape)
        raise OnnxConvertError(f"{source}: input {spec.name!r} takes {shown} ({spec.dtype}); "
                               f"got an array of shape {a.shape} ({a.dtype})")
    return a


def to_keras(model: OnnxModel, keep_layout: bool = False):
    """The ONNX graph as a tf-keras model (onnx2tf, nothing written to disk), batch fixed to 1.

    onnx2tf's own console output is captured; when it fails, the error names the ONNX node
    it stopped at (name and op type) and the last line of its message.
    """
    import onnx2tf

    bad = unconvertible_ops(model)
    if bad:
        raise OnnxConvertError(f"{model.path}: onnx2tf has no converter for op(s) {', '.join(bad)}")
    names = [i.name for i in model.inputs]
    log = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="edgeser_onnx2tf_") as tmp:
        cwd = os.getcwd()
        try:
            os.chdir(tmp)  # onnx2tf may drop helper files into the working folder
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                return onnx2tf.convert(
                    onnx_graph=model.proto, output_folder_path=tmp, batch_size=1, disable_model_save=True,
                    non_verbose=True, keep_ncw_or_nchw_or_ncdhw_input_names=names if keep_layout else None,
                )
        except Exception as exc:
            raise OnnxConvertError(f"{model.path}: onnx2tf could not convert the graph "
                                   f"({_failed_node(model, log.getvalue(), exc)})") from None
        finally:
            os.chdir(cwd)


def _failed_node(model: OnnxModel, log: str, exc: Exception) -> str:
    """``node '/Mul' (Mul): <why>`` from onnx2tf's log, or the exception's last line."""
    why = next((ln.strip() for ln in reversed(str(exc).strip().splitlines()) if ln.strip()), type(exc).__name__)
    found = re.findall(r"onnx_op_name:\s*(\S+)", re.sub(r"\x1b\[[0-9;]*m", "", log))
    if not found:
        return why[:300]
    op_type = next((n.op_type for n in model.proto.graph.node if n.name == found[-1]), "?")
    reason = next((ln.strip() for ln in str(exc).splitlines()
                   if any(k in ln for k in ("must be", "ncompatible", "rror", "shapes"))), why)
    return f"at node {found[-1]!r} ({op_type}): {reason[:300]}"


def keras_layout(samples: list[np.ndarray], keras_model) -> list[np.ndarray]:
    """Calibration arrays (ONNX layout) permuted to the converted model's input layout."""
    out = []
    for x, spec in zip(samples, keras_model.inputs):
        want = tuple(int(d) for d in spec.shape[1:])
        if x.shape[1:] == want:
            out.append(x)
            continue
        perm = CHANNELS_LAST.get(x.ndim)
        if perm is None or tuple(x.transpose(perm).shape[1:]) != want:
            raise OnnxConvertError(f"the converted model takes {want} per example; the calibration data is "
                                   f"{x.shape[1:]} and no channels-last permutation matches")
        out.append(np.ascontiguousarray(x.transpose(perm)))
    return out


def convert_int8_from_onnx(model: OnnxModel, samples: list[np.ndarray], keep_layout: bool = False) -> tuple[bytes, list[np.ndarray]]:
    """Full-int8 TFLite bytes of ``model`` calibrated on ``samples`` (ONNX layout), and the samples in
    the int8 model's input layout."""
    from edgeser.models.convert_check import convert_int8

    keras_model = to_keras(model, keep_layout)
    permuted = keras_layout(samples, keras_model)
    examples = [[x[i] for x in permuted] for i in range(len(permuted[0]))]
    try:
        return convert_int8(keras_model, examples), permuted
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxConvertError(f"{model.path}: the TFLite int8 converter failed ({first[:300]})") from None


def onnx_outputs(model: OnnxModel, samples: list[np.ndarray]) -> np.ndarray:
    """First output of the float ONNX model on every example (onnxruntime, CPU), ``[n, ...]``."""
    import onnxruntime as ort

    session = ort.InferenceSession(model.proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in model.inputs]
    rows = [session.run(None, {n: x[i:i + 1] for n, x in zip(names, samples)})[0] for i in range(len(samples[0]))]
    return np.concatenate(rows)
