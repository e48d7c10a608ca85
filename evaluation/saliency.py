"""Where the acoustic model looks: saliency maps over its int8 feature input ``[T, C]``.

The acoustic model takes features ``[1, T frames, C channels]`` (int8 codes as float32)
and returns logits ``[1, K]``. Three pieces, all pure functions of their inputs:

* :func:`occlusion_saliency` — Zeiler & Fergus (2014) occlusion: each patch of
  ``(frames, channels)`` is replaced by the fill value (the frontend's silence code) and
  the drop of the target class' softmax probability is credited to every cell of the
  patch; a cell's saliency is the mean drop over the patches that cover it (positive:
  the patch supported the target class). Only a ``predict_fn`` is needed, so it runs on
  the float Keras model and on the int8 model through TFLite-Micro alike.
* :func:`gradient_saliency` — ``|d logit_target / d x|`` (``mode="gradient"``) or
  ``(x - baseline) * d logit / d x`` (``mode="input"``, gradient x input relative to the
  silence baseline) on the float Keras model with ``tf.GradientTape``; optionally
  SmoothGrad (Smilkov et al., 2017): the mean map over ``samples`` copies of ``x`` with
  Gaussian noise of ``noise`` x (max - min of x), drawn from a seeded generator.
* :func:`salient_frames` — the top ``share`` of frames by saliency summed over channels;
  :func:`frame_intervals` maps a frame mask to time intervals in seconds of the clip
  (frames of ``stride_ms``, each ``window_ms`` long, shifted by the centre crop/pad of
  ``edgeser.datasets.fit_frames``).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

PredictFn = Callable[[np.ndarray], np.ndarray]  # float32 [B, T, C] -> logits [B, K]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``[B, K]`` logits (float64)."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _starts(length: int, size: int, step: int) -> list[int]:
    """Patch starts 0, step, ... with the last patch flush with the end (every index covered)."""
    if size >= length:
        return [0]
    starts = list(range(0, length - size + 1, step))
    if starts[-1] != length - size:
        starts.append(length - size)
    return starts


def occlusion_saliency(
    predict_fn: PredictFn,
    x: np.ndarray,
    target: int,
    patch: tuple[int, int] = (10, 8),
    stride: tuple[int, int] | None = None,
    fill: float = -128.0,
    batch_size: int = 64,
) -> np.ndarray:
    """Occlusion saliency ``[T, C]`` (float64, units: drop of the target probability).

    ``predict_fn`` maps float32 ``[B, T, C]`` to logits ``[B, K]``; ``x`` is one example
    ``[T, C]``; ``patch`` and ``stride`` are (frames, channels) (stride defaults to half
    the patch); ``fill`` is the value an occluded cell takes (the silence code).
    """
    x = np.asarray(x, np.float32)
    if x.ndim != 2:
        raise ValueError(f"x must be [frames, channels], got shape {x.shape}")
    t, c = x.shape
    pf, pc = min(int(patch[0]), t), min(int(patch[1]), c)
    if pf < 1 or pc < 1:
        raise ValueError(f"patch must be at least 1x1, got {patch}")
    sf, sc = stride if stride is not None else (max(1, pf // 2), max(1, pc // 2))
    if sf < 1 or sc < 1:
        raise ValueError(f"stride must be at least 1x1, got {stride}")
    base_logits = np.asarray(predict_fn(x[None]))
    if not 0 <= target < base_logits.shape[-1]:
        raise ValueError(f"target {target} is not a class index (model has {base_logits.shape[-1]} classes)")
    base = softmax(base_logits)[0, target]
    boxes = [(i, j) for i in _starts(t, pf, sf) for j in _starts(c, pc, sc)]
    total = np.zeros((t, c), np.float64)
    count = np.zeros((t, c), np.float64)
    for b0 in range(0, len(boxes), batch_size):
        chunk = boxes[b0 : b0 + batch_size]
        batch = np.repeat(x[None], len(chunk), axis=0)
        for k, (i, j) in enumerate(chunk):
            batch[k, i : i + pf, j : j + pc] = fill
        probs = softmax(np.asarray(predict_fn(batch)))[:, target]
        for (i, j), p in zip(chunk, probs):
            total[i : i + pf, j : j + pc] += base - p
            count[i : i + pf, j : j + pc] += 1
    return total / np.maximum(count, 1)


def gradient_saliency(
    model,
    x: np.ndarray,
    target: int,
    mode: str = "gradient",
    baseline: float = -128.0,
    samples: int = 0,
    noise: float = 0.1,
    seed: int = 0,
) -> np.ndarray:
    """Gradient saliency ``[T, C]`` (float64) of the target logit of a float Keras ``model``.

    ``mode="gradient"``: ``|d logit / d x|`` (logit units per feature code);
    ``mode="input"``: ``(x - baseline) * d logit / d x`` (logit units, signed).
    ``samples > 0`` turns on SmoothGrad: the mean map over that many noisy copies
    (noise std ``noise * (x.max() - x.min())``, generator seeded with ``seed``).
    """
    import tensorflow as tf

    if mode not in ("gradient", "input"):
        raise ValueError(f"mode must be 'gradient' or 'input', got {mode!r}")
    x = np.asarray(x, np.float32)
    if x.ndim != 2:
        raise ValueError(f"x must be [frames, channels], got shape {x.shape}")
    if samples > 0:
        rng = np.random.default_rng(seed)
        sigma = noise * float(x.max() - x.min() or 1.0)
        batch = x[None] + rng.normal(0.0, sigma, (samples, *x.shape)).astype(np.float32)
    else:
        batch = x[None]
    inputs = tf.convert_to_tensor(batch)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        logits = model(inputs, training=False)
        if not 0 <= target < logits.shape[-1]:
            raise ValueError(f"target {target} is not a class index (model has {logits.shape[-1]} classes)")
        chosen = tf.reduce_sum(logits[:, target])
    grads = tape.gradient(chosen, inputs).numpy().astype(np.float64)
    maps = np.abs(grads) if mode == "gradient" else (batch.astype(np.float64) - baseline) * grads
    return maps.mean(axis=0)


def frame_scores(saliency: np.ndarray) -> np.ndarray:
    """Saliency summed over channels: ``[T, C] -> [T]``."""
    s = np.asarray(saliency, np.float64)
    if s.ndim != 2:
        raise ValueError(f"saliency must be [frames, channels], got shape {s.shape}")
    return s.sum(axis=1)


def salient_frames(saliency: np.ndarray, share: float = 0.2) -> np.ndarray:
    """bool ``[T]``: the ``ceil(share * T)`` frames with the largest summed saliency (ties: earlier frame)."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    scores = frame_scores(saliency)
    keep = max(1, math.ceil(share * len(scores) - 1e-9))
    order = np.argsort(-scores, kind="stable")[:keep]
    mask = np.zeros(len(scores), bool)
    mask[order] = True
    return mask


