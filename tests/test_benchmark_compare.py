"""``edgeser benchmark compare``: two accuracy results, paired fold by fold on the same speakers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgeser.benchmarks.compare import CompareError, compare, load_result, markdown


def _result(fusion: list[float], acoustic: list[float], cross: list[float] | None = None, speakers=None) -> dict:
    folds = []
    for k, (f, a) in enumerate(zip(fusion, acoustic)):
        fold = {"fold": f"fold{k}", "test_speakers": speakers[k] if speakers else [f"{k}a", f"{k}b"],
                "scores": {"fusion": {"macro_f1": f}, "acoustic": {"macro_f1": a}},
                "scores_int8": {"fusion": {"macro_f1": f, "ua": f + 0.01}, "acoustic": {"macro_f1": a}}}
        if cross is not None:
            fold["cross"] = {"int8": {"fusion": {"ua": cross[k]}, "acoustic": {"ua": cross[k] - 0.05}}}
        folds.append(fold)
    doc = {"folds": folds}
    if cross is not None:
        doc["cross_corpus"] = {"corpus": "emodb"}
    return doc


def test_paired_difference_fold_by_fold_in_points():
    base = _result([0.50, 0.40, 0.60, 0.50], [0.40, 0.30, 0.50, 0.35], cross=[0.30, 0.35, 0.40, 0.30])
    other = _result([0.52, 0.38, 0.66, 0.52], [0.40, 0.30, 0.50, 0.35], cross=[0.33, 0.35, 0.38, 0.34])
    rows = {r.figure: r for r in compare(base, other)}
    fusion = rows["fusion int8 macro-F1"]
    assert fusion.base == [0.50, 0.40, 0.60, 0.50] and fusion.other_mean == pytest.approx(0.52)
    assert fusion.delta_mean == pytest.approx(2.0) and fusion.better_folds == 3  # +2, -2, +6, +2 points
    assert fusion.delta_std == pytest.approx(8 ** 0.5)
    assert rows["acoustic int8 macro-F1"].delta_mean == pytest.approx(0) and rows["acoustic int8 macro-F1"].better_folds == 0
    assert rows["cross-corpus fusion int8 UA"].delta_mean == pytest.approx((3 + 0 - 2 + 4) / 4)
    assert "keyword float macro-F1" not in rows  # neither result has it: left out, not zero
    table = markdown(list(rows.values()), "base", "other")
    line = next(row for row in table.splitlines() if row.startswith("| fusion int8 macro-F1 |"))
    assert line == "| fusion int8 macro-F1 | 0.500 ± 0.071 | 0.520 ± 0.099 | +2.0 ± 2.8 | 3 of 4 |", line


def test_other_folds_or_another_cross_corpus_are_not_paired():
    base = _result([0.5, 0.4], [0.4, 0.3], cross=[0.3, 0.3])
    moved = _result([0.5, 0.4], [0.4, 0.3], cross=[0.3, 0.3], speakers=[["0a", "0b"], ["1a", "9z"]])
    with pytest.raises(CompareError, match="different folds"):
        compare(base, moved, "a.json", "b.json")
    elsewhere = _result([0.5, 0.4], [0.4, 0.3], cross=[0.3, 0.3])
    elsewhere["cross_corpus"]["corpus"] = "savee"
    figures = [r.figure for r in compare(base, elsewhere)]
    assert "fusion int8 macro-F1" in figures and not any(f.startswith("cross-corpus") for f in figures)


def test_cli_names_a_bad_file_and_writes_the_comparison(tmp_path):
    from edgeser.cli import app

    base, other = tmp_path / "base.json", tmp_path / "other.json"
    base.write_text(json.dumps(_result([0.5, 0.4], [0.4, 0.3])))
    other.write_text("{not json")
    with pytest.raises(CompareError, match="other.json: not JSON"):
        load_result(other)
    result = CliRunner().invoke(app, ["benchmark", "compare", str(base), str(other)])
    assert result.exit_code == 2 and "other.json: not JSON" in result.output
    other.write_text(json.dumps({"trials": []}))
    result = CliRunner().invoke(app, ["benchmark", "compare", str(base), str(other)])
    assert result.exit_code == 2 and "not a result of `edgeser benchmark accuracy" in result.output
    other.write_text(json.dumps(_result([0.6, 0.4], [0.4, 0.35])))
    out = tmp_path / "cmp.json"
    result = CliRunner().invoke(app, ["benchmark", "compare", str(base), str(other), "--json", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    fusion = next(f for f in doc["figures"] if f["figure"] == "fusion int8 macro-F1")
    assert fusion["delta_mean"] == pytest.approx(5.0) and fusion["better_folds"] == 1
    assert out.with_suffix(".md").read_text().startswith("| figure | base | other |")
