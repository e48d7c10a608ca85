"""Speaker-independent accuracy of the float Keras models on RAVDESS (leave-speakers-out).

    python -m edgeser.benchmarks.accuracy [--recipe configs/ravdess.yaml] [--data ../shared/data/ravdess]
                                          [--folds 4] [--json PATH] [--epochs N] [--actors N]

Protocol. The actors are dealt into ``--folds`` groups (``corpora.splits.leave_speakers_out``,
genders dealt evenly); each group is the test set of one fold. Out of each fold's
training actors a validation pair (one male, one female where possible, seeded) is
carved out for early stopping on validation UA; the rest train. No actor is in two
parts of a fold (``check_speaker_independent``).

Per fold the acoustic model is trained from scratch, then the fusion head and the
keyword-only head on the frozen embeddings. The keyword (DSResNet-SE) model does not
depend on the emotion folds: it is trained once on the recipe's keyword corpus through
the pipeline's own stages (corpus, features, train_keyword) in a base run under the
cache folder, which also holds the feature cache, so features are computed once and
every later invocation with the same frontend/data/keyword settings reuses them.

RAVDESS has two fixed sentences ("Kids are talking by the door", "Dogs are sitting by
the door") spoken in every emotion, so the words carry no emotion information and the
keyword branch cannot help through words. The keyword embeddings (a mean over the clip's
windows) still carry acoustic cues (voice, energy, timing), so keyword-only scores above
chance and fusion can differ from acoustic-only; that is not lexical information.

Output: a rich table (per fold and mean ± std of WA, UA, macro-F1 for acoustic-only,
keyword-only and fusion; wall time per fold) and, with ``--json``, the same as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)

MODELS = ("acoustic", "keyword", "fusion")
METRICS = ("wa", "ua", "macro_f1")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RECIPE = ROOT / "configs" / "ravdess.yaml"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ravdess"
DEFAULT_CACHE = ROOT / "runs" / ".cache"
NOTE = (
    "RAVDESS has two fixed sentences spoken in every emotion: the words carry no emotion, so the "
    "keyword branch cannot help through words here; whatever keyword-only scores above chance (1/8) "
    "and fusion gains comes from acoustic cues (voice, energy, timing) left in the keyword embeddings."
)


# -- folds -----------------------------------------------------------------------
def make_folds(utterances, k: int, seed: int = 0):
    """Leave-speakers-out folds, each with a validation pair carved from its training actors."""
    from edgeser.corpora.splits import Fold, check_speaker_independent, leave_speakers_out

    rng = np.random.default_rng(seed)
    gender = {u.speaker: u.gender or "unknown" for u in utterances}
    folds = []
    for fold in leave_speakers_out(utterances, k, seed):
        train_speakers = sorted({utterances[i].speaker for i in fold.train})
        if len(train_speakers) < 3:
            raise ValueError(f"{fold.name}: {len(train_speakers)} training actor(s); need at least 3 to carve a validation pair")
        by_gender: dict[str, list[str]] = {}
        for spk in train_speakers:
            by_gender.setdefault(gender[spk], []).append(spk)
        val: list[str] = []
        for g in sorted(by_gender):  # one of each gender first
            if len(val) < 2:
                val.append(by_gender[g][int(rng.integers(len(by_gender[g])))])
        rest = [s for s in train_speakers if s not in val]
        while len(val) < 2:
            val.append(rest.pop(int(rng.integers(len(rest)))))
        held = set(val)
        folds.append(
            Fold(
                fold.name,
                tuple(i for i in fold.train if utterances[i].speaker not in held),
                fold.test,
                tuple(i for i in fold.train if utterances[i].speaker in held),
                fold.test_speakers,
            )
        )
    check_speaker_independent(utterances, folds)
    return folds


# -- the base run: features of every clip + the keyword model -----------------------
def base_recipe(recipe, data_root: Path):
    """The recipe with everything the base run does not use reset, so its hash (and folder)
    changes only with the frontend, data, keyword and keyword-training settings."""
    from edgeser.models.acoustic import AcousticConfig
    from edgeser.models.fusion import FusionConfig
    from edgeser.recipe import TrainingSettings

    defaults = TrainingSettings()
    training = dataclasses.replace(recipe.training, acoustic=defaults.acoustic, fusion=defaults.fusion)
    data = dataclasses.replace(recipe.data, root=str(Path(data_root).resolve()))
    return dataclasses.replace(
        recipe, name="accuracy-base", data=data, acoustic=AcousticConfig(), fusion=FusionConfig(), training=training
    )


def prepare_base(recipe, data_root: Path, cache: Path):
    """Run the pipeline's corpus, features and train_keyword stages once (resumable) under ``cache``."""
    from edgeser.pipeline import TRAIN_STAGES
    from edgeser.rundir import RunDir
    from edgeser.stages import run_stages

    base = base_recipe(recipe, data_root)
    run = RunDir.create(Path(cache) / f"accuracy-base-{base.sha256()[:12]}", base)
    wanted = {"corpus", "features", "train_keyword"}
    run_stages(run, [s for s in TRAIN_STAGES if s.name in wanted])
    return run


