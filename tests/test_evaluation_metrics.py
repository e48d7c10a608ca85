"""Metrics against hand-computed values on small arrays."""

from __future__ import annotations

import numpy as np
import pytest

from edgeser.metrics import confusion_matrix, score


def test_hand_computed_example():
    # true: 0 0 0 1 1 2 ; pred: 0 0 1 1 2 2
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    s = score(y_true, y_pred, 3)
    assert s.confusion == ((2, 1, 0), (0, 1, 1), (0, 0, 1))
    assert s.wa == pytest.approx(4 / 6)
    # recalls 2/3, 1/2, 1/1
    assert s.ua == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # precisions 2/2, 1/2, 1/2 -> F1: 0.8, 0.5, 2/3
    assert s.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_absent_class_is_ignored_in_ua_but_false_predictions_count_in_f1():
    s = score(np.array([0, 0, 1]), np.array([0, 2, 1]), 3)
    assert np.isnan(s.per_class_recall[2])
    assert s.ua == pytest.approx((0.5 + 1.0) / 2)
    # class 2 was predicted once but never true: F1 0 and it counts
    assert s.macro_f1 == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)
    assert s.to_dict()["per_class_recall"][2] is None


def test_bad_indices_are_refused():
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.array([0]), np.array([0, 1]), 2)
