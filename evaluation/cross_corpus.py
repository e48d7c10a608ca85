"""Cross-corpus protocol: train on corpus A, score on held-out speakers of A *and* on all of B.

    edgeser evaluate --train-corpus A --train-data DIR_A --test-corpus B --test-data DIR_B
                     [--recipe R] [--folds K] [--backend keras|tflm] [--epochs N] [--out DIR]

Talpur et al. report self-corpus UAR exceeding cross-corpus UAR by up to 13 %; this
measures that gap for edgeser's models.

* Labels: both corpora go through one :class:`~edgeser.corpora.labels.LabelMapping`
  onto :data:`~edgeser.corpora.labels.SHARED_7` (``calm -> neutral``, ``excited -> happy``)
  and :func:`~edgeser.corpora.splits.cross_corpus` keeps the classes *both* have
  (RAVDESS vs the demo corpus: neutral, happy, sad, angry). Other clips are dropped and counted.
* Keyword branch: the frozen DSResNet-SE keyword model of an existing run (``keyword_run``;
  its frontend, keyword and window settings must equal the recipe's), or of the run that
  ``keyword_run`` makes when it is a function of the training recipe (``edgeser evaluate``
  passes the accuracy benchmark's base run, ``benchmarks.accuracy.prepare_base``: the
  pipeline's corpus, features and train_keyword stages once under the cache folder).
* Folds: ``corpora.splits.make_folds`` on A (leave-speakers-out, genders dealt
  evenly, a validation pair carved out of each fold's training actors for early stopping).
  Per fold the acoustic model is trained from scratch and the fusion head on the frozen
  embeddings, as in the accuracy benchmark (its keyword-only head is not trained here).
* Scores per fold: *self* = the fold's held-out actors of A; *cross* = every clip of B.
  Summary: mean ± std over folds of UAR, WA, macro-F1; per-class recall A→A and A→B
  (mean over folds). ``keras`` scores the float models; ``tflm`` converts each fold's
  models to full int8 (``quantize.convert.quantize_keras_model``, calibrated on the
  fold's training clips; feature inputs pinned to scale 1) and runs them through the
  TFLite-Micro interpreter chained as on the board (``evaluation.int8.BoardChain``).

Output in ``out``: ``cross_corpus_<backend>.json``, ``.md`` (the table) and ``.png``
(UAR bars self vs cross, per-class recall), all written atomically.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from edgeser.corpora.labels import SHARED_7
from edgeser.evaluation.evaluate import BACKENDS, MODEL_TITLES, EvaluateError
from edgeser.settings import check

MODELS = ("acoustic", "fusion")
METRICS = ("ua", "wa", "macro_f1")
PART_TITLES = {"self": "self-corpus", "cross": "cross-corpus"}


@dataclass(frozen=True)
class CrossCorpusSettings:
    """Train on ``train_corpus`` (``folds`` actor folds), test on ``test_corpus``."""

    train_corpus: str
    test_corpus: str
    folds: int = 4
    backend: str = "keras"
    epochs: int | None = None  # override the acoustic and fusion epochs (quick looks)
    label_set: tuple[str, ...] = SHARED_7  # candidates; the classes both corpora have are used

    def __post_init__(self) -> None:
        check(bool(self.train_corpus.strip()), "train_corpus", "must name a corpus reader")
        check(bool(self.test_corpus.strip()), "test_corpus", "must name a corpus reader")
        check(self.folds >= 2, "folds", f"must be at least 2, got {self.folds}")
        check(self.backend in BACKENDS, "backend", f"must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        check(self.epochs is None or self.epochs >= 1, "epochs", f"must be at least 1, got {self.epochs}")
        check(len(self.label_set) >= 2, "label_set", f"needs at least 2 labels, got {list(self.label_set)}")


@dataclass
class CorpusSide:
    """One corpus as model inputs: int8 features x [N, T, C], keyword windows [N, K, Tk, C],
    labels y [N] (indices into the shared labels), mean keyword embeddings kw_emb [N, Ek]."""

    utterances: list
    x: np.ndarray
    windows: np.ndarray
    y: np.ndarray
    kw_emb: np.ndarray
    dropped: dict[str, int]
    problems: list[tuple[str, str]]


def default_out(train_corpus: str, test_corpus: str) -> Path:
    """``runs/cross_<A>_to_<B>`` (relative to the working folder)."""
    safe = lambda s: re.sub(r"[^A-Za-z0-9_.-]+", "_", s.strip().lower()) or "corpus"  # noqa: E731
    return Path("runs") / f"cross_{safe(train_corpus)}_to_{safe(test_corpus)}"


def default_recipe(train_corpus: str) -> Path:
    """``configs/<train_corpus>.yaml`` when it exists, else ``configs/demo.yaml`` (relative to the working folder)."""
    own = Path("configs") / f"{train_corpus.strip().lower()}.yaml"
    return own if own.is_file() else Path("configs") / "demo.yaml"


def _read(name: str, root: Path, option: str):
    from edgeser.corpora import CorpusLayoutError, corpus_names, read_corpus

    if not Path(root).is_dir():
        raise EvaluateError(f"{root}: no such corpus folder ({option})")
    try:
        return read_corpus(name, root)
    except KeyError:
        raise EvaluateError(f"unknown corpus {name!r} (known: {', '.join(corpus_names())})") from None
    except CorpusLayoutError as exc:
        raise EvaluateError(str(exc)) from None


def keyword_run_for(recipe, keyword_run):
    """The run whose keyword model the folds use: ``keyword_run`` (a run folder, checked against
    ``recipe``) or, when it is a function, the run it makes of ``recipe``."""
    from edgeser.rundir import RunDir, RunDirError

    if callable(keyword_run):
        return keyword_run(recipe)
    try:
        run = RunDir.open(keyword_run)
    except RunDirError as exc:
        raise EvaluateError(str(exc)) from None
    missing = [n for n in ("labels.json", "keyword.weights.npz") if not (run.path / n).is_file()]
    if missing:
        raise EvaluateError(f"{run.path}: the keyword run has no {', '.join(missing)}; train it first")
    theirs, ours = run.recipe, recipe
    for what, a, b in (("frontend", theirs.frontend, ours.frontend), ("keyword", theirs.keyword, ours.keyword),
                       ("data.keyword_window_seconds", theirs.data.keyword_window_seconds, ours.data.keyword_window_seconds),
                       ("data.keyword_hop_seconds", theirs.data.keyword_hop_seconds, ours.data.keyword_hop_seconds)):
        if a != b:
            raise EvaluateError(f"{run.path}: the keyword run's {what} settings differ from the recipe's; use the same recipe")
    return run


def load_side(utterances: Sequence, labels: Sequence[str], recipe, kw_run, cache: Path, dropped: dict[str, int],
              description: str, progress: bool = False) -> CorpusSide:
    """Relabelled utterances -> features, keyword windows and keyword embeddings (feature cache under ``cache``)."""
    from edgeser.datasets import feature_matrix, keyword_windows
    from edgeser.models.registry import keyword_embeddings, plan_of

    plan = plan_of(recipe)
    x, used, problems = feature_matrix(list(utterances), recipe.frontend, plan.clip_frames, Path(cache) / "features",
                                       progress=progress, description=description)
    if not used:
        raise EvaluateError(f"{description}: none of the {len(utterances)} clip(s) could be read")
    kept = [utterances[i] for i in used]
    windows = keyword_windows(x, plan)
    y = np.array([list(labels).index(u.label) for u in kept], np.int64)
    return CorpusSide(kept, x, windows, y, keyword_embeddings(kw_run, windows), dict(dropped), problems)


# -- one fold -------------------------------------------------------------------------------
def train_fold(recipe, labels: dict, side: CorpusSide, fold, epochs: int | None = None, progress: bool = False):
    """Acoustic model from scratch, then the fusion head on frozen embeddings (``evaluation.folds.train_fold_models``)."""
    from edgeser.evaluation.folds import train_fold_models
    from edgeser.train_options import one_hot

    t = recipe.training
    if epochs is not None:
        recipe = dataclasses.replace(recipe, training=dataclasses.replace(
            t, acoustic=dataclasses.replace(t.acoustic, epochs=epochs, patience=min(epochs, t.acoustic.patience)),
            fusion=dataclasses.replace(t.fusion, epochs=epochs, patience=min(epochs, t.fusion.patience))))
    return train_fold_models(recipe, labels, side.x, one_hot(side.y, len(labels["emotions"])), side.kw_emb, fold,
                             side.utterances, progress=progress)


# -- the protocol ---------------------------------------------------------------------------
def _mean_std(values: Sequence[float]) -> dict[str, float]:
    v = np.array(values, np.float64)
    return {"mean": float(np.nanmean(v)), "std": float(np.nanstd(v))}


def summarise(folds: Sequence[dict], classes: int) -> dict:
    """Mean ± std over folds of each model's metrics, self and cross; the UAR gap; mean per-class recall."""
    out = {}
    for model in MODELS:
        entry: dict[str, Any] = {}
        for part in ("self", "cross"):
            entry[part] = {m: _mean_std([f[part][model][m] for f in folds]) for m in METRICS}
            recalls = np.array([[np.nan if r is None else r for r in f[part][model]["per_class_recall"]] for f in folds])
            with np.errstate(all="ignore"):
                means = [float(np.nanmean(c)) if np.isfinite(c).any() else None for c in recalls.T]
            entry[part]["per_class_recall"] = means[:classes]
        self_ua, cross_ua = entry["self"]["ua"]["mean"], entry["cross"]["ua"]["mean"]
        entry["gap_ua"] = self_ua - cross_ua
        entry["gap_ua_relative"] = (self_ua - cross_ua) / self_ua if self_ua > 0 else None
        out[model] = entry
    return out


