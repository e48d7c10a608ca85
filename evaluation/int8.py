"""Run full-int8 .tflite models on float data, as the board would: quantise, invoke, dequantise.

``backend="tflm"`` uses the TFLite-Micro Python interpreter (the kernels the
Cortex-M7 runs), ``"litert"`` the LiteRT host interpreter. Inputs are matched to the
model's inputs in order; each example is quantised with the input tensor's scale and
zero point (round half away from zero, clipped to int8) and each output dequantised.

:class:`BoardChain` runs the three device models the way the firmware does, in
integers end to end (feature requantisation, keyword pooling, fusion-input
requantisation with TFLite's fixed-point multiplier); ``edgeser.evaluation.predictor.Predictor``
uses it, and tests/test_firmware_parity.py checks it byte for byte against the
firmware core (firmware/README.md, "Parity with Python").

:func:`compare_float_int8` scores a float Keras model and its int8 ``.tflite`` on the same
examples (batch 1, as on the board; metrics from ``edgeser.metrics``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edgeser.benchmarks.backends import open_runner
from edgeser.metrics import score
from edgeser.quantize.arith import dequantize_output as dequantize
from edgeser.quantize.arith import quantize_input as quantize


class Int8Model:
    """One int8 model on one backend: ``model(*inputs)`` -> list of float outputs, batched over axis 0."""

    def __init__(self, tflite: bytes, backend: str = "tflm", source: str = "model"):
        from edgeser.quantize.c_export import io_quantization

        self.data = bytes(tflite)  # the flatbuffer (its metadata: quantize.convert.read_metadata_bytes)
        self.runner = open_runner(backend, self.data, source=source)
        self.inputs = self.runner.input_specs()
        self.outputs = [(o.scale, o.zero_point) for o in io_quantization(bytes(tflite))[1]]
        self.backend = backend

    def __call__(self, *batches: np.ndarray) -> list[np.ndarray]:
        if len(batches) != len(self.inputs):
            raise ValueError(f"model takes {len(self.inputs)} inputs, got {len(batches)}")
        count = len(batches[0])
        results: list[list[np.ndarray]] = []
        for n in range(count):
            arrays = [
                quantize(np.reshape(batch[n], spec.shape), spec.scale, spec.zero_point)
                for batch, spec in zip(batches, self.inputs)
            ]
            self.runner.set_inputs(arrays)
            self.runner.invoke()
            results.append(list(self.runner.outputs()))
        outputs = []
        for index, (scale, zero_point) in enumerate(self.outputs):
            stacked = np.concatenate([r[index].reshape(1, -1) for r in results], axis=0)
            outputs.append(dequantize(stacked, scale, zero_point))
        return outputs

    def invoke_int8(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """One example given as the int8 input tensors themselves -> the int8 output tensors."""
        if len(arrays) != len(self.inputs):
            raise ValueError(f"model takes {len(self.inputs)} inputs, got {len(arrays)}")
        tensors = []
        for a, spec in zip(arrays, self.inputs):
            a = np.asarray(a)
            if a.dtype != np.int8:
                raise TypeError(f"invoke_int8 takes int8 tensors, got {a.dtype}")
            tensors.append(np.ascontiguousarray(a.reshape(spec.shape)))
        self.runner.set_inputs(tensors)
        self.runner.invoke()
        return [np.array(o, dtype=np.int8, copy=True) for o in self.runner.outputs()]

    def from_features(self, x: np.ndarray, feature_scale: float = 1.0, feature_zero_point: int = 0) -> np.ndarray:
        """Dequantised first output for int8 feature batches ``[N, ...]`` (one-input models),
        the features requantised to the input as the firmware does (:class:`Requantizer`)."""
        spec = self.inputs[0]
        r = Requantizer.make(feature_scale, feature_zero_point, spec.scale, spec.zero_point)
        q = [self.invoke_int8(r.apply(example))[0].reshape(-1) for example in np.asarray(x)]
        scale, zero_point = self.outputs[0]
        return dequantize(np.stack(q), scale, zero_point) if q else np.zeros((0, 0), np.float32)

    @classmethod
    def from_file(cls, path: str | Path, backend: str = "tflm") -> "Int8Model":
        return cls(Path(path).read_bytes(), backend, source=str(path))


# -- the board's integer chain (firmware/core/include/edgeser/stream.h) ---------------------
# The real value of an int8 feature code q is q itself: the models are trained on
# float(features) and their feature inputs are pinned to scale 1, zero point 0
# (model_io.h: EDGESER_FEATURE_SCALE 1.0f, EDGESER_FEATURE_ZERO_POINT 0).
FEATURE_SCALE = 1.0
FEATURE_ZERO_POINT = 0


def _f32(x: float) -> float:
    """A scale as the firmware holds it: a C float (model_io.h literals are float32)."""
    return float(np.float32(x))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier (firmware/core/src/quant.cc): real ~= m * 2**(shift - 31), m in [2**30, 2**31)."""
    if not real > 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = math.floor(q * (1 << 31) + 0.5)  # std::round of a positive value
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return (1 << 31) - 1, 30
    return int(q_fixed), int(shift)


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """round(x * m * 2**(shift - 31)) with one rounding, ties toward +inf, saturated to int32 (int64 result)."""
    x = np.asarray(x, dtype=np.int64)
    if multiplier == 0:
        return np.zeros_like(x)
    total = 31 - shift
    y = (x * np.int64(multiplier) + (np.int64(1) << np.int64(total - 1))) >> np.int64(total)  # arithmetic shift
    return np.clip(y, -(2**31), 2**31 - 1)


