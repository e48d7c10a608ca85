"""The one reader of ``.tflite`` flatbuffers: ops, tensors, quantisation, constants, metadata.

Every module that looks inside a model (the Edge TPU check, the C export, the converter's
op proof, the latency benchmarks, the cost model, the metadata reader) goes through
:func:`parse` / :func:`read`, so a model is judged by one parser with one set of errors.

The parsed form is the schema's object API (``ModelT``) from ``ai_edge_litert``; the
helpers below name its parts: :func:`op_name` (builtin name or ``CUSTOM:<code>``, and the
version), :func:`tensor_info` (name, type, shape, shape signature, constant or not, scales
and zero points), :func:`const_values`, :func:`serialise`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ai_edge_litert import schema_py_generated as schema

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"
OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
TYPE_NAMES = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
NUMPY_TYPES = {
    "INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "FLOAT32": np.float32, "FLOAT16": np.float16, "BOOL": np.bool_,
}


class TFLiteFileError(ValueError):
    """Not a readable TensorFlow Lite model; ``str(exc)`` is one sentence naming the file."""


def parse(data: bytes | bytearray | memoryview, source: str = "<bytes>") -> Any:
    """The flatbuffer as ``schema.ModelT`` with at least one subgraph, or :class:`TFLiteFileError`."""
    data = bytes(data)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TFLiteFileError(f"{source} is not a TensorFlow Lite model (no 'TFL3' flatbuffer identifier).")
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # corrupt flatbuffer
        raise TFLiteFileError(f"{source} is not a readable TensorFlow Lite model (truncated or corrupt: "
                              f"{type(exc).__name__}).") from exc
    if not model.subgraphs:
        raise TFLiteFileError(f"{source} is a TensorFlow Lite model without a subgraph, so there is nothing to run.")
    return model


def read_bytes(path_or_bytes: str | Path | bytes | bytearray | memoryview) -> tuple[bytes, str]:
    """(bytes, source name) of a path or of bytes; :class:`TFLiteFileError` naming the path otherwise."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(path_or_bytes), "<bytes>"
    path = Path(path_or_bytes)
    try:
        return path.read_bytes(), str(path)
    except FileNotFoundError:
        raise TFLiteFileError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise TFLiteFileError(f"{path} is a folder, not a .tflite model file.") from None
    except OSError as exc:
        raise TFLiteFileError(f"{path} cannot be read ({exc.strerror or exc}).") from exc


def text(value: Any) -> str:
    """A flatbuffer string (bytes or str) as str."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def op_name(model: Any, opcode_index: int) -> tuple[str, int]:
    """Builtin name (or ``CUSTOM:<code>``) and version of an operator code."""
    code = model.operatorCodes[opcode_index]
    builtin = max(int(code.builtinCode or 0), int(code.deprecatedBuiltinCode or 0))
    name = OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        name = f"CUSTOM:{text(code.customCode)}"
    return name, int(code.version or 1)


def is_constant(model: Any, tensor: Any) -> bool:
    """True when the tensor has data in a buffer (weights, biases, shapes)."""
    buf = model.buffers[tensor.buffer] if 0 < tensor.buffer < len(model.buffers) else None
    return buf is not None and buf.data is not None and len(buf.data) > 0


@dataclass(frozen=True)
class TensorInfo:
    """One tensor: ``dtype`` is the schema's name (``INT8``, ``FLOAT32``, ...); shapes in elements;
    ``scales``/``zero_points`` per channel (empty when not quantised)."""

    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    signature: tuple[int, ...]
    constant: bool
    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()

    @property
    def scale(self) -> float:
        return self.scales[0] if self.scales else 0.0

    @property
    def zero_point(self) -> int:
        return self.zero_points[0] if self.zero_points else 0

    @property
    def numpy_dtype(self) -> Any:
        return NUMPY_TYPES.get(self.dtype, np.int8)


def tensor_info(model: Any, index: int, subgraph: int = 0) -> TensorInfo:
    t = model.subgraphs[subgraph].tensors[int(index)]
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
    signature = tuple(int(d) for d in t.shapeSignature) if t.shapeSignature is not None else shape
    q = t.quantization
    scales = tuple(float(s) for s in q.scale) if q is not None and q.scale is not None else ()
    zps = tuple(int(z) for z in q.zeroPoint) if q is not None and q.zeroPoint is not None else ()
    return TensorInfo(int(index), text(t.name), TYPE_NAMES.get(t.type, str(t.type)), shape, signature,
                      is_constant(model, t), scales, zps)


def const_values(model: Any, index: int, subgraph: int = 0) -> np.ndarray | None:
    """A constant tensor's values in its shape (None for activations and unknown types)."""
    t = model.subgraphs[subgraph].tensors[int(index)]
    if not is_constant(model, t):
        return None
    dtype = NUMPY_TYPES.get(TYPE_NAMES.get(t.type, ""))
    if dtype is None:
        return None
    values = np.frombuffer(bytes(np.asarray(model.buffers[t.buffer].data, np.uint8)), dtype=dtype)
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
    return values.reshape(shape) if int(np.prod(shape, dtype=np.int64)) == values.size else values


def serialise(model: Any) -> bytes:
    """A ``ModelT`` packed back into ``.tflite`` bytes."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@dataclass
class ModelFile:
    """A .tflite read once: its bytes, parsed object-API model and op names in execution order."""

    path: str
    data: bytes
    model: Any  # schema.ModelT
    op_names: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def is_edgetpu_compiled(self) -> bool:
        return any(n == f"CUSTOM:{EDGETPU_CUSTOM_OP}" for n in self.op_names)

    def tensor(self, index: int) -> TensorInfo:
        return tensor_info(self.model, index)

    def tensor_type(self, index: int) -> str:
        return self.tensor(index).dtype

    @property
    def inputs(self) -> list[TensorInfo]:
        sg = self.model.subgraphs[0]
        return [self.tensor(i) for i in (sg.inputs if sg.inputs is not None else [])]

    @property
    def outputs(self) -> list[TensorInfo]:
        sg = self.model.subgraphs[0]
        return [self.tensor(i) for i in (sg.outputs if sg.outputs is not None else [])]

    @property
    def input_types(self) -> list[str]:
        return [t.dtype for t in self.inputs]

    @property
    def is_float(self) -> bool:
        """True when any model input/output or non-constant tensor is float (not full-int8)."""
        sg = self.model.subgraphs[0]
        io = {int(i) for group in (sg.inputs, sg.outputs) if group is not None for i in group}
        for i in range(len(sg.tensors or [])):
            t = self.tensor(i)
            if t.dtype in ("FLOAT32", "FLOAT16") and (not t.constant or i in io):
                return True
        return False


def read(path_or_bytes: str | Path | bytes | bytearray | memoryview) -> ModelFile:
    """Read and parse a .tflite (a path or bytes); :class:`TFLiteFileError` naming the file otherwise."""
    data, source = read_bytes(path_or_bytes)
    model = parse(data, source)
    sg = model.subgraphs[0]
    names = [op_name(model, op.opcodeIndex)[0] for op in (sg.operators or [])]
    return ModelFile(source, data, model, names)


def metadata_bytes(tflite: bytes) -> dict[str, bytes]:
    """All Model.metadata entries as raw bytes (the converter's own included)."""
    model = parse(tflite)
    out: dict[str, bytes] = {}
    for meta in model.metadata or []:
        buf = model.buffers[meta.buffer] if 0 <= meta.buffer < len(model.buffers) else None
        out[text(meta.name)] = bytes(np.asarray(buf.data, np.uint8)) if buf is not None and buf.data is not None else b""
    return out
