"""Score a trained run on any copy of a corpus: every clip of it is the test set.

    edgeser evaluate RUN_DIR --corpus NAME --data ROOT [--backend keras|tflm] [--json]

Typical use: a run trained on some speakers, scored on speakers it never saw (another
copy or another part of the corpus), or on another corpus whose labels overlap.

* Features: the run's recipe frontend and :class:`~edgeser.datasets.WindowPlan`
  (``edgeser.models.registry.plan_of``), through ``edgeser.datasets.feature_matrix`` with the
  run's feature cache (``RUN/cache``); keyword windows with ``keyword_windows``.
* Labels: each clip's label (after ``corpora.labels.normalise``) must be one of the
  run's ``labels.json`` emotions; clips with other labels are counted per label in
  ``unknown_labels`` and skipped.
* Models: ``edgeser.evaluation.predictor.Predictor.from_run``. ``keras``: the float models
  rebuilt from the run's weights: acoustic-only, keyword-only (the keyword reference
  head on the mean keyword embedding) and fusion. ``tflm``: the full-int8 models through
  the TFLite-Micro interpreter, chained as on the board: acoustic-only
  (``audio_only_int8``) and fusion (keyword-only has no int8 model).

Output in ``RUN/evaluate_<corpus>/``: ``evaluate_<backend>.json`` (WA, UA, macro-F1,
per-class recall and the confusion matrix of each model, the skipped clips) and
``confusion_<backend>_<model>.png``; every file is written atomically and recorded
in the run's manifest under the stage ``evaluate_<corpus>``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BACKENDS = ("keras", "tflm")
MODEL_TITLES = {"acoustic": "acoustic-only", "keyword": "keyword-only", "fusion": "fusion"}
NEEDED = {
    "keras": ("labels.json", "acoustic.weights.npz", "keyword.weights.npz", "fusion.weights.npz", "keyword_only.weights.npz"),
    "tflm": ("labels.json", "keyword_int8.tflite", "acoustic_int8.tflite", "fusion_int8.tflite", "audio_only_int8.tflite"),
}


class EvaluateError(RuntimeError):
    """A run, corpus or backend that cannot be evaluated (the message says what and why)."""


@dataclass
class EvalClips:
    """The usable clips of a corpus as the run's model inputs."""

    x: np.ndarray  # [N, T, C] int8
    windows: np.ndarray  # [N, K, Tk, C] int8
    y: np.ndarray  # [N] indices into the run's emotions
    speakers: list[str]
    unknown_labels: dict[str, int] = field(default_factory=dict)  # label -> clips skipped
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) of unreadable files


def run_folder(run_dir: str | Path, error: type[Exception] | None = None):
    """``RunDir.open`` with every failure as one ``error`` (default :class:`EvaluateError`) naming the folder."""
    from edgeser.rundir import RunDir, RunDirError

    error = error or EvaluateError
    path = Path(run_dir)
    if not path.is_dir():
        raise error(f"{path}: no such folder (expected a run folder made by `edgeser train`)")
    try:
        return RunDir.open(path)
    except RunDirError as exc:
        raise error(str(exc)) from None


def open_run(run_dir: str | Path, backend: str = "keras"):
    """The run folder, checked for what ``backend`` needs."""
    if backend not in BACKENDS:
        raise EvaluateError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    run = run_folder(run_dir)
    missing = [name for name in NEEDED[backend] if not (run.path / name).is_file()]
    if missing:
        hint = "`edgeser quantize RUN`" if backend == "tflm" and "labels.json" not in missing else "`edgeser train`"
        raise EvaluateError(f"{run_dir}: the run has no {', '.join(missing)}; finish it with {hint} first")
    if backend == "keras":  # a speaker-normalised float head needs its prior (the int8 one carries it)
        from edgeser.models.registry import speaker_prior

        try:
            speaker_prior(run)
        except ValueError as exc:
            raise EvaluateError(str(exc)) from None
    return run


def result_header(run, corpus: str, data: str | Path, backend: str, emotions: list[str], clips) -> dict[str, Any]:
    """The fields every scored result of a run starts with (evaluate, noise): run, recipe, corpus,
    backend, clips, and how the fusion head's inputs were normalised."""
    speaker = run.recipe.fusion.input_norm == "speaker"
    return {
        "run": str(run.path),
        "recipe": run.recipe.name,
        "recipe_sha256": run.recipe_sha256,
        "corpus": corpus,
        "data": str(Path(data)),
        "backend": "keras float" if backend == "keras" else "tflm int8",
        "labels": emotions,
        "clips": int(len(clips.y)),
        "fusion_input": (f"speaker-normalised: each speaker's clips run as one session in a seeded order "
                         f"(seed {run.recipe.seed}), running statistics from the training prior" if speaker
                         else "the embeddings as they are"),
    }