@dataclass(frozen=True)
class Requantizer:
    """int8 (s_in, z_in) -> int8 (s_out, z_out), exactly ``edgeser::Requantizer`` (quant.h).

    ``divisor`` folds a division into the multiplier (keyword pooling divides a sum by K).
    """

    in_zero_point: int
    out_zero_point: int
    multiplier: int
    shift: int
    identity: bool

    @classmethod
    def make(cls, in_scale: float, in_zero_point: int, out_scale: float, out_zero_point: int, divisor: int = 1) -> "Requantizer":
        s_in, s_out = _f32(in_scale), _f32(out_scale)
        identity = divisor == 1 and s_in == s_out and int(in_zero_point) == int(out_zero_point)
        den = s_out * float(max(1, int(divisor)))
        m, shift = quantize_multiplier(s_in / den if den > 0.0 else 0.0)
        return cls(int(in_zero_point), int(out_zero_point), m, shift, identity)

    def apply(self, q: np.ndarray) -> np.ndarray:
        q = np.asarray(q, dtype=np.int64)
        if self.identity:
            return np.clip(q, -128, 127).astype(np.int8)
        return self.apply_centered(q - self.in_zero_point)

    def apply_centered(self, centered: np.ndarray) -> np.ndarray:
        y = multiply_by_quantized_multiplier(centered, self.multiplier, self.shift) + self.out_zero_point
        return np.clip(y, -128, 127).astype(np.int8)


def pool_mean(embeddings: np.ndarray, emb_scale: float, emb_zero_point: int, out_scale: float, out_zero_point: int) -> np.ndarray:
    """``[..., K, D]`` int8 keyword embeddings -> ``[..., D]`` int8 fusion input (``edgeser::PoolMean``).

    Per dimension: ``sum_k (q_k - z_emb)`` in int32, then one requantisation with the
    multiplier ``s_emb / (K * s_out)``: the mean in real units, rounded once.
    """
    e = np.asarray(embeddings, dtype=np.int64)
    k = e.shape[-2]
    r = Requantizer.make(emb_scale, emb_zero_point, out_scale, out_zero_point, divisor=k)
    return r.apply_centered((e - emb_zero_point).sum(axis=-2))


