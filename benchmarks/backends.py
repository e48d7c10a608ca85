"""Runners for the host backends: LiteRT (two kernel sets), TFLite-Micro, Edge TPU.

Each runner takes the model bytes, exposes ``input_specs()``, ``set_inputs()`` and
``invoke()``; :func:`open_runner` builds one by backend/variant name.

* ``litert/builtin`` — LiteRT's builtin op resolver with its default delegate
  (XNNPACK, which also runs int8 convolutions), one thread: the fastest host figure.
* ``litert/reference`` — ``OpResolverType.BUILTIN_REF``: TFLite's portable reference
  kernels, no delegate: close to what a plain C++ build of the kernels costs.
* ``tflm`` — the TFLite-Micro Python interpreter: the same kernel sources the board's
  Cortex-M7 runs (the board build swaps in CMSIS-NN for conv/FC/pooling), emulated on
  the host: the op mix and arena use are the board's, the times are the host's.
* ``edgetpu`` — LiteRT with Coral's ``libedgetpu.so.1`` delegate (or pycoral's
  ``make_interpreter`` when pycoral is installed) on a USB Accelerator; only for
  models compiled by ``edgetpu_compiler`` (they contain ``edgetpu-custom-op``).

Neither Python API exposes an op profiler (LiteRT's Python ``Interpreter`` has no
profiler hook; the TFLite-Micro wrapper offers ``PrintAllocations`` only), so the
per-op breakdown times each op alone as a one-op model
(:func:`edgeser.benchmarks.latency.single_op_model`) on the same backend.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Sequence

import numpy as np

from edgeser.benchmarks.latency import BenchError, TensorSpec
from edgeser.tflite_file import ModelFile

BACKENDS = ("litert", "tflm", "edgetpu", "board")
LITERT_VARIANTS = ("builtin", "reference")
EDGETPU_LIBRARY = "libedgetpu.so.1"
TFLM_ARENA_START = 64 * 1024
TFLM_ARENA_MAX = 256 * 1024 * 1024


class Runner:
    """One loaded model on one backend."""

    backend = "?"
    variant = ""

    @property
    def label(self) -> str:
        return f"{self.backend}/{self.variant}" if self.variant else self.backend

    def input_specs(self) -> list[TensorSpec]:  # pragma: no cover - interface
        raise NotImplementedError

    def set_inputs(self, arrays: Sequence[np.ndarray]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def invoke(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def outputs(self) -> list[np.ndarray]:  # pragma: no cover - interface
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        return {}


def _details_spec(d: dict[str, Any]) -> TensorSpec:
    q = d.get("quantization_parameters") or {}
    scales = q.get("scales", [])
    zps = q.get("zero_points", [])
    scale, zp = d.get("quantization", (0.0, 0)) if "quantization" in d else (0.0, 0)
    if len(scales):
        scale = float(scales[0])
    if len(zps):
        zp = int(zps[0])
    return TensorSpec(str(d.get("name", "")), tuple(int(x) for x in d["shape"]), np.dtype(d["dtype"]).type, float(scale), int(zp))


class LiteRTRunner(Runner):
    backend = "litert"

    def __init__(self, data: bytes, variant: str = "builtin", num_threads: int = 1, delegates: list | None = None, source: str = "model"):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        if variant not in LITERT_VARIANTS and not delegates:
            raise BenchError(f"unknown LiteRT variant '{variant}': choose one of {', '.join(LITERT_VARIANTS)}.")
        resolver = OpResolverType.BUILTIN_REF if variant == "reference" else OpResolverType.BUILTIN
        self.variant = variant
        try:
            self._it = Interpreter(
                model_content=data,
                num_threads=num_threads,
                experimental_op_resolver_type=resolver,
                experimental_delegates=delegates,
            )
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BenchError(f"LiteRT cannot load {source}: {first}.") from exc
        self._in = self._it.get_input_details()
        self._out = self._it.get_output_details()

    def input_specs(self) -> list[TensorSpec]:
        return [_details_spec(d) for d in self._in]

    def set_inputs(self, arrays: Sequence[np.ndarray]) -> None:
        for d, a in zip(self._in, arrays):
            self._it.set_tensor(d["index"], a)

    def invoke(self) -> None:
        self._it.invoke()

    def outputs(self) -> list[np.ndarray]:
        return [self._it.get_tensor(d["index"]) for d in self._out]


class TFLMRunner(Runner):
    """TFLite-Micro's Python interpreter; the arena grows (x2) from 64 KiB until the model fits."""

    backend = "tflm"

    def __init__(self, data: bytes, arena_size: int | None = None, source: str = "model"):
        from tflite_micro.python.tflite_micro import runtime

        sizes = [arena_size] if arena_size else _doubling(TFLM_ARENA_START, TFLM_ARENA_MAX)
        last: Exception | None = None
        for size in sizes:
            try:
                with _quiet_stderr():
                    self._it = runtime.Interpreter.from_bytes(data, arena_size=size)
                self.arena_size = size
                break
            except (RuntimeError, ValueError) as exc:
                last = exc
        else:
            first = str(last).strip().splitlines()[0] if last and str(last).strip() else "allocation failed"
            raise BenchError(f"TFLite-Micro cannot load {source}: {first}.")
        from edgeser.tflite_file import parse

        sg = parse(data, source).subgraphs[0]
        self._n_in, self._n_out = len(sg.inputs), len(sg.outputs)

    def input_specs(self) -> list[TensorSpec]:
        return [_details_spec(self._it.get_input_details(i)) for i in range(self._n_in)]

    def set_inputs(self, arrays: Sequence[np.ndarray]) -> None:
        for i, a in enumerate(arrays):
            self._it.set_input(a, i)

    def invoke(self) -> None:
        self._it.invoke()

    def outputs(self) -> list[np.ndarray]:
        return [self._it.get_output(i) for i in range(self._n_out)]

    def info(self) -> dict[str, Any]:
        return {"tflm_arena_bytes": self.arena_size}