def known_clips(run, corpus: str, root: str | Path):
    """Read ``corpus`` at ``root``; the clips whose label the run knows.

    Returns (kept: [(utterance, class index)], unknown: {label: count}, problems: [(path, reason)],
    emotions: the run's class names, readable: how many clips the reader found).
    """
    from edgeser.corpora import CorpusLayoutError, corpus_names, normalise, read_corpus

    root = Path(root)
    if not root.is_dir():
        raise EvaluateError(f"{root}: no such corpus folder")
    try:
        result = read_corpus(corpus, root)
    except KeyError:
        raise EvaluateError(f"unknown corpus {corpus!r} (known: {', '.join(corpus_names())})") from None
    except CorpusLayoutError as exc:
        raise EvaluateError(str(exc)) from None
    emotions = run.labels()["emotions"]
    kept, unknown = [], {}
    for utt in result.utterances:
        label = utt.label if utt.label in emotions else normalise(utt.label)
        if label in emotions:
            kept.append((utt, emotions.index(label)))
        else:
            unknown[utt.label] = unknown.get(utt.label, 0) + 1
    return kept, unknown, list(result.problems), emotions, len(result.utterances)


def load_clips(run, corpus: str, root: str | Path) -> EvalClips:
    """Read ``corpus`` at ``root`` and turn every clip whose label the run knows into model inputs."""
    from edgeser.datasets import feature_matrix, keyword_windows
    from edgeser.models.registry import plan_of

    kept, unknown, problems, emotions, readable = known_clips(run, corpus, root)
    if not kept:
        raise EvaluateError(
            f"{root}: no usable clips in the {corpus} corpus for this run "
            f"({readable} readable clip(s); labels the run does not know: {dict(sorted(unknown.items())) or 'none'}; "
            f"the run knows {', '.join(emotions)})"
        )
    plan = plan_of(run.recipe)
    x, used, feature_problems = feature_matrix(
        [u for u, _ in kept], run.recipe.frontend, plan.clip_frames, run.path / "cache", progress=False
    )
    problems += feature_problems
    if not used:
        raise EvaluateError(f"{root}: none of the {len(kept)} clip(s) with known labels could be read")
    y = np.array([kept[i][1] for i in used], np.int64)
    return EvalClips(x, keyword_windows(x, plan), y, [kept[i][0].speaker for i in used], unknown, problems)


def predictions(run, clips: EvalClips, backend: str = "keras") -> dict[str, np.ndarray]:
    """Logits [N, classes] of each model (keras: acoustic, keyword, fusion; tflm: acoustic, fusion);
    a speaker-normalised fusion head runs each speaker's clips as one session."""
    from edgeser.evaluation.predictor import Predictor

    if backend not in BACKENDS:
        raise EvaluateError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return Predictor.from_run(run, backend)(clips.x, clips.windows, speakers=clips.speakers)


def output_folder(run, corpus: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", corpus.strip().lower()) or "corpus"
    return run.path / f"evaluate_{safe}"


def evaluate_run(run_dir: str | Path, corpus: str, data: str | Path, backend: str = "keras") -> dict[str, Any]:
    """Score the run on every usable clip of ``corpus`` at ``data``; writes JSON + PNGs; returns the JSON."""
    from edgeser.metrics import score
    from edgeser.evaluation.plots import plot_confusion

    start = time.perf_counter()
    run = open_run(run_dir, backend)
    clips = load_clips(run, corpus, data)
    emotions = run.labels()["emotions"]
    logits = predictions(run, clips, backend)
    out = output_folder(run, corpus)
    stage = out.name
    scores, plots = {}, {}
    for name, values in logits.items():
        s = score(clips.y, values.argmax(-1), len(emotions)).to_dict()
        scores[name] = s
        png = f"confusion_{backend}_{name}.png"
        title = f"{MODEL_TITLES[name]} on {corpus} ({'int8, TFLite-Micro' if backend == 'tflm' else 'float Keras'})"
        plot_confusion(np.array(s["confusion"]), emotions, title, out / png)
        run.record(Path(out.name) / png, stage)
        plots[name] = str(Path(out.name) / png)
    result = {
        **result_header(run, corpus, data, backend, emotions, clips),
        "speakers": sorted(set(clips.speakers)),
        "class_counts": {e: int(c) for e, c in zip(emotions, np.bincount(clips.y, minlength=len(emotions)))},
        "unknown_labels": dict(sorted(clips.unknown_labels.items())),
        "skipped_unknown": int(sum(clips.unknown_labels.values())),
        "unreadable": [{"path": p, "reason": r} for p, r in clips.problems],
        "scores": scores,
        "plots": plots,
        "seconds": round(time.perf_counter() - start, 2),
    }
    json_name = Path(out.name) / f"evaluate_{backend}.json"
    with run.locked():
        run.write_json(json_name, result, stage, sources=run.model_files())
    result["json"] = str(run.path / json_name)
    return result


def format_table(result: dict[str, Any]):
    """One rich table: a row per model, WA / UA / macro-F1 and the recall of each class."""
    from rich.table import Table

    labels = result["labels"]
    table = Table(title=f"{result['recipe']} on {result['corpus']} ({result['backend']}, {result['clips']} clips, "
                        f"{len(result['speakers'])} speakers)")
    table.add_column("model")
    for column in ("WA", "UA", "macro-F1"):
        table.add_column(column, justify="right")
    for label in labels:
        table.add_column(f"R {label}", justify="right")
    for name in ("acoustic", "keyword", "fusion"):
        s = result["scores"].get(name)
        if s is None:
            continue
        recall = ["-" if r is None else f"{r:.2f}" for r in s["per_class_recall"]]
        table.add_row(MODEL_TITLES[name], f"{s['wa']:.3f}", f"{s['ua']:.3f}", f"{s['macro_f1']:.3f}", *recall)
    return table