def keyword_embeddings(run, windows: np.ndarray) -> np.ndarray:
    """Mean float keyword embedding [N, Ek] of each clip's keyword windows [N, K, Tk, C]."""
    from edgeser.models.kws import build_kws_embedding_model
    from edgeser.models.training import logits_of
    from edgeser.pipeline import run_model

    n, k = windows.shape[:2]
    model = build_kws_embedding_model(run_model(run, "keyword"))
    flat = windows.reshape(n * k, *windows.shape[2:])
    return logits_of(model, flat).reshape(n, k, -1).mean(axis=1)


@dataclasses.dataclass
class BaseData:
    """Everything the folds share: the base run, its labels, the clips in features order,
    int8 features x [N, T, C], labels y [N] and mean keyword embeddings kw_emb [N, Ek]."""

    run: object
    labels: dict
    utterances: list
    x: np.ndarray
    y: np.ndarray
    kw_emb: np.ndarray


def load_base(recipe, data_root: Path, cache: Path = DEFAULT_CACHE, actors: int | None = None) -> BaseData:
    """Prepare (or reuse) the base run and load its features; ``actors`` keeps the first N actors."""
    from edgeser.corpora import read_corpus
    from edgeser.pipeline import _labels

    run = prepare_base(recipe, Path(data_root), cache)
    labels = _labels(run)
    with np.load(run.path / "features.npz") as stored:
        x, y, speakers, windows = stored["x"], stored["y"], stored["speakers"], stored["kw_windows"]
        index = stored["corpus_index"] if "corpus_index" in stored.files else None
    # The same utterance order as the features stage: read the corpus, keep the clips it kept.
    utts = read_corpus(recipe.data.corpus, Path(run.recipe.data.root)).utterances
    if index is None:
        raise RuntimeError(f"{run.path}: features.npz predates corpus_index; delete the folder and rerun")
    utts = [utts[i] for i in index]
    if [u.speaker for u in utts] != [str(s) for s in speakers]:
        raise RuntimeError(f"{run.path}: features.npz does not match the corpus order; delete the folder and rerun")
    if actors is not None:
        keep = set(sorted({u.speaker for u in utts})[:actors])
        idx = np.array([i for i, u in enumerate(utts) if u.speaker in keep], np.int64)
        utts, x, y, windows = [utts[i] for i in idx], x[idx], y[idx], windows[idx]
    return BaseData(run, labels, utts, x, y, keyword_embeddings(run, windows))


# -- one fold ------------------------------------------------------------------------
def acoustic_kbytes(cfg) -> float:
    """int8 weight size of the acoustic model in KB (parameters, 1 byte each)."""
    from edgeser.models.acoustic import build_acoustic_model

    return build_acoustic_model(cfg).count_params() / 1000.0


def train_fold_models(recipe, labels, x, y, kw_emb, fold, utterances=None, teacher=None, progress: bool = False):
    """One fold's acoustic model (with the recipe's literature options) and fusion head.

    ``x`` int8 [N, T, C], ``y`` [N], ``kw_emb`` [N, Ek] cover every clip; the fold's train
    and val indices select from them. Returns (acoustic model, fusion head, acoustic
    embeddings of every clip [N, Ea], acoustic history, info incl. "acoustic_seconds").
    """
    from edgeser.models.acoustic import embedding_model
    from edgeser.models.fusion import build_fusion_model
    from edgeser.models.training import logits_of, seed_everything, train_classifier
    from edgeser.pipeline import model_configs
    from edgeser.train_options import one_hot, train_acoustic

    start = time.perf_counter()
    acoustic_cfg, _, fusion_cfg = model_configs(recipe, labels)
    classes = len(labels["emotions"])
    tr, va = np.array(fold.train, np.int64), np.array(fold.val, np.int64)
    targets = one_hot(y, classes)
    train_utts = [utterances[i] for i in tr] if utterances is not None else None
    audio, history, info = train_acoustic(recipe, acoustic_cfg, (x[tr], targets[tr]), (x[va], y[va]), train_utts,
                                          recipe.seed, description=f"{fold.name} acoustic", progress=progress,
                                          teacher=teacher)
    info["acoustic_seconds"] = time.perf_counter() - start
    emb = logits_of(embedding_model(audio), x.astype(np.float32))
    seed_everything(recipe.seed)
    fusion = build_fusion_model(fusion_cfg)
    train_classifier(fusion, ([emb[tr], kw_emb[tr]], y[tr]), ([emb[va], kw_emb[va]], y[va]), classes,
                     recipe.training.fusion, recipe.seed, description=f"{fold.name} fusion", progress=progress)
    return audio, fusion, emb, history, info


