"""Run full-int8 .tflite models on float data, as the board would: quantise, invoke, dequantise.

``backend="tflm"`` uses the TFLite-Micro Python interpreter (the kernels the
Cortex-M7 runs), ``"litert"`` the LiteRT host interpreter. Inputs are matched to the
model's inputs in order; each example is quantised with the input tensor's scale and
zero point (round half away from zero, clipped to int8) and each output dequantised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeser.benchmarks.backends import open_runner


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float -> int8 with the tensor's (scale, zero_point)."""
    q = np.asarray(x, dtype=np.float64) / scale + zero_point
    return np.clip(np.sign(q) * np.floor(np.abs(q) + 0.5), -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (np.asarray(q, dtype=np.float32) - zero_point) * np.float32(scale)


class Int8Model:
    """One int8 model on one backend: ``model(*inputs)`` -> list of float outputs, batched over axis 0."""

    def __init__(self, tflite: bytes, backend: str = "tflm", source: str = "model"):
        from edgeser.quantize.c_export import io_quantization

        self.runner = open_runner(backend, bytes(tflite), source=source)
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

    @classmethod
    def from_file(cls, path: str | Path, backend: str = "tflm") -> "Int8Model":
        return cls(Path(path).read_bytes(), backend, source=str(path))
