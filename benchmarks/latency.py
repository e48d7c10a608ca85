"""Latency measurement core: statistics, benchmark inputs, model reading, one-op sub-models.

Everything here is backend-neutral; :mod:`edgeser.benchmarks.backends` supplies the
runners (LiteRT, TFLite-Micro, Edge TPU) that :func:`measure` times.

Timing method: ``warmup`` un-timed invocations, then ``runs`` invocations each timed
alone with :func:`time.perf_counter_ns` around the runner's ``invoke()`` only (inputs
are written once before the warm-up; the kernels used here are data-independent in
time, so re-writing the same tensor each run would only add copy time). Percentiles
use NumPy's default linear interpolation, so min ≤ median ≤ p90 ≤ p99 ≤ max always.

Benchmark inputs: the model's real input shape and dtype. With ``--input FILE.npy``
the first input is filled from that features file (int8 features as the frontend
writes them; float features are quantised with the input's scale/zero point; a
longer ``[frames, channels]`` array is cut to the model's window). Otherwise — and for
any further inputs — deterministic random values from ``numpy.random.default_rng(0)``
over the dtype's full range (int8: -128..127). Latency of these int8 kernels does not
depend on the values.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ai_edge_litert import schema_py_generated as schema

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"
RANDOM_SEED = 0

_TYPE_NAMES = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
_NP_TYPES = {
    "INT8": np.int8,
    "UINT8": np.uint8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "BOOL": np.bool_,
}


class BenchError(Exception):
    """A user-facing failure; ``str(exc)`` is one sentence naming the file or device."""


# --- statistics -------------------------------------------------------------------
@dataclass
class LatencyStats:
    """Invocation times in milliseconds (``None`` where a source reports no such figure)."""

    n: int
    min_ms: float
    median_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float
    mean_ms: float

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float]) -> "LatencyStats":
        a = np.asarray(samples_ms, dtype=np.float64)
        if a.size == 0:
            raise ValueError("no timing samples")
        p = np.percentile(a, [50, 90, 99])
        return cls(
            n=int(a.size),
            min_ms=float(a.min()),
            median_ms=float(p[0]),
            p90_ms=float(p[1]),
            p99_ms=float(p[2]),
            max_ms=float(a.max()),
            mean_ms=float(a.mean()),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def time_calls(fn: Callable[[], Any], warmup: int, runs: int) -> np.ndarray:
    """Call ``fn`` ``warmup`` times untimed, then ``runs`` times timed; milliseconds per call."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    for _ in range(max(0, warmup)):
        fn()
    out = np.empty(runs, dtype=np.float64)
    clock = time.perf_counter_ns
    for i in range(runs):
        t0 = clock()
        fn()
        out[i] = clock() - t0
    return out / 1e6


# --- model reading ------------------------------------------------------------------
@dataclass(frozen=True)
class TensorSpec:
    """What a runner needs to build an input: shape, numpy dtype, quantisation."""

    name: str
    shape: tuple[int, ...]
    dtype: Any
    scale: float = 0.0
    zero_point: int = 0


@dataclass
class ModelFile:
    """A .tflite read once: its bytes, parsed object-API model and a few facts."""

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

    def tensor_type(self, index: int) -> str:
        t = self.model.subgraphs[0].tensors[index]
        return _TYPE_NAMES.get(t.type, str(t.type))

    @property
    def input_types(self) -> list[str]:
        sg = self.model.subgraphs[0]
        return [self.tensor_type(i) for i in (sg.inputs if sg.inputs is not None else [])]

    @property
    def is_float(self) -> bool:
        """True when any model input/output or non-constant tensor is float (not full-int8)."""
        sg = self.model.subgraphs[0]
        for i, t in enumerate(sg.tensors or []):
            if _TYPE_NAMES.get(t.type) not in ("FLOAT32", "FLOAT16"):
                continue
            buf = self.model.buffers[t.buffer] if 0 < t.buffer < len(self.model.buffers) else None
            constant = buf is not None and buf.data is not None and len(buf.data) > 0
            if not constant or i in set(sg.inputs or []) | set(sg.outputs or []):
                return True
        return False

    def input_specs(self) -> list[TensorSpec]:
        sg = self.model.subgraphs[0]
        return [_spec(sg.tensors[i]) for i in (sg.inputs if sg.inputs is not None else [])]


def _spec(t: Any) -> TensorSpec:
    name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
    q = t.quantization
    scale = float(q.scale[0]) if q is not None and q.scale is not None and len(q.scale) else 0.0
    zp = int(q.zeroPoint[0]) if q is not None and q.zeroPoint is not None and len(q.zeroPoint) else 0
    return TensorSpec(name, shape, _NP_TYPES.get(_TYPE_NAMES.get(t.type, ""), np.int8), scale, zp)


def op_name(model: Any, opcode_index: int) -> str:
    """Builtin name (or ``CUSTOM:<code>``) of an operator code (the check's own parser)."""
    from edgeser.quantize.edgetpu_check import op_name as name_and_version

    return name_and_version(model, opcode_index)[0]