def run_fold(recipe, labels, x, y, kw_emb, fold, settings_override=None, progress: bool = False,
             utterances=None, teacher=None) -> dict:
    """Train acoustic -> fusion and keyword-only heads on one fold; scores on its test actors.

    The acoustic model trains through :func:`edgeser.train_options.train_acoustic`, so the
    recipe's literature options apply (EAM and CO-VADA need ``utterances``, the clips in x's
    order; ``teacher`` overrides ``training.teacher``); the VAD head and the fusion ensemble
    through :func:`~edgeser.train_options.fusion_extras`. ``options`` in the result holds
    their test metrics and the gender fairness of acoustic-only and fusion.
    """
    from edgeser.evaluation.metrics import score
    from edgeser.models.ensemble import softmax
    from edgeser.models.training import logits_of, seed_everything, train_classifier
    from edgeser.pipeline import _keyword_only_head, model_configs
    from edgeser.train_options import fusion_extras, one_hot, test_metrics

    start = time.perf_counter()
    if settings_override is not None:
        t = recipe.training
        training = dataclasses.replace(t, acoustic=settings_override,
                                       fusion=dataclasses.replace(t.fusion, epochs=settings_override.epochs))
        recipe = dataclasses.replace(recipe, training=training)
    _, keyword_cfg, fusion_cfg = model_configs(recipe, labels)
    classes = len(labels["emotions"])
    tr, va, te = (np.array(p, np.int64) for p in (fold.train, fold.val, fold.test))
    targets = one_hot(y, classes)
    xf = x.astype(np.float32)
    audio, fusion, emb, history, info = train_fold_models(recipe, labels, x, y, kw_emb, fold, utterances, teacher,
                                                          progress)
    acoustic_seconds = info.pop("acoustic_seconds")
    seed_everything(recipe.seed)
    kw_only = _keyword_only_head(keyword_cfg.embedding_dim, fusion_cfg)
    train_classifier(kw_only, (kw_emb[tr], y[tr]), (kw_emb[va], y[va]), classes, recipe.training.fusion, recipe.seed,
                     description=f"{fold.name} keyword-only", progress=progress)

    logits = {
        "acoustic": logits_of(audio, xf[te]),
        "keyword": logits_of(kw_only, kw_emb[te]),
        "fusion": logits_of(fusion, [emb[te], kw_emb[te]]),
    }
    scores = {name: score(y[te], v.argmax(-1), classes).to_dict() for name, v in logits.items()}
    options, _ = fusion_extras(recipe, fusion_cfg, emb, kw_emb, targets, {"train": tr, "val": va, "test": te}, fusion,
                               utterances, recipe.seed)
    genders = [utterances[i].gender or "" for i in te] if utterances is not None else None
    for name in ("acoustic", "fusion"):
        options[name] = test_metrics(y[te], softmax(logits[name]), classes, genders)
    return {
        "fold": fold.name,
        "test_speakers": list(fold.test_speakers),
        "sizes": {"train": len(tr), "val": len(va), "test": len(te)},
        "acoustic_epochs": len(history.loss),
        "acoustic_best_epoch": history.best_epoch + 1,
        "acoustic_best_val_ua": history.best_val_ua,
        "acoustic_seconds": round(acoustic_seconds, 1),
        "training_examples": info,
        "seconds": round(time.perf_counter() - start, 1),
        "scores": scores,
        "options": options,
    }


def summarise(folds: Sequence[dict]) -> dict:
    """Mean and (population) std over folds of each model's WA, UA and macro-F1."""
    out = {}
    for model in MODELS:
        out[model] = {}
        for metric in METRICS:
            values = np.array([f["scores"][model][metric] for f in folds], np.float64)
            out[model][metric] = {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}
    out["seconds_per_fold"] = {
        "mean": float(np.mean([f["seconds"] for f in folds])),
        "max": float(np.max([f["seconds"] for f in folds])),
    }
    return out


def print_table(result: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"{result['corpus']}: leave-speakers-out, {len(result['folds'])} folds, float Keras models "
                  f"({result['classes']} classes)")
    table.add_column("fold")
    table.add_column("test actors")
    for model in MODELS:
        for metric in METRICS:
            table.add_column(f"{model}\n{metric.replace('macro_f1', 'F1').upper()}", justify="right")
    table.add_column("wall s", justify="right")
    for fold in result["folds"]:
        cells = [f"{fold['scores'][m][k]:.3f}" for m in MODELS for k in METRICS]
        actors = ",".join(s.replace("Actor_", "") for s in fold["test_speakers"])
        table.add_row(fold["fold"], actors, *cells, f"{fold['seconds']:.0f}")
    summary = result["summary"]
    table.add_row("mean ± std", "", *[f"{summary[m][k]['mean']:.3f}±{summary[m][k]['std']:.3f}" for m in MODELS for k in METRICS],
                  f"{summary['seconds_per_fold']['mean']:.0f}", style="bold")
    console.print(table)
    console.print(f"[dim]note: {result['note']}[/dim]")
    console.print(f"acoustic model: {result['acoustic_int8_kb']:.1f} KB int8 weights; "
                  f"macro-F1 goal {result['goal_macro_f1']:.2f}: "
                  f"{'met' if summary['acoustic']['macro_f1']['mean'] >= result['goal_macro_f1'] else 'not met'}")


