"""Label mapping and speaker/session-independent protocols."""

from __future__ import annotations

import pytest

from edgeser.corpora import SHARED_7, LabelMapping, Utterance
from edgeser.corpora.splits import (check_speaker_independent, cross_corpus, leave_one_session_out,
                                    leave_speakers_out, speaker_split, Fold)


def utts(n_speakers=12, per_speaker=5, sessions=None, corpus="c", labels=("neutral", "happy", "sad", "angry", "calm")):
    out = []
    for s in range(n_speakers):
        for j in range(per_speaker):
            out.append(Utterance(path=f"/x/{s}_{j}.wav", corpus=corpus, label=labels[j % len(labels)],
                                 speaker=f"spk{s:02d}", gender="male" if s % 2 else "female",
                                 session=str(s // 2 + 1) if sessions else None))
    return out


def assert_no_speaker_overlap(data, folds):
    for fold in folds:
        train = {data[i].speaker for i in fold.train}
        test = {data[i].speaker for i in fold.test}
        val = {data[i].speaker for i in fold.val}
        assert not (train & test) and not (train & val) and not (val & test)
        assert len(fold.train) + len(fold.test) + len(fold.val) == len(data)
    check_speaker_independent(data, folds)


def test_leave_one_session_out_iemocap_like():
    data = utts(10, 4, sessions=True)  # 5 sessions x 2 speakers
    folds = leave_one_session_out(data)
    assert len(folds) == 5
    assert_no_speaker_overlap(data, folds)
    assert sorted(i for f in folds for i in f.test) == list(range(len(data)))
    folds = leave_one_session_out(data, validation_speaker=True)
    assert all(len({data[i].speaker for i in f.val}) == 1 and len({data[i].speaker for i in f.test}) == 1 for f in folds)
    assert_no_speaker_overlap(data, folds)


def test_leave_speakers_out_balanced_and_seeded():
    data = utts(12, 5)
    folds = leave_speakers_out(data, k=4, seed=3)
    assert_no_speaker_overlap(data, folds)
    assert sorted(i for f in folds for i in f.test) == list(range(len(data)))  # every clip tested once
    males = [len({data[i].speaker for i in f.test if data[i].gender == "male"}) for f in folds]
    females = [len({data[i].speaker for i in f.test if data[i].gender == "female"}) for f in folds]
    assert max(males) - min(males) <= 1 and max(females) - min(females) <= 1  # each gender spread evenly
    sizes = [m + f for m, f in zip(males, females)]
    assert max(sizes) - min(sizes) <= 1 and all(abs(m - f) <= 1 for m, f in zip(males, females))
    assert leave_speakers_out(data, k=4, seed=3) == folds
    assert leave_speakers_out(data, k=4, seed=4) != folds
    with pytest.raises(ValueError):
        leave_speakers_out(data, k=13)


def test_speaker_split_fixed():
    data = utts(20, 3)
    fold = speaker_split(data, 0.2, 0.2, seed=0)
    assert_no_speaker_overlap(data, [fold])
    assert len({data[i].speaker for i in fold.test}) == 4 and len({data[i].speaker for i in fold.val}) == 4
    assert speaker_split(data, 0.2, 0.2, seed=0) == fold
    small = utts(3, 2)
    f = speaker_split(small, 0.15, 0.15, seed=1)
    assert fold.test and f.val and f.test and f.train


def test_overlap_is_detected():
    data = utts(3, 2)
    with pytest.raises(ValueError, match="spk00"):
        check_speaker_independent(data, [Fold("bad", (0,), (1,))])


def test_label_mapping_and_cross_corpus():
    m = LabelMapping()
    assert [m.map(x) for x in ("Anger", "excited", "calm", "boredom", "fearful", "ps")] == \
        ["angry", "happy", "neutral", None, None, None]
    m7 = LabelMapping(labels=SHARED_7, calm_as_neutral=False)
    assert [m7.map(x) for x in ("calm", "fearful", "ps", "surprised")] == [None, "fear", "surprise", "surprise"]
    assert m.map_distribution({"excited": 0.5, "happy": 0.25, "frustrated": 0.25}) == {"happy": 1.0}
    assert m.map_distribution({"frustrated": 1.0}) is None
    a = utts(4, 5, corpus="a")  # neutral happy sad angry calm
    b = utts(4, 4, corpus="b", labels=("neutral", "happy", "boredom", "fear"))
    cc = cross_corpus(a, b)
    assert cc.labels == ("neutral", "happy")
    assert {u.label for u in cc.train} == {"neutral", "happy"} and {u.label for u in cc.test} == {"neutral", "happy"}
    assert cc.dropped_test == {"boredom": 4, "fear": 4}
    assert len([u for u in cc.train if u.label == "neutral"]) == 8  # neutral + calm
