"""``edgeser tune``: a device-aware search of recipes, on Ray Tune with Optuna's TPE.

Each trial is the base recipe with the search space's keys drawn by the searcher
(:mod:`edgeser.search_space`). It runs the accuracy benchmark's leave-speakers-out
folds (``evaluation.folds``: the pipeline's own trainers), scores every fold's full
int8 fusion model on TFLite-Micro, and after the first fold measures the device:
the models' flash + TFLite-Micro arena + frontend memory, the predicted board
latency of one streaming decision, and the Edge TPU mapping of every op. A trial
over ``budget.memory_bytes`` or ``budget.latency_ms``, or with an op off the TPU, is
infeasible: it stops there and is recorded with the reason (it reports an objective
of 0 so the searcher moves away). ASHA stops hopeless trials after their first fold.

Ray runs in this process's own local cluster by default (nothing to start);
``address`` sends the same search to a running Ray cluster. Rerunning with the same
output folder continues the experiment. Outputs (:func:`write_outputs`): ``trials.json``,
``trials.csv``, ``trials.md``, ``pareto.png`` and ``best.yaml``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from edgeser import atomic

__all__ = ["TuneSettings", "device_measures", "evaluate_trial", "pareto_front", "pick_best", "run_search",
           "write_outputs"]

OBJECTIVE = "macro_f1"
EXPERIMENT = "search"
TRIAL_KEYS = ("trial", "params", "macro_f1", "macro_f1_std", "folds_done", "latency_ms", "memory_bytes", "mapped",
              "feasible", "reason", "pareto", "best", "base", "start", "vs_base", "seconds")


@dataclass(frozen=True)
class TuneSettings:
    """What a search runs: ``trials`` recipes, ``folds`` speaker folds each."""

    trials: int = 24
    folds: int = 4
    seed: int = 0
    address: str | None = None  # a Ray cluster ("auto", "ray://host:10001"); None: a local one
    cpus_per_trial: int = 0  # 0: every local core (trials run one after another on a small machine)
    cache: Path = Path("runs/.cache")
    actors: int | None = None  # keep the first N speakers (quick searches, tests)

    def __post_init__(self) -> None:
        from edgeser.settings import check

        check(1 <= self.trials <= 10_000, "trials", f"must be in 1..10000, got {self.trials}")
        check(2 <= self.folds <= 20, "folds", f"must be in 2..20, got {self.folds}")
        check(self.cpus_per_trial >= 0, "cpus_per_trial", f"must be >= 0, got {self.cpus_per_trial}")


# ---------------------------------------------------------------- one trial
def device_measures(recipe, tflite: dict[str, bytes], folder: Path) -> dict[str, Any]:
    """Memory, predicted latency and Edge TPU mapping of a trial's int8 device models.

    ``tflite`` holds the ``keyword``, ``acoustic`` and ``fusion`` flatbuffers; they are
    written to ``folder`` (the latency model reads files). Returns ``memory_bytes``,
    ``latency_ms`` (one streaming decision), ``mapped``, ``feasible`` and ``reason``.
    """
    from edgeser.benchmarks.predict import predict_pipeline
    from edgeser.models.registry import plan_of
    from edgeser.quantize.edgetpu_check import check_model
    from edgeser.quantize.memory import recipe_memory_report

    models = {name: tflite[name] for name in ("keyword", "acoustic", "fusion")}
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: atomic.write_bytes(folder / f"{name}_int8.tflite", data) for name, data in models.items()}
    budget = recipe.budget
    memory = recipe_memory_report(recipe, models)
    plan = plan_of(recipe)
    latency = predict_pipeline(paths["keyword"], paths["acoustic"], paths["fusion"], plan.num_keyword_windows,
                               plan.clip_frames)["streaming_decision_ms"]
    unmapped = [name for name, data in models.items() if not check_model(data).fully_mapped]
    reasons = []
    if memory.total_bytes > budget.memory_bytes:
        reasons.append(f"memory {memory.total_bytes} B > budget {budget.memory_bytes} B")
    if latency > budget.latency_ms:
        reasons.append(f"predicted latency {latency:.2f} ms > budget {budget.latency_ms:g} ms")
    if unmapped:
        reasons.append(f"ops off the Edge TPU in {', '.join(unmapped)}")
    return {"memory_bytes": int(memory.total_bytes), "latency_ms": round(float(latency), 3), "mapped": not unmapped,
            "feasible": not reasons, "reason": "; ".join(reasons)}


def evaluate_trial(recipe, data_root: Path, settings: TuneSettings, folder: Path,
                   report: Callable[[dict], None]) -> dict[str, Any]:
    """Run one trial's folds; ``report`` gets the running result after every fold (and the last).

    The objective is the mean int8 fusion macro-F1 over the folds done; 0 for an
    infeasible recipe (which stops after its first fold).
    """
    from edgeser.benchmarks.accuracy import load_base
    from edgeser.evaluation.folds import fold_predictor, make_folds, train_fold_models
    from edgeser.metrics import score
    from edgeser.train_options import one_hot

    start = time.perf_counter()
    base = load_base(recipe, Path(data_root), Path(settings.cache), settings.actors)
    classes = len(base.labels["emotions"])
    targets = one_hot(base.y, classes)
    f1s: list[float] = []
    result: dict[str, Any] = {}
    for number, fold in enumerate(make_folds(base.utterances, settings.folds, settings.seed), start=1):
        models = train_fold_models(recipe, base.labels, base.x, targets, base.kw_emb, fold, base.utterances)
        tr, te = models.trained_on, np.array(fold.test, np.int64)
        speakers = np.array([u.speaker for u in base.utterances])
        predictor = fold_predictor(models, base.run, base.x[tr], base.windows[tr], base.kw_emb[tr], "tflm", recipe.seed,
                                   speakers[tr])
        logits = predictor(base.x[te], base.windows[te], base.kw_emb[te], speakers=speakers[te])["fusion"]
        f1s.append(float(score(base.y[te], logits.argmax(-1), classes).macro_f1))
        if number == 1:
            result.update(device_measures(recipe, predictor.tflite, folder))
        result.update({
            OBJECTIVE: float(np.mean(f1s)) if result["feasible"] else 0.0,
            "macro_f1_measured": float(np.mean(f1s)),
            "macro_f1_std": float(np.std(f1s)),
            "fold_macro_f1": list(f1s),
            "fold": number,
            "seconds": round(time.perf_counter() - start, 1),
        })
        report(dict(result))
        if not result["feasible"]:
            break
    return result


def _trainable(config: dict, *, base_dict: dict, data_root: str, settings: TuneSettings) -> None:
    """The Ray Tune function trainable: one recipe variant, reported after every fold."""
    import edgeser  # noqa: F401  (tf-keras before TensorFlow, in Ray's worker process)
    from ray import tune

    from edgeser.recipe import recipe_from_dict
    from edgeser.search_space import apply_params

    recipe = apply_params(recipe_from_dict(base_dict), config)
    folder = Path(tune.get_context().get_trial_dir() or ".")
    evaluate_trial(recipe, Path(data_root), settings, folder / "models", lambda metrics: tune.report(metrics))


# ---------------------------------------------------------------- Pareto bookkeeping
def _dominates(a: dict, b: dict) -> bool:
    """``a`` is at least as accurate, fast and small as ``b``, and better in one."""
    ge = a["macro_f1"] >= b["macro_f1"] and a["latency_ms"] <= b["latency_ms"] and a["memory_bytes"] <= b["memory_bytes"]
    gt = a["macro_f1"] > b["macro_f1"] or a["latency_ms"] < b["latency_ms"] or a["memory_bytes"] < b["memory_bytes"]
    return ge and gt


def _eligible(t: dict) -> bool:
    return bool(t.get("feasible")) and t.get("macro_f1") is not None and t.get("complete", True)


def pareto_front(trials: Sequence[dict]) -> list[dict]:
    """The feasible, complete trials no other such trial dominates (macro-F1 up; latency, memory down)."""
    pool = [t for t in trials if _eligible(t)]
    return [t for t in pool if not any(_dominates(o, t) for o in pool if o is not t)]


def pick_best(trials: Sequence[dict]) -> dict | None:
    """The most accurate feasible, complete trial; ties go to lower latency, then lower memory.

    It is on the Pareto front: no feasible trial beats it on accuracy, and among equally
    accurate ones none is faster and smaller.
    """
    front = pareto_front(trials)
    if not front:
        return None
    return max(front, key=lambda t: (t["macro_f1"], -t["latency_ms"], -t["memory_bytes"]))


def paired_vs_base(trial: dict, base: dict | None) -> dict[str, Any] | None:
    """The trial's int8 macro-F1 minus the base recipe's, fold by fold over the folds both ran:
    ``{"mean", "std", "folds"}`` in points (×100); None without a base or a shared fold.

    The folds are the same speakers for every trial, so the paired difference separates a
    recipe's effect from the folds' own spread (which the ± of ``macro_f1`` mixes in).
    """
    if base is None or trial is base:
        return None
    mine, theirs = trial.get("fold_macro_f1") or [], base.get("fold_macro_f1") or []
    n = min(len(mine), len(theirs))
    if n == 0:
        return None
    diff = 100.0 * (np.asarray(mine[:n], float) - np.asarray(theirs[:n], float))
    return {"mean": round(float(diff.mean()), 2), "std": round(float(diff.std()), 2), "folds": n}


# ---------------------------------------------------------------- outputs
def _row(t: dict) -> dict[str, Any]:
    return {k: t.get(k) for k in TRIAL_KEYS}


def trials_markdown(trials: Sequence[dict]) -> str:
    keys = sorted({k for t in trials for k in t.get("params", {})})
    head = ["trial", *keys, "int8 macro-F1", "Δ vs base (paired, points)", "folds", "latency ms", "memory B", "mapped",
            "feasible", "reason", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for t in trials:
        f1 = "-" if t.get("macro_f1") is None else f"{t['macro_f1']:.3f} ± {t.get('macro_f1_std') or 0:.3f}"
        params = [_fmt(t.get("params", {}).get(k)) for k in keys]
        vs = t.get("vs_base")
        delta = "-" if not vs else f"{vs['mean']:+.1f} ± {vs['std']:.1f} ({vs['folds']})"
        lines.append("| " + " | ".join([str(t["trial"]), *params, f1, delta, str(t.get("folds_done", 0)),
                                        _fmt(t.get("latency_ms")), _fmt(t.get("memory_bytes")), _fmt(t.get("mapped")),
                                        _fmt(t.get("feasible")), t.get("reason") or "",
                                        ", ".join(w for w, on in (("best", t.get("best")), ("base recipe", t.get("base")),
                                                                  ("start point", t.get("start"))) if on)])
                     + " |")
    return "\n".join(lines) + "\n"


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def plot_pareto(trials: Sequence[dict], path: Path) -> Path:
    """Int8 macro-F1 against predicted latency; memory as marker size; infeasible as crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    measured = [t for t in trials if t.get("latency_ms") is not None and t.get("macro_f1_measured") is not None]
    feasible = [t for t in measured if t.get("feasible")]
    infeasible = [t for t in measured if not t.get("feasible")]
    size = lambda ts: [20 + 200 * (t["memory_bytes"] / 1e6) for t in ts]  # noqa: E731
    if feasible:
        sc = ax.scatter([t["latency_ms"] for t in feasible], [t["macro_f1_measured"] for t in feasible], s=size(feasible),
                        c=[t["memory_bytes"] / 1e6 for t in feasible], cmap="viridis", alpha=0.8, label="feasible")
        fig.colorbar(sc, ax=ax, label="memory (MB)")
    if infeasible:
        ax.scatter([t["latency_ms"] for t in infeasible], [t["macro_f1_measured"] for t in infeasible], marker="x",
                   color="tab:red", label="infeasible (fold 1)")
    front = sorted(pareto_front(trials), key=lambda t: t["latency_ms"])
    if front:
        ax.plot([t["latency_ms"] for t in front], [t["macro_f1"] for t in front], "k--", lw=1, label="Pareto front")
    best = pick_best(trials)
    if best:
        ax.scatter([best["latency_ms"]], [best["macro_f1"]], s=250, facecolors="none", edgecolors="k", lw=2,
                   label=f"best (trial {best['trial']})")
    ax.set_xlabel("predicted board latency, one streaming decision (ms)")
    ax.set_ylabel("int8 macro-F1 (mean over folds)")
    ax.set_title("edgeser tune: accuracy against the board")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def _at(trial: dict, point: dict) -> bool:
    """Whether the trial ran at ``point`` (searched key -> value)."""
    return all(trial.get("params", {}).get(k) == v for k, v in point.items())


