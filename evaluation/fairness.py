"""Group fairness of a classifier's predictions (e.g. across speaker gender), pure NumPy.

Conventions as :mod:`edgeser.metrics`: ``y_true``, ``y_pred`` integer classes
[N] in ``[0, num_classes)``; ``groups`` [N] a group name per example (str or int, no
None: drop examples of unknown group first). Per group ``g`` and class ``k``:

* TPR (recall) ``P(ŷ = k | y = k, g)`` — undefined (None) where g has no example of k;
* FPR ``P(ŷ = k | y ≠ k, g)`` — undefined where g has only examples of k;
* prediction rate ``P(ŷ = k | g)`` (demographic parity);
* the group's UA (mean TPR over its classes) and WA.

Gaps are max − min across the groups where the quantity is defined (a class defined in
fewer than two groups has no gap and is left out of the mean/max):

* ``tpr_gap``: per class, with ``tpr_gap_mean`` (mean over classes) and ``tpr_gap_max``
  (equal-opportunity gap);
* ``dp_gap``: per class of the prediction rate, with ``dp_gap_mean`` and ``dp_gap_max``;
* ``eo_gap``: per class ``max(tpr gap, fpr gap)`` (equalised odds), with
  ``eo_gap_mean``/``eo_gap_max``;
* ``ua_gap``: max − min of the groups' UA.

The returned dict is JSON-ready (NaN -> None) and can be written with
:func:`edgeser.atomic.write_json`.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from edgeser.metrics import confusion_matrix, unweighted_average_recall, weighted_accuracy


def _rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)


def _gap(values: np.ndarray) -> np.ndarray:
    """Per column max − min over rows with a value; NaN where fewer than two rows have one."""
    defined = (~np.isnan(values)).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        gap = np.nanmax(values, axis=0) - np.nanmin(values, axis=0)
    return np.where(defined >= 2, gap, np.nan)


def _summary(values: np.ndarray) -> tuple[float, float]:
    """(mean, max) over the defined entries; NaN when none is."""
    ok = values[~np.isnan(values)]
    return (float(ok.mean()), float(ok.max())) if ok.size else (float("nan"), float("nan"))


def _json(x):
    if isinstance(x, dict):
        return {k: _json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_json(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if np.isnan(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def group_fairness(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: Sequence,
    num_classes: int,
) -> dict:
    """Per-group recall, prediction and false-positive rates, and their gaps across groups.

    Returns ``{"groups": {name: {"n", "wa", "ua", "tpr" [K], "fpr" [K], "pred_rate" [K]}},
    "tpr_gap" [K], "tpr_gap_mean", "tpr_gap_max", "fpr_gap" [K], "dp_gap" [K],
    "dp_gap_mean", "dp_gap_max", "eo_gap" [K], "eo_gap_mean", "eo_gap_max", "ua_gap",
    "num_groups"}``; see the module docstring. Undefined values are None.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    groups = np.asarray(groups, dtype=object)
    if not (y_true.shape == y_pred.shape == groups.shape) or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape}, y_pred {y_pred.shape} and groups {groups.shape} "
                         "must be 1-D of the same length")
    missing = [i for i, g in enumerate(groups) if g is None]
    if missing:
        raise ValueError(f"groups has no value (None) at index {missing[0]} ({len(missing)} in all); "
                         "drop examples of unknown group first")
    names = sorted(set(groups.tolist()), key=str)
    per_group, tpr, fpr, pred_rate, uas = {}, [], [], [], []
    for name in names:
        member = groups == name
        matrix = confusion_matrix(y_true[member], y_pred[member], num_classes)
        true_k, pred_k, hits = matrix.sum(axis=1), matrix.sum(axis=0), np.diag(matrix)
        n = int(member.sum())
        tpr.append(_rate(hits, true_k))
        fpr.append(_rate(pred_k - hits, n - true_k))
        pred_rate.append(pred_k / n)
        uas.append(unweighted_average_recall(matrix))
        per_group[str(name)] = {"n": n, "wa": weighted_accuracy(matrix), "ua": uas[-1],
                                "tpr": tpr[-1], "fpr": fpr[-1], "pred_rate": pred_rate[-1]}
    tpr_gap, fpr_gap, dp_gap = _gap(np.array(tpr)), _gap(np.array(fpr)), _gap(np.array(pred_rate))
    with np.errstate(invalid="ignore"):
        eo_gap = np.where(np.isnan(tpr_gap) | np.isnan(fpr_gap), np.nan, np.fmax(tpr_gap, fpr_gap))
    ua_gap = _gap(np.array(uas, dtype=np.float64)[:, None])[0]
    report = {"groups": per_group, "num_groups": len(names), "tpr_gap": tpr_gap, "fpr_gap": fpr_gap,
              "dp_gap": dp_gap, "eo_gap": eo_gap, "ua_gap": float(ua_gap)}
    for key, values in (("tpr_gap", tpr_gap), ("dp_gap", dp_gap), ("eo_gap", eo_gap)):
        report[f"{key}_mean"], report[f"{key}_max"] = _summary(values)
    return _json(report)


def test_metrics(y: np.ndarray, probs: np.ndarray, num_classes: int, genders: Sequence[str] | None = None,
                 distributions: np.ndarray | None = None) -> dict[str, Any]:
    """Gender fairness (when every clip has a gender) and label-distribution metrics (when given)."""
    from edgeser.evaluation.ldl import ldl_scores

    out: dict[str, Any] = {}
    if genders is not None and len(genders) and all(genders) and len(set(genders)) > 1:
        fair = group_fairness(y, probs.argmax(1), list(genders), num_classes)
        out["fairness_gender"] = {k: fair[k] for k in ("tpr_gap_mean", "tpr_gap_max", "dp_gap_mean", "ua_gap")}
    if distributions is not None:
        out["ldl"] = ldl_scores(distributions, probs)
    return out