class BoardChain:
    """The three device models chained exactly as the firmware chains them, in integers.

    ``run(clip, windows)`` returns every int8 tensor the board hands to or takes from a
    model for one decision: the feature windows requantised to each model's input
    (a plain copy for the pinned scale-1/zero-point-0 inputs), the keyword outputs
    pooled with :func:`pool_mean`, the acoustic output requantised to the fusion
    head's input with :class:`Requantizer`, and the fusion logits. The host parity
    test (tests/test_firmware_parity.py) checks these bytes against the firmware core.

    A fusion model whose metadata holds a speaker prior (``fusion.input_norm: speaker``)
    gets its inputs from :class:`~edgeser.models.speaker_norm.BoardSpeakerNorm`
    instead: running statistics of the clips run since :meth:`new_speaker`.
    """

    def __init__(self, keyword: "Int8Model", acoustic: "Int8Model", fusion: "Int8Model",
                 feature_scale: float = FEATURE_SCALE, feature_zero_point: int = FEATURE_ZERO_POINT):
        self.keyword, self.acoustic, self.fusion = keyword, acoustic, fusion
        kw_in, ac_in = keyword.inputs[0], acoustic.inputs[0]
        self.keyword_input = Requantizer.make(feature_scale, feature_zero_point, kw_in.scale, kw_in.zero_point)
        self.acoustic_input = Requantizer.make(feature_scale, feature_zero_point, ac_in.scale, ac_in.zero_point)
        fus_ac = fusion.inputs[0]
        fus_kw = fusion.inputs[1] if len(fusion.inputs) == 2 else fusion.inputs[0]
        self.fusion_acoustic_q = (fus_ac.scale, fus_ac.zero_point)
        self.fusion_keyword_q = (fus_kw.scale, fus_kw.zero_point)
        ac_out = acoustic.outputs[0]
        self.acoustic_to_fusion = Requantizer.make(ac_out[0], ac_out[1], fus_ac.scale, fus_ac.zero_point)
        from edgeser.models.speaker_norm import METADATA_KEY, SpeakerPrior
        from edgeser.quantize.convert import read_metadata_bytes

        text = read_metadata_bytes(fusion.data).get(METADATA_KEY)
        self.speaker_prior = SpeakerPrior.from_json(text, "fusion model metadata") if text else None
        self._speaker_norm = None  # BoardSpeakerNorm, made at the first clip (it needs K)

    def new_speaker(self) -> None:
        """Forget the running speaker statistics (the firmware's ``NewSpeaker``)."""
        if self._speaker_norm is not None:
            self._speaker_norm.reset()

    def _speaker_inputs(self, ac_out: np.ndarray, kw_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from edgeser.models.speaker_norm import BoardSpeakerNorm

        (s_ac, z_ac), (s_kw, z_kw) = self.acoustic.outputs[0], self.keyword.outputs[0]
        k, ea, ek = len(kw_out), ac_out.size, kw_out.shape[1]
        if self._speaker_norm is None:
            unit = np.concatenate([np.full(ea, np.float64(_f32(s_ac))), np.full(ek, np.float64(_f32(s_kw)) / k)])
            scale = np.concatenate([np.full(ea, _f32(self.fusion_acoustic_q[0])),
                                    np.full(ek, _f32(self.fusion_keyword_q[0]))])
            zero = np.concatenate([np.full(ea, self.fusion_acoustic_q[1]), np.full(ek, self.fusion_keyword_q[1])])
            self._speaker_norm = BoardSpeakerNorm(self.speaker_prior, unit, scale, zero)
        centred = np.concatenate([ac_out.astype(np.int64) - z_ac, (kw_out.astype(np.int64) - z_kw).sum(axis=0)])
        q = self._speaker_norm.apply(centred)
        return q[:ea], q[ea:]

    @classmethod
    def from_files(cls, keyword: str | Path, acoustic: str | Path, fusion: str | Path, backend: str = "tflm") -> "BoardChain":
        return cls(*(Int8Model.from_file(p, backend) for p in (keyword, acoustic, fusion)))

    def run(self, clip: np.ndarray, windows: np.ndarray) -> dict[str, np.ndarray]:
        """One clip: int8 ``[T, C]`` features and its int8 ``[K, Tk, C]`` keyword windows."""
        windows = np.asarray(windows, dtype=np.int8)
        kw_in = self.keyword_input.apply(windows)
        kw_out = np.stack([self.keyword.invoke_int8(w)[0].reshape(-1) for w in kw_in])
        ac_in = self.acoustic_input.apply(np.asarray(clip, dtype=np.int8))
        ac_out = self.acoustic.invoke_int8(ac_in)[0].reshape(-1)
        s_kw, z_kw = self.keyword.outputs[0]
        if self.speaker_prior is not None:
            fusion_acoustic, fusion_keyword = self._speaker_inputs(ac_out, kw_out)
        else:
            fusion_keyword = pool_mean(kw_out, s_kw, z_kw, *self.fusion_keyword_q)
            fusion_acoustic = self.acoustic_to_fusion.apply(ac_out)
        if len(self.fusion.inputs) == 2:
            logits = self.fusion.invoke_int8(fusion_acoustic, fusion_keyword)[0]
        else:
            logits = self.fusion.invoke_int8(np.concatenate([fusion_acoustic, fusion_keyword]))[0]
        return {
            "keyword_input": kw_in,
            "keyword_output": kw_out,
            "acoustic_input": ac_in,
            "acoustic_output": ac_out,
            "fusion_acoustic": fusion_acoustic,
            "fusion_keyword": fusion_keyword,
            "logits": logits.reshape(-1),
        }

    def logits(self, x: np.ndarray, windows: np.ndarray, speakers: Sequence[str] | None = None,
               seed: int = 0) -> np.ndarray:
        """Dequantised fusion logits ``[N, classes]`` of ``N`` clips (int8 ``[N, T, C]``, ``[N, K, Tk, C]``).

        With a speaker prior, each speaker's clips run as one session in the seeded order of
        ``speaker_norm.speaker_order`` (the float path's order); without ``speakers`` each
        clip is a new speaker."""
        from edgeser.models.speaker_norm import speaker_order

        scale, zero_point = self.fusion.outputs[0]
        if not len(x):
            return dequantize(np.zeros((0, 0), np.int8), scale, zero_point)
        if speakers is not None and len(speakers) != len(x):
            raise ValueError(f"{len(speakers)} speakers for {len(x)} clips")
        sessions = ([np.array([i]) for i in range(len(x))] if speakers is None or self.speaker_prior is None
                    else speaker_order(speakers, seed))
        q: list[np.ndarray | None] = [None] * len(x)
        for rows in sessions:
            self.new_speaker()
            for i in rows:
                q[i] = self.run(x[i], windows[i])["logits"]
        return dequantize(np.stack(q), scale, zero_point)


# -- float vs int8 ----------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """Float vs int8 on the same ``n`` examples (metrics in [0, 1])."""

    n: int
    float_wa: float
    float_ua: float
    float_macro_f1: float
    int8_wa: float
    int8_ua: float
    int8_macro_f1: float
    argmax_agreement: float  # fraction of examples where both predict the same class
    mean_abs_logit_error: float  # mean |float output - dequantised int8 output|, output units

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def _inputs(x: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(a, np.float32) for a in x] if isinstance(x, (list, tuple)) else [np.asarray(x, np.float32)]


def run_int8(tflite: bytes, x: np.ndarray | Sequence[np.ndarray], backend: str = "litert") -> np.ndarray:
    """Dequantised first output of the int8 model for each example (``[N, …]`` float; a list for multi-input)."""
    return Int8Model(bytes(tflite), backend)(*_inputs(x))[0]


def compare_float_int8(
    keras_model: Any,
    tflite: bytes,
    x: np.ndarray | Sequence[np.ndarray],
    y: np.ndarray,
    num_classes: int | None = None,
    backend: str = "litert",
) -> Comparison:
    """Score both models on ``x`` (``[N, …]`` float features, a list for multi-input
    models) against labels ``y`` (``[N]`` int); the int8 model on ``backend``."""
    from edgeser.models.training import logits_of

    inputs = _inputs(x)
    x = inputs[0]
    y = np.asarray(y).astype(int)
    float_out = logits_of(keras_model, inputs if len(inputs) > 1 else x).reshape(len(x), -1)
    int8_out = run_int8(tflite, inputs, backend)
    k = num_classes or float_out.shape[1]
    fp, qp = float_out.argmax(axis=1), int8_out.argmax(axis=1)
    fs, qs = score(y, fp, k), score(y, qp, k)
    return Comparison(
        n=len(x),
        float_wa=fs.wa,
        float_ua=fs.ua,
        float_macro_f1=fs.macro_f1,
        int8_wa=qs.wa,
        int8_ua=qs.ua,
        int8_macro_f1=qs.macro_f1,
        argmax_agreement=float(np.mean(fp == qp)) if len(x) else float("nan"),
        mean_abs_logit_error=float(np.mean(np.abs(float_out - int8_out))) if len(x) else float("nan"),
    )