def write_outputs(trials: list[dict], out: Path, base_recipe, space, settings: TuneSettings,
                  wall_seconds: float) -> dict[str, Path]:
    """trials.json / .csv / .md, pareto.png and (when a trial is feasible) best.yaml, atomically."""
    from edgeser.search_space import apply_params

    # the base recipe's own point and the space's start points, as the search tried them first
    base_point = space.point_of(base_recipe)
    starts = space.first_points(base_recipe)[1 if base_point else 0:]
    for t in trials:
        t["base"] = base_point is not None and _at(t, base_point)
        t["start"] = any(_at(t, point) for point in starts)
    front = {id(t) for t in pareto_front(trials)}
    best = pick_best(trials)
    base = next((t for t in trials if t["base"]), None)
    for t in trials:
        t["pareto"] = id(t) in front
        t["best"] = t is best
        t["vs_base"] = paired_vs_base(t, base)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"base_recipe": base_recipe.name, "base_recipe_sha256": base_recipe.sha256(), "space": space.to_dict(),
           "settings": {"trials": settings.trials, "folds": settings.folds, "seed": settings.seed,
                        "address": settings.address, "actors": settings.actors},
           "objective": "mean int8 fusion macro-F1 over speaker folds (TFLite-Micro)",
           "wall_seconds": round(wall_seconds, 1), "best_trial": best["trial"] if best else None, "trials": trials}
    written = {"json": atomic.write_json(out / "trials.json", doc)}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(TRIAL_KEYS))
    writer.writeheader()
    for t in trials:
        writer.writerow({**_row(t), "params": json.dumps(t.get("params", {}), sort_keys=True),
                         "vs_base": json.dumps(t.get("vs_base"), sort_keys=True)})
    written["csv"] = atomic.write_text(out / "trials.csv", buffer.getvalue())
    written["md"] = atomic.write_text(out / "trials.md", trials_markdown(trials))
    written["png"] = plot_pareto(trials, out / "pareto.png")
    if best is not None:
        recipe = apply_params(base_recipe, best["params"], name=f"{base_recipe.name}-tuned")
        header = (f"# edgeser tune: trial {best['trial']} of {len(trials)}, int8 macro-F1 {best['macro_f1']:.3f}, "
                  f"{best['latency_ms']:.2f} ms, {best['memory_bytes']} B\n")
        written["best"] = atomic.write_text(out / "best.yaml", header + recipe.to_yaml())
    return written


