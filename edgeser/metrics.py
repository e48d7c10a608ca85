"""Classification metrics for emotion recognition (pure NumPy).

Conventions: ``y_true`` and ``y_pred`` are integer class indices of shape [N];
``num_classes`` fixes the label set so that classes absent from a fold still count.

* WA — weighted accuracy: the plain accuracy, correct / N.
* UA — unweighted average recall (UAR): the mean over classes of per-class recall,
  taken over the classes present in ``y_true``.
* macro-F1: the mean over classes present in ``y_true`` or ``y_pred`` of
  F1 = 2·P·R / (P + R), with F1 = 0 where P + R = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """[num_classes, num_classes] int64 counts; rows are true classes, columns predictions."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= num_classes):
        raise ValueError(f"class indices must lie in [0, {num_classes})")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def per_class_recall(matrix: np.ndarray) -> np.ndarray:
    """Recall per class, NaN for a class with no true examples."""
    support = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(matrix) / np.maximum(support, 1), np.nan)


def weighted_accuracy(matrix: np.ndarray) -> float:
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total else float("nan")


def unweighted_average_recall(matrix: np.ndarray) -> float:
    recalls = per_class_recall(matrix)
    present = ~np.isnan(recalls)
    return float(recalls[present].mean()) if present.any() else float("nan")


def macro_f1(matrix: np.ndarray) -> float:
    tp = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    actual = matrix.sum(axis=1).astype(np.float64)
    used = (predicted + actual) > 0
    if not used.any():
        return float("nan")
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1[used].mean())


@dataclass(frozen=True)
class ClassificationScores:
    wa: float
    ua: float
    macro_f1: float
    per_class_recall: tuple[float, ...]
    confusion: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict:
        return {
            "wa": self.wa,
            "ua": self.ua,
            "macro_f1": self.macro_f1,
            "per_class_recall": [None if np.isnan(r) else r for r in self.per_class_recall],
            "confusion": [list(row) for row in self.confusion],
        }


def score(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> ClassificationScores:
    """WA, UA, macro-F1, per-class recall and the confusion matrix in one record."""
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    return ClassificationScores(
        wa=weighted_accuracy(matrix),
        ua=unweighted_average_recall(matrix),
        macro_f1=macro_f1(matrix),
        per_class_recall=tuple(float(r) for r in per_class_recall(matrix)),
        confusion=tuple(tuple(int(v) for v in row) for row in matrix),
    )
