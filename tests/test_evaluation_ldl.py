"""Label-distribution metrics against hand computations on two 3-class rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeser.evaluation.ldl import (
    canberra,
    chebyshev,
    clark,
    cosine,
    intersection,
    kl_divergence,
    ldl_scores,
)

TRUE = np.array([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])
PRED = np.array([[0.4, 0.4, 0.2], [0.6, 0.2, 0.2]])


def test_hand_computed_rows():
    assert chebyshev(TRUE, PRED) == pytest.approx((0.1 + 0.4) / 2)
    # row 2: classes 2 and 3 have p = 0, q = 0.2 -> |d| / (p + q) = 1 each
    assert canberra(TRUE, PRED) == pytest.approx((0.1 / 0.9 + 0.1 / 0.7 + 0.0 + 0.4 / 1.6 + 1.0 + 1.0) / 2)
    row1 = math.sqrt((0.1 / 0.9) ** 2 + (0.1 / 0.7) ** 2)
    row2 = math.sqrt((0.4 / 1.6) ** 2 + 1.0 + 1.0)
    assert clark(TRUE, PRED) == pytest.approx((row1 + row2) / 2)
    # 0 * ln(0 / 0.2) = 0 in row 2
    kl1 = 0.5 * math.log(0.5 / 0.4) + 0.3 * math.log(0.3 / 0.4)
    kl2 = math.log(1.0 / 0.6)
    assert kl_divergence(TRUE, PRED) == pytest.approx((kl1 + kl2) / 2)
    cos1 = 0.36 / (math.sqrt(0.38) * math.sqrt(0.36))
    cos2 = 0.6 / math.sqrt(0.44)
    assert cosine(TRUE, PRED) == pytest.approx((cos1 + cos2) / 2)
    assert intersection(TRUE, PRED) == pytest.approx((0.9 + 0.6) / 2)


def test_identical_distributions_with_zeros():
    p = np.array([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
    s = ldl_scores(p, p)
    assert set(s) == {"chebyshev", "clark", "canberra", "kl_divergence", "cosine", "intersection"}
    for name in ("chebyshev", "clark", "canberra", "kl_divergence"):
        assert s[name] == pytest.approx(0.0, abs=1e-12), name
    assert s["cosine"] == pytest.approx(1.0)
    assert s["intersection"] == pytest.approx(1.0)


def test_kl_is_finite_but_large_where_prediction_is_zero():
    kl = kl_divergence(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    # 0.5 ln(0.5 / 1) + 0.5 ln(0.5 / 1e-12)
    assert kl == pytest.approx(0.5 * math.log(0.5) + 0.5 * math.log(0.5 / 1e-12))


def test_disjoint_distributions_are_worst_case():
    p, q = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    s = ldl_scores(p, q)
    assert s["chebyshev"] == 1.0 and s["canberra"] == 2.0 and s["clark"] == pytest.approx(math.sqrt(2))
    assert s["cosine"] == 0.0 and s["intersection"] == 0.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="row 1 sums to"):
        chebyshev(TRUE, np.array([[0.4, 0.4, 0.2], [2.0, 1.0, -1.0 + 1.0]]))
    with pytest.raises(ValueError, match="negative"):
        cosine(TRUE, np.array([[0.4, 0.4, 0.2], [1.2, -0.2, 0.0]]))
    with pytest.raises(ValueError, match="differ in shape"):
        clark(TRUE, PRED[:1])
    with pytest.raises(ValueError, match=r"\[N, K\]"):
        canberra(TRUE[0], PRED[0])