# ---------------------------------------------------------------- the search
def trial_number(result, fallback: int) -> int:
    """A trial's creation number in its experiment: Ray names each trial's folder
    ``<trainable>_<id>_<N>_<params>``, so the number stays the same when a search is continued
    (the order of Ray's results does not); ``fallback`` when the folder name has none."""
    match = re.search(r"_[0-9a-f]{5,}_(\d+)_", Path(str(getattr(result, "path", "") or "")).name)
    return int(match.group(1)) if match else fallback


class TuneError(ValueError):
    """A search that cannot continue in its output folder."""


def previous_search(out: Path, base_recipe) -> float:
    """Wall seconds of the earlier runs of the search in ``out`` (0 for a new one). Refuses to
    continue a search that started from another base recipe: its trials trained that one."""
    path = out / "trials.json"
    if not path.is_file():
        return 0.0
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TuneError(f"{path}: unreadable ({exc}); move it away to continue the search") from None
    if not isinstance(doc, dict):
        raise TuneError(f"{path}: not a trials.json written by edgeser tune")
    if doc.get("base_recipe_sha256") not in (None, base_recipe.sha256()):
        raise TuneError(f"{out}: this search started from recipe {doc.get('base_recipe')!r} with sha256 "
                         f"{str(doc['base_recipe_sha256'])[:12]}, not {base_recipe.sha256()[:12]} (the recipe changed "
                         "since); continue it with that recipe, or start a new search with another --out")
    return float(doc.get("wall_seconds") or 0.0)


