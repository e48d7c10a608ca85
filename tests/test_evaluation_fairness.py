"""Group fairness numbers on hand-made predictions with known gaps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeser.evaluation.fairness import group_fairness

# group f: classes 0,0,1,1,2,2 predicted 0,0,1,0,2,1; group m: 0,0,0,0,1,1 predicted 0,1,1,1,1,1 (no class 2)
Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1])
Y_PRED = np.array([0, 0, 1, 0, 2, 1, 0, 1, 1, 1, 1, 1])
GROUPS = ["f"] * 6 + ["m"] * 6


def test_two_groups_by_hand():
    r = group_fairness(Y_TRUE, Y_PRED, GROUPS, 3)
    f, m = r["groups"]["f"], r["groups"]["m"]
    assert f["n"] == m["n"] == 6 and r["num_groups"] == 2
    assert f["tpr"] == pytest.approx([1.0, 0.5, 0.5]) and f["ua"] == pytest.approx(2 / 3)
    assert m["tpr"][:2] == pytest.approx([0.25, 1.0]) and m["tpr"][2] is None and m["ua"] == pytest.approx(0.625)
    assert f["wa"] == pytest.approx(4 / 6) and m["wa"] == pytest.approx(3 / 6)
    assert f["pred_rate"] == pytest.approx([3 / 6, 2 / 6, 1 / 6]) and m["pred_rate"] == pytest.approx([1 / 6, 5 / 6, 0])
    assert f["fpr"] == pytest.approx([0.25, 0.25, 0.0]) and m["fpr"] == pytest.approx([0.0, 0.75, 0.0])
    # TPR gaps 0.75, 0.5 and none for class 2 (only one group has it)
    assert r["tpr_gap"][:2] == pytest.approx([0.75, 0.5]) and r["tpr_gap"][2] is None
    assert r["tpr_gap_mean"] == pytest.approx(0.625) and r["tpr_gap_max"] == pytest.approx(0.75)
    assert r["dp_gap"] == pytest.approx([1 / 3, 1 / 2, 1 / 6])
    assert r["dp_gap_mean"] == pytest.approx(1 / 3) and r["dp_gap_max"] == pytest.approx(0.5)
    assert r["fpr_gap"] == pytest.approx([0.25, 0.5, 0.0])
    assert r["eo_gap"][:2] == pytest.approx([0.75, 0.5]) and r["eo_gap"][2] is None
    assert r["eo_gap_mean"] == pytest.approx(0.625) and r["eo_gap_max"] == pytest.approx(0.75)
    assert r["ua_gap"] == pytest.approx(1 / 24)
    json.dumps(r)  # JSON-ready: no NaN, no NumPy scalars


def test_identical_groups_have_no_gap_and_three_groups_take_max_minus_min():
    y = np.array([0, 1, 2, 0, 1, 2])
    p = np.array([0, 2, 2, 1, 1, 2])
    r = group_fairness(np.tile(y, 2), np.tile(p, 2), [1] * 6 + [2] * 6, 3)
    assert r["tpr_gap_max"] == 0 and r["dp_gap_max"] == 0 and r["eo_gap_max"] == 0 and r["ua_gap"] == 0
    # three speakers with recall of class 0 of 1, 1/2, 0 -> gap 1; class 1 always right -> gap 0
    y3 = np.array([0, 0, 1, 0, 0, 1, 0, 0, 1])
    p3 = np.array([0, 0, 1, 0, 1, 1, 1, 1, 1])
    r3 = group_fairness(y3, p3, ["a"] * 3 + ["b"] * 3 + ["c"] * 3, 2)
    assert [r3["groups"][g]["tpr"][0] for g in "abc"] == pytest.approx([1, 0.5, 0])
    assert r3["tpr_gap"] == pytest.approx([1.0, 0.0]) and r3["tpr_gap_mean"] == pytest.approx(0.5)
    assert r3["dp_gap"] == pytest.approx([2 / 3, 2 / 3])
    assert r3["ua_gap"] == pytest.approx(1.0 - 0.5)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same length"):
        group_fairness(Y_TRUE, Y_PRED[:-1], GROUPS, 3)
    with pytest.raises(ValueError, match="None.*index 2"):
        group_fairness(Y_TRUE, Y_PRED, GROUPS[:2] + [None] + GROUPS[3:], 3)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        group_fairness(Y_TRUE, Y_PRED, GROUPS, 2)
