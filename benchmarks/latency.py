"""Latency measurement core: statistics, benchmark inputs, model reading, one-op sub-models.

Models are read by the one ``.tflite`` reader, :mod:`edgeser.tflite_file`.

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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from edgeser import tflite_file
from edgeser.tflite_file import ModelFile

RANDOM_SEED = 0



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


def input_specs(mf: ModelFile) -> list[TensorSpec]:
    """The model's inputs as runner input specs (shape, numpy dtype, first scale and zero point)."""
    return [TensorSpec(t.name, t.shape, t.numpy_dtype, t.scale, t.zero_point) for t in mf.inputs]


def read_model(path: str | Path) -> ModelFile:
    """Read and parse a .tflite (:func:`edgeser.tflite_file.read`); :class:`BenchError`
    with one sentence naming the file otherwise."""
    try:
        return tflite_file.read(Path(path))
    except tflite_file.TFLiteFileError as exc:
        raise BenchError(str(exc)) from None


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
            from edgeser.quantize.arith import quantize_input

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
def single_op_model(data: bytes, op_index: int) -> bytes:
    """A model that runs only op ``op_index`` of the main subgraph.

    Its non-constant inputs become the model inputs, its outputs the model outputs;
    weights, quantisation and options are the original's. Tensors the op does not use
    are dropped (TFLite-Micro's planner rejects tensors without a lifetime).
    """
    model = tflite_file.parse(data)
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
    sg.inputs = list(dict.fromkeys(i for i in (op.inputs or []) if i >= 0 and not tflite_file.is_constant(model, sg.tensors[i])))
    sg.outputs = list(op.outputs or [])
    model.subgraphs = [sg]
    model.signatureDefs = []
    return tflite_file.serialise(model)
