"""Explain one prediction of a run's acoustic model by where it looks and which acoustic cues
are unusual there (after Nasr, Ren & Johnson, "Beyond saliency: acoustic cues ...").

    edgeser explain CLIP.wav --run RUN --out DIR [--method occlusion|gradient|both] [--backend keras|tflm]

Steps of :func:`explain_clip`:

1. the clip (``corpora.audio.load_audio``, at the run's sample rate) becomes the run's
   model input exactly as in training: ``compute_features`` then ``fit_frames`` to ``T``
   frames (centre crop / silence-code padding; ``offset`` records the shift);
2. the acoustic-only model predicts: the float Keras model (``backend="keras"``,
   ``models.registry.load``) or the int8 ``audio_only_int8.tflite`` on TFLite-Micro
   (``backend="tflm"``, ``evaluation.int8.Int8Model``); the target is the predicted class;
3. saliency ``[T, C]`` (``evaluation.saliency``): occlusion on the chosen backend with the
   silence code as fill, gradient x input on the float model, or ``both`` (each map divided
   by its largest |value|, then averaged); the top ``share`` of frames are the salient ones,
   mapped to intervals in seconds of the clip;
4. cues (``evaluation.cues``) in the salient intervals and over the whole clip; per cue the
   difference (salient - whole), the ratio, a z-like value (difference / ``CUE_SCALES``) and,
   for the predicted emotion, whether the difference goes the way the literature expects
   (``EXPECTED_DIRECTION``): agree / disagree / n.a.;
5. ``explain.json`` and ``explain.png`` (features with time in seconds; saliency over the
   features with the salient frames marked; bars of the z-like differences coloured by
   agreement) written atomically into ``out_dir``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ("occlusion", "gradient", "both")
BACKENDS = ("keras", "tflm")
AGREEMENT_COLOURS = {"agree": "tab:green", "disagree": "tab:red", "n.a.": "tab:gray"}


class ExplainError(RuntimeError):
    """A clip, run or option that cannot be explained (the message names it and the problem)."""


def _open_run(run_dir: Path, method: str, backend: str):
    from edgeser.evaluation.evaluate import run_folder

    run = run_folder(run_dir, ExplainError)
    needed = ["labels.json"]
    if backend == "keras" or method in ("gradient", "both"):
        needed.append("acoustic.weights.npz")
    if backend == "tflm":
        needed.append("audio_only_int8.tflite")
    missing = [n for n in needed if not (run.path / n).is_file()]
    if missing:
        hint = "`edgeser quantize RUN`" if missing == ["audio_only_int8.tflite"] else "`edgeser train`"
        raise ExplainError(f"{run_dir}: the run has no trained acoustic model ({', '.join(missing)} missing); run {hint} first")
    return run


# A clip quieter than this has no speech to explain; one shorter than this share of the
# training clip length is explained with a warning (the model sees mostly padding).
SILENCE_DBFS = -60.0
MIN_SHARE_OF_CLIP = 0.25


def clip_window(audio: np.ndarray, config, frames: int) -> tuple[np.ndarray, int, int]:
    """int16 audio -> (int8 model input ``[frames, C]``, offset of model frame 0 in the clip's frames, raw frames)."""
    from edgeser.datasets import fit_frames, silence_code
    from edgeser.evaluation.saliency import crop_offset
    from edgeser.frontend.features import compute_features

    raw = compute_features(audio, config)
    return fit_frames(raw, frames, silence_code(config)), crop_offset(len(raw), frames), len(raw)


def _predict_fn(run, backend: str):
    """float32 ``[B, T, C]`` -> logits ``[B, K]`` of the acoustic-only model on ``backend``."""
    from edgeser.evaluation.predictor import Predictor

    return Predictor.from_run(run, backend, acoustic_only=True).acoustic


def _normalised(saliency: np.ndarray) -> np.ndarray:
    top = float(np.max(np.abs(saliency)))
    return saliency / top if top > 0 else saliency


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def cue_comparison(emotion: str, salient: dict[str, float], whole: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Per cue: salient, whole, difference, ratio, z-like difference, expected direction and agreement."""
    from edgeser.evaluation.cues import CUE_KEYS, CUE_SCALES, EXPECTED_DIRECTION, agreement

    out = {}
    for key in CUE_KEYS:
        a, b = salient[key], whole[key]
        diff = a - b if math.isfinite(a) and math.isfinite(b) else math.nan
        ratio = a / b if math.isfinite(diff) and b != 0 else math.nan
        z = diff / CUE_SCALES[key]
        out[key] = {
            "salient": _finite(a),
            "whole": _finite(b),
            "difference": _finite(diff),
            "ratio": _finite(ratio),
            "z": _finite(z),
            "expected": EXPECTED_DIRECTION.get(emotion, {}).get(key, 0),
            "agreement": agreement(emotion, key, diff, tolerance=1e-9),
        }
    return out


def plot_explanation(path: Path, x: np.ndarray, saliency: np.ndarray, mask: np.ndarray, stride_ms: int, offset: int,
                     cues: dict[str, dict[str, Any]], emotion: str, title: str) -> None:
    """Three panels: features ``[T, C]`` (time in s of the clip), saliency over the features, cue bars
    (z-like differences coloured by agreement with the literature's direction for ``emotion``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgeser.atomic import atomic_path

    t = x.shape[0]
    extent = ((offset) * stride_ms / 1000, (offset + t) * stride_ms / 1000, -0.5, x.shape[1] - 0.5)
    fig, axes = plt.subplots(3, 1, figsize=(9, 10), gridspec_kw={"height_ratios": [1, 1, 1.2]})
    features = axes[0].imshow(x.T, origin="lower", aspect="auto", cmap="magma", extent=extent)
    fig.colorbar(features, ax=axes[0], fraction=0.03, pad=0.01)
    axes[0].set(title=f"{title}\nfeatures (int8 codes)", xlabel="time in the clip (s)", ylabel="channel")
    axes[1].imshow(x.T, origin="lower", aspect="auto", cmap="gray", extent=extent)
    limit = float(np.max(np.abs(saliency))) or 1.0
    image = axes[1].imshow(saliency.T, origin="lower", aspect="auto", cmap="coolwarm", vmin=-limit, vmax=limit,
                           alpha=0.6, extent=extent)
    for j in np.flatnonzero(mask):
        start = (j + offset) * stride_ms / 1000
        axes[1].axvspan(start, start + stride_ms / 1000, ymin=0.97, ymax=1.0, color="gold")
    fig.colorbar(image, ax=axes[1], fraction=0.03, pad=0.01)
    axes[1].set(title="saliency (gold: salient frames)", xlabel="time in the clip (s)", ylabel="channel")
    names = list(cues)
    values = [cues[k]["z"] if cues[k]["z"] is not None else 0.0 for k in names]
    colours = [AGREEMENT_COLOURS[cues[k]["agreement"]] for k in names]
    axes[2].barh(names, values, color=colours)
    axes[2].axvline(0, color="black", linewidth=0.8)
    axes[2].invert_yaxis()
    axes[2].set(title="cues: salient region - whole clip\n(green: the direction the literature expects for "
                      f"{emotion};\nred: the opposite; grey: no expectation / undefined)", xlabel="difference / typical scale")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def explain_clip(
    clip_path: str | Path,
    run_dir: str | Path,
    out_dir: str | Path,
    method: str = "occlusion",
    backend: str = "keras",
    share: float = 0.2,
    patch: tuple[int, int] = (10, 8),
    seed: int = 0,
) -> dict[str, Any]:
    """Explain the acoustic model's prediction on one clip; writes explain.json and explain.png; returns the JSON."""
    from edgeser.atomic import write_json
    from edgeser.datasets import silence_code
    from edgeser.evaluation.cues import CONTEXT_KEYS, DIRECTION_SOURCES, analyse, summarise
    from edgeser.evaluation.saliency import (frame_intervals, frame_scores, gradient_saliency, occlusion_saliency,
                                             salient_frames, softmax)
    from edgeser.corpora.audio import AudioError, load_audio
    from edgeser.models.registry import plan_of

    if method not in METHODS:
        raise ExplainError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if backend not in BACKENDS:
        raise ExplainError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if not 0.0 < share <= 1.0:
        raise ExplainError(f"share must be in (0, 1], got {share}")
    clip_path, out_dir = Path(clip_path), Path(out_dir)
    run = _open_run(Path(run_dir), method, backend)
    config = run.recipe.frontend
    try:
        audio = load_audio(clip_path, config.sample_rate)
    except AudioError as exc:
        raise ExplainError(str(exc)) from None
    if config.num_frames(len(audio)) == 0:
        raise ExplainError(f"{clip_path}: too short ({len(audio)} samples) for one {config.window_ms} ms frame")
    rms_dbfs = 20 * np.log10(max(float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))), 1e-9) / 32768.0)
    if rms_dbfs < SILENCE_DBFS:
        raise ExplainError(f"{clip_path}: silent (RMS {rms_dbfs:.0f} dBFS, below {SILENCE_DBFS} dBFS): "
                           "there is no speech to explain")
    emotions = run.labels()["emotions"]
    x, offset, raw_frames = clip_window(audio, config, plan_of(run.recipe).clip_frames)
    warnings = []
    duration = len(audio) / config.sample_rate
    trained_s = run.recipe.data.clip_seconds
    if duration < MIN_SHARE_OF_CLIP * trained_s:
        warnings.append(f"the clip is {duration:.2f} s long, the model was trained on {trained_s:g} s clips: "
                        "it sees mostly padding, so the prediction has little to stand on")
    xf = x.astype(np.float32)
    predict = _predict_fn(run, backend)
    probabilities = softmax(predict(xf[None]))[0]
    target = int(np.argmax(probabilities))
    fill = float(silence_code(config))
    maps = {}
    if method in ("occlusion", "both"):
        maps["occlusion"] = occlusion_saliency(predict, xf, target, patch=patch, fill=fill)
    if method in ("gradient", "both"):
        from edgeser.models.registry import load

        maps["gradient"] = gradient_saliency(load(run, "acoustic"), xf, target, mode="input", baseline=fill, seed=seed)
    saliency = maps[method] if method != "both" else (_normalised(maps["occlusion"]) + _normalised(maps["gradient"])) / 2
    mask = salient_frames(saliency, share)
    intervals = frame_intervals(mask, config.stride_ms, config.window_ms, offset, duration)
    tracks = analyse(audio, config.sample_rate)
    salient_cues = summarise(tracks, intervals) if intervals else summarise(tracks, [])
    seen = (max(0.0, offset * config.stride_ms / 1000.0),
            min(duration, ((offset + x.shape[0] - 1) * config.stride_ms + config.window_ms) / 1000.0))
    if raw_frames > x.shape[0]:  # the model sees a centre crop: compare with that, not the whole file
        warnings.append(f"the model sees {seen[0]:.2f}-{seen[1]:.2f} s of this {duration:.1f} s clip "
                        f"(its {trained_s:g} s input window); the 'whole' column covers that window")
        whole_cues = summarise(tracks, [seen])
    else:
        whole_cues = summarise(tracks, None)
    emotion = emotions[target]
    cues = cue_comparison(emotion, salient_cues, whole_cues)
    result: dict[str, Any] = {
        "clip": str(clip_path),
        "run": str(run.path),
        "recipe": run.recipe.name,
        "backend": "keras float" if backend == "keras" else "tflm int8",
        "method": method,
        "labels": emotions,
        "predicted": emotion,
        "probabilities": {e: float(p) for e, p in zip(emotions, probabilities)},
        "duration_s": duration,
        "frames": int(x.shape[0]),
        "clip_frames": raw_frames,
        "frame_offset": offset,
        "stride_ms": config.stride_ms,
        "window_ms": config.window_ms,
        "salient_share": share,
        "salient_frames": [int(j) for j in np.flatnonzero(mask)],
        "salient_intervals_s": [list(iv) for iv in intervals],
        "frame_saliency": [float(v) for v in frame_scores(saliency)],
        "cues": cues,
        "context": {k: {"salient": _finite(salient_cues[k]), "whole": _finite(whole_cues[k])} for k in CONTEXT_KEYS},
        "agreement_counts": {a: sum(c["agreement"] == a for c in cues.values()) for a in ("agree", "disagree", "n.a.")},
        "expected_direction_sources": list(DIRECTION_SOURCES),
        "png": str(out_dir / "explain.png"),
        "model_window_s": list(seen),
        "rms_dbfs": round(rms_dbfs, 1),
        "warnings": warnings,
    }
    title = f"{clip_path.name}: {emotion} ({probabilities[target]:.2f}), {method} saliency, {result['backend']}"
    plot_explanation(out_dir / "explain.png", x, saliency, mask, config.stride_ms, offset, cues, emotion, title)
    write_json(out_dir / "explain.json", result)
    try:  # inside the run folder: recorded with the models it explains, so a retrain marks it stale
        inside = (out_dir / "explain.json").resolve().relative_to(run.path.resolve())
    except ValueError:
        inside = None
    if inside is not None:
        with run.locked():
            run.record(inside, "explain", sources=run.model_files())
    result["json"] = str(out_dir / "explain.json")
    return result
