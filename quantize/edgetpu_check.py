"""Static Edge TPU compatibility check: which ops of an int8 .tflite will map.

Coral's ``edgetpu_compiler`` runs only on x86-64 Linux, so this module predicts its
verdict from Coral's documented rules, op by op, before anyone compiles.

Sources of the rules:

* Coral, "TensorFlow models on the Edge TPU", https://coral.ai/docs/edgetpu/models-intro
  ("Model requirements"; "Supported operations": the op table with each op's known
  limitations). Axis mirrors that table and the model requirements for its
  Edge-TPU-based ARTPEC-7 DLPU:
  https://developer.axis.com/computer-vision/on-device/system-on-chip/artpec-7/supported-ops/
  and .../artpec-7/optimization-tips/ (int8/uint8 only; constant tensor sizes; only the
  3 innermost dimensions may exceed 1; FullyConnected "Output tensor is one-dimensional";
  Mean "No reduction in batch dimension. If a z-reduction, the z-dimension must be
  multiple of 4"; pools/concatenation without fused activation; conv with equal x/y
  dilation; Pad/Pack/ReduceMax/ReduceMin not over the batch; the single split). The
  limitation texts of the rows after ResizeBilinear (Softmax 1-D with at most 16,000
  elements, StridedSlice strides of 1, Sum) are from Coral's table as we know it; we
  had no stored copy of those rows to quote.
* Coral, "Edge TPU Compiler", https://coral.ai/docs/edgetpu/compiler (x86-64 Linux,
  co-compilation, the split: "the compiler maps ops up to the first unsupported one").
* google-coral/edgetpu issues: #631 (compiler 16 rejects ``CONV_2D`` version 6 from
  TF 2.9), #45 / #147 / #34 (older compilers reject newer op versions, message
  "Didn't find op for builtin opcode ... version ..."), #30 ("Tensor has unsupported
  rank (up to 3 innermost dimensions mapped)"), #433 (compiler 16: ``TRANSPOSE``
  "otherwise supported, but not mapped"), #242 (compiler 14: ``TRANSPOSE`` "Operation
  not supported"), #24 (``tf.linalg.matmul`` of two inputs not mapped), #420
  ("Operation version not supported"), and the float ``QUANTIZE`` at a model input left
  on the CPU while the rest maps (the tiny-YOLO compiler log quoted in several threads).
* DESIGN.md of this project: MEAN only over x/y; no TRANSPOSE; no BATCH_MATMUL
  between two activations (these are stricter than the letter of the op table and
  are applied when ``strict=True``, the default).

The op-version ceiling (:data:`MAX_OP_VERSION`): the compiler parses a model with the
TFLite op resolver it was built with, so an op version newer than that resolver's
``max_version`` fails ("Didn't find op for builtin opcode 'X' version 'N'", #45, #147,
#34, #631). Coral does not publish the table. The one ceiling confirmed by a failure
report for compiler 16 is ``CONV_2D`` ≤ 5 (#631: TF 2.9 emitted version 6). The other
ceilings are copied from a TFLite ``tensorflow/lite/kernels/register.cc`` snapshot of
the same era (one that registers ``CONV_2D`` only up to 5, i.e. the TF 2.5/2.6 line;
read from github.com/barbolo/tflite_runtime_build at commit d9597285). They are an upper bound
consistent with #631, not a statement from Coral. TF 2.16's int8 converter emits far
lower versions for the ops we use (CONV_2D 3, DEPTHWISE 3, FULLY_CONNECTED 4–5, ADD/MUL/
MEAN/SOFTMAX 2).

Layout convention used for the axis rules: axis 0 is the batch, the last axis is
``z`` (channels), the axes in between are the spatial ``y``/``x`` axes (NHWC for 4-D,
``[B, T, C]`` for 3-D).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ai_edge_litert import schema_py_generated as schema

from edgeser import tflite_file

COMPILER_VERSION = "16.0"

# Ops in Coral's supported-operations table (TFLite builtin names). TRANSPOSE is left
# out on purpose: compiler 16 knows it but does not map it in practice (#433, DESIGN.md).
SUPPORTED_OPS: frozenset[str] = frozenset(
    {
        "ADD",
        "AVERAGE_POOL_2D",
        "CONCATENATION",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "DEPTH_TO_SPACE",
        "EXPAND_DIMS",
        "FULLY_CONNECTED",
        "HARD_SWISH",
        "L2_NORMALIZATION",
        "LOGISTIC",
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        "MAXIMUM",
        "MAX_POOL_2D",
        "MEAN",
        "MINIMUM",
        "MUL",
        "PACK",
        "PAD",
        "PRELU",
        "QUANTIZE",
        "REDUCE_MAX",
        "REDUCE_MIN",
        "RELU",
        "RELU6",
        "RELU_N1_TO_1",
        "RESHAPE",
        "RESIZE_BILINEAR",
        "RESIZE_NEAREST_NEIGHBOR",
        "RSQRT",
        "SLICE",
        "SOFTMAX",
        "SPACE_TO_DEPTH",
        "SPLIT",
        "SQUARED_DIFFERENCE",
        "SQUEEZE",
        "STRIDED_SLICE",
        "SUB",
        "SUM",
        "TANH",
        "TRANSPOSE_CONV",
    }
)

# Highest op version compiler 16 parses (see module docstring for the source).
MAX_OP_VERSION: dict[str, int] = {
    "ADD": 3,
    "AVERAGE_POOL_2D": 3,
    "CONCATENATION": 3,
    "CONV_2D": 5,  # google-coral/edgetpu#631: version 6 rejected by compiler 16
    "DEPTHWISE_CONV_2D": 6,
    "DEPTH_TO_SPACE": 2,
    "EXPAND_DIMS": 1,
    "FULLY_CONNECTED": 9,
    "HARD_SWISH": 1,
    "L2_NORMALIZATION": 2,
    "LOGISTIC": 3,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": 3,
    "MAXIMUM": 4,
    "MAX_POOL_2D": 3,
    "MEAN": 3,
    "MINIMUM": 4,
    "MUL": 4,
    "PACK": 3,
    "PAD": 3,
    "PRELU": 1,
    "QUANTIZE": 2,
    "REDUCE_MAX": 3,
    "REDUCE_MIN": 3,
    "RELU": 3,
    "RELU6": 3,
    "RELU_N1_TO_1": 1,
    "RESHAPE": 1,
    "RESIZE_BILINEAR": 4,
    "RESIZE_NEAREST_NEIGHBOR": 4,
    "RSQRT": 2,
    "SLICE": 5,
    "SOFTMAX": 3,
    "SPACE_TO_DEPTH": 2,
    "SPLIT": 4,
    "SQUARED_DIFFERENCE": 2,
    "SQUEEZE": 2,
    "STRIDED_SLICE": 5,
    "SUB": 5,
    "SUM": 2,
    "TANH": 3,
    "TRANSPOSE_CONV": 3,
}

SOFTMAX_MAX_ELEMENTS = 16000  # Coral op table: 1-D input, at most 16,000 elements
_QUANT_TYPES = {"INT8", "UINT8"}
_PARAM_TYPES = {"INT32", "INT64"}  # biases, shapes, axes: constants only

_ACT_NAMES = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")}


NotATFLiteModel = tflite_file.TFLiteFileError  # the one reader's error (kept under the check's old name)


TensorInfo = tflite_file.TensorInfo  # one tensor an op reads or writes (-1 in ``signature`` = dynamic)


def _tensor_json(t: TensorInfo) -> dict[str, Any]:
    """What the check report keeps of a tensor (no quantisation parameters: the mapping ignores them)."""
    return {"index": t.index, "name": t.name, "type": t.dtype, "shape": list(t.shape),
            "signature": list(t.signature), "constant": t.constant}


def describe_tensor(t: TensorInfo) -> str:
    """``int8[1x150x40] const``: type, shape (the signature when it has dynamic dims), constness."""
    dims = "x".join(str(d) for d in (t.signature or t.shape)) or "scalar"
    return f"{t.dtype.lower()}[{dims}]" + (" const" if t.constant else "")


@dataclass
class OpReport:
    """The verdict for one op; ``index`` is its position in execution order."""

    index: int
    name: str
    version: int
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    maps: bool
    reason: str = ""
    on_cpu: bool = False
    boundary: bool = False  # float QUANTIZE of an input / DEQUANTIZE of an output: CPU, no split


@dataclass
class CheckReport:
    """Per-op verdicts plus the predicted single split."""

    source: str
    ops: list[OpReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    frontend_problem: str = ""  # set when the stored FrontendConfig differs from the expected one

    @property
    def first_unmapped(self) -> OpReport | None:
        """The op where the compiler splits (boundary QUANTIZE/DEQUANTIZE do not split)."""
        return next((op for op in self.ops if not op.maps and not op.boundary), None)

    @property
    def mapped_count(self) -> int:
        """Ops predicted to run on the Edge TPU (before the split)."""
        return sum(not op.on_cpu for op in self.ops)

    @property
    def cpu_count(self) -> int:
        return sum(op.on_cpu for op in self.ops)

    @property
    def fraction_mapped(self) -> float:
        return self.mapped_count / len(self.ops) if self.ops else 0.0

    @property
    def fully_mapped(self) -> bool:
        return bool(self.ops) and self.cpu_count == 0

    def to_dict(self) -> dict[str, Any]:
        first = self.first_unmapped
        return {
            "source": self.source,
            "compiler_version_modelled": COMPILER_VERSION,
            "mapped_count": self.mapped_count,
            "cpu_count": self.cpu_count,
            "fraction_mapped": self.fraction_mapped,
            "first_unmapped": None if first is None else {"index": first.index, "name": first.name, "reason": first.reason},
            "notes": list(self.notes),
            "frontend_problem": self.frontend_problem,
            "ops": [{**asdict(op), "inputs": [_tensor_json(t) for t in op.inputs],
                     "outputs": [_tensor_json(t) for t in op.outputs]} for op in self.ops],
        }


# --- parsing ------------------------------------------------------------------
def load_model(path_or_bytes: str | Path | bytes | bytearray) -> tuple[Any, str]:
    """Parse a .tflite into the schema's object API (``ModelT``); returns (model, source name).

    Raises :class:`NotATFLiteModel` with one sentence naming the file when it is not one
    (the reader is :mod:`edgeser.tflite_file`).
    """
    data, source = tflite_file.read_bytes(path_or_bytes)
    return tflite_file.parse(data, source), source


op_name = tflite_file.op_name


def _tensor_info(model: Any, subgraph: Any, index: int) -> TensorInfo:
    return tflite_file.tensor_info(model, index)


def _const_values(model: Any, subgraph: Any, index: int) -> np.ndarray | None:
    values = tflite_file.const_values(model, index)
    return None if values is None or values.dtype not in (np.int32, np.int64) else values.ravel()


def _tensor_problem(t: TensorInfo, is_model_input: bool) -> str:
    """A reason string when a tensor breaks a model-wide rule, else ''.

    Types apply to every tensor (int32/int64 only for constants: biases, shapes, axes);
    the shape rules (static, batch 1, 3 innermost dims) to activations only.
    """
    if t.dtype not in _QUANT_TYPES:
        if not (t.constant and t.dtype in _PARAM_TYPES):
            return f"tensor '{t.name}' is {t.dtype.lower()}: the Edge TPU needs 8-bit quantized tensors (int8/uint8)"
    if t.constant:  # weights/biases/params: only their type matters here
        return ""
    if any(d < 0 for d in t.signature):
        return f"tensor '{t.name}' has a dynamic shape {list(t.signature)}: the Edge TPU needs static shapes"
    if is_model_input and len(t.shape) >= 2 and t.shape[0] != 1:
        return f"model input '{t.name}' has batch {t.shape[0]}: the Edge TPU runs batch 1 only"
    if len(t.shape) > 3 and any(d != 1 for d in t.shape[:-3]):
        return (
            f"tensor '{t.name}' has shape {list(t.shape)}: only the 3 innermost dimensions may be larger "
            "than 1 (\"Tensor has unsupported rank (up to 3 innermost dimensions mapped)\")"
        )
    return ""


def _dims_gt1(shape: Sequence[int]) -> int:
    return sum(1 for d in shape if d > 1)


def _fused_activation(op: Any) -> str:
    opts = op.builtinOptions
    act = getattr(opts, "fusedActivationFunction", 0) if opts is not None else 0
    return _ACT_NAMES.get(act, str(act))


def _op_problem(model: Any, subgraph: Any, op: Any, name: str, ins: list[TensorInfo], outs: list[TensorInfo], strict: bool) -> str:
    """A reason string when the op breaks its own documented limitation, else ''."""
    if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION") and _fused_activation(op) != "NONE":
        return f"{name} with fused activation {_fused_activation(op)}: Coral allows no fused activation function here"
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        o = op.builtinOptions
        if o is not None and getattr(o, "dilationWFactor", 1) != getattr(o, "dilationHFactor", 1):
            return f"{name} with different x/y dilation: Coral needs the same dilation in x and y"
    if name == "FULLY_CONNECTED" and outs and _dims_gt1(outs[0].shape) > 1:
        return (
            f"FULLY_CONNECTED output {list(outs[0].shape)} is not one-dimensional: Coral maps FULLY_CONNECTED only "
            "with a 1-D output (use a 1x1 CONV_2D for per-token projections)"
        )
    if name in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN") and len(ins) >= 2:
        axes = _const_values(model, subgraph, ins[1].index)
        rank = len(ins[0].shape)
        if axes is None:
            return f"{name} with non-constant axes"
        axes_set = {int(a) % rank for a in axes} if rank else set()
        reduced = [a for a in axes_set if ins[0].shape[a] > 1]
        if rank >= 2 and 0 in reduced:
            return f"{name} reduces the batch dimension: Coral allows no reduction over the batch"
        z = rank - 1
        if rank >= 2 and z in reduced:
            zsize = ins[0].shape[z]
            if name == "MEAN" and zsize % 4 != 0:
                return f"MEAN over the z (channel) axis of size {zsize}: Coral needs z to be a multiple of 4"
            if strict and name in ("MEAN", "SUM"):
                return (
                    f"{name} over the z (channel) axis {z} of {list(ins[0].shape)}: only reductions over the "
                    "spatial x/y axes are accepted (DESIGN.md rule; strict=False applies only Coral's letter)"
                )
    if name == "SOFTMAX" and ins:
        shape = ins[0].shape
        n = int(np.prod(shape)) if shape else 1
        if _dims_gt1(shape) > 1:
            return f"SOFTMAX input {list(shape)} is not 1-D: Coral maps SOFTMAX only on a 1-D input"
        if n > SOFTMAX_MAX_ELEMENTS:
            return f"SOFTMAX input has {n} elements: Coral's limit is {SOFTMAX_MAX_ELEMENTS}"
    if name == "PAD" and len(ins) >= 2:
        pads = _const_values(model, subgraph, ins[1].index)
        if pads is not None and pads.size >= 2 and (pads[0] != 0 or pads[1] != 0):
            return "PAD pads the batch dimension"
    if name == "PACK" and outs and len(outs[0].shape) >= 2:
        o = op.builtinOptions
        if o is not None and int(getattr(o, "axis", 1)) % len(outs[0].shape) == 0:
            return "PACK along the batch dimension: Coral allows no packing in the batch dimension"
    if name == "SPLIT" and len(ins) >= 2:
        axis = _const_values(model, subgraph, ins[0].index)
        rank = len(ins[1].shape)
        if axis is not None and axis.size == 1 and rank >= 2 and int(axis[0]) % rank == 0:
            return "SPLIT along the batch dimension: Coral allows no splitting in the batch dimension"
    if name == "STRIDED_SLICE" and len(ins) >= 4:
        strides = _const_values(model, subgraph, ins[3].index)
        o = op.builtinOptions
        if strides is not None and np.any(strides != 1):
            return f"STRIDED_SLICE with strides {strides.tolist()}: Coral maps it only with all strides 1"
        if o is not None and (getattr(o, "ellipsisMask", 0) or getattr(o, "newAxisMask", 0)):
            return "STRIDED_SLICE with ellipsis/new-axis mask: not mapped"
    return ""


def _check_op(model: Any, subgraph: Any, op: Any, graph_inputs: set[int], graph_outputs: set[int], strict: bool) -> OpReport:
    name, version = op_name(model, op.opcodeIndex)
    ins = [_tensor_info(model, subgraph, i) for i in (op.inputs if op.inputs is not None else []) if i >= 0]
    outs = [_tensor_info(model, subgraph, i) for i in (op.outputs if op.outputs is not None else []) if i >= 0]

    def verdict(reason: str) -> OpReport:
        return OpReport(0, name, version, ins, outs, maps=not reason, reason=reason)

    if name == "QUANTIZE" and ins and ins[0].dtype not in _QUANT_TYPES and ins[0].index in graph_inputs:
        rep = verdict("float QUANTIZE of the model input: runs on the CPU before the Edge TPU part (export int8 inputs)")
        rep.boundary = True
        return rep
    if name == "DEQUANTIZE" and outs and outs[0].index in graph_outputs:
        rep = verdict("DEQUANTIZE to a float model output: runs on the CPU after the Edge TPU part (export int8 outputs)")
        rep.boundary = True
        return rep
    if name.startswith("CUSTOM:"):
        return verdict(f"custom op '{name[7:]}': the compiler maps builtin ops only")
    if name == "BATCH_MATMUL":
        if len(ins) >= 2 and not ins[0].constant and not ins[1].constant:
            return verdict("BATCH_MATMUL between two activations: not supported by the Edge TPU (no matmul of two activations)")
        return verdict("BATCH_MATMUL is not in Coral's supported-operations table")
    if name == "TRANSPOSE":
        return verdict("TRANSPOSE does not map (DESIGN.md; compiler 16 reports it 'otherwise supported, but not mapped', google-coral/edgetpu#433)")
    if name not in SUPPORTED_OPS:
        return verdict(f"{name} is not in Coral's supported-operations table")
    limit = MAX_OP_VERSION.get(name)
    if limit is not None and version > limit:
        return verdict(f"{name} version {version} is newer than compiler {COMPILER_VERSION} accepts (max {limit}): 'Operation version not supported'")
    for t in ins + outs:
        problem = _tensor_problem(t, t.index in graph_inputs)
        if problem:
            # QUANTIZE float->int8 at the model input is the CPU-side entry, also unmapped.
            return verdict(problem)
    return verdict(_op_problem(model, subgraph, op, name, ins, outs, strict))


def check_model(
    path_or_bytes: str | Path | bytes | bytearray,
    strict: bool = True,
    frontend: Any | None = None,
) -> CheckReport:
    """Check every op of the main subgraph and predict the compiler's single split.

    The first op (in execution order) that does not map, and every op after it, is
    predicted to run on the CPU: the compiler splits the graph only once. A float
    QUANTIZE of a model input or a DEQUANTIZE to a model output runs on the CPU but
    does not split the graph (``boundary``).

    ``strict`` applies DESIGN.md's stricter rules (MEAN/SUM only over x/y) on top of
    Coral's table. ``frontend``: an expected ``FrontendConfig``; a model whose stored
    config differs (or that stores none) gets ``report.frontend_problem``.
    """
    model, source = load_model(path_or_bytes)
    report = CheckReport(source=source)
    if frontend is not None:
        report.frontend_problem = _frontend_problem(model, frontend)
    if not model.subgraphs:
        report.notes.append("the model has no subgraph")
        return report
    if len(model.subgraphs) > 1:
        report.notes.append(f"{len(model.subgraphs)} subgraphs: only the first is checked; the compiler maps one subgraph")
    sg = model.subgraphs[0]
    graph_inputs = set(int(i) for i in (sg.inputs if sg.inputs is not None else []))
    graph_outputs = set(int(i) for i in (sg.outputs if sg.outputs is not None else []))
    split_seen = False
    for index, op in enumerate(sg.operators if sg.operators is not None else []):
        rep = _check_op(model, sg, op, graph_inputs, graph_outputs, strict)
        rep.index = index
        if not rep.maps and not rep.boundary:
            split_seen = True
        rep.on_cpu = split_seen or rep.boundary
        report.ops.append(rep)
    if not report.ops:
        report.notes.append("the model has no operators")
    return report


def _frontend_problem(model: Any, expected: Any) -> str:
    """'' when the model's stored FrontendConfig equals ``expected``, else one sentence."""
    from edgeser.quantize.convert import FRONTEND_KEY

    stored = None
    for meta in model.metadata or []:
        name = meta.name.decode() if isinstance(meta.name, bytes) else str(meta.name)
        if name == FRONTEND_KEY:
            data = model.buffers[meta.buffer].data
            stored = bytes(bytearray(data)).decode("utf-8") if data is not None else ""
    if stored is None:
        return f"the model stores no FrontendConfig ({FRONTEND_KEY} metadata missing)"
    try:
        got = type(expected).from_json(stored)
    except Exception as exc:  # malformed or outdated JSON
        return f"the model's stored FrontendConfig cannot be read ({exc})"
    if got == expected:
        return ""
    diffs = [
        f"{k}: model {v!r} vs recipe {expected.to_dict()[k]!r}"
        for k, v in got.to_dict().items()
        if expected.to_dict().get(k) != v
    ]
    return "the model's FrontendConfig differs from the recipe's (" + "; ".join(diffs) + ")"


