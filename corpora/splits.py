"""Speaker/session-independent evaluation protocols.

A :class:`Fold` holds index lists into the utterance list it was made from. No
speaker ever appears on two sides of one fold (``check_speaker_independent``
proves it). All randomness comes from an explicit ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from edgeser.corpora.labels import LabelMapping
from edgeser.corpora.types import Utterance


@dataclass(frozen=True)
class Fold:
    """One train/(val)/test partition as indices into the utterance list."""

    name: str
    train: tuple[int, ...]
    test: tuple[int, ...]
    val: tuple[int, ...] = ()
    test_speakers: tuple[str, ...] = field(default=())

    def parts(self) -> dict[str, tuple[int, ...]]:
        return {"train": self.train, "val": self.val, "test": self.test}


def speakers_of(utterances: Sequence[Utterance], indices: Sequence[int]) -> set[str]:
    return {utterances[i].speaker for i in indices}


def check_speaker_independent(utterances: Sequence[Utterance], folds: Sequence[Fold]) -> None:
    """Raise ValueError when a speaker appears in two parts of any fold."""
    for fold in folds:
        parts = {k: speakers_of(utterances, v) for k, v in fold.parts().items()}
        for a, b in (("train", "test"), ("train", "val"), ("val", "test")):
            shared = parts[a] & parts[b]
            if shared:
                raise ValueError(f"fold {fold.name}: speakers {sorted(shared)} in both {a} and {b}")


def leave_one_session_out(utterances: Sequence[Utterance], validation_speaker: bool = False) -> list[Fold]:
    """One fold per session (IEMOCAP: 5). Test = that session; train = the others.

    With ``validation_speaker`` one of the test session's two speakers (the male,
    by name order) becomes the validation set and the other the test set, the
    usual IEMOCAP practice.
    """
    sessions = sorted({u.session for u in utterances if u.session is not None})
    if len(sessions) < 2:
        raise ValueError(f"leave-one-session-out needs at least 2 sessions, found {sessions}")
    folds = []
    for session in sessions:
        held = [i for i, u in enumerate(utterances) if u.session == session]
        train = tuple(i for i, u in enumerate(utterances) if u.session != session)
        val: tuple[int, ...] = ()
        test = tuple(held)
        if validation_speaker:
            held_speakers = sorted({utterances[i].speaker for i in held})
            if len(held_speakers) >= 2:
                val_spk = held_speakers[-1]
                val = tuple(i for i in held if utterances[i].speaker == val_spk)
                test = tuple(i for i in held if utterances[i].speaker != val_spk)
        folds.append(Fold(f"session{session}", train, test, val, tuple(sorted(speakers_of(utterances, test)))))
    check_speaker_independent(utterances, folds)
    return folds


def _balanced_speaker_groups(utterances: Sequence[Utterance], k: int, seed: int) -> list[list[str]]:
    """Deal speakers into ``k`` groups, each gender shuffled (seeded) and dealt round-robin."""
    rng = np.random.default_rng(seed)
    by_gender: dict[str, list[str]] = {}
    for spk in sorted({u.speaker for u in utterances}):
        gender = next((u.gender for u in utterances if u.speaker == spk), None) or "unknown"
        by_gender.setdefault(gender, []).append(spk)
    groups: list[list[str]] = [[] for _ in range(k)]
    offset = 0
    for gender in sorted(by_gender):
        speakers = list(by_gender[gender])
        rng.shuffle(speakers)
        for j, spk in enumerate(speakers):
            groups[(offset + j) % k].append(spk)
        offset += len(speakers)
    return groups


def leave_speakers_out(utterances: Sequence[Utterance], k: int = 5, seed: int = 0) -> list[Fold]:
    """Speaker k-fold: every speaker is tested exactly once; genders dealt evenly over folds."""
    n_speakers = len({u.speaker for u in utterances})
    if not 2 <= k <= n_speakers:
        raise ValueError(f"k must be in 2..{n_speakers} (number of speakers), got {k}")
    groups = _balanced_speaker_groups(utterances, k, seed)
    folds = []
    for j, group in enumerate(groups):
        held = set(group)
        test = tuple(i for i, u in enumerate(utterances) if u.speaker in held)
        train = tuple(i for i, u in enumerate(utterances) if u.speaker not in held)
        folds.append(Fold(f"fold{j}", train, test, (), tuple(sorted(held))))
    check_speaker_independent(utterances, folds)
    return folds


def speaker_split(utterances: Sequence[Utterance], val_fraction: float = 0.15, test_fraction: float = 0.15,
                  seed: int = 0) -> Fold:
    """A fixed speaker-independent train/val/test split (fractions of speakers, per gender, seeded).

    Each non-empty part gets at least one speaker when there are at least 3 speakers.
    """
    rng = np.random.default_rng(seed)
    by_gender: dict[str, list[str]] = {}
    for spk in sorted({u.speaker for u in utterances}):
        gender = next((u.gender for u in utterances if u.speaker == spk), None) or "unknown"
        by_gender.setdefault(gender, []).append(spk)
    parts: dict[str, set[str]] = {"train": set(), "val": set(), "test": set()}
    carry = {"val": 0.0, "test": 0.0}
    for gender in sorted(by_gender):
        speakers = list(by_gender[gender])
        rng.shuffle(speakers)
        n = len(speakers)
        n_test = int(round(n * test_fraction + carry["test"]))
        n_val = int(round(n * val_fraction + carry["val"]))
        carry["test"] += n * test_fraction - n_test
        carry["val"] += n * val_fraction - n_val
        parts["test"].update(speakers[:n_test])
        parts["val"].update(speakers[n_test:n_test + n_val])
        parts["train"].update(speakers[n_test + n_val:])
    total = sum(len(v) for v in by_gender.values())
    for name, frac in (("test", test_fraction), ("val", val_fraction)):
        if frac > 0 and not parts[name] and total >= 3 and len(parts["train"]) > 1:
            spk = sorted(parts["train"])[int(rng.integers(len(parts["train"])))]
            parts["train"].discard(spk)
            parts[name].add(spk)
    idx = {name: tuple(i for i, u in enumerate(utterances) if u.speaker in spk) for name, spk in parts.items()}
    fold = Fold("split", idx["train"], idx["test"], idx["val"], tuple(sorted(parts["test"])))
    check_speaker_independent(utterances, [fold])
    return fold


@dataclass(frozen=True)
class CrossCorpus:
    """Train on corpus A, test on corpus B, both relabelled through one :class:`LabelMapping`."""

    train: list[Utterance]
    test: list[Utterance]
    dropped_train: dict[str, int]
    dropped_test: dict[str, int]
    labels: tuple[str, ...]


def cross_corpus(train_utterances: Sequence[Utterance], test_utterances: Sequence[Utterance],
                 mapping: LabelMapping = LabelMapping()) -> CrossCorpus:
    """Relabel both sides through ``mapping``; the label set is what both sides share."""
    train, dropped_a = mapping.apply(train_utterances)
    test, dropped_b = mapping.apply(test_utterances)
    shared = tuple(l for l in mapping.labels if any(u.label == l for u in train) and any(u.label == l for u in test))
    for l in {u.label for u in train} - set(shared):
        dropped_a[l] = sum(1 for u in train if u.label == l)
    for l in {u.label for u in test} - set(shared):
        dropped_b[l] = sum(1 for u in test if u.label == l)
    return CrossCorpus([u for u in train if u.label in shared], [u for u in test if u.label in shared],
                       dropped_a, dropped_b, shared)


def make_folds(utterances, k: int, seed: int = 0):
    """Leave-speakers-out folds, each with a validation pair carved from its training actors."""
    rng = np.random.default_rng(seed)
    gender = {u.speaker: u.gender or "unknown" for u in utterances}
    folds = []
    for fold in leave_speakers_out(utterances, k, seed):
        train_speakers = sorted({utterances[i].speaker for i in fold.train})
        if len(train_speakers) < 3:
            raise ValueError(f"{fold.name}: {len(train_speakers)} training actor(s); need at least 3 to carve a validation pair")
        by_gender: dict[str, list[str]] = {}
        for spk in train_speakers:
            by_gender.setdefault(gender[spk], []).append(spk)
        val: list[str] = []
        for g in sorted(by_gender):  # one of each gender first
            if len(val) < 2:
                val.append(by_gender[g][int(rng.integers(len(by_gender[g])))])
        rest = [s for s in train_speakers if s not in val]
        while len(val) < 2:
            val.append(rest.pop(int(rng.integers(len(rest)))))
        held = set(val)
        folds.append(
            Fold(
                fold.name,
                tuple(i for i in fold.train if utterances[i].speaker not in held),
                fold.test,
                tuple(i for i in fold.train if utterances[i].speaker in held),
                fold.test_speakers,
            )
        )
    check_speaker_independent(utterances, folds)
    return folds
