"""Convert a Keras model to full-int8 TFLite and check, op by op, what the Edge TPU maps.

This reads the converter's actual output (the .tflite flatbuffer), not the Keras graph.
The allow-list is Coral's supported-operations table ("TensorFlow models on the Edge
TPU", coral.ai/docs/edgetpu/models-intro), restricted to the ops these models need and
whose table limits `edgetpu_problems` checks:

    ADD, SUB, MUL            elementwise; no limits listed
    CONV_2D                  "must use the same dilation in x and y" (we use none)
    DEPTHWISE_CONV_2D        same
    FULLY_CONNECTED          "output tensor is one-dimensional"         -> checked
    MEAN                     "reduction along x- and/or y-dimensions"   -> checked
    SOFTMAX                  1-D input, at most 16,000 elements          -> checked
    CONCATENATION            no fused activation; a constant input only as 2-input zero pad -> checked
    AVERAGE_POOL_2D, MAX_POOL_2D  no fused activation               -> checked
    LOGISTIC, TANH, RELU, RELU6   activations
    RESHAPE                  (large reshapes may stay on the CPU)
    PAD                      x/y padding only
    QUANTIZE                 int8 -> int8 requantisation
General rules checked on every tensor: int8 activations (int32 only for biases and
shape/axis constants, never a float), static shapes, batch 1, at most 3 dims > 1.
The Edge TPU compiler (edgetpu_compiler) remains the final word; this is the check
that runs without it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf

EDGETPU_OPS: frozenset[str] = frozenset(
    "ADD SUB MUL CONV_2D DEPTHWISE_CONV_2D FULLY_CONNECTED MEAN SOFTMAX CONCATENATION "
    "AVERAGE_POOL_2D MAX_POOL_2D LOGISTIC TANH RELU RELU6 RESHAPE PAD QUANTIZE".split()
)
FORBIDDEN_OPS: frozenset[str] = frozenset({"TRANSPOSE", "BATCH_MATMUL", "GELU", "DEQUANTIZE"})

_ITEMSIZE = {"int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "float32": 4, "float16": 2, "bool": 1}


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the flatbuffer: constant (weights, biases, shapes) or activation."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    is_const: bool
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * _ITEMSIZE.get(self.dtype, 4)


@dataclass
class OpInfo:
    name: str
    inputs: list[int]
    outputs: list[int]
    fused_activation: int = 0


@dataclass
class TfliteReport:
    """What the converter emitted: ops in execution order, tensors, sizes."""

    ops: list[OpInfo]
    tensors: list[TensorInfo]
    inputs: list[int]
    outputs: list[int]
    const_data: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def op_names(self) -> list[str]:
        return [o.name for o in self.ops]

    @property
    def int8_weight_bytes(self) -> int:
        """Bytes of int8 constants (the weights)."""
        return sum(t.nbytes for t in self.tensors if t.is_const and t.dtype == "int8")

    @property
    def const_bytes(self) -> int:
        """Bytes of all constants (int8 weights + int32 biases + shape constants)."""
        return sum(t.nbytes for t in self.tensors if t.is_const)

    @property
    def largest_activation(self) -> TensorInfo:
        return max((t for t in self.tensors if not t.is_const), key=lambda t: t.nbytes)


def _batched(x: np.ndarray, shape: Sequence[int | None]) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x[None] if x.ndim == len(shape) - 1 else x


def batch1(model: tf.keras.Model) -> tf.keras.Model:
    """The same model (shared weights) with a static batch of 1, so no SHAPE/PACK ops appear."""
    inputs = [tf.keras.Input(tuple(i.shape[1:]), batch_size=1, name=i.name.split(":")[0]) for i in model.inputs]
    out = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    return tf.keras.Model(inputs, out, name=f"{model.name}_b1")


def convert_int8(
    model: tf.keras.Model,
    representative: Iterable[np.ndarray | Sequence[np.ndarray]],
    pin_input_range: tuple[float, float] | None = None,
    via_keras: bool = False,
) -> bytes:
    """Full-int8 TFLite (int8 in/out, per-channel weights, TFLITE_BUILTINS_INT8 only).

    ``representative``: one array per sample for a one-input model (with or without the
    batch dim), or a sequence of arrays (model input order) for a multi-input model.
    ``pin_input_range=(-128, 127)`` adds one calibration sample holding both ends, so the
    input quantisation of an int8-feature model is scale 1, zero point 0 (the tensor then
    carries the feature codes unchanged).
    ``via_keras=True`` uses ``TFLiteConverter.from_keras_model``. The default converts the
    model's concrete function (traced without AutoGraph) with the same MLIR converter
    and settings and gets the same ops; it is ~50x faster (about 1 s instead of 30-70 s
    for the default acoustic model on 2 busy cores) because from_keras_model first
    exports a SavedModel and AutoGraph-transpiles every Keras layer's call.
    """
    samples = [list(s) if isinstance(s, (list, tuple)) else [s] for s in representative]
    shapes = [tuple(i.shape) for i in model.inputs]
    samples = [[_batched(x, sh) for x, sh in zip(s, shapes)] for s in samples]
    if not samples:
        raise ValueError("representative dataset is empty")
    if pin_input_range is not None:
        anchor = [x.copy() for x in samples[0]]
        for x in anchor:
            x.flat[0], x.flat[1] = pin_input_range
        samples.append(anchor)

    m1 = batch1(model)
    if via_keras:
        conv = tf.lite.TFLiteConverter.from_keras_model(m1)
    else:
        specs = [tf.TensorSpec(i.shape, tf.float32) for i in m1.inputs]
        fn = tf.function(lambda *xs: m1(list(xs) if len(xs) > 1 else xs[0], training=False), autograph=False)
        conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function(*specs)], m1)
        conv.experimental_lower_to_saved_model = False  # freeze the graph directly: no SavedModel export
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: iter(samples)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with warnings.catch_warnings():  # int8 I/O always triggers it; the statistics come from calibration
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
        return conv.convert()


def inspect_tflite(buf: bytes) -> TfliteReport:
    """Parse the flatbuffer (main subgraph) into ops, tensors and constants
    (:mod:`edgeser.tflite_file`, the one reader)."""
    from edgeser import tflite_file

    m = tflite_file.parse(buf)
    if len(m.subgraphs) != 1:
        raise ValueError(f"expected one subgraph, found {len(m.subgraphs)}")
    g = m.subgraphs[0]
    tensors, const = [], {}
    for i in range(len(g.tensors)):
        t = tflite_file.tensor_info(m, i)
        dtype = t.dtype.lower()
        tensors.append(TensorInfo(i, t.name, t.shape, dtype, t.constant, t.scales, t.zero_points))
        if t.constant and dtype in _ITEMSIZE:
            const[i] = tflite_file.const_values(m, i)
    ops = []
    for o in g.operators:
        opts = o.builtinOptions
        act = int(getattr(opts, "fusedActivationFunction", 0) or 0) if opts is not None else 0
        ops.append(OpInfo(tflite_file.op_name(m, o.opcodeIndex)[0], list(o.inputs), list(o.outputs), act))
    return TfliteReport(ops, tensors, list(g.inputs), list(g.outputs), const)


def int8_op_names(model: tf.keras.Model, representative: Iterable[np.ndarray], **kwargs) -> list[str]:
    """Builtin op names, in execution order, of the model converted to full int8."""
    return inspect_tflite(convert_int8(model, representative, **kwargs)).op_names


def edgetpu_problems(r: TfliteReport) -> list[str]:
    """Every departure from the Edge TPU rules found in the converted model (empty = all mappable)."""
    problems, T = [], r.tensors
    for t in T:
        if t.dtype not in ("int8", "int32") or (t.dtype == "int32" and not t.is_const):
            problems.append(f"tensor {t.name} {t.shape} is {t.dtype} (float or non-int8 activation)")
        if not t.is_const:
            if len(t.shape) >= 2 and t.shape[0] != 1:
                problems.append(f"tensor {t.name} {t.shape}: leading (batch) dim is not 1")
            if sum(d > 1 for d in t.shape) > 3:
                problems.append(f"tensor {t.name} {t.shape}: more than 3 dims > 1")
            if any(d < 1 for d in t.shape):
                problems.append(f"tensor {t.name} {t.shape}: dynamic or empty shape")
    for k, o in enumerate(r.ops):
        where = f"op {k} {o.name}"
        if o.name not in EDGETPU_OPS:
            problems.append(f"{where}: not in the Edge TPU allow-list")
        out = T[o.outputs[0]]
        if o.name == "FULLY_CONNECTED" and sum(d > 1 for d in out.shape) > 1:
            problems.append(f"{where}: output {out.shape} is not 1-D")
        if o.name == "MEAN":
            axes = {int(a) % len(T[o.inputs[0]].shape) for a in np.ravel(r.const_data.get(o.inputs[1], [-1]))}
            if not axes <= {1, 2} or len(T[o.inputs[0]].shape) != 4:
                problems.append(f"{where}: reduces axes {sorted(axes)} of {T[o.inputs[0]].shape}, not x/y only")
        if o.name == "SOFTMAX":
            s = T[o.inputs[0]].shape
            if sum(d > 1 for d in s) > 1 or np.prod(s) > 16000:
                problems.append(f"{where}: input {s} is not a 1-D vector of <= 16,000 elements")
        if o.name in ("CONCATENATION", "AVERAGE_POOL_2D", "MAX_POOL_2D") and o.fused_activation:
            problems.append(f"{where}: fused activation")
        if o.name == "CONCATENATION" and any(T[i].is_const for i in o.inputs):
            problems.append(f"{where}: constant input")
    return problems