# --- presentation ------------------------------------------------------------------
def format_table(report: CheckReport):
    """A rich Table: one row per op, the split marked."""
    from rich.table import Table

    title = (
        f"{report.source}: {report.mapped_count}/{len(report.ops)} ops on the Edge TPU "
        f"({100 * report.fraction_mapped:.0f} %)"
    )
    table = Table(title=title)
    for col in ("#", "op", "v", "inputs", "outputs", "runs on", "reason"):
        table.add_column(col)
    for op in report.ops:
        where = "[red]CPU[/red]" if op.on_cpu else "[green]Edge TPU[/green]"
        reason = op.reason if not op.maps else ("after the split" if op.on_cpu else "")
        table.add_row(
            str(op.index),
            op.name,
            str(op.version),
            ", ".join(describe_tensor(t) for t in op.inputs),
            ", ".join(describe_tensor(t) for t in op.outputs),
            where,
            reason,
        )
    return table


def summary_line(report: CheckReport) -> str:
    first = report.first_unmapped
    extra = f" Refused: {report.frontend_problem}." if report.frontend_problem else ""
    if first is None:
        boundary = sum(op.boundary for op in report.ops)
        if boundary:
            return (
                f"{report.source}: {report.mapped_count} of {len(report.ops)} ops map; {boundary} float "
                f"QUANTIZE/DEQUANTIZE op(s) at the model boundary run on the CPU.{extra}"
            )
        return f"{report.source}: all {len(report.ops)} ops predicted to map to the Edge TPU.{extra}"
    return (
        f"{report.source}: {report.cpu_count} of {len(report.ops)} ops fall back to the CPU from op "
        f"{first.index} ({first.name}): {first.reason}.{extra}"
    )