def crop_offset(raw_frames: int, frames: int) -> int:
    """Model frame ``j`` is frame ``j + offset`` of the clip's full features (``fit_frames``):
    positive when the clip was centre-cropped, negative when it was padded."""
    if raw_frames >= frames:
        return (raw_frames - frames) // 2
    return -((frames - raw_frames) // 2)


def frame_times(num_frames: int, stride_ms: int, window_ms: int, offset: int = 0) -> np.ndarray:
    """``[T, 2]`` start and end in seconds of each model frame in the clip (may lie outside it when padded)."""
    j = np.arange(num_frames) + offset
    start = j * stride_ms / 1000.0
    return np.stack([start, start + window_ms / 1000.0], axis=1)


def frame_intervals(
    mask: Sequence[bool] | np.ndarray, stride_ms: int, window_ms: int, offset: int = 0, duration_s: float | None = None
) -> list[tuple[float, float]]:
    """Merge the masked frames into ``[(start_s, end_s), ...]`` of the clip.

    Frame ``j`` covers ``[(j+offset)*stride, (j+offset)*stride + window)``; consecutive
    masked frames merge into one interval; intervals are clipped to ``[0, duration_s]``
    and dropped when nothing is left (padding frames carry no audio).
    """
    mask = np.asarray(mask, bool)
    times = frame_times(len(mask), stride_ms, window_ms, offset)
    out: list[tuple[float, float]] = []
    j = 0
    while j < len(mask):
        if not mask[j]:
            j += 1
            continue
        k = j
        while k + 1 < len(mask) and mask[k + 1]:
            k += 1
        lo, hi = float(times[j, 0]), float(times[k, 1])
        lo = max(lo, 0.0)
        if duration_s is not None:
            hi = min(hi, float(duration_s))
        if hi > lo:
            out.append((round(lo, 6), round(hi, 6)))
        j = k + 1
    return out