def finished_trials(out: Path) -> int:
    """How many trials of the search in ``out`` ran to their end or were stopped (trials.json;
    0 when there is none): where a continued search's overall bar starts."""
    try:
        rows = json.loads((out / "trials.json").read_text()).get("trials") or []
    except (OSError, ValueError, AttributeError):
        return 0
    return sum(1 for t in rows if isinstance(t, dict) and (t.get("complete") or t.get("folds_done")))


def _trial_record(number: int, result) -> dict[str, Any]:
    """One row of trials.json from a Ray Tune result (finished, stopped early or failed)."""
    metrics = dict(result.metrics or {})
    params = {k: (v.item() if hasattr(v, "item") else v) for k, v in (result.config or {}).items()}
    folds_done = int(metrics.get("fold", 0))
    record = {"trial": number, "params": params, "folds_done": folds_done,
              "macro_f1": metrics.get(OBJECTIVE), "macro_f1_measured": metrics.get("macro_f1_measured"),
              "macro_f1_std": metrics.get("macro_f1_std"), "fold_macro_f1": metrics.get("fold_macro_f1"),
              "latency_ms": metrics.get("latency_ms"), "memory_bytes": metrics.get("memory_bytes"),
              "mapped": metrics.get("mapped"), "feasible": metrics.get("feasible"), "reason": metrics.get("reason") or "",
              "seconds": metrics.get("seconds")}
    if result.error is not None:
        record.update(feasible=False, reason=f"failed: {str(result.error).strip().splitlines()[-1][:200]}")
    return record