def cross_corpus_evaluation(recipe, train_root: str | Path, test_root: str | Path, settings: CrossCorpusSettings,
                            out: str | Path, cache: str | Path, keyword_run: str | Path | Callable,
                            progress: bool = True) -> dict[str, Any]:
    """Run the protocol; writes ``cross_corpus_<backend>.{json,md,png}`` into ``out``; returns the JSON.

    ``cache``: the feature cache folder; ``keyword_run``: see :func:`keyword_run_for`."""
    from tqdm.auto import tqdm

    from edgeser.atomic import write_json, write_text
    from edgeser.corpora.labels import LabelMapping
    from edgeser.corpora.splits import cross_corpus
    from edgeser.evaluation.folds import fold_predictor, make_folds
    from edgeser.metrics import score

    start = time.perf_counter()
    train_root, test_root, out = Path(train_root), Path(test_root), Path(out)
    cache = Path(cache)
    a = _read(settings.train_corpus, train_root, "--train-data")
    b = _read(settings.test_corpus, test_root, "--test-data")
    pair = cross_corpus(a.utterances, b.utterances, LabelMapping(labels=settings.label_set))
    if len(pair.labels) < 2:
        raise EvaluateError(
            f"{settings.train_corpus} and {settings.test_corpus} share {len(pair.labels)} class(es) of "
            f"{', '.join(settings.label_set)} ({list(pair.labels)}); need at least 2"
        )
    recipe = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, corpus=settings.train_corpus, root=str(train_root.resolve())))
    kw_run = keyword_run_for(recipe, keyword_run)
    labels = {"emotions": list(pair.labels), "keywords": kw_run.labels()["keywords"]}
    side_a = load_side(pair.train, pair.labels, recipe, kw_run, cache, pair.dropped_train, f"{settings.train_corpus} features", progress)
    side_b = load_side(pair.test, pair.labels, recipe, kw_run, cache, pair.dropped_test, f"{settings.test_corpus} features", progress)
    try:
        folds = make_folds(side_a.utterances, settings.folds, recipe.seed)
    except ValueError as exc:
        raise EvaluateError(f"{train_root}: cannot make {settings.folds} speaker folds of {settings.train_corpus}: {exc}") from None
    classes = len(pair.labels)
    results = []
    for fold in tqdm(folds, desc="cross-corpus folds", unit="fold", disable=not progress):
        fold_start = time.perf_counter()
        models = train_fold(recipe, labels, side_a, fold, settings.epochs, progress)
        tr, te = models.trained_on, np.array(fold.test, np.int64)
        speakers_a = np.array([u.speaker for u in side_a.utterances])
        speakers_b = np.array([u.speaker for u in side_b.utterances])
        predict = fold_predictor(models, kw_run, side_a.x[tr], side_a.windows[tr], side_a.kw_emb[tr], settings.backend,
                                 recipe.seed, speakers_a[tr])
        own = predict(side_a.x[te], side_a.windows[te], side_a.kw_emb[te], speakers=speakers_a[te])
        other = predict(side_b.x, side_b.windows, side_b.kw_emb, speakers=speakers_b)
        results.append({
            "fold": fold.name,
            "test_speakers": list(fold.test_speakers),
            "sizes": {"train": len(tr), "val": 0 if recipe.training.train_on_validation else len(fold.val),
                      "test": len(te), "cross": int(len(side_b.y))},
            "acoustic_epochs": len(models.history.loss),
            "acoustic_best_epoch": models.history.best_epoch + 1,
            "acoustic_best_val_ua": models.history.to_dict()["best_val_ua"],
            "self": {m: score(side_a.y[te], own[m].argmax(-1), classes).to_dict() for m in MODELS},
            "cross": {m: score(side_b.y, other[m].argmax(-1), classes).to_dict() for m in MODELS},
            "seconds": round(time.perf_counter() - fold_start, 1),
        })
    backend = settings.backend
    result = {
        "train_corpus": settings.train_corpus,
        "train_data": str(train_root),
        "test_corpus": settings.test_corpus,
        "test_data": str(test_root),
        "recipe": recipe.name,
        "recipe_sha256": recipe.sha256(),
        "backend": "keras float" if backend == "keras" else "tflm int8",
        "labels": list(pair.labels),
        "epochs_override": settings.epochs,
        "keyword_run": str(kw_run.path),
        "clips": {"train": int(len(side_a.y)), "test": int(len(side_b.y))},
        "class_counts": {
            "train": {l: int(c) for l, c in zip(pair.labels, np.bincount(side_a.y, minlength=classes))},
            "test": {l: int(c) for l, c in zip(pair.labels, np.bincount(side_b.y, minlength=classes))},
        },
        "speakers": {"train": sorted({u.speaker for u in side_a.utterances}), "test": sorted({u.speaker for u in side_b.utterances})},
        "dropped": {"train": dict(sorted(side_a.dropped.items())), "test": dict(sorted(side_b.dropped.items()))},
        "unreadable": [{"path": p, "reason": r} for p, r in list(a.problems) + list(b.problems) + side_a.problems + side_b.problems],
        "folds": results,
        "summary": summarise(results, classes),
        "seconds": round(time.perf_counter() - start, 1),
    }
    stem = out / f"cross_corpus_{backend}"
    plot_cross_corpus(result, stem.with_suffix(".png"))
    write_text(stem.with_suffix(".md"), markdown_table(result))
    result["plot"], result["json"] = str(stem.with_suffix(".png")), str(stem.with_suffix(".json"))
    write_json(stem.with_suffix(".json"), result)
    return result


