"""edgeser tune: the search space, the Pareto bookkeeping, and a small search on local Ray."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeser.settings import SettingsError

REPO = Path(__file__).resolve().parents[1]


def _t(trial, f1, ms, mem, feasible=True, complete=True):
    return {"trial": trial, "params": {}, "macro_f1": f1, "latency_ms": ms, "memory_bytes": mem,
            "feasible": feasible, "complete": complete}


def test_pareto_front_and_best_on_hand_made_trials():
    from edgeser.tune import pareto_front, pick_best

    trials = [
        _t(1, 0.40, 5.0, 400_000),
        _t(2, 0.45, 6.0, 500_000),   # more accurate, slower: on the front
        _t(3, 0.44, 6.5, 600_000),   # dominated by 2
        _t(4, 0.60, 3.0, 300_000, feasible=False),  # best numbers, but over the budget
        _t(5, 0.45, 5.5, 500_000),   # as accurate as 2 and faster: dominates 2
        _t(6, 0.50, 9.0, 900_000, complete=False),  # stopped early by ASHA: not eligible
        _t(7, 0.30, 2.0, 200_000),   # fastest and smallest: on the front
    ]
    front = sorted(t["trial"] for t in pareto_front(trials))
    assert front == [1, 5, 7]
    best = pick_best(trials)
    assert best["trial"] == 5
    # no feasible trial beats the best on accuracy at equal or lower latency and memory
    assert not any(t["macro_f1"] > best["macro_f1"] and t["latency_ms"] <= best["latency_ms"]
                   and t["memory_bytes"] <= best["memory_bytes"] for t in trials if t["feasible"])
    assert pick_best([_t(1, 0.5, 1, 1, feasible=False)]) is None
    tie = [_t(1, 0.5, 4.0, 100), _t(2, 0.5, 4.0, 90)]
    assert pick_best(tie)["trial"] == 2


def test_paired_difference_against_the_base_recipe_fold_by_fold():
    from edgeser.tune import paired_vs_base, trials_markdown

    base = {**_t(1, 0.42, 4.0, 100), "fold_macro_f1": [0.40, 0.44, 0.42, 0.42], "base": True, "folds_done": 4}
    better = {**_t(2, 0.45, 4.0, 100), "fold_macro_f1": [0.44, 0.46, 0.45, 0.45], "folds_done": 4}
    early = {**_t(3, 0.38, 4.0, 100, complete=False), "fold_macro_f1": [0.38], "folds_done": 1}
    vs = paired_vs_base(better, base)
    assert vs["folds"] == 4 and vs["mean"] == pytest.approx(3.0) and vs["std"] == pytest.approx(0.7071, abs=0.01)
    # a trial ASHA stopped after one fold is compared on that fold only
    assert paired_vs_base(early, base) == {"mean": pytest.approx(-2.0), "std": 0.0, "folds": 1}
    assert paired_vs_base(base, base) is None and paired_vs_base(better, None) is None
    assert paired_vs_base({**better, "fold_macro_f1": None}, base) is None
    for t in (base, better, early):
        t["vs_base"] = paired_vs_base(t, base)
    table = trials_markdown([base, better, early]).splitlines()
    assert "Δ vs base (paired, points)" in table[0]
    assert "| +3.0 ± 0.7 (4) |" in table[3] and "| -2.0 ± 0.0 (1) |" in table[4] and "base recipe" in table[2]


def test_search_space_is_validated_like_a_recipe():
    from edgeser.recipe import load_recipe
    from edgeser.search_space import DEFAULT_SPACE, apply_params, space_from_dict

    base = load_recipe(REPO / "configs" / "demo.yaml")
    space = space_from_dict(DEFAULT_SPACE, base)
    assert {p.key for p in space.params} >= {"frontend.num_channels", "acoustic.d_model", "training.acoustic.learning_rate"}
    bad = [
        ({"params": {"acoustic.widht": {"choice": [1, 2]}}}, "acoustic.widht", "not a recipe key"),
        ({"params": {"acoustic.d_model": {"gauss": [1, 2]}}}, "acoustic.d_model", "unknown distribution"),
        ({"params": {"acoustic.d_model": {"choice": []}}}, "acoustic.d_model", "non-empty list"),
        ({"params": {"acoustic.num_layers": {"int": [4, 1]}}}, "acoustic.num_layers", "low <= high"),
        ({"params": {"training.acoustic.learning_rate": {"loguniform": [0, 0.1]}}}, "learning_rate", "0 < low"),
        ({"params": {"acoustic.num_heads": {"choice": [0, 2]}}}, "acoustic.num_heads", "0 is not valid"),
        ({"params": {"acoustic.d_model": {"choice": [48, 48]}}}, "acoustic.d_model", "duplicates"),
        ({"params": {}}, "params", "no parameter"),
        ({"space": {}}, "", "expected a mapping `params:`"),
        ({"params": {"acoustic.d_model": {"choice": [48]}}, "starts": []}, "starts", "unknown section"),
    ]
    for data, path, says in bad:
        with pytest.raises(SettingsError) as err:
            space_from_dict(data, base)
        assert path in err.value.path and says in str(err.value), (data, str(err.value))
    point = space.point_of(base)  # the demo recipe's own values, tried first
    assert point is None or all(p.contains(point[p.key]) for p in space.params)
    narrow = space_from_dict({"params": {"acoustic.d_model": {"choice": [base.acoustic.d_model * 2, base.acoustic.d_model]}}},
                             base)
    assert narrow.point_of(base) == {"acoustic.d_model": base.acoustic.d_model}
    assert space_from_dict({"params": {"acoustic.d_model": {"choice": [base.acoustic.d_model * 2]}}}, base).point_of(base) is None
    tuned = apply_params(base, {"acoustic.d_model": 96, "training.acoustic.mixup": 0.25}, name="x-tuned")
    assert tuned.acoustic.d_model == 96 and tuned.training.acoustic.mixup == 0.25 and tuned.name == "x-tuned"
    assert tuned.sha256() != base.sha256()


def test_start_points_are_validated_and_tried_after_the_base_recipe():
    from edgeser.recipe import load_recipe
    from edgeser.search_space import space_from_dict

    base = load_recipe(REPO / "configs" / "demo.yaml")
    d, lr = base.acoustic.d_model, base.training.acoustic.learning_rate
    params = {"acoustic.d_model": {"choice": [d, 2 * d]}, "training.acoustic.learning_rate": {"loguniform": [lr / 2, lr * 2]}}
    space = space_from_dict({"params": params, "start": [{"acoustic.d_model": 2 * d},
                                                         {"acoustic.d_model": d, "training.acoustic.learning_rate": lr}]}, base)
    base_point = {"acoustic.d_model": d, "training.acoustic.learning_rate": lr}
    # the recipe's own point first; a partial start point takes the recipe's other values; a
    # start point equal to the recipe's is tried once
    assert space.first_points(base) == [base_point, {**base_point, "acoustic.d_model": 2 * d}]
    assert space.to_dict()["start"] == [{"acoustic.d_model": 2 * d}, base_point]
    assert space_from_dict(space.to_dict(), base) == space
    bad = [
        ({"start": {"acoustic.d_model": d}}, "start", "expected a list"),
        ({"start": [{}]}, "start[0]", "expected a mapping"),
        ({"start": [{"acoustic.num_layers": 2}]}, "start[0].acoustic.num_layers", "not a searched key"),
        ({"start": [{"acoustic.d_model": d}, {"acoustic.d_model": 3 * d}]}, "start[1].acoustic.d_model", "outside choice"),
        ({"start": [{"training.acoustic.learning_rate": lr * 4}]}, "start[0].training.acoustic.learning_rate",
         "outside loguniform"),
    ]
    for extra, path, says in bad:
        with pytest.raises(SettingsError) as err:
            space_from_dict({"params": params, **extra}, base)
        assert err.value.path == path and says in str(err.value), (extra, str(err.value))
    # the recipe outside the space: a start point must then name every searched key
    outside = {"acoustic.d_model": {"choice": [2 * d, 3 * d]}, "training.acoustic.learning_rate": params["training.acoustic.learning_rate"]}
    with pytest.raises(SettingsError, match="leaves out training.acoustic.learning_rate"):
        space_from_dict({"params": outside, "start": [{"acoustic.d_model": 2 * d}]}, base)
    full = {"acoustic.d_model": 3 * d, "training.acoustic.learning_rate": lr}
    assert space_from_dict({"params": outside, "start": [full]}, base).first_points(base) == [full]


def test_cli_refuses_a_bad_space_before_starting_ray(tmp_path):
    from typer.testing import CliRunner

    from edgeser.cli import app

    space = tmp_path / "space.yaml"
    space.write_text("params:\n  acoustic.num_heads: {choice: [0]}\n")
    result = CliRunner().invoke(app, ["tune", "--recipe", str(REPO / "configs/demo.yaml"), "--data", str(tmp_path),
                                      "--space", str(space), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "acoustic.num_heads" in result.output
    assert not (tmp_path / "out").exists()


def test_trial_numbers_survive_a_resume_and_a_changed_recipe_is_refused(tmp_path):
    """Trial numbers come from Ray's trial folders (its result order changes when a search is
    continued); a search continues only from the recipe it started with (its trials trained it)."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from edgeser.cli import app
    from edgeser.recipe import load_recipe
    from edgeser.tune import TuneError, previous_search, trial_number

    folder = "/x/ray/search/_trainable_c1764dc0_10_acoustic_d_model=48,acoustic_num_layers=1_2026-11-30_14-33-05"
    assert trial_number(SimpleNamespace(path=folder), 3) == 10
    assert trial_number(SimpleNamespace(path="/x/elsewhere"), 3) == 3
    base = load_recipe(REPO / "configs/demo.yaml")
    out = tmp_path / "out"
    assert previous_search(out, base) == 0.0  # a new search
    out.mkdir()
    (out / "trials.json").write_text(json.dumps({"base_recipe": "demo", "base_recipe_sha256": base.sha256(),
                                                 "wall_seconds": 120.5}))
    assert previous_search(out, base) == 120.5  # the wall time adds up over continued runs
    (out / "trials.json").write_text(json.dumps({"base_recipe": "demo", "base_recipe_sha256": "0" * 64}))
    with pytest.raises(TuneError, match="recipe changed"):
        previous_search(out, base)
    (out / "trials.json").write_text("{broken")
    with pytest.raises(TuneError, match="trials.json: unreadable"):
        previous_search(out, base)
    (out / "trials.json").write_text(json.dumps({"base_recipe": "demo", "base_recipe_sha256": "0" * 64}))
    space = tmp_path / "space.yaml"
    space.write_text("params:\n  acoustic.d_model: {choice: [32, 64]}\n")
    result = CliRunner().invoke(app, ["tune", "--recipe", str(REPO / "configs/demo.yaml"), "--data", str(tmp_path),
                                      "--space", str(space), "--out", str(out)])
    assert result.exit_code == 2 and "000000000000" in result.output and "another --out" in result.output


