"""Label vocabulary and the mapping onto a shared label set for cross-corpus work.

Every reader emits labels from one vocabulary (:data:`VOCABULARY`), lower case:
``neutral calm happy sad angry fear disgust surprise boredom excited frustrated
contempt other unknown``. :class:`LabelMapping` maps those onto a shared set
(default the 4 classes ``neutral happy sad angry``; optionally with ``fear disgust
surprise``): ``excited -> happy`` and ``calm -> neutral`` are switchable, labels
outside the set (``boredom``, ``frustrated`` …) are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

import numpy as np

from edgeser.corpora.types import Utterance

VOCABULARY = (
    "neutral", "calm", "happy", "sad", "angry", "fear", "disgust", "surprise",
    "boredom", "excited", "frustrated", "contempt", "other", "unknown",
)
SHARED_4 = ("neutral", "happy", "sad", "angry")
SHARED_7 = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")

SYNONYMS: dict[str, str] = {
    "neu": "neutral", "neutral": "neutral",
    "calm": "calm",
    "hap": "happy", "happy": "happy", "happiness": "happy", "joy": "happy",
    "sad": "sad", "sadness": "sad",
    "ang": "angry", "angry": "angry", "anger": "angry",
    "fea": "fear", "fear": "fear", "fearful": "fear",
    "dis": "disgust", "disgust": "disgust", "disgusted": "disgust",
    "sur": "surprise", "surprise": "surprise", "surprised": "surprise", "ps": "surprise",
    "pleasant_surprise": "surprise", "pleasant_surprised": "surprise",
    "boredom": "boredom", "bored": "boredom",
    "exc": "excited", "excited": "excited",
    "fru": "frustrated", "frustrated": "frustrated", "frustration": "frustrated",
    "contempt": "contempt",
    "oth": "other", "other": "other",
    "xxx": "unknown", "unknown": "unknown",
}


LABEL_MAX_CHARS = 32
_LABEL = re.compile(r"\w[\w .+-]*")


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot be a class name, or None when it can.

    A class name travels into file names, JSON, the report and the firmware's C
    headers, so it is 1-32 characters: letters (any script), digits, ``_``, and inside
    also space, ``.``, ``+`` and ``-``. No control characters, quotes or backslashes.
    """
    if not label:
        return "empty label"
    if len(label) > LABEL_MAX_CHARS:
        return f"label {label[:40]!r}... is longer than {LABEL_MAX_CHARS} characters"
    if not _LABEL.fullmatch(label):
        return f"label {label!r} has characters outside letters, digits, '_', and inner ' .+-'"
    return None


def normalise(label: str) -> str:
    """A corpus' own label spelling -> the shared vocabulary (unknown spellings pass through lower-cased)."""
    key = label.strip().lower().replace(" ", "_").replace("-", "_")
    return SYNONYMS.get(key, key)


@dataclass(frozen=True)
class LabelMapping:
    """Maps vocabulary labels onto ``labels``; None means 'drop this clip'."""

    labels: tuple[str, ...] = SHARED_4
    excited_as_happy: bool = True
    calm_as_neutral: bool = True

    def map(self, label: str) -> str | None:
        label = normalise(label)
        if label == "excited" and self.excited_as_happy:
            label = "happy"
        elif label == "calm" and self.calm_as_neutral:
            label = "neutral"
        return label if label in self.labels else None

    def map_distribution(self, dist: Mapping[str, float] | None) -> dict[str, float] | None:
        """Map a label distribution; dropped mass is removed and the rest renormalised (None if nothing is left)."""
        if dist is None:
            return None
        out: dict[str, float] = {}
        for label, p in dist.items():
            mapped = self.map(label)
            if mapped is not None and p > 0:
                out[mapped] = out.get(mapped, 0.0) + float(p)
        total = sum(out.values())
        if total <= 0:
            return None
        return {k: v / total for k, v in sorted(out.items())}

    def apply(self, utterances: Iterable[Utterance]) -> tuple[list[Utterance], dict[str, int]]:
        """Relabel ``utterances``; returns (kept, dropped label -> count)."""
        kept, dropped = [], {}
        for utt in utterances:
            mapped = self.map(utt.label)
            if mapped is None:
                dropped[utt.label] = dropped.get(utt.label, 0) + 1
                continue
            kept.append(replace(utt, label=mapped, label_distribution=self.map_distribution(utt.label_distribution)))
        return kept, dropped


def distribution_from_votes(votes: Mapping[str, float]) -> dict[str, float] | None:
    """Vote counts (label -> count, any spelling) -> probabilities over vocabulary labels."""
    out: dict[str, float] = {}
    for label, count in votes.items():
        if count and count > 0:
            key = normalise(label)
            out[key] = out.get(key, 0.0) + float(count)
    total = sum(out.values())
    if total <= 0:
        return None
    return {k: v / total for k, v in sorted(out.items())}


def label_distributions(utterances, emotions: Sequence[str]) -> np.ndarray | None:
    """Per-rater label distributions as targets [N, K] (float32, rows sum to 1), or None.

    None when no utterance has one. Clips without a distribution get their one-hot label;
    rater votes for classes outside ``emotions`` are dropped and the rest renormalised
    (one-hot when nothing is left).
    """
    if not any(u.label_distribution for u in utterances):
        return None
    out = np.zeros((len(utterances), len(emotions)), np.float32)
    for i, utt in enumerate(utterances):
        for label, share in (utt.label_distribution or {}).items():
            if label in emotions:
                out[i, emotions.index(label)] += share
        total = out[i].sum()
        if total > 0:
            out[i] /= total
        else:
            out[i, emotions.index(utt.label)] = 1.0
    return out