# -- reports ----------------------------------------------------------------------------------
def _pm(stat: dict[str, float]) -> str:
    return f"{stat['mean']:.3f}±{stat['std']:.3f}"


def _rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    a, b = result["train_corpus"], result["test_corpus"]
    headers = ["model", f"self UAR ({a}→{a})", f"cross UAR ({a}→{b})", "gap", "self F1", "cross F1"]
    headers += [f"R {label} {a}→{a} / {a}→{b}" for label in result["labels"]]
    rows = []
    for model in MODELS:
        s = result["summary"][model]
        fmt = lambda r: "-" if r is None else f"{r:.2f}"  # noqa: E731
        recall = [f"{fmt(x)} / {fmt(y)}" for x, y in zip(s["self"]["per_class_recall"], s["cross"]["per_class_recall"])]
        relative = "" if s["gap_ua_relative"] is None else f" ({100 * s['gap_ua_relative']:.0f} %)"
        rows.append([MODEL_TITLES[model], _pm(s["self"]["ua"]), _pm(s["cross"]["ua"]), f"{s['gap_ua']:+.3f}{relative}",
                     _pm(s["self"]["macro_f1"]), _pm(s["cross"]["macro_f1"]), *recall])
    return headers, rows


def _title(result: dict[str, Any]) -> str:
    return (f"{result['train_corpus']} → {result['test_corpus']}: {len(result['folds'])} actor folds, {result['backend']}, "
            f"{result['clips']['train']} / {result['clips']['test']} clips, classes {', '.join(result['labels'])}")