def test_a_continued_search_counts_on_from_where_it_stopped(tmp_path, capsys):
    """Ray gives a continued search its callbacks back from the pickled state, without the bar:
    they write to the bar of this process, which starts at the trials finished before."""
    import io
    import pickle
    from types import SimpleNamespace

    pytest.importorskip("ray")
    from tqdm import tqdm

    from edgeser.tune import finished_trials
    from edgeser.tune_progress import TrialLines, attach

    out = tmp_path / "search"
    assert finished_trials(out) == 0
    out.mkdir()
    (out / "trials.json").write_text(json.dumps({"trials": [
        {"trial": 1, "complete": True, "folds_done": 4}, {"trial": 2, "complete": False, "folds_done": 1},
        {"trial": 3, "complete": False, "folds_done": 0}]}))  # 3 was cut off before a fold: it runs again
    assert finished_trials(out) == 2
    sink = io.StringIO()
    bar = tqdm(total=24, initial=finished_trials(out), file=sink)
    restored = pickle.loads(pickle.dumps(TrialLines(bar)))
    assert restored.bar is None
    trial = SimpleNamespace(trial_id="abc_00003", last_result={"macro_f1_measured": 0.5, "fold": 4, "latency_ms": 4.1,
                                                               "memory_bytes": 712242, "feasible": True})
    try:
        attach(bar)
        restored.on_trial_complete(0, [], trial)
    finally:
        attach(None)
    line = "trial abc_00003: int8 macro-F1 0.500 after 4 fold(s), 4.1 ms, 712242 B, feasible"
    assert bar.n == 3 and line in capsys.readouterr().out
    restored.on_trial_complete(0, [], trial)  # nothing attached: nothing to write to, no error
    assert bar.n == 3


