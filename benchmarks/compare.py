"""Paired comparison of two accuracy-benchmark results (``edgeser benchmark compare``).

Two results of ``edgeser benchmark accuracy --json`` on the same folds (the same test
speakers, fold by fold) differ by the recipe. Fold-to-fold spread is larger than most
recipe effects, so a lever is judged by the paired difference: for each figure, the other
result minus the base, fold by fold, then mean ± std over the folds (in points, 0.01 of a
score), and how many folds it is better on. Results on other folds are refused.

Shapes: each result has ``folds`` [K] with ``scores`` / ``scores_int8`` (model → metric →
value) and, with ``--cross-data``, ``cross`` (``float`` / ``int8`` → model → metric).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

# (label, path into one fold's record); a figure missing from either result is left out
FIGURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fusion int8 macro-F1", ("scores_int8", "fusion", "macro_f1")),
    ("acoustic int8 macro-F1", ("scores_int8", "acoustic", "macro_f1")),
    ("fusion float macro-F1", ("scores", "fusion", "macro_f1")),
    ("acoustic float macro-F1", ("scores", "acoustic", "macro_f1")),
    ("keyword float macro-F1", ("scores", "keyword", "macro_f1")),
    ("fusion int8 UA", ("scores_int8", "fusion", "ua")),
    ("cross-corpus fusion int8 UA", ("cross", "int8", "fusion", "ua")),
    ("cross-corpus acoustic int8 UA", ("cross", "int8", "acoustic", "ua")),
)


class CompareError(ValueError):
    """Two results that cannot be compared fold by fold (the message names the file)."""


@dataclass(frozen=True)
class PairedFigure:
    """One figure of both results: per-fold values, means and the paired difference (points)."""

    figure: str
    base: list[float]  # [K] the base result's value per fold
    other: list[float]  # [K]
    base_mean: float
    base_std: float
    other_mean: float
    other_std: float
    delta_mean: float  # mean over folds of (other - base), points
    delta_std: float  # std over folds of (other - base), points
    better_folds: int  # folds where other > base


def load_result(path: Path) -> dict:
    """An accuracy-benchmark result (JSON), or a :class:`CompareError` naming the file."""
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise CompareError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise CompareError(f"{path}: not JSON ({exc})") from None
    folds = doc.get("folds") if isinstance(doc, dict) else None
    if not isinstance(folds, list) or not folds or not all(isinstance(f, dict) and "test_speakers" in f for f in folds):
        raise CompareError(f"{path}: not a result of `edgeser benchmark accuracy --json` (no folds with test speakers)")
    return doc


def _value(fold: dict, path: Sequence[str]) -> float | None:
    node: Any = fold
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, (int, float)) else None


def compare(base: dict, other: dict, base_name: str = "base", other_name: str = "other") -> list[PairedFigure]:
    """Every figure both results have on every fold, paired fold by fold (same test speakers)."""
    a, b = base["folds"], other["folds"]
    speakers = lambda folds: [sorted(f["test_speakers"]) for f in folds]  # noqa: E731
    if speakers(a) != speakers(b):
        raise CompareError(f"{base_name} and {other_name} were run on different folds "
                           f"(test speakers {speakers(a)} against {speakers(b)}): a paired difference needs the same folds")
    if base.get("cross_corpus", {}).get("corpus") != other.get("cross_corpus", {}).get("corpus"):
        cross = {"cross-corpus fusion int8 UA", "cross-corpus acoustic int8 UA"}
    else:
        cross = set()
    rows = []
    for label, path in FIGURES:
        if label in cross:
            continue
        x = [_value(f, path) for f in a]
        y = [_value(f, path) for f in b]
        if any(v is None for v in x + y):
            continue
        d = 100 * (np.array(y) - np.array(x))
        rows.append(PairedFigure(label, x, y, float(np.mean(x)), float(np.std(x)), float(np.mean(y)), float(np.std(y)),
                                 float(np.mean(d)), float(np.std(d)), int(np.sum(d > 0))))
    return rows


def markdown(rows: Sequence[PairedFigure], base_name: str, other_name: str) -> str:
    """The comparison as a markdown table (scores mean ± std; Δ in points, paired)."""
    lines = [f"| figure | {base_name} | {other_name} | Δ paired (points) | folds better |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.figure} | {r.base_mean:.3f} ± {r.base_std:.3f} | {r.other_mean:.3f} ± {r.other_std:.3f} | "
                     f"{r.delta_mean:+.1f} ± {r.delta_std:.1f} | {r.better_folds} of {len(r.base)} |")
    return "\n".join(lines) + "\n"


def to_json(rows: Sequence[PairedFigure], base_path: Path, other_path: Path) -> dict:
    return {"base": str(base_path), "other": str(other_path), "unit_of_delta": "points (0.01)",
            "figures": [asdict(r) for r in rows]}
