"""The classical baseline: openSMILE functionals (eGeMAPS / ComParE) + a linear or MLP classifier.

Method. Every clip (its segment when the corpus gives ``start_s``/``end_s``) is read as
16 kHz mono int16 (``edgeser.datasets.utterance_audio`` / ``corpora.audio.load_audio``),
scaled to float32 in [-1, 1] and passed to ``opensmile.Smile(feature_set=…,
feature_level=Functionals).process_signal``: one vector per clip, 88 values for
eGeMAPSv02, 6373 for ComParE_2016. Vectors are cached on disk per clip under
``<cache_dir>/<feature set>-opensmile<version>/<sha[:2]>/<sha>.npy`` where ``sha`` is
the sha256 of the int16 samples (``frontend.cache.audio_hash``), so a corpus is processed
once. A file that cannot be read, or whose functionals are not finite, is reported in
``problems`` and skipped.

Classifiers (scikit-learn, seeded): ``StandardScaler`` then either
``LogisticRegression(class_weight="balanced")`` (``kind="lr"``) or an
``MLPClassifier`` with early stopping (``kind="mlp"``). Each fold fits on its train +
val clips and is scored on its test clips (WA, UA, macro-F1 from
``edgeser.metrics``).

    edgeser baseline --corpus ravdess --data ../shared/data/ravdess [--folds 4] [--json out.json]
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from edgeser.frontend.cache import CacheStats, audio_hash
from edgeser.corpora.splits import Fold
from edgeser.corpora.types import Utterance

FEATURE_SETS = ("eGeMAPSv02", "ComParE_2016")
KINDS = ("lr", "mlp")
METRICS = ("wa", "ua", "macro_f1")
SAMPLE_RATE = 16000
MLP_EARLY_STOPPING_MIN = 50  # fewer training clips than this: no held-out early-stopping split
DEFAULT_CACHE = Path("runs/.cache/egemaps")  # relative to the working folder (the repository's root)


class BaselineError(ValueError):
    """Bad input to the baseline; the message names the input and the problem."""


# -- functionals -------------------------------------------------------------------
def _check_feature_set(feature_set: str) -> None:
    if feature_set not in FEATURE_SETS:
        raise BaselineError(f"feature_set: must be one of {list(FEATURE_SETS)}, got {feature_set!r}")


_SMILES: dict[str, object] = {}


def smile(feature_set: str = "eGeMAPSv02"):
    """The ``opensmile.Smile`` extracting ``feature_set`` functionals (one per process)."""
    _check_feature_set(feature_set)
    if feature_set not in _SMILES:
        import opensmile

        _SMILES[feature_set] = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, feature_set),
            feature_level=opensmile.FeatureLevel.Functionals,
        )
    return _SMILES[feature_set]


def feature_names(feature_set: str = "eGeMAPSv02") -> list[str]:
    """Column names of ``feature_set`` in openSMILE's order (88 for eGeMAPSv02)."""
    return list(smile(feature_set).feature_names)


