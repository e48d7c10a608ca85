"""Which literature training options help our tiny int8 models: one table on RAVDESS.

    edgeser benchmark recipe-options [--recipe configs/ravdess.yaml] [--data ../shared/data/ravdess]
        [--folds 4] [--only-folds N] [--variants plain,eam,...] [--json PATH]

Every variant is the base recipe with one option switched on (``VARIANTS``), trained and
scored on the same speaker-independent folds as :mod:`edgeser.benchmarks.accuracy`
(leave-speakers-out, a validation pair carved from the training actors), float Keras
models, with the features and the keyword model computed once. Folds run in the outer
loop, so after every fold all variants have a result; the JSON is rewritten after every
(fold, variant) and a rerun with the same ``--json`` skips what it already holds.

Rows: macro-F1 and UA of acoustic-only and fusion (mean ± std over folds), the change
of acoustic macro-F1 against the variant's reference row (:func:`reference_of`) on the same
folds, the gender gap of recall
(mean over classes of |TPR_male − TPR_female|, acoustic-only), and each option's own
figure: the entropy-weighted ensemble's macro-F1 and the VAD head's mean CCC (both
computed on ``plain``'s acoustic model, since they do not change it), plus the
eGeMAPS + logistic-regression baseline on the same folds. Label distributions (EM2LDL)
cannot be measured here: RAVDESS publishes no per-rater labels with the audio.

EAM, CO-VADA and the center / supervised-contrastive losses cannot train in speaker groups
(``training.acoustic_speaker_group``, which the shipped recipe uses): those variants switch the
groups off as well, and ``no_speaker_groups`` (the recipe with the groups off and nothing else
changed) is the row to read them against.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)
from edgeser.benchmarks.accuracy import (DEFAULT_CACHE, load_base,
                                         make_folds, run_fold)

TEACHER = "in-fold larger edgeser acoustic model (benchmarks/recipe_options.py)"


def _training(recipe, **changes):
    return dataclasses.replace(recipe, training=dataclasses.replace(recipe.training, **changes))


def _loss(recipe, **weights):
    from edgeser.models.training import LossSettings

    acoustic = recipe.training.acoustic
    return dataclasses.replace(acoustic, loss=dataclasses.replace(LossSettings(), **weights))


def _plain(r):
    from edgeser.models.vad import VadSettings

    return _training(r, vad=VadSettings(enabled=True), ensemble_heads=3)


def _no_groups(r):
    """The recipe without speaker groups, which EAM, CO-VADA and the center / supcon losses refuse."""
    return _training(r, acoustic_speaker_group=0)


def _eam(r):
    from edgeser.corpora.mixup import EamSettings

    return _training(_no_groups(r), eam=EamSettings(enabled=True))


def _debias(r):
    from edgeser.models.debias import DebiasSettings

    return _training(_no_groups(r), debias=DebiasSettings(enabled=True))


def _multi(r):
    """Wang et al.'s combination: EAM + focal + center + supervised contrastive."""
    return _training(_eam(r), acoustic=_loss(r, ce=1.0, focal=0.5, center=0.01, supcon=0.1))


VARIANTS: dict[str, tuple[str, Callable]] = {
    "plain": ("the recipe as it is (+ VAD head, 3-head ensemble: extra outputs only)", _plain),
    "no_speaker_groups": ("the recipe without speaker groups: the row EAM, CO-VADA and center / supcon "
                          "compare with", _no_groups),
    "eam": ("energy-adaptive mixup, 1 mixed clip per training clip, SNR 0-10 dB (no speaker groups)", _eam),
    "focal": ("focal loss (gamma 2) instead of cross-entropy", lambda r: _training(r, acoustic=_loss(r, ce=0.0, focal=1.0))),
    "kl_ls": ("KL to label-smoothed targets (0.1)", lambda r: _training(
        r, acoustic=dataclasses.replace(_loss(r, ce=0.0, kl=1.0), label_smoothing=0.1))),
    "center_supcon": ("CE + center loss (0.01) + supervised contrastive (0.1) (no speaker groups)",
                      lambda r: _training(_no_groups(r), acoustic=_loss(r, ce=1.0, center=0.01, supcon=0.1))),
    "multi_loss": ("EAM + CE + focal + center + supervised contrastive (Wang et al.; no speaker groups)", _multi),
    "co_vada": ("CO-VADA: voice-transformed copies of the 30 % bias-aligned clips (no speaker groups)", _debias),
    "distill": ("knowledge distillation (T=2, weight 1 + CE 1) from a 2x wider, 3-block teacher",
                lambda r: _training(r, teacher=TEACHER, acoustic=_loss(r, ce=1.0, distill=1.0))),
}