def parse_model(data: bytes, source: str) -> Any:
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise BenchError(f"{source} is not a TensorFlow Lite model (no 'TFL3' flatbuffer identifier).")
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # corrupt flatbuffer
        raise BenchError(f"{source} is not a readable TensorFlow Lite model ({type(exc).__name__}).") from exc
    if not model.subgraphs:
        raise BenchError(f"{source} is a TensorFlow Lite model without a subgraph, so there is nothing to run.")
    return model


def read_model(path: str | Path) -> ModelFile:
    """Read and parse a .tflite; :class:`BenchError` with one sentence naming the file otherwise."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BenchError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise BenchError(f"{path} is a folder, not a .tflite model file.") from None
    except OSError as exc:
        raise BenchError(f"{path} cannot be read ({exc.strerror or exc}).") from exc
    model = parse_model(data, str(path))
    sg = model.subgraphs[0]
    names = [op_name(model, op.opcodeIndex) for op in (sg.operators or [])]
    return ModelFile(str(path), data, model, names)


# --- inputs -------------------------------------------------------------------------
def random_input(spec: TensorSpec, seed: int = RANDOM_SEED) -> np.ndarray:
    """Deterministic random values over the dtype's full range (floats: standard normal)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(spec.dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = (max(info.min, -128), min(info.max, 127)) if dtype.itemsize > 1 else (info.min, info.max)
        return rng.integers(lo, int(hi) + 1, size=spec.shape, dtype=dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=spec.shape).astype(np.bool_)
    return rng.standard_normal(spec.shape).astype(dtype)


def features_input(spec: TensorSpec, features: np.ndarray, source: str = "features") -> np.ndarray:
    """Fit a features array to the input: quantise floats, cut ``[frames, C]`` to the window."""
    arr = np.asarray(features)
    want = int(np.prod(spec.shape)) if spec.shape else 1
    dtype = np.dtype(spec.dtype)
    if arr.dtype.kind == "f" and dtype.kind in "iu":
        if spec.scale > 0:
            from edgeser.quantize.compare import quantize_input

            arr = quantize_input(arr, spec.scale, spec.zero_point, dtype)
        else:
            info = np.iinfo(dtype)
            arr = np.clip(arr, info.min, info.max)
    if arr.size == want:
        return arr.astype(dtype).reshape(spec.shape)
    core = [d for d in spec.shape if d != 1] or [1]  # e.g. [1, 49, 40, 1] -> frames x channels
    last = core[-1]
    if arr.ndim >= 2 and arr.shape[-1] == last and arr.size > want:
        flat = arr.reshape(-1, last)[: want // last]
        return flat.astype(dtype).reshape(spec.shape)
    raise BenchError(
        f"{source} holds an array of shape {list(arr.shape)}, which does not fit the model input "
        f"'{spec.name}' of shape {list(spec.shape)}."
    )


def load_features(path: str | Path) -> np.ndarray:
    path = Path(path)
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise BenchError(f"{path} does not exist.") from None
    except Exception as exc:
        raise BenchError(f"{path} is not a readable .npy features file ({type(exc).__name__}).") from exc


def make_inputs(specs: Sequence[TensorSpec], features: np.ndarray | None = None, source: str = "features") -> tuple[list[np.ndarray], str]:
    """Inputs for every model input and a one-line description of where they came from."""
    out = []
    for k, spec in enumerate(specs):
        if k == 0 and features is not None:
            out.append(features_input(spec, features, source))
        else:
            out.append(random_input(spec, RANDOM_SEED + k))
    if features is not None:
        how = f"input 0 from {source}" + ("; others deterministic random" if len(specs) > 1 else "")
    else:
        how = f"deterministic random (numpy default_rng({RANDOM_SEED}), full dtype range)"
    return out, how


# --- one-op sub-models (per-op timing by isolation) ---------------------------------------
def _is_constant(model: Any, t: Any) -> bool:
    buf = model.buffers[t.buffer] if 0 < t.buffer < len(model.buffers) else None
    return buf is not None and buf.data is not None and len(buf.data) > 0


def single_op_model(data: bytes, op_index: int) -> bytes:
    """A model that runs only op ``op_index`` of the main subgraph.

    Its non-constant inputs become the model inputs, its outputs the model outputs;
    weights, quantisation and options are the original's. Tensors the op does not use
    are dropped (TFLite-Micro's planner rejects tensors without a lifetime).
    """
    import flatbuffers

    model = schema.ModelT.InitFromPackedBuf(data, 0)
    sg = model.subgraphs[0]
    op = copy.deepcopy(sg.operators[op_index])
    used: list[int] = []
    for group in (op.inputs, op.outputs, op.intermediates):
        for i in (group if group is not None else []):
            if i >= 0 and i not in used:
                used.append(int(i))
    remap = {old: new for new, old in enumerate(used)}
    sg.tensors = [sg.tensors[i] for i in used]

    def fix(group):
        if group is None:
            return group
        return [remap[int(i)] if i >= 0 else int(i) for i in group]

    op.inputs, op.outputs, op.intermediates = fix(op.inputs), fix(op.outputs), fix(op.intermediates)
    sg.operators = [op]
    sg.inputs = list(dict.fromkeys(i for i in (op.inputs or []) if i >= 0 and not _is_constant(model, sg.tensors[i])))
    sg.outputs = list(op.outputs or [])
    model.subgraphs = [sg]
    model.signatureDefs = []
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())
