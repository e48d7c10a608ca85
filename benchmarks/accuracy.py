"""Speaker-independent accuracy on RAVDESS (leave-speakers-out), float and int8 on TFLite-Micro.

    edgeser benchmark accuracy [--recipe configs/ravdess.yaml] [--data ../shared/data/ravdess]
                               [--folds 4] [--json PATH] [--epochs N] [--actors N]
                               [--backend tflm|keras] [--cross-data ../shared/data/emodb]

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

Scores. Every fold's float models are scored (acoustic-only, keyword-only, fusion); with
``--backend tflm`` (the default) the fold's acoustic-only and fusion models are also
converted to full int8, calibrated on the fold's training clips, and run through the
TFLite-Micro interpreter chained as on the board (``evaluation.folds.fold_predictor``).
The classical reference, openSMILE eGeMAPSv02 functionals + a balanced logistic
regression on the very same folds (``evaluation.egemaps.accuracy_row``), is printed beside.

Cross-corpus (``--cross-data``, EmoDB by default reader ``--cross-corpus emodb``): each
fold's models, trained on RAVDESS only, are also scored on every clip of the second
corpus. Rule: predictions are restricted to the classes that corpus has (calm's
probability is added to neutral's, ``evaluation.folds.restrict_to``); UA and macro-F1
average over those classes only.

Output: a rich table (per fold and mean ± std of WA, UA, macro-F1 for acoustic-only,
keyword-only and fusion, float and int8; the eGeMAPS + LR row; cross-corpus UA; wall
time per fold) and, with ``--json``, the same as JSON.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.evaluation import folds as folds_lib

INT8_MODELS = ("acoustic", "fusion")  # what ships (the keyword-only head is a float reference)
METRICS = ("wa", "ua", "macro_f1")
GOAL_MACRO_F1 = 0.55  # issue goal: mean acoustic-or-fusion int8 macro-F1 ...
GOAL_MARGIN = 0.08  # ... and at least this far above eGeMAPS + LR on the same folds
CROSS_RULE = ("predictions restricted to the test corpus' classes (calm's probability added to neutral's); "
              "UA and macro-F1 average over the classes that corpus has")
DEFAULT_CACHE = Path("runs/.cache")  # relative to the working folder (the repository's root)
NOTE = (
    "RAVDESS has two fixed sentences spoken in every emotion: the words carry no emotion, so the "
    "keyword branch cannot help through words here; whatever keyword-only scores above chance (1/8) "
    "and fusion gains comes from acoustic cues (voice, energy, timing) left in the keyword embeddings."
)


# -- folds ---------------------------------------------------------------------------
make_folds = folds_lib.make_folds  # kept here too: the benchmarks' public fold maker


# -- the base run: features of every clip + the keyword model -----------------------
def base_recipe(recipe, data_root: Path):
    """The recipe with everything the base run does not use reset, so its hash (and folder)
    changes only with the frontend, data, keyword and keyword-training settings (of the
    training section the keyword model's settings and the framework that trains it)."""
    from edgeser.models.acoustic import AcousticConfig
    from edgeser.models.fusion import FusionConfig
    from edgeser.recipe import TrainingSettings

    training = TrainingSettings(keyword=recipe.training.keyword, framework=recipe.training.framework)
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
    folder = Path(cache) / f"accuracy-base-{base.sha256()[:12]}"
    with RunDir(folder, base).locked(wait=True):  # parallel trials share it: one prepares, the others wait
        run = RunDir.create(folder, base)
        wanted = {"corpus", "features", "train_keyword"}
        run_stages(run, [s for s in TRAIN_STAGES if s.name in wanted])
    return run


@dataclasses.dataclass
class BaseData:
    """Everything the folds share: the base run, its labels, the clips in features order,
    int8 features x [N, T, C], labels y [N], keyword windows [N, K, Tk, C] and mean keyword
    embeddings kw_emb [N, Ek]."""

    run: object
    labels: dict
    utterances: list
    x: np.ndarray
    y: np.ndarray
    kw_emb: np.ndarray
    windows: np.ndarray | None = None


def load_base(recipe, data_root: Path, cache: Path = DEFAULT_CACHE, actors: int | None = None) -> BaseData:
    """Prepare (or reuse) the base run and load its features; ``actors`` keeps the first N actors."""
    from edgeser.corpora import read_corpus
    from edgeser.models.registry import keyword_embeddings

    run = prepare_base(recipe, Path(data_root), cache)
    labels = run.labels()
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
    return BaseData(run, labels, utts, x, y, keyword_embeddings(run, windows), windows)


@dataclasses.dataclass
class CrossData:
    """A second corpus, scored by every fold's models: its ``labels`` (the classes it has, which
    the models know) and ``side`` (features, keyword windows and embeddings, labels as indices
    into ``labels``; ``evaluation.cross_corpus.CorpusSide``)."""

    corpus: str
    data: str
    labels: list
    side: object


def load_cross(recipe, base: BaseData, corpus: str, data_root: Path, cache: Path = DEFAULT_CACHE,
               progress: bool = True) -> CrossData:
    """Every clip of ``corpus`` whose label the RAVDESS models know, through the same frontend
    and keyword model (``evaluation.cross_corpus.load_side``)."""
    from edgeser.corpora import read_corpus
    from edgeser.evaluation.cross_corpus import load_side

    read = read_corpus(corpus, Path(data_root))
    known = set(base.labels["emotions"])
    utts = [u for u in read.utterances if u.label in known]
    if not utts:
        raise ValueError(f"{data_root}: no {corpus} clip has a label the models know ({sorted(known)})")
    labels = sorted({u.label for u in utts})
    side = load_side(utts, labels, recipe, base.run, cache, {}, f"{corpus} features", progress)
    side.problems = list(read.problems) + list(side.problems)
    return CrossData(corpus, str(data_root), labels, side)


# -- one fold ------------------------------------------------------------------------
def acoustic_kbytes(cfg) -> float:
    """int8 weight size of the acoustic model in KB (parameters, 1 byte each)."""
    from edgeser.models.acoustic import build_acoustic_model

    return build_acoustic_model(cfg).count_params() / 1000.0


def run_fold(recipe, labels, x, y, kw_emb, fold, settings_override=None, progress: bool = False,
             utterances=None, teacher=None, backend: str = "keras", windows: np.ndarray | None = None, kw_run=None,
             cross: CrossData | None = None, speaker_norm: bool = False) -> dict:
    """Train acoustic -> fusion and keyword-only heads on one fold; scores on its test actors.

    The acoustic model trains through :func:`edgeser.train_options.train_acoustic`, so the
    recipe's literature options apply (random crops, EAM and CO-VADA need ``utterances``, the
    clips in x's order; ``teacher`` overrides ``training.teacher``); the VAD head and the fusion ensemble
    through :func:`~edgeser.train_options.fusion_extras`. ``options`` in the result holds
    their test metrics and the gender fairness of acoustic-only and fusion.

    ``backend="tflm"`` adds ``scores_int8`` (acoustic-only and fusion, full int8 on
    TFLite-Micro; needs ``windows`` [N, K, Tk, C] and ``kw_run``, the run of the keyword
    model). ``cross`` adds ``cross`` (float, and int8 with tflm): scores on a second corpus.
    ``speaker_norm`` adds the models ``fusion_speaker`` and ``fusion_speaker_running``: a second
    fusion head on the same frozen embeddings standardised per speaker
    (:mod:`edgeser.models.speaker_norm`), a test speaker's statistics coming from all of that
    speaker's test clips, or (running) clip by clip from the earlier ones and the training
    set's, the shipped mechanism (:class:`SpeakerFusionHead`; int8 running through ``BoardChain``).
    """
    from edgeser.metrics import score
    from edgeser.models.ensemble import softmax
    from edgeser.models.training import logits_of, seed_everything, train_classifier
    from edgeser.models.registry import build, model_configs
    from edgeser.evaluation.fairness import test_metrics
    from edgeser.train_options import fit_parts, fusion_extras, fusion_inputs, one_hot

    start = time.perf_counter()
    if settings_override is not None:
        t = recipe.training
        training = dataclasses.replace(t, acoustic=settings_override,
                                       fusion=dataclasses.replace(t.fusion, epochs=settings_override.epochs))
        recipe = dataclasses.replace(recipe, training=training)
    _, keyword_cfg, fusion_cfg = model_configs(recipe, labels)
    classes = len(labels["emotions"])
    (tr, va), te = fit_parts(recipe, fold.train, fold.val), np.array(fold.test, np.int64)
    targets = one_hot(y, classes)
    xf = x.astype(np.float32)
    models = folds_lib.train_fold_models(recipe, labels, x, targets, kw_emb, fold, utterances, teacher, progress)
    audio, fusion, emb, history, info = models.audio, models.fusion, models.emb, models.history, models.info
    acoustic_seconds = info.pop("acoustic_seconds")
    seed_everything(recipe.seed)
    kw_only = build(recipe, labels, "keyword_only")
    train_classifier(kw_only, (kw_emb[tr], y[tr]), (kw_emb[va], y[va]), classes, recipe.training.fusion, recipe.seed,
                     description=f"{fold.name} keyword-only", progress=progress)

    speakers = models.speakers
    logits = {
        "acoustic": logits_of(audio, xf[te]),
        "keyword": logits_of(kw_only, kw_emb[te]),
        "fusion": logits_of(fusion, fusion_inputs(emb[te], kw_emb[te], models.prior,
                                                  None if speakers is None else speakers[te], recipe.seed)),
    }
    if speaker_norm:
        if speakers is None:
            raise ValueError("speaker_norm needs the clips' utterances (their speakers)")
        head = speaker_fusion_head(recipe, fusion_cfg, emb, kw_emb, targets, y, speakers, tr, va, progress)
        logits |= head.float_logits(emb[te], kw_emb[te], speakers[te])
    scores = {name: score(y[te], v.argmax(-1), classes).to_dict() for name, v in logits.items()}
    options, _ = fusion_extras(recipe, fusion_cfg, emb, kw_emb, targets, {"train": tr, "val": va, "test": te}, fusion,
                               utterances, recipe.seed, prior=models.prior, speakers=speakers)
    genders = [utterances[i].gender or "" for i in te] if utterances is not None else None
    for name in ("acoustic", "fusion"):
        options[name] = test_metrics(y[te], softmax(logits[name]), classes, genders)
    curves = history.to_dict()  # NaN (no validation set: training.train_on_validation) as None
    result = {
        "fold": fold.name,
        "test_speakers": list(fold.test_speakers),
        "sizes": {"train": len(tr), "val": len(va), "test": len(te)},
        "acoustic_epochs": len(history.loss),
        "acoustic_best_epoch": history.best_epoch + 1,
        "acoustic_best_val_ua": curves["best_val_ua"],
        "acoustic_train_ua_at_best": history.train_ua[history.best_epoch] if history.train_ua else None,
        "acoustic_curves": {part: [None if v is None else round(v, 4) for v in curves[part]]
                            for part in ("train_ua", "val_ua")},
        "acoustic_seconds": round(acoustic_seconds, 1),
        "training_examples": info,
        "scores": scores,
        "options": options,
    }
    train_speakers, test_speakers = (None, None) if speakers is None else (speakers[tr], speakers[te])
    predictors = {"float": folds_lib.fold_predictor(models, kw_run, x[tr], None, kw_emb[tr], "keras", recipe.seed)}
    if backend == "tflm":
        if windows is None or kw_run is None:
            raise ValueError("backend tflm needs the keyword windows and the keyword model's run")
        predictors["int8"] = folds_lib.fold_predictor(models, kw_run, x[tr], windows[tr], kw_emb[tr], "tflm",
                                                      recipe.seed, train_speakers)
        int8 = predictors["int8"](x[te], windows[te], kw_emb[te], speakers=test_speakers)
        if speaker_norm:
            head.quantise(recipe.seed)
            int8 |= head.int8_logits(predictors["int8"].tflite, x[te], windows[te], speakers[te])
        result["scores_int8"] = {name: score(y[te], v.argmax(-1), classes).to_dict() for name, v in int8.items()}
    if cross is not None:
        result["cross"] = {}
        cross_speakers = np.array([u.speaker for u in cross.side.utterances])
        for kind, predict in predictors.items():
            out = predict(cross.side.x, cross.side.windows, cross.side.kw_emb, speakers=cross_speakers)
            if speaker_norm and kind == "float":
                out |= head.float_logits(logits_of(models.embedding, cross.side.x.astype(np.float32)),
                                         cross.side.kw_emb, cross_speakers)
            elif speaker_norm:
                out |= head.int8_logits(predict.tflite, cross.side.x, cross.side.windows, cross_speakers)
            result["cross"][kind] = {
                name: score(cross.side.y, folds_lib.restrict_to(v, labels["emotions"], cross.labels).argmax(-1),
                            len(cross.labels)).to_dict()
                for name, v in out.items()
            }
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


class SpeakerFusionHead:
    """A second fusion head with ``fusion.input_norm: speaker`` on a fold's frozen embeddings
    (``train_options.train_fusion``), scored two ways, float and int8 (:meth:`quantise` first):

    ``fusion_speaker``: each test speaker standardised with all of that speaker's clips (an
    upper bound: no board has a speaker's future clips); ``fusion_speaker_running``: the shipped
    mechanism, running statistics (``train_options.fusion_inputs``; int8 through ``BoardChain``)."""

    def __init__(self, model, prior, train_inputs: list[np.ndarray], seed: int):
        self.model, self.prior, self.train_inputs, self.seed, self.tflite = model, prior, train_inputs, seed, None

    def float_logits(self, emb: np.ndarray, kw_emb: np.ndarray, speakers) -> dict[str, np.ndarray]:
        """Float logits of ``fusion_speaker`` and ``fusion_speaker_running``."""
        from edgeser.models.speaker_norm import standardise_pair
        from edgeser.models.training import logits_of
        from edgeser.train_options import fusion_inputs

        return {"fusion_speaker": logits_of(self.model, standardise_pair(emb, kw_emb, speakers)),
                "fusion_speaker_running": logits_of(self.model, fusion_inputs(emb, kw_emb, self.prior, speakers,
                                                                              self.seed))}

    def quantise(self, seed: int) -> None:
        from edgeser.models.speaker_norm import METADATA_KEY
        from edgeser.quantize.convert import quantize_keras_model, representative_examples

        self.tflite = quantize_keras_model(self.model, representative_examples(self.train_inputs, seed),
                                           {METADATA_KEY: self.prior.to_json()})

    def int8_logits(self, device_models: dict[str, bytes], x: np.ndarray, windows: np.ndarray,
                    speakers) -> dict[str, np.ndarray]:
        """Dequantised int8 logits on TFLite-Micro: ``fusion_speaker`` on the int8 acoustic and keyword
        models' dequantised embeddings (keyword averaged over the clip's windows) standardised with
        all of a speaker's clips; ``fusion_speaker_running`` as the board runs it (``BoardChain``)."""
        from edgeser.evaluation.int8 import BoardChain, Int8Model
        from edgeser.models.speaker_norm import standardise_pair

        n, k = windows.shape[:2]
        keyword, acoustic, head = (Int8Model(device_models["keyword"]), Int8Model(device_models["acoustic"]),
                                   Int8Model(self.tflite))
        emb = acoustic.from_features(x)
        kw = keyword.from_features(windows.reshape(n * k, *windows.shape[2:])).reshape(n, k, -1).mean(axis=1)
        return {"fusion_speaker": head(*standardise_pair(emb, kw, speakers))[0],
                "fusion_speaker_running": BoardChain(keyword, acoustic, head).logits(x, windows, speakers, self.seed)}


def speaker_fusion_head(recipe, fusion_cfg, emb, kw_emb, targets, y, speakers, tr, va, progress) -> SpeakerFusionHead:
    """Train a speaker-normalised fusion head on the fold's training and validation actors."""
    from edgeser.models.speaker_norm import standardise_pair
    from edgeser.train_options import train_fusion

    cfg = dataclasses.replace(fusion_cfg, input_norm="speaker")
    model, _, prior = train_fusion(recipe, cfg, (emb[tr], kw_emb[tr], targets[tr]), (emb[va], kw_emb[va], y[va]),
                                   recipe.seed, description="fusion (speaker-normalised)", progress=progress,
                                   speakers=(speakers[tr], speakers[va]))
    return SpeakerFusionHead(model, prior, standardise_pair(emb[tr], kw_emb[tr], speakers[tr]), recipe.seed)


def _mean_std(values) -> dict[str, float]:
    v = np.array(values, np.float64)
    return {"mean": float(np.nanmean(v)), "std": float(np.nanstd(v))}


def summarise(folds: Sequence[dict]) -> dict:
    """Mean and (population) std over folds of each model's WA, UA and macro-F1 (float, int8, cross-corpus)."""
    def stats(key, models):
        return {model: {metric: _mean_std([key(f)[model][metric] for f in folds]) for metric in METRICS}
                for model in models}

    out: dict = stats(lambda f: f["scores"], list(folds[0]["scores"]))
    if all("scores_int8" in f for f in folds):
        out["int8"] = stats(lambda f: f["scores_int8"], list(folds[0]["scores_int8"]))
    if all("cross" in f for f in folds):
        out["cross"] = {kind: stats(lambda f, kind=kind: f["cross"][kind], list(folds[0]["cross"][kind]))
                        for kind in folds[0]["cross"]}
    out["seconds_per_fold"] = {
        "mean": float(np.mean([f["seconds"] for f in folds])),
        "max": float(np.max([f["seconds"] for f in folds])),
    }
    return out


def _columns(result: dict) -> list[tuple[str, str, str]]:
    """(title, scores key, model) of each model column group: float, then int8 when present."""
    summary = result["summary"]
    cols = [(m, "scores", m) for m in summary if m not in ("int8", "cross", "seconds_per_fold")]
    cols += [(f"{m} int8", "scores_int8", m) for m in summary.get("int8", {})]
    return cols


def print_table(result: dict, console=None) -> None:
    """One row per fold and the mean ± std: macro-F1 of each model, float then int8 (UA in the
    JSON and the markdown table); the eGeMAPS + LR reference on the same folds; cross-corpus
    UA; the goals."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    summary = result["summary"]
    backend = "float Keras and int8 TFLite-Micro" if "int8" in summary else "float Keras"
    table = Table(title=f"{result['corpus']}: leave-speakers-out, {len(result['folds'])} folds, {backend} models "
                  f"({result['classes']} classes): macro-F1")
    table.add_column("fold")
    table.add_column("test")
    cols = _columns(result)
    for title, _, _ in cols:
        table.add_column(title, justify="right", no_wrap=True)
    table.add_column("s", justify="right")
    for fold in result["folds"]:
        cells = [f"{fold[key][m]['macro_f1']:.3f}" for _, key, m in cols]
        actors = ",".join(s.replace("Actor_", "") for s in fold["test_speakers"])
        table.add_row(fold["fold"], actors, *cells, f"{fold['seconds']:.0f}")
    pm = lambda d: f"{d['mean']:.3f}±{d['std']:.3f}".replace("±0.", "±.")  # noqa: E731
    stats = {"scores": summary, "scores_int8": summary.get("int8", {})}
    table.add_row("mean±std", "", *[pm(stats[key][m]["macro_f1"]) for _, key, m in cols],
                  f"{summary['seconds_per_fold']['mean']:.0f}", style="bold")
    egemaps = result.get("egemaps")
    if egemaps:
        e = egemaps["summary"]
        table.add_row(egemaps["name"].replace("eGeMAPSv02", "eGeMAPS"), "", pm(e["macro_f1"]),
                      *[""] * (len(cols) - 1), "", style="dim")
    console.print(table)
    console.print(f"[dim]note: {result['note']}[/dim]")
    if "cross" in summary:
        c = result["cross_corpus"]
        lines = [f"{kind} {m} UA {pm(summary['cross'][kind][m]['ua'])} (F1 {pm(summary['cross'][kind][m]['macro_f1'])})"
                 for kind in summary["cross"] for m in summary["cross"][kind]]
        console.print(f"cross-corpus, trained on RAVDESS, scored on all of {c['corpus']} ({', '.join(c['labels'])}; "
                      f"{c['clips']} clips; chance UA {1 / len(c['labels']):.2f}): " + "; ".join(lines))
        console.print(f"[dim]rule: {CROSS_RULE}[/dim]")
        for path, reason in c.get("skipped", []):
            console.print(f"[yellow]{c['corpus']}: skipped {path}: {reason}[/yellow]")
    best = max(summary[m]["macro_f1"]["mean"] for m in ("acoustic", "fusion"))
    if "int8" in summary:
        best = max(summary["int8"][m]["macro_f1"]["mean"] for m in INT8_MODELS)
    if "fusion_speaker" in summary:
        spk = summary.get("int8", summary)["fusion_speaker"]["macro_f1"]
        console.print(f"fusion on speaker-normalised embeddings (needs each speaker's unlabelled clips; "
                      f"not in the firmware): macro-F1 {pm(spk)}")
    line = (f"acoustic model: {result['acoustic_int8_kb']:.1f} KB int8 weights; best acoustic-or-fusion macro-F1 "
            f"{best:.3f} ({'int8' if 'int8' in summary else 'float'}); goal {result['goal_macro_f1']:.2f}: "
            f"{'met' if best >= result['goal_macro_f1'] else 'not met'}")
    if egemaps:
        margin = best - egemaps["summary"]["macro_f1"]["mean"]
        line += f"; {margin:+.3f} vs {egemaps['name']} (goal +{GOAL_MARGIN:.2f}: {'met' if margin >= GOAL_MARGIN else 'not met'})"
    console.print(line)


def markdown_table(result: dict) -> str:
    """The per-fold table as markdown (docs, closing notes): macro-F1 / UA per model."""
    cols = _columns(result)
    summary = result["summary"]
    stats = {"scores": summary, "scores_int8": summary.get("int8", {})}
    pm = lambda d: f"{d['mean']:.3f} ± {d['std']:.3f}"  # noqa: E731
    lines = ["| fold | test actors | " + " | ".join(t for t, _, _ in cols) + " | s |",
             "|---|---|" + "---:|" * (len(cols) + 1)]
    for fold in result["folds"]:
        actors = ",".join(s.replace("Actor_", "") for s in fold["test_speakers"])
        cells = [f"{fold[key][m]['macro_f1']:.3f} / {fold[key][m]['ua']:.3f}" for _, key, m in cols]
        lines.append(f"| {fold['fold']} | {actors} | " + " | ".join(cells) + f" | {fold['seconds']:.0f} |")
    lines.append("| **mean ± std** | | " + " | ".join(f"{pm(stats[key][m]['macro_f1'])} / {pm(stats[key][m]['ua'])}"
                                                    for _, key, m in cols)
                 + f" | {summary['seconds_per_fold']['mean']:.0f} |")
    if result.get("egemaps"):
        e = result["egemaps"]["summary"]
        lines.append(f"| {result['egemaps']['name']} | same folds | {pm(e['macro_f1'])} / {pm(e['ua'])} |"
                     + " |" * len(cols))
    return "\n".join(lines) + "\n"


def run_benchmark(recipe, data_root: Path, folds: int = 4, cache: Path = DEFAULT_CACHE, actors: int | None = None,
                  epochs: int | None = None, progress: bool = True, only_folds: int | None = None,
                  backend: str = "keras", cross_corpus: str | None = None, cross_data: Path | None = None,
                  egemaps: bool = False, speaker_norm: bool = False, fold_seed: int | None = None) -> dict:
    """The whole benchmark; ``actors``/``epochs``/``only_folds`` shrink it (smoke tests, quick looks).

    The folds are drawn with ``fold_seed`` (default: the recipe's seed), so a recipe with another
    seed can be scored on the same folds as the one before it (the training-seed spread).

    ``backend="tflm"`` adds the int8 TFLite-Micro scores, ``cross_data`` the scores on a second
    corpus (reader ``cross_corpus``), ``egemaps`` the eGeMAPS + LR reference on the same folds,
    ``speaker_norm`` the speaker-normalised fusion head (:func:`run_fold`).
    """
    if recipe.data.corpus != "ravdess":
        raise ValueError(f"the accuracy benchmark runs on RAVDESS; the recipe names corpus {recipe.data.corpus!r}")
    start = time.perf_counter()
    base = load_base(recipe, Path(data_root), cache, actors)
    labels, utts, x, y, kw_emb = base.labels, base.utterances, base.x, base.y, base.kw_emb
    cross = None
    if cross_data is not None:
        cross = load_cross(recipe, base, cross_corpus or "emodb", Path(cross_data), cache, progress)
    prep_seconds = time.perf_counter() - start

    override = None
    if epochs is not None:
        override = dataclasses.replace(recipe.training.acoustic, epochs=epochs, patience=min(epochs, recipe.training.acoustic.patience))
    fold_seed = recipe.seed if fold_seed is None else fold_seed
    fold_list = make_folds(utts, folds, fold_seed)[: only_folds or None]
    reference = None
    if egemaps:
        from edgeser.evaluation.egemaps import accuracy_row

        reference = accuracy_row(utts, fold_list, len(labels["emotions"]), labels["emotions"], progress=progress)
    results = []
    for fold in fold_list:
        results.append(run_fold(recipe, labels, x, y, kw_emb, fold, override, progress=progress, utterances=utts,
                                backend=backend, windows=base.windows, kw_run=base.run, cross=cross,
                                speaker_norm=speaker_norm))
        if progress:
            r = results[-1]
            s = r.get("scores_int8", r["scores"])
            print(f"{fold.name}: macro-F1 acoustic {s['acoustic']['macro_f1']:.3f} fusion {s['fusion']['macro_f1']:.3f} "
                  f"({'int8' if 'scores_int8' in r else 'float'}; {r['seconds']:.0f} s, {r['acoustic_epochs']} epochs)",
                  file=sys.stderr)
    acoustic_cfg = dataclasses.replace(recipe.acoustic, num_frames=x.shape[1], num_channels=x.shape[2],
                                       num_classes=len(labels["emotions"]))
    result = {
        "corpus": "ravdess",
        "data": str(data_root),
        "recipe": recipe.to_dict(),
        "recipe_sha256": recipe.sha256(),
        "fold_seed": fold_seed,
        "classes": len(labels["emotions"]),
        "labels": labels["emotions"],
        "clips": int(len(y)),
        "actors": sorted({u.speaker for u in utts}),
        "backend": "keras float + tflm int8" if backend == "tflm" else "keras float",
        "note": NOTE,
        "goal_macro_f1": GOAL_MACRO_F1,
        "acoustic_int8_kb": acoustic_kbytes(acoustic_cfg),
        "prepare_seconds": round(prep_seconds, 1),
        "folds": results,
        "summary": summarise(results),
    }
    if reference is not None:
        result["egemaps"] = reference
    if cross is not None:
        result["cross_corpus"] = {"corpus": cross.corpus, "data": cross.data, "labels": cross.labels,
                                  "clips": int(len(cross.side.y)), "rule": CROSS_RULE,
                                  "skipped": [list(p) for p in cross.side.problems]}
    return result


def plot_curves(result: dict, path: Path) -> Path:
    """Learning curves of every fold's acoustic model: training vs validation UA per epoch (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgeser.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(7, 3.6))
    for k, fold in enumerate(result["folds"]):
        curves = fold.get("acoustic_curves")
        if not curves:
            continue
        color = f"C{k}"
        epochs = np.arange(1, len(curves["train_ua"]) + 1)
        ax.plot(epochs, curves["train_ua"], color=color, lw=1.2, label=f"{fold['fold']} train")
        val = np.array([np.nan if v is None else v for v in curves["val_ua"]], np.float64)
        if not np.all(np.isnan(val)):  # none without a validation set (training.train_on_validation)
            ax.plot(epochs, val, color=color, lw=1.2, ls="--", label=f"{fold['fold']} validation")
        ax.axvline(fold["acoustic_best_epoch"], color=color, lw=0.6, alpha=0.5)
    ax.axhline(1 / result["classes"], color="grey", lw=0.8, ls=":", label="chance")
    ax.set(xlabel="epoch", ylabel="UA (float, clean features)", ylim=(0, 1),
           title="acoustic model: training vs validation actors (vertical: restored epoch)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)
