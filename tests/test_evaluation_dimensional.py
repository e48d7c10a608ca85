"""Lin's CCC: identity, known shift formula, negation, per-dimension scores."""

from __future__ import annotations

import numpy as np
import pytest

from edgeser.dimensional import ccc, ccc_scores


def test_identical_is_one():
    x = np.array([0.1, -0.4, 0.9, 0.3])
    assert ccc(x, x) == pytest.approx(1.0)


def test_constant_shift_follows_formula():
    x = np.array([1.0, 2.0, 3.0, 4.0])  # population variance 1.25
    c = 0.5
    assert ccc(x, x + c) == pytest.approx(2 * 1.25 / (2 * 1.25 + c**2))
    # Pearson r would still be 1; CCC is lower
    assert ccc(x, x + c) < 1.0


def test_hand_computed_small_example():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([2.0, 2.0, 4.0])
    # means 2 and 8/3; cov = (−1·−2/3 + 0 + 1·4/3)/3 = 2/3; var x = 2/3; var y = (4/9+4/9+16/9)/3 = 8/9
    expected = 2 * (2 / 3) / (2 / 3 + 8 / 9 + (2 - 8 / 3) ** 2)
    assert ccc(x, y) == pytest.approx(expected)


def test_negation_of_standardised_data_is_minus_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    x = (x - x.mean()) / x.std()
    assert ccc(x, -x) == pytest.approx(-1.0)


def test_scale_change_lowers_ccc():
    x = np.array([-1.0, 0.0, 1.0])  # var 2/3
    # y = 2x: cov 4/3, var y 8/3 -> 2·(4/3) / (2/3 + 8/3) = 0.8
    assert ccc(x, 2 * x) == pytest.approx(0.8)


def test_both_constant_equal_is_nan_and_bad_shapes_refused():
    assert np.isnan(ccc(np.ones(3), np.ones(3)))
    with pytest.raises(ValueError, match="equal length"):
        ccc(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"\[N, 3\]"):
        ccc_scores(np.ones((4, 2)), np.ones((4, 2)))


def test_ccc_scores_per_dimension_and_mean():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    true = np.stack([x, x, -x + 5], axis=1)
    pred = np.stack([x, x + 0.5, x], axis=1)
    s = ccc_scores(true, pred)
    assert s["valence"] == pytest.approx(1.0)
    assert s["arousal"] == pytest.approx(2.5 / 2.75)
    assert s["dominance"] == pytest.approx(-1.0)
    assert s["mean"] == pytest.approx((1.0 + 2.5 / 2.75 - 1.0) / 3)
