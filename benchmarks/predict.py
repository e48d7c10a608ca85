"""*Predicted* latency on the Coral Dev Board Micro: an analytic cost model, not a measurement.

What it computes, op by op from the .tflite flatbuffer (shapes, weights):

* **MACs per op** (:func:`op_costs`): CONV_2D = output elements × kh·kw·cin;
  DEPTHWISE_CONV_2D = output elements × kh·kw; FULLY_CONNECTED = output elements ×
  input features; BATCH_MATMUL = output elements × K; TRANSPOSE_CONV = input elements ×
  kh·kw·cout; elementwise ops (ADD, SUB, MUL, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, …) =
  one per output element; pooling = output elements × window; MEAN/SUM/REDUCE_* = input
  elements; everything else 0 MACs (counted as data movement by output elements).
* **Where each op runs**: the colleague's static check
  (:func:`edgeser.quantize.edgetpu_check.check_model`) says which ops map to the Edge
  TPU (``on_cpu`` False) and which fall to the CPU after the single split.
* **Edge TPU part** (ops mapped): ``EDGETPU_INVOKE_MS`` fixed cost per invoke
  + input/output bytes of the mapped segment over the link
  + MACs / (``EDGETPU_PEAK_MACS`` × ``EDGETPU_EFFICIENCY``)
  + parameter bytes beyond the on-chip cache (``EDGETPU_CACHE_BYTES``) streamed over
  the link on every invoke.
* **CPU part** (ops after the split, or all ops when nothing maps): Cortex-M7 cycles
  at ``M7_HZ`` from per-MAC / per-element costs like CMSIS-NN's int8 kernels
  (:data:`M7_CYCLES_PER_MAC`, :data:`M7_CYCLES_PER_ELEMENT`) + ``M7_OP_OVERHEAD_CYCLES``
  per op (TFLite-Micro's dispatch).

Calibration (see docs/benchmarks.md for the table of published vs predicted):
``EDGETPU_EFFICIENCY``, ``EDGETPU_INVOKE_MS`` and ``USB3_BYTES_PER_S`` are fitted (least
squares on log time, :func:`fit_calibration`) to Coral's published per-model latencies
of the USB Accelerator on a desktop over USB 3.0 — coral.ai/docs/edgetpu/benchmarks
("Edge TPU performance benchmarks", Table 1, column "Desktop CPU + USB Accelerator (USB
3.0) with Edge TPU") and coral.ai/models/image-classification (column "Latency"). Coral
publishes no per-model table for the Dev Board Micro, so the board prediction swaps the
link for the board's internal USB 2.0 high-speed link (``USB2_HS_BYTES_PER_S``, an
assumption below the 480 Mbit/s line rate) and adds ``BOARD_EXTRA_INVOKE_MS`` for the
M7's USB host stack (an assumption). MACs/params of the reference networks are the
authors' published counts (Howard et al. 2017, MobileNets, Tables 6–8; Sandler et al.
2018, MobileNetV2). The M7 cycle costs are assumptions in the range of CMSIS-NN's int8
kernels (dual 16-bit MAC per cycle via SMLAD, plus im2col/requantisation overhead); they
are not calibrated against a board measurement — compare with ``--backend board``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from edgeser.benchmarks.latency import BenchError, read_model
from edgeser.tflite_file import ModelFile

# --- Edge TPU (Coral USB Accelerator / Dev Board Micro module) ------------------------------
#: 4 TOPS peak int8 (Coral USB Accelerator and Dev Board Micro datasheets) = 2 TMAC/s.
EDGETPU_PEAK_MACS = 2.0e12
#: Fraction of peak reached on real layers; fitted to Coral's published latencies (fit_calibration).
EDGETPU_EFFICIENCY = 0.28
#: Fixed cost per invoke on a desktop host (driver, USB round trips); fitted.
EDGETPU_INVOKE_MS = 0.95
#: Effective USB 3.0 bulk throughput for activations and streamed parameters; fitted.
USB3_BYTES_PER_S = 460e6
#: On-chip parameter cache: "roughly 8 MB of SRAM" (Coral, "Edge TPU Compiler" docs, parameter data caching).
EDGETPU_CACHE_BYTES = 8 * 1024 * 1024

# --- Dev Board Micro specifics (assumptions, not fitted) ---------------------------------------
#: USB 2.0 high speed: 480 Mbit/s line rate = 60 MB/s; bulk payload at most 53.2 MB/s
#: (13 x 512-byte packets per 125 us microframe); we assume 40 MB/s for the M7's host stack.
USB2_HS_BYTES_PER_S = 40e6
#: Extra per-invoke cost of the M7's USB host stack and libedgetpu-micro over a desktop (assumed).
BOARD_EXTRA_INVOKE_MS = 0.3

# --- Cortex-M7 at 800 MHz (i.MX RT1176), CMSIS-NN-like int8 kernel costs (assumptions) -----------
M7_HZ = 800e6
M7_CYCLES_PER_MAC: dict[str, float] = {
    "CONV_2D": 1.0,  # SMLAD: 2 MACs/cycle peak; ~50 % with im2col, requantisation
    "DEPTHWISE_CONV_2D": 2.0,  # no channel reuse: ~1 MAC/cycle at best
    "FULLY_CONNECTED": 1.5,  # weights streamed from flash/SDRAM
    "BATCH_MATMUL": 3.0,  # TFLite-Micro reference kernel (no CMSIS-NN version)
    "TRANSPOSE_CONV": 3.0,  # reference kernel
    "AVERAGE_POOL_2D": 1.5,
    "MAX_POOL_2D": 1.5,
    "MEAN": 2.0,
    "SUM": 2.0,
    "REDUCE_MAX": 2.0,
    "REDUCE_MIN": 2.0,
}
#: Cycles per output element for elementwise and data-movement ops (requantisation included).
M7_CYCLES_PER_ELEMENT: dict[str, float] = {
    "ADD": 6.0,
    "SUB": 6.0,
    "MUL": 6.0,
    "SQUARED_DIFFERENCE": 8.0,
    "MAXIMUM": 3.0,
    "MINIMUM": 3.0,
    "RELU": 2.0,
    "RELU6": 2.0,
    "LOGISTIC": 20.0,
    "TANH": 20.0,
    "HARD_SWISH": 12.0,
    "SOFTMAX": 40.0,
    "RSQRT": 40.0,
    "GELU": 40.0,
    "QUANTIZE": 4.0,
    "DEQUANTIZE": 4.0,
    "RESHAPE": 0.25,
    "SQUEEZE": 0.25,
    "EXPAND_DIMS": 0.25,
    "CONCATENATION": 1.0,
    "PAD": 1.0,
    "STRIDED_SLICE": 2.0,
    "SLICE": 2.0,
    "TRANSPOSE": 3.0,
    "PACK": 1.0,
    "SPLIT": 1.0,
}
M7_DEFAULT_CYCLES_PER_ELEMENT = 4.0
#: TFLite-Micro dispatch and kernel set-up per op (assumed).
M7_OP_OVERHEAD_CYCLES = 1500.0

_ELEMENTWISE = {"ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "DIV"}
_POOLS = {"AVERAGE_POOL_2D", "MAX_POOL_2D"}
_REDUCES = {"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"}


# --- MAC counting ----------------------------------------------------------------------------------
@dataclass
class OpCost:
    index: int
    name: str
    macs: int
    elements: int  # output elements
    param_bytes: int
    on_edgetpu: bool = False
    predicted_ms: float = 0.0


def _prod(shape: Sequence[int]) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def _shape(sg: Any, index: int) -> tuple[int, ...]:
    if index < 0:
        return ()
    t = sg.tensors[index]
    return tuple(int(d) for d in (t.shape if t.shape is not None else ()))


def _const_bytes(model: Any, sg: Any, index: int) -> tuple[int, int]:
    """(buffer index, bytes) of a constant tensor; (0, 0) for activations."""
    if index < 0:
        return 0, 0
    t = sg.tensors[index]
    buf = model.buffers[t.buffer] if 0 < t.buffer < len(model.buffers) else None
    if buf is None or buf.data is None or len(buf.data) == 0:
        return 0, 0
    return int(t.buffer), int(len(buf.data))


def op_costs(mf: ModelFile) -> list[OpCost]:
    """MACs, output elements and parameter bytes of every op of the main subgraph."""
    model = mf.model
    sg = model.subgraphs[0]
    seen_buffers: set[int] = set()
    out: list[OpCost] = []
    for k, op in enumerate(sg.operators or []):
        name = mf.op_names[k]
        ins = [int(i) for i in (op.inputs if op.inputs is not None else [])]
        outs = [int(i) for i in (op.outputs if op.outputs is not None else [])]
        o_shape = _shape(sg, outs[0]) if outs else ()
        o_el = _prod(o_shape) if outs else 0
        macs = 0
        if name == "CONV_2D" and len(ins) >= 2:
            f = _shape(sg, ins[1])  # [cout, kh, kw, cin]
            macs = o_el * _prod(f[1:]) if len(f) == 4 else 0
        elif name == "DEPTHWISE_CONV_2D" and len(ins) >= 2:
            f = _shape(sg, ins[1])  # [1, kh, kw, cout]
            macs = o_el * f[1] * f[2] if len(f) == 4 else 0
        elif name == "FULLY_CONNECTED" and len(ins) >= 2:
            w = _shape(sg, ins[1])  # [units, in]
            macs = o_el * (w[-1] if w else 0)
        elif name == "BATCH_MATMUL" and len(ins) >= 2:
            a = _shape(sg, ins[0])
            adj_x = bool(getattr(op.builtinOptions, "adjX", False)) if op.builtinOptions is not None else False
            kdim = (a[-2] if adj_x else a[-1]) if len(a) >= 2 else 0
            macs = o_el * kdim
        elif name == "TRANSPOSE_CONV" and len(ins) >= 3:
            f = _shape(sg, ins[1])  # [cout, kh, kw, cin]
            x = _shape(sg, ins[2])
            macs = _prod(x) * (f[0] * f[1] * f[2] if len(f) == 4 else 0)
        elif name in _ELEMENTWISE:
            macs = o_el
        elif name in _POOLS and op.builtinOptions is not None:
            o = op.builtinOptions
            macs = o_el * int(getattr(o, "filterHeight", 1) or 1) * int(getattr(o, "filterWidth", 1) or 1)
        elif name in _REDUCES and ins:
            macs = _prod(_shape(sg, ins[0]))
        params = 0
        for i in ins:
            b, n = _const_bytes(model, sg, i)
            if n and b not in seen_buffers:
                seen_buffers.add(b)
                params += n
        out.append(OpCost(k, name, int(macs), int(o_el), int(params)))
    return out


# --- the cost model -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Link:
    """The path between the CPU that runs the interpreter and the Edge TPU."""

    name: str
    bytes_per_s: float
    invoke_ms: float


USB3_DESKTOP = Link("USB Accelerator on a desktop, USB 3.0", USB3_BYTES_PER_S, EDGETPU_INVOKE_MS)
DEV_BOARD_MICRO = Link("Dev Board Micro, M7 to Edge TPU over USB 2.0 HS", USB2_HS_BYTES_PER_S, EDGETPU_INVOKE_MS + BOARD_EXTRA_INVOKE_MS)


def edgetpu_ms(macs: float, param_bytes: float, io_bytes: float, link: Link = DEV_BOARD_MICRO, efficiency: float = EDGETPU_EFFICIENCY) -> dict[str, float]:
    """Predicted Edge TPU segment time, by component (ms)."""
    compute = 1e3 * macs / (EDGETPU_PEAK_MACS * efficiency)
    transfer = 1e3 * io_bytes / link.bytes_per_s
    stream = 1e3 * max(0.0, param_bytes - EDGETPU_CACHE_BYTES) / link.bytes_per_s
    return {
        "invoke_ms": link.invoke_ms,
        "transfer_ms": transfer,
        "compute_ms": compute,
        "param_stream_ms": stream,
        "total_ms": link.invoke_ms + transfer + compute + stream,
    }


def m7_cycles(op: OpCost) -> float:
    """Cortex-M7 cycles for one op (CMSIS-NN-like costs above)."""
    if op.name in M7_CYCLES_PER_MAC:
        work = M7_CYCLES_PER_MAC[op.name] * op.macs
    else:
        work = M7_CYCLES_PER_ELEMENT.get(op.name, M7_DEFAULT_CYCLES_PER_ELEMENT) * max(op.elements, op.macs)
    return work + M7_OP_OVERHEAD_CYCLES


@dataclass
class Prediction:
    """A *predicted* board latency for one model; never a measurement."""

    model: str
    label: str = "predicted (analytic model, not measured)"
    target: str = DEV_BOARD_MICRO.name
    total_ms: float = 0.0
    edgetpu: dict[str, float] = field(default_factory=dict)
    cpu_ms: float = 0.0
    cpu_only_ms: float = 0.0  # the whole model on the M7 (TFLite-Micro + CMSIS-NN), no Edge TPU
    macs_total: int = 0
    macs_edgetpu: int = 0
    param_bytes: int = 0
    ops_edgetpu: int = 0
    ops_cpu: int = 0
    split_at: str | None = None
    ops: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mapping(mf: ModelFile) -> tuple[list[bool], str | None, list[str]]:
    """Per-op 'runs on the Edge TPU' flags from the compatibility check."""
    try:
        from edgeser.quantize.edgetpu_check import check_model
    except Exception as exc:  # the colleague's module missing or broken
        return [False] * len(mf.op_names), None, [f"Edge TPU compatibility check unavailable ({type(exc).__name__}); all ops costed on the M7"]
    rep = check_model(mf.data)
    flags = [not op.on_cpu for op in rep.ops]
    first = rep.first_unmapped
    split = None if first is None else f"op {first.index} {first.name}: {first.reason}"
    return flags, split, []


def predict_model(mf: ModelFile | str | Path, link: Link = DEV_BOARD_MICRO) -> Prediction:
    """Predicted latency of one uncompiled full-int8 .tflite on the Dev Board Micro."""
    if not isinstance(mf, ModelFile):
        mf = read_model(mf)
    if mf.is_edgetpu_compiled:
        raise BenchError(
            f"{mf.path} is already compiled for the Edge TPU, whose ops the prediction cannot see: "
            "predict from the int8 .tflite you gave edgetpu_compiler."
        )
    costs = op_costs(mf)
    flags, split, notes = _mapping(mf)
    if mf.is_float:
        flags = [False] * len(costs)
        notes.append("float model: nothing maps to the Edge TPU; all ops costed on the M7")
    sg = mf.model.subgraphs[0]
    pred = Prediction(model=mf.path, target=link.name, split_at=split, notes=notes)
    tpu_idx = [k for k, f in enumerate(flags) if f]
    cpu_cycles = 0.0
    all_cycles = 0.0
    for op, on_tpu in zip(costs, flags):
        op.on_edgetpu = bool(on_tpu)
        cyc = m7_cycles(op)
        all_cycles += cyc
        if not on_tpu:
            cpu_cycles += cyc
            op.predicted_ms = 1e3 * cyc / M7_HZ
    pred.macs_total = sum(o.macs for o in costs)
    pred.param_bytes = sum(o.param_bytes for o in costs)
    pred.cpu_ms = 1e3 * cpu_cycles / M7_HZ
    pred.cpu_only_ms = 1e3 * all_cycles / M7_HZ
    pred.ops_cpu = len(costs) - len(tpu_idx)
    pred.ops_edgetpu = len(tpu_idx)
    if tpu_idx:
        tpu_ops = [costs[k] for k in tpu_idx]
        macs = sum(o.macs for o in tpu_ops)
        params = sum(o.param_bytes for o in tpu_ops)
        io = _segment_io_bytes(mf, sg, set(tpu_idx))
        pred.edgetpu = edgetpu_ms(macs, params, io, link)
        pred.edgetpu["io_bytes"] = float(io)
        pred.macs_edgetpu = macs
        for o in tpu_ops:  # share of the segment's compute, for the per-op table
            o.predicted_ms = pred.edgetpu["compute_ms"] * (o.macs / macs) if macs else 0.0
    pred.total_ms = pred.cpu_ms + pred.edgetpu.get("total_ms", 0.0)
    pred.ops = [asdict(o) for o in costs]
    return pred


def _segment_io_bytes(mf: ModelFile, sg: Any, idx: set[int]) -> int:
    """Bytes entering and leaving the set of ops ``idx`` (activations only)."""
    produced: set[int] = set()
    consumed: set[int] = set()
    for k in idx:
        op = sg.operators[k]
        produced.update(int(i) for i in (op.outputs if op.outputs is not None else []) if i >= 0)
        consumed.update(int(i) for i in (op.inputs if op.inputs is not None else []) if i >= 0)
    used_outside: set[int] = set(int(i) for i in (sg.outputs if sg.outputs is not None else []))
    for k, op in enumerate(sg.operators or []):
        if k not in idx:
            used_outside.update(int(i) for i in (op.inputs if op.inputs is not None else []) if i >= 0)
    total = 0
    for i in (consumed - produced) | (produced & used_outside):
        b, n = _const_bytes(mf.model, sg, i)
        if n:
            continue
        t = sg.tensors[i]
        itemsize = {9: 1, 3: 1, 7: 2, 2: 4, 0: 4}.get(int(t.type), 1)  # INT8, UINT8, INT16, INT32, FLOAT32
        total += _prod(_shape(sg, i)) * itemsize
    return total


# --- calibration -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    """A published latency to calibrate or check against."""

    name: str
    macs: float
    param_bytes: float
    in_bytes: float
    out_bytes: float
    published_ms: float
    source: str
    fitted: bool = True


_BENCH = "coral.ai/docs/edgetpu/benchmarks, Table 1, Desktop CPU + USB Accelerator (USB 3.0)"
_MODELS = "coral.ai/models/image-classification, Latency column"
#: MACs/params: Howard et al. 2017 (MobileNets) Tables 6-8; Sandler et al. 2018 (MobileNetV2).
CALIBRATION_POINTS: tuple[Reference, ...] = (
    Reference("MobileNet v1 1.0 224", 569e6, 4.2e6, 224 * 224 * 3, 1001, 2.4, _BENCH),
    Reference("MobileNet v2 1.0 224", 300e6, 3.4e6, 224 * 224 * 3, 1001, 2.6, _BENCH),
    Reference("Inception v1 224", 1550e6, 6.8e6, 224 * 224 * 3, 1001, 3.4, _BENCH),
    Reference("VGG16 224", 15300e6, 138e6, 224 * 224 * 3, 1001, 296.0, _BENCH),
    Reference("MobileNet v1 0.25 128", 14e6, 0.47e6, 128 * 128 * 3, 1001, 0.9, _MODELS),
)


def reference_ms(ref: Reference, link: Link = USB3_DESKTOP, efficiency: float = EDGETPU_EFFICIENCY) -> float:
    return edgetpu_ms(ref.macs, ref.param_bytes, ref.in_bytes + ref.out_bytes, link, efficiency)["total_ms"]


def fit_calibration(points: Iterable[Reference] = CALIBRATION_POINTS) -> dict[str, float]:
    """Grid least squares on log(ms) for (efficiency, invoke ms, USB 3.0 bytes/s).

    Deterministic; reproduces the constants above (rounded) when run on CALIBRATION_POINTS.
    """
    pts = [p for p in points if p.fitted]
    macs = np.array([p.macs for p in pts])[:, None, None, None]
    params = np.array([p.param_bytes for p in pts])[:, None, None, None]
    io = np.array([p.in_bytes + p.out_bytes for p in pts])[:, None, None, None]
    obs = np.log(np.array([p.published_ms for p in pts]))[:, None, None, None]
    eff = np.arange(0.05, 1.0001, 0.005)[None, :, None, None]
    t0 = np.arange(0.0, 1.5001, 0.01)[None, None, :, None]
    bw = np.arange(200e6, 800e6 + 1, 5e6)[None, None, None, :]
    pred = t0 + 1e3 * io / bw + 1e3 * macs / (EDGETPU_PEAK_MACS * eff) + 1e3 * np.maximum(0.0, params - EDGETPU_CACHE_BYTES) / bw
    err = ((np.log(pred) - obs) ** 2).sum(axis=0)
    i, j, k = np.unravel_index(int(np.argmin(err)), err.shape)
    return {
        "efficiency": float(eff[0, i, 0, 0]),
        "invoke_ms": float(t0[0, 0, j, 0]),
        "usb3_bytes_per_s": float(bw[0, 0, 0, k]),
        "rms_log_error": float(np.sqrt(err[i, j, k] / len(pts))),
    }


def calibration_table() -> list[dict[str, Any]]:
    """Published vs predicted for every calibration point (USB 3.0 desktop link)."""
    rows = []
    for ref in CALIBRATION_POINTS:
        p = reference_ms(ref)
        rows.append(
            {
                "model": ref.name,
                "published_ms": ref.published_ms,
                "predicted_ms": round(p, 3),
                "ratio": round(p / ref.published_ms, 3),
                "source": ref.source,
                "board_predicted_ms": round(reference_ms(ref, DEV_BOARD_MICRO), 3),
            }
        )
    return rows


# --- the fused pipeline ----------------------------------------------------------------------------------
#: MicroFrontend per 20 ms frame on the M7 (512-point int16 KissFFT, 40-channel filterbank,
#: noise reduction, PCAN, log): assumed ~80k cycles = 0.1 ms at 800 MHz; not calibrated.
M7_FRONTEND_CYCLES_PER_FRAME = 80_000.0


def predict_pipeline(kws: str | Path, acoustic: str | Path, fusion: str | Path, keyword_windows: int, frames: int) -> dict[str, Any]:
    """*Predicted* Dev Board Micro time of one decision, two ways.

    ``clip``: everything for one clip at once — ``frames`` frontend frames, ``keyword_windows``
    keyword invokes, acoustic, fusion (what :func:`~edgeser.benchmarks.measure.pipeline_latency`
    times on the host). ``streaming``: what the firmware does at a decision, where earlier
    frames and keyword windows were computed as the audio arrived — one frame, one keyword
    window, acoustic, fusion.
    """
    pk, pa, pf = predict_model(kws), predict_model(acoustic), predict_model(fusion)
    fe = 1e3 * M7_FRONTEND_CYCLES_PER_FRAME / M7_HZ
    clip = frames * fe + keyword_windows * pk.total_ms + pa.total_ms + pf.total_ms
    streaming = fe + pk.total_ms + pa.total_ms + pf.total_ms
    return {
        "label": "predicted (analytic model, not measured)",
        "target": DEV_BOARD_MICRO.name,
        "frames": frames,
        "keyword_windows": keyword_windows,
        "frontend_ms_per_frame": fe,
        "keyword_ms": pk.total_ms,
        "acoustic_ms": pa.total_ms,
        "fusion_ms": pf.total_ms,
        "clip_ms": clip,
        "streaming_decision_ms": streaming,
    }