def reference_of(name: str, recipe) -> str:
    """The row variant ``name``'s change is measured against: ``no_speaker_groups`` when it
    switches off the speaker groups ``recipe`` trains with (the options that refuse them),
    else ``plain``."""
    grouped = recipe.training.acoustic_speaker_group > 0
    if name != "no_speaker_groups" and grouped and not VARIANTS[name][1](recipe).training.acoustic_speaker_group:
        return "no_speaker_groups"
    return "plain"


def fold_teacher(recipe, labels, x, y, fold, utterances, progress: bool = True):
    """Train the larger edgeser acoustic model on the fold's training actors, as the recipe trains
    its own (in speaker groups when it uses them); its logits function."""
    from edgeser.models.training import logits_of
    from edgeser.models.registry import model_configs
    from edgeser.train_options import fit_parts, larger_teacher_config, one_hot, train_acoustic

    cfg = larger_teacher_config(model_configs(recipe, labels)[0])
    tr, va = fit_parts(recipe, fold.train, fold.val)
    speakers = np.array([u.speaker for u in utterances])
    model, _, _ = train_acoustic(recipe, cfg, (x[tr], one_hot(y[tr], len(labels["emotions"]))), (x[va], y[va]),
                                 [utterances[i] for i in tr], recipe.seed, description=f"{fold.name} teacher",
                                 progress=progress, speakers=(speakers[tr], speakers[va]))
    return lambda features: logits_of(model, features)


def _stat(values: Sequence[float]) -> dict:
    v = np.array([np.nan if x is None else x for x in values], np.float64)
    v = v[~np.isnan(v)]
    if not len(v):
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std()), "n": len(v)}


def summarise(result: dict) -> dict:
    """Per variant: mean ± std of the figures over the folds it has."""
    out = {}
    order = list(VARIANTS)
    for name in sorted(result["runs"], key=lambda n: order.index(n) if n in order else len(order)):
        folds = result["runs"][name]
        row = {
            f"{m}_{k}": _stat([f["scores"][m][k] for f in folds])
            for m in ("acoustic", "fusion") for k in ("ua", "macro_f1")
        }
        row["reference"] = result.get("references", {}).get(name, "plain")
        ref = {f["fold"]: f for f in result["runs"].get(row["reference"], [])}
        row["delta_acoustic_f1"] = _stat([f["scores"]["acoustic"]["macro_f1"] - ref[f["fold"]]["scores"]["acoustic"]["macro_f1"]
                                          for f in folds if f["fold"] in ref])
        row["gender_tpr_gap"] = _stat([f["options"]["acoustic"].get("fairness_gender", {}).get("tpr_gap_mean") for f in folds])
        if any("fusion_ensemble" in f["options"] for f in folds):
            row["ensemble_f1"] = _stat([f["options"]["fusion_ensemble"]["macro_f1"] for f in folds])
        if any("vad_ccc" in f["options"] for f in folds):
            row["vad_mean_ccc"] = _stat([f["options"]["vad_ccc"]["mean"] for f in folds])
        row["seconds_per_fold"] = _stat([f["seconds"] for f in folds])
        out[name] = row
    return out