def run_search(base_recipe, data_root: Path, space, settings: TuneSettings, out: Path,
               echo: Callable[[str], None] = print) -> list[dict]:
    """Run (or continue) the search into ``out``; returns the trial records, complete ones marked."""
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch
    from tqdm import tqdm

    out = Path(out).resolve()
    storage = out / "ray"
    # Ray runs each trial in its own folder: every path it gets must be absolute
    settings = dataclasses.replace(settings, cache=Path(settings.cache).resolve())
    trainable = tune.with_parameters(_trainable, base_dict=base_recipe.to_dict(), data_root=str(Path(data_root).resolve()),
                                     settings=settings)
    cpus = settings.cpus_per_trial or (os.cpu_count() or 1)
    trainable = tune.with_resources(trainable, {"cpu": cpus})
    if not ray.is_initialized():
        ray.init(address=settings.address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 num_cpus=None if settings.address else cpus)

    from edgeser.tune_progress import TrialLines, attach

    experiment = storage / EXPERIMENT
    earlier = previous_search(out, base_recipe) if tune.Tuner.can_restore(str(experiment)) else 0.0
    done = finished_trials(out) if earlier else 0
    bar = tqdm(total=settings.trials, initial=min(done, settings.trials), desc="trials", unit="trial")
    attach(bar)  # a continued search's callbacks come back from Ray's state without it
    start = time.perf_counter()
    try:
        if tune.Tuner.can_restore(str(experiment)):
            echo(f"continuing the search in {experiment}")
            tuner = tune.Tuner.restore(str(experiment), trainable=trainable, resume_unfinished=True, resume_errored=True)
        else:
            scheduler = ASHAScheduler(time_attr="fold", max_t=settings.folds, grace_period=1, reduction_factor=2)
            # the base recipe itself first, when the space contains it (the table then holds its
            # figure on the same folds, the one a tuned recipe must beat), then the start points
            search = OptunaSearch(seed=settings.seed, points_to_evaluate=space.first_points(base_recipe) or None)
            tuner = tune.Tuner(
                trainable,
                param_space=space.ray(),
                tune_config=tune.TuneConfig(metric=OBJECTIVE, mode="max", search_alg=search, scheduler=scheduler,
                                            num_samples=settings.trials, max_concurrent_trials=None),
                run_config=tune.RunConfig(name=EXPERIMENT, storage_path=str(storage), verbose=0, callbacks=[TrialLines(bar)]),
            )
        grid = tuner.fit()
    finally:
        attach(None)
        bar.close()
    trials = sorted((_trial_record(trial_number(result, i), result) for i, result in enumerate(grid, start=1)),
                    key=lambda t: t["trial"])
    for t in trials:
        t["complete"] = t["folds_done"] >= settings.folds or t.get("feasible") is False
        if not t["complete"] and t["folds_done"]:
            t["reason"] = t["reason"] or f"stopped early by ASHA after {t['folds_done']} fold(s)"
    write_outputs(trials, out, base_recipe, space, settings, earlier + time.perf_counter() - start)
    return trials