def run_benchmark(recipe, data_root: Path, folds: int = 4, cache: Path = DEFAULT_CACHE, actors: int | None = None,
                  epochs: int | None = None, progress: bool = True, only_folds: int | None = None) -> dict:
    """The whole benchmark; ``actors``/``epochs``/``only_folds`` shrink it (smoke tests, quick looks)."""
    if recipe.data.corpus != "ravdess":
        raise ValueError(f"the accuracy benchmark runs on RAVDESS; the recipe names corpus {recipe.data.corpus!r}")
    start = time.perf_counter()
    base = load_base(recipe, Path(data_root), cache, actors)
    labels, utts, x, y, kw_emb = base.labels, base.utterances, base.x, base.y, base.kw_emb
    prep_seconds = time.perf_counter() - start

    override = None
    if epochs is not None:
        override = dataclasses.replace(recipe.training.acoustic, epochs=epochs, patience=min(epochs, recipe.training.acoustic.patience))
    fold_list = make_folds(utts, folds, recipe.seed)[: only_folds or None]
    results = []
    for fold in fold_list:
        results.append(run_fold(recipe, labels, x, y, kw_emb, fold, override, progress=progress, utterances=utts))
        if progress:
            s = results[-1]["scores"]["acoustic"]
            print(f"{fold.name}: acoustic WA {s['wa']:.3f} UA {s['ua']:.3f} F1 {s['macro_f1']:.3f} "
                  f"({results[-1]['seconds']:.0f} s, {results[-1]['acoustic_epochs']} epochs)", file=sys.stderr)
    acoustic_cfg = dataclasses.replace(recipe.acoustic, num_frames=x.shape[1], num_channels=x.shape[2],
                                       num_classes=len(labels["emotions"]))
    return {
        "corpus": "ravdess",
        "data": str(data_root),
        "recipe": recipe.to_dict(),
        "recipe_sha256": recipe.sha256(),
        "classes": len(labels["emotions"]),
        "labels": labels["emotions"],
        "clips": int(len(y)),
        "actors": sorted({u.speaker for u in utts}),
        "backend": "keras float",
        "note": NOTE,
        "goal_macro_f1": 0.60,
        "acoustic_int8_kb": acoustic_kbytes(acoustic_cfg),
        "prepare_seconds": round(prep_seconds, 1),
        "folds": results,
        "summary": summarise(results),
    }


def checked_inputs(recipe_path: Path, data: Path, console):
    """The recipe, or None after printing why it or the RAVDESS folder cannot be used."""
    from edgeser.recipe import load_recipe
    from edgeser.settings import SettingsError

    try:
        recipe = load_recipe(recipe_path)
    except SettingsError as exc:
        console.print(f"[red]invalid recipe:[/red] {exc}")
        return None
    if not data.is_dir():
        console.print(f"[red]{data}: no such folder; pass --data with a RAVDESS copy (Actor_NN/...)[/red]")
        return None
    return recipe


def main(argv: Sequence[str] | None = None) -> int:
    from rich.console import Console

    from edgeser.atomic import write_json

    parser = argparse.ArgumentParser(prog="python -m edgeser.benchmarks.accuracy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", type=Path, default=DEFAULT_RECIPE, help="recipe YAML (default configs/ravdess.yaml)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="RAVDESS folder (Actor_NN/...)")
    parser.add_argument("--folds", type=int, default=4, help="number of actor folds (default 4)")
    parser.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="feature cache and keyword-model folder")
    parser.add_argument("--epochs", type=int, default=None, help="override the acoustic and fusion epochs (quick looks)")
    parser.add_argument("--actors", type=int, default=None, help="use only the first N actors (quick looks)")
    parser.add_argument("--only-folds", type=int, default=None, help="run only the first N folds (quick looks)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    recipe = checked_inputs(args.recipe, args.data, console)
    if recipe is None:
        return 1
    try:
        result = run_benchmark(recipe, args.data, args.folds, args.cache, args.actors, args.epochs, not args.quiet,
                               args.only_folds)
    except (ValueError, RuntimeError) as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    print_table(result)
    if args.json:
        write_json(args.json, result)
        console.print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