def test_three_trials_two_folds_on_local_ray(tiny_run, tmp_path):
    """A tiny space, three trials, two folds, on the tiny run's demo corpus, in a local Ray."""
    pytest.importorskip("ray")
    pytest.importorskip("optuna")
    import ray

    from edgeser.recipe import load_recipe, recipe_from_dict
    from edgeser.search_space import space_from_dict
    from edgeser.tune import TuneSettings, run_search

    base = load_recipe(REPO / "tests/data/tiny.yaml")
    data = tiny_run / "corpus"
    base_dict = base.to_dict()
    base_dict["data"]["root"] = str(data)
    base_dict["budget"]["latency_ms"] = 50.0
    base = recipe_from_dict(base_dict)
    space = space_from_dict({"params": {"acoustic.d_model": {"choice": [8, 16]},
                                        "training.acoustic.learning_rate": {"loguniform": [0.001, 0.01]}}}, base)
    settings = TuneSettings(trials=3, folds=2, seed=0, cpus_per_trial=1, cache=tmp_path / "cache")
    out = tmp_path / "search"
    try:
        trials = run_search(base, data, space, settings, out, echo=lambda s: None)
    finally:
        ray.shutdown()
    assert len(trials) == 3 and [t["trial"] for t in trials] == [1, 2, 3]  # Ray's own trial numbers
    doc = json.loads((out / "trials.json").read_text())
    assert len(doc["trials"]) == 3 and doc["settings"]["folds"] == 2
    for t in doc["trials"]:
        assert set(t["params"]) == {"acoustic.d_model", "training.acoustic.learning_rate"}
        assert t["folds_done"] in (1, 2) and t["memory_bytes"] > 0 and t["latency_ms"] > 0
        assert isinstance(t["mapped"], bool) and isinstance(t["feasible"], bool)
        assert 0.0 <= t["macro_f1_measured"] <= 1.0
        assert t["feasible"] or t["reason"]  # an infeasible trial says why
    csv_rows = (out / "trials.csv").read_text().strip().splitlines()
    assert csv_rows[0].startswith("trial,params,macro_f1") and len(csv_rows) == 4
    assert (out / "trials.md").read_text().startswith("| trial |")
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    base_trials = [t for t in doc["trials"] if t["base"]]  # the base recipe's own values ran first
    assert len(base_trials) >= 1 and base_trials[0]["params"]["acoustic.d_model"] == 16
    assert base_trials[0]["trial"] == 1
    best = [t for t in doc["trials"] if t["best"]]
    if best:  # best.yaml is a recipe `edgeser recipe check` accepts
        from edgeser.recipe import load_recipe as load

        tuned = load(out / "best.yaml")
        assert tuned.acoustic.d_model == best[0]["params"]["acoustic.d_model"]
        assert doc["best_trial"] == best[0]["trial"]