def format_table(result: dict[str, Any]):
    """One rich table: per model self vs cross UAR (mean ± std over folds), the gap, per-class recall side by side."""
    from rich.table import Table

    headers, rows = _rows(result)
    table = Table(title=_title(result))
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def markdown_table(result: dict[str, Any]) -> str:
    headers, rows = _rows(result)
    lines = [f"# {_title(result)}", "", "| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def plot_cross_corpus(result: dict[str, Any], path: str | Path) -> Path:
    """Left: UAR self vs cross per model (mean ± std over folds). Right: per-class recall A→A vs A→B."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgeser.atomic import atomic_path

    a, b = result["train_corpus"], result["test_corpus"]
    summary, labels = result["summary"], result["labels"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    width = 0.38
    for j, (part, name) in enumerate((("self", f"{a}→{a}"), ("cross", f"{a}→{b}"))):
        means = [summary[m][part]["ua"]["mean"] for m in MODELS]
        stds = [summary[m][part]["ua"]["std"] for m in MODELS]
        left.bar(np.arange(len(MODELS)) + (j - 0.5) * width, means, width, yerr=stds, capsize=4, label=name)
    left.axhline(1.0 / len(labels), color="grey", linewidth=0.8, label="chance")
    left.set_xticks(range(len(MODELS)), [MODEL_TITLES[m] for m in MODELS])
    left.set(ylabel="UAR (mean ± std over folds)", ylim=(0, 1), title="self vs cross corpus")
    left.legend(fontsize=8)
    bars = [(m, part) for m in MODELS for part in ("self", "cross")]
    w = 0.8 / len(bars)
    for j, (model, part) in enumerate(bars):
        values = [np.nan if r is None else r for r in summary[model][part]["per_class_recall"]]
        right.bar(np.arange(len(labels)) + (j - (len(bars) - 1) / 2) * w, values, w,
                  label=f"{MODEL_TITLES[model]} {a}→{a if part == 'self' else b}", hatch="//" if part == "cross" else None)
    right.set_xticks(range(len(labels)), labels)
    right.set(ylabel="recall (mean over folds)", ylim=(0, 1), title="per-class recall")
    right.legend(fontsize=7, ncols=2)
    fig.suptitle(_title(result), fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)