def _doubling(start: int, stop: int) -> list[int]:
    out, s = [], start
    while s <= stop:
        out.append(s)
        s *= 2
    return out


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the C++ runtime's allocation-failure chatter while probing arena sizes."""
    try:
        fd = os.dup(2)
    except OSError:  # pragma: no cover
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)


# --- Edge TPU ---------------------------------------------------------------------------
def edgetpu_available() -> tuple[bool, str]:
    """(available, how or why not): pycoral first, else LiteRT + libedgetpu.so.1."""
    try:
        from pycoral.utils import edgetpu as pycoral_edgetpu  # type: ignore

        devices = pycoral_edgetpu.list_edge_tpus()
        if devices:
            return True, f"pycoral ({len(devices)} Edge TPU device(s))"
        return False, "pycoral is installed but lists no Edge TPU device"
    except ImportError:
        pass
    except Exception as exc:  # pragma: no cover - hardware-specific
        return False, f"pycoral failed to list devices ({exc})"
    try:
        import ctypes

        ctypes.CDLL(EDGETPU_LIBRARY)  # cheap presence check; avoids LiteRT's noisy failed Delegate
        from ai_edge_litert.interpreter import load_delegate

        load_delegate(EDGETPU_LIBRARY)
        return True, f"LiteRT + {EDGETPU_LIBRARY}"
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return False, f"{EDGETPU_LIBRARY} could not be loaded ({msg})"


def check_edgetpu_model(mf: ModelFile) -> None:
    """Refuse a float model and a model not compiled by edgetpu_compiler (one sentence each)."""
    if mf.is_float:
        raise BenchError(
            f"{mf.path} is a float model: the Edge TPU runs only full-int8 models, so quantise it "
            "(edgeser quantize) and compile it with edgetpu_compiler first."
        )
    if not mf.is_edgetpu_compiled:
        raise BenchError(
            f"{mf.path} is not compiled for the Edge TPU (it has no edgetpu-custom-op): run "
            "edgetpu_compiler on it and benchmark the *_edgetpu.tflite it writes."
        )


class EdgeTPURunner(LiteRTRunner):
    backend = "edgetpu"

    def __init__(self, data: bytes, source: str = "model"):
        try:
            from pycoral.utils import edgetpu as pycoral_edgetpu  # type: ignore

            self.variant = "pycoral"
            it = pycoral_edgetpu.make_interpreter(data)  # pragma: no cover - hardware-specific
            it.allocate_tensors()  # pragma: no cover
            self._it = it  # pragma: no cover
            self._in = it.get_input_details()  # pragma: no cover
            self._out = it.get_output_details()  # pragma: no cover
            return  # pragma: no cover
        except ImportError:
            pass
        from ai_edge_litert.interpreter import load_delegate

        try:
            delegate = load_delegate(EDGETPU_LIBRARY)
        except Exception as exc:
            raise BenchError(
                f"the edgetpu backend needs Coral's Edge TPU runtime ({EDGETPU_LIBRARY}) and a connected "
                f"Edge TPU, and loading it failed: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}."
            ) from exc
        super().__init__(data, variant="libedgetpu", delegates=[delegate], source=source)  # pragma: no cover
        self.variant = "libedgetpu"  # pragma: no cover


# --- factory ---------------------------------------------------------------------------------
def variants_for(backend: str, variant: str | None = None) -> list[str]:
    if backend == "litert":
        if variant in (None, "", "all"):
            return list(LITERT_VARIANTS)
        if variant not in LITERT_VARIANTS:
            raise BenchError(f"unknown LiteRT variant '{variant}': choose one of {', '.join(LITERT_VARIANTS)}.")
        return [variant]
    return [""]


def open_runner(backend: str, data: bytes, variant: str = "", source: str = "model", arena_size: int | None = None) -> Runner:
    if backend == "litert":
        return LiteRTRunner(data, variant or "builtin", source=source)
    if backend == "tflm":
        return TFLMRunner(data, arena_size=arena_size, source=source)
    if backend == "edgetpu":
        return EdgeTPURunner(data, source=source)
    raise BenchError(f"unknown backend '{backend}': choose one of {', '.join(BACKENDS)}.")
