"""Corpus statistics: clips per class, speaker, gender and fold, total duration, problems."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from edgeser.corpora.types import CorpusReadResult, Utterance


@dataclass
class CorpusStats:
    corpus: str
    clips: int
    duration_s: float
    per_class: dict[str, int]
    per_speaker: dict[str, int]
    per_gender: dict[str, int]
    per_fold: dict[str, int]
    fold_kind: str
    problems: list[tuple[str, str]] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "corpus": self.corpus, "clips": self.clips, "duration_s": round(self.duration_s, 3),
            "speakers": len(self.per_speaker), "per_class": self.per_class, "per_speaker": self.per_speaker,
            "per_gender": self.per_gender, "fold_kind": self.fold_kind, "per_fold": self.per_fold,
            "excluded": self.excluded, "problems": [{"path": p, "reason": r} for p, r in self.problems],
        }


def duration_s(utterance: Utterance) -> float:
    """Clip duration in seconds from the header (or the segment bounds)."""
    if utterance.start_s is not None and utterance.end_s is not None:
        return utterance.end_s - utterance.start_s
    import soundfile as sf

    return float(sf.info(utterance.path).duration)


def fold_of(utterances: Sequence[Utterance], folds: int = 5, seed: int = 0) -> tuple[str, list[str]]:
    """Each utterance's fold: its session, else its official split, else its leave-speakers-out fold."""
    if utterances and all(u.session is not None for u in utterances) and len({u.session for u in utterances}) > 1:
        return "session", [f"session {u.session}" for u in utterances]
    if utterances and all("split" in u.extra for u in utterances):
        return "split", [u.extra["split"] for u in utterances]
    from edgeser.corpora.splits import leave_speakers_out

    n_speakers = len({u.speaker for u in utterances})
    if n_speakers < 2:
        return "none", ["all"] * len(utterances)
    names = ["?"] * len(utterances)
    for fold in leave_speakers_out(list(utterances), k=min(folds, n_speakers), seed=seed):
        for i in fold.test:
            names[i] = fold.name
    return f"speaker {min(folds, n_speakers)}-fold (seed {seed})", names


def corpus_stats(corpus: str, result: CorpusReadResult, folds: int = 5, seed: int = 0) -> CorpusStats:
    utts = result.utterances
    kind, fold_names = fold_of(utts, folds, seed)
    return CorpusStats(
        corpus=corpus, clips=len(utts), duration_s=sum(duration_s(u) for u in utts),
        per_class=dict(sorted(Counter(u.label for u in utts).items())),
        per_speaker=dict(sorted(Counter(u.speaker for u in utts).items())),
        per_gender=dict(sorted(Counter(u.gender or "unknown" for u in utts).items())),
        per_fold=dict(sorted(Counter(fold_names).items())), fold_kind=kind,
        problems=list(result.problems), excluded=dict(result.excluded),
    )