def print_table(result: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    summary = result["summary"]
    table = Table(title=f"RAVDESS, {result['classes']} classes: literature options on the same leave-speakers-out folds "
                  f"({len(result['folds_done'])} of {result['folds']} folds), float models")
    for column in ("variant", "folds", "acoustic F1", "Δ F1 vs reference", "acoustic UA", "fusion F1", "gender TPR gap",
                   "option's own figure", "s/fold"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    fmt = lambda s: f"{s['mean']:.3f}±{s['std']:.3f}" if s["n"] else "—"  # noqa: E731

    def delta(name: str, row: dict) -> str:
        if name == row["reference"]:
            return ""
        d = row["delta_acoustic_f1"]
        return f"{d['mean']:+.3f}±{d['std']:.3f} vs {row['reference']}" if d["n"] else f"— ({row['reference']} not run)"
    for name, row in summary.items():
        own = []
        if "ensemble_f1" in row:
            own.append(f"ensemble F1 {fmt(row['ensemble_f1'])}")
        if "vad_mean_ccc" in row:
            own.append(f"VAD CCC {fmt(row['vad_mean_ccc'])}")
        table.add_row(name, str(row["acoustic_macro_f1"]["n"]), fmt(row["acoustic_macro_f1"]),
                      delta(name, row), fmt(row["acoustic_ua"]),
                      fmt(row["fusion_macro_f1"]), fmt(row["gender_tpr_gap"]), "; ".join(own),
                      f"{row['seconds_per_fold']['mean']:.0f}")
    if result.get("egemaps"):
        e = result["egemaps"]["summary"]
        table.add_row(result["egemaps"]["name"] + " (baseline)", str(len(result["egemaps"]["folds"])),
                      f"{e['macro_f1']['mean']:.3f}±{e['macro_f1']['std']:.3f}", "",
                      f"{e['ua']['mean']:.3f}±{e['ua']['std']:.3f}", "", "", "", "", style="dim")
    console.print(table)
    console.print("[dim]label distributions (EM2LDL): not measurable on RAVDESS, which publishes no per-rater labels.[/dim]")


def run(recipe, data_root: Path, variants: Sequence[str], folds: int, only_folds: int | None, json_path: Path | None,
        cache: Path = DEFAULT_CACHE, progress: bool = True) -> dict:
    """Train every variant on every fold (folds outer); resumes from ``json_path``."""
    from edgeser.atomic import write_json
    from edgeser.evaluation.egemaps import accuracy_row

    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    base = load_base(recipe, data_root, cache)
    fold_list = make_folds(base.utterances, folds, recipe.seed)[: only_folds or None]
    result = {"corpus": "ravdess", "data": str(data_root), "recipe_sha256": recipe.sha256(), "folds": folds,
              "classes": len(base.labels["emotions"]), "variants": {v: VARIANTS[v][0] for v in variants}, "runs": {},
              "references": {name: reference_of(name, recipe) for name in VARIANTS}}
    if json_path and json_path.is_file():
        previous = json.loads(json_path.read_text())
        if previous.get("recipe_sha256") == recipe.sha256() and previous.get("folds") == folds:
            result["runs"] = previous.get("runs", {})
    result["egemaps"] = accuracy_row(base.utterances, fold_list, result["classes"], base.labels["emotions"],
                                     progress=progress)
    for fold in fold_list:
        for name in variants:
            done = {f["fold"] for f in result["runs"].get(name, [])}
            if fold.name in done:
                continue
            variant = VARIANTS[name][1](recipe)
            teacher = None
            if variant.training.teacher == TEACHER:
                teacher = fold_teacher(recipe, base.labels, base.x, base.y, fold, base.utterances, progress)
            start = time.perf_counter()
            out = run_fold(variant, base.labels, base.x, base.y, base.kw_emb, fold, progress=progress,
                           utterances=base.utterances, teacher=teacher)
            out["seconds"] = round(time.perf_counter() - start, 1)
            result["runs"].setdefault(name, []).append(out)
            print(f"{fold.name} {name}: acoustic F1 {out['scores']['acoustic']['macro_f1']:.3f} "
                  f"fusion F1 {out['scores']['fusion']['macro_f1']:.3f} ({out['seconds']:.0f} s)", file=sys.stderr)
            result["folds_done"] = sorted({f["fold"] for fs in result["runs"].values() for f in fs})
            result["summary"] = summarise(result)
            if json_path:
                write_json(json_path, result)
    result["folds_done"] = sorted({f["fold"] for fs in result["runs"].values() for f in fs})
    result["summary"] = summarise(result)
    if json_path:
        write_json(json_path, result)
    return result