def clip_audio(item: Utterance | str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """int16 mono ``[samples]`` of an utterance (its segment) or an audio file path."""
    from edgeser.datasets import utterance_audio
    from edgeser.corpora.audio import load_audio

    if isinstance(item, Utterance):
        return utterance_audio(item, sample_rate)
    return load_audio(item, sample_rate)


def clip_functionals(audio: np.ndarray, feature_set: str = "eGeMAPSv02", sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """float32 ``[F]`` functionals of int16 mono ``audio`` (``[samples]`` at ``sample_rate`` Hz)."""
    signal = np.asarray(audio, np.float32) / 32768.0
    frame = smile(feature_set).process_signal(signal, sample_rate)
    return frame.to_numpy(dtype=np.float32)[0]


def cache_path(cache_dir: Path, audio: np.ndarray, feature_set: str) -> Path:
    """Where the functionals of ``audio`` (int16 at 16 kHz) live in ``cache_dir``."""
    import opensmile

    key = audio_hash(audio, SAMPLE_RATE)
    return Path(cache_dir) / f"{feature_set}-opensmile{opensmile.__version__}" / key[:2] / f"{key}.npy"


def _load_cached(path: Path, width: int, stats: CacheStats) -> np.ndarray | None:
    if not path.exists():
        return None
    try:
        row = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        stats.corrupt += 1
        return None
    if row.dtype != np.float32 or row.shape != (width,) or not np.all(np.isfinite(row)):
        stats.corrupt += 1
        return None
    return row


def _describe(item: Utterance | str | Path) -> str:
    return item.path if isinstance(item, Utterance) else str(item)


def functionals(
    utterances_or_paths: Sequence[Utterance | str | Path],
    feature_set: str = "eGeMAPSv02",
    cache_dir: Optional[Path] = None,
    progress: bool = True,
    stats: Optional[CacheStats] = None,
) -> tuple[np.ndarray, list[str], list[int], list[tuple[str, str]]]:
    """openSMILE functionals of each clip.

    Returns ``(X, names, used_indices, problems)``: X float32 ``[N_ok, F]`` (rows in input
    order, only the clips that worked), the F column names, the input indices of those
    rows, and ``(path, reason)`` for every clip skipped. ``cache_dir=None`` disables the
    cache; ``stats`` (a ``CacheStats``) counts hits, misses and corrupt entries.
    """
    from tqdm.auto import tqdm

    from edgeser.atomic import save_npy
    from edgeser.corpora.audio import AudioError

    names = feature_names(feature_set)
    stats = stats if stats is not None else CacheStats()
    rows, used, problems = [], [], []
    for index, item in enumerate(tqdm(utterances_or_paths, desc=feature_set, unit="clip", disable=not progress)):
        try:
            audio = clip_audio(item)
        except AudioError as exc:
            problems.append((exc.path, exc.reason))
            continue
        path = cache_path(cache_dir, audio, feature_set) if cache_dir is not None else None
        row = _load_cached(path, len(names), stats) if path is not None else None
        if row is not None:
            stats.hits += 1
        else:
            stats.misses += 1
            try:
                row = clip_functionals(audio, feature_set)
            except Exception as exc:  # openSMILE raises its own error types for clips it cannot process
                problems.append((_describe(item), f"openSMILE failed ({exc})"))
                continue
            if row.shape != (len(names),) or not np.all(np.isfinite(row)):
                problems.append((_describe(item), f"{feature_set} functionals are not finite"))
                continue
            if path is not None:
                save_npy(path, row)
        rows.append(row)
        used.append(index)
    x = np.stack(rows).astype(np.float32) if rows else np.zeros((0, len(names)), np.float32)
    return x, names, used, problems


# -- classifiers ---------------------------------------------------------------------
def make_classifier(kind: str = "lr", seed: int = 0, num_train: int = 1000):
    """The scikit-learn pipeline: StandardScaler + balanced logistic regression or an MLP."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "lr":
        model = LogisticRegression(class_weight="balanced", max_iter=5000, random_state=seed)
    elif kind == "mlp":
        model = MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-3, batch_size=min(32, max(1, num_train)),
                              max_iter=300, random_state=seed, early_stopping=num_train >= MLP_EARLY_STOPPING_MIN,
                              validation_fraction=0.15, n_iter_no_change=20)
    else:
        raise BaselineError(f"kind: must be one of {list(KINDS)}, got {kind!r}")
    return make_pipeline(StandardScaler(), model)


def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, kind: str = "lr", seed: int = 0) -> np.ndarray:
    """Fit on ``x_train [N, F]``, ``y_train [N]`` (class indices); predicted classes ``[M]`` of ``x_test [M, F]``."""
    x_train, x_test = np.asarray(x_train, np.float64), np.asarray(x_test, np.float64)
    y_train = np.asarray(y_train, np.int64)
    if x_train.ndim != 2 or x_test.ndim != 2 or x_train.shape[1] != x_test.shape[1]:
        raise BaselineError(f"x_train {x_train.shape} and x_test {x_test.shape} must be [N, F] with the same F")
    if len(x_train) != len(y_train):
        raise BaselineError(f"x_train has {len(x_train)} rows but y_train {len(y_train)} labels")
    if len(np.unique(y_train)) < 2:
        raise BaselineError("y_train holds a single class; a classifier needs at least two")
    model = make_classifier(kind, seed, len(y_train))
    model.fit(x_train, y_train)
    return model.predict(x_test).astype(np.int64) if len(x_test) else np.zeros(0, np.int64)


def cross_fitted_logits(x: np.ndarray, y: np.ndarray, groups: Sequence, num_classes: int, kind: str = "lr",
                        seed: int = 0, floor: float = 1e-4) -> np.ndarray:
    """Out-of-group log-probabilities ``[N, num_classes]`` (float32): the rows of each group
    (a speaker) are predicted by a classifier fit on the other groups' rows only, so a
    distillation target never comes from a model that saw that speaker. ``x [N, F]``, ``y [N]``
    class indices; a class a fit did not see gets probability ``floor``."""
    x, y, groups = np.asarray(x, np.float64), np.asarray(y, np.int64), np.asarray(groups)
    if not len(x) == len(y) == len(groups):
        raise BaselineError(f"x has {len(x)} rows, y {len(y)} labels and groups {len(groups)} entries")
    if len(np.unique(groups)) < 2:
        raise BaselineError("cross-fitting needs at least two groups (speakers)")
    probs = np.full((len(x), num_classes), floor)
    for g in np.unique(groups):
        held, rest = groups == g, groups != g
        model = make_classifier(kind, seed, int(rest.sum()))
        model.fit(x[rest], y[rest])
        probs[np.ix_(held, model.classes_)] = np.maximum(model.predict_proba(x[held]), floor)
    return np.log(probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def teacher_logits(utterances: Sequence[Utterance], y: np.ndarray, num_classes: int, seed: int = 0,
                   cache_dir: Optional[Path] = DEFAULT_CACHE, feature_set: str = "eGeMAPSv02") -> np.ndarray:
    """``training.teacher: egemaps``: ``feature_set`` functionals + balanced LR as a distillation
    teacher of the training clips ``utterances`` (labels ``y [N]``), cross-fitted over their
    speakers (:func:`cross_fitted_logits`): logits ``[N, num_classes]``. A clip openSMILE cannot
    read is a :class:`~edgeser.models.teacher.TeacherError` naming it."""
    from edgeser.models.teacher import TeacherError

    x, _, used, problems = functionals(utterances, feature_set, cache_dir, progress=False)
    if problems:
        path, reason = problems[0]
        raise TeacherError(f"{path}: {reason} (the eGeMAPS teacher needs every training clip; "
                           f"{len(problems)} failed)")
    try:
        return cross_fitted_logits(x, y, [u.speaker for u in utterances], num_classes, seed=seed)
    except BaselineError as exc:
        raise TeacherError(f"training.teacher: egemaps: {exc}") from None


def restrict_folds(folds: Sequence[Fold], used: Sequence[int]) -> list[Fold]:
    """Folds over the full utterance list -> folds over the ``used`` rows (skipped clips dropped)."""
    new = {old: i for i, old in enumerate(used)}

    def keep(indices: Iterable[int]) -> tuple[int, ...]:
        return tuple(new[i] for i in indices if i in new)

    return [Fold(f.name, keep(f.train), keep(f.test), keep(f.val), f.test_speakers) for f in folds]


def baseline_scores(x: np.ndarray, y: np.ndarray, folds: Sequence[Fold], num_classes: int, seed: int = 0,
                    kinds: Sequence[str] = KINDS) -> dict:
    """Per-fold and mean ± std WA, UA, macro-F1 of each classifier ``kind``.

    ``x [N, F]``, ``y [N]`` class indices in ``[0, num_classes)``; fold indices point into
    the rows of ``x``; each fold fits on train + val and is scored on test. Returns
    ``{"folds": [{"fold", "test_speakers", "sizes", "scores": {kind: {wa, ua, macro_f1, …}}}],
    "summary": {kind: {metric: {"mean", "std"}}}}``.
    """
    from edgeser.metrics import score

    x, y = np.asarray(x), np.asarray(y, np.int64)
    if len(x) != len(y):
        raise BaselineError(f"x has {len(x)} rows but y {len(y)} labels")
    results = []
    for fold in folds:
        train = np.array(fold.train + fold.val, np.int64)
        test = np.array(fold.test, np.int64)
        if len(test) == 0 or len(train) == 0:
            raise BaselineError(f"{fold.name}: empty train or test set")
        scores = {kind: score(y[test], fit_predict(x[train], y[train], x[test], kind, seed), num_classes).to_dict()
                  for kind in kinds}
        results.append({"fold": fold.name, "test_speakers": list(fold.test_speakers),
                        "sizes": {"train": len(train), "test": len(test)}, "scores": scores})
    summary = {
        kind: {m: {"mean": float(np.nanmean([r["scores"][kind][m] for r in results])),
                   "std": float(np.nanstd([r["scores"][kind][m] for r in results]))} for m in METRICS}
        for kind in kinds
    }
    return {"folds": results, "summary": summary}


def label_indices(utterances: Sequence[Utterance], labels: Optional[Sequence[str]] = None) -> tuple[np.ndarray, list[str]]:
    """Class indices ``[N]`` and the label order (default: sorted labels, as the pipeline's features stage)."""
    order = list(labels) if labels is not None else sorted({u.label for u in utterances})
    unknown = sorted({u.label for u in utterances} - set(order))
    if unknown:
        raise BaselineError(f"labels {unknown} are not in the label order {order}")
    return np.array([order.index(u.label) for u in utterances], np.int64), order


def accuracy_row(utterances: Sequence[Utterance], folds: Sequence[Fold], num_classes: int,
                 labels: Optional[Sequence[str]] = None, feature_set: str = "eGeMAPSv02", kind: str = "lr",
                 cache_dir: Optional[Path] = DEFAULT_CACHE, seed: int = 0, progress: bool = False) -> dict:
    """One row for the accuracy benchmark table: ``feature_set`` functionals + ``kind`` on ``folds``.

    ``folds`` index into ``utterances`` (e.g. ``corpora.splits.make_folds``); ``labels``
    is the class order (default sorted, as ``labels.json``). Returns ``{"name", "feature_set",
    "kind", "folds": [{"fold", "scores": {wa, ua, macro_f1}}], "summary": {metric: {mean, std}},
    "skipped": [(path, reason)]}``.
    """
    y_all, order = label_indices(utterances, labels)
    if len(order) != num_classes:
        raise BaselineError(f"num_classes is {num_classes} but the label order has {len(order)}: {order}")
    x, _, used, problems = functionals(utterances, feature_set, cache_dir, progress)
    result = baseline_scores(x, y_all[used], restrict_folds(folds, used), num_classes, seed, (kind,))
    return {
        "name": f"{feature_set} + {kind.upper()}",
        "feature_set": feature_set,
        "kind": kind,
        "folds": [{"fold": f["fold"], "scores": {m: f["scores"][kind][m] for m in METRICS}} for f in result["folds"]],
        "summary": result["summary"][kind],
        "skipped": [list(p) for p in problems],
    }


# -- the command ---------------------------------------------------------------------
def run_baseline(corpus: str, data: Path, folds: int = 4, feature_set: str = "eGeMAPSv02",
                 cache_dir: Optional[Path] = DEFAULT_CACHE, seed: int = 0, progress: bool = True) -> dict:
    """Read ``corpus`` at ``data``, make ``corpora.splits.make_folds`` folds, score LR and MLP."""
    import time

    from edgeser.corpora import read_corpus
    from edgeser.corpora.splits import make_folds

    _check_feature_set(feature_set)
    start = time.perf_counter()
    read = read_corpus(corpus, Path(data))
    x, _, used, problems = functionals(read.utterances, feature_set, cache_dir, progress)
    problems = list(read.problems) + problems
    utts = [read.utterances[i] for i in used]
    if not utts:
        raise BaselineError(f"{data}: no usable clips in the {corpus} corpus")
    y, order = label_indices(utts)
    fold_list = make_folds(utts, folds, seed)
    result = baseline_scores(x, y, fold_list, len(order), seed)
    return {
        "corpus": corpus, "data": str(data), "feature_set": feature_set, "num_features": int(x.shape[1]),
        "classes": len(order), "labels": order, "clips": len(utts), "seed": seed,
        "skipped": [list(p) for p in problems], "seconds": round(time.perf_counter() - start, 1), **result,
    }


def print_table(result: dict, console=None) -> None:
    """The per-fold and mean ± std table of :func:`run_baseline`'s result."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    kinds = list(result["summary"])
    table = Table(title=f"{result['corpus']}: {result['feature_set']} ({result['num_features']} functionals), "
                  f"leave-speakers-out, {len(result['folds'])} folds, {result['classes']} classes")
    table.add_column("fold")
    table.add_column("test speakers")
    for kind in kinds:
        for metric in METRICS:
            table.add_column(f"{kind.upper()}\n{metric.replace('macro_f1', 'F1').upper()}", justify="right")
    for fold in result["folds"]:
        speakers = ",".join(s.replace("Actor_", "") for s in fold["test_speakers"])
        table.add_row(fold["fold"], speakers, *[f"{fold['scores'][k][m]:.3f}" for k in kinds for m in METRICS])
    summary = result["summary"]
    table.add_row("mean ± std", "", *[f"{summary[k][m]['mean']:.3f}±{summary[k][m]['std']:.3f}" for k in kinds for m in METRICS],
                  style="bold")
    console.print(table)
    if result["skipped"]:
        console.print(f"[yellow]{len(result['skipped'])} clip(s) skipped (listed in the JSON)[/yellow]")
