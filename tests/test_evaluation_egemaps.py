"""The eGeMAPS baseline on synthetic clips: names, pitch order, cache, broken files, LR, folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import edgeser  # noqa: F401
from edgeser.frontend.cache import CacheStats
from edgeser.corpora.splits import Fold
from edgeser.corpora.types import Utterance
from edgeser.evaluation import egemaps

SR = 16000
F0_MEAN = "F0semitoneFrom27.5Hz_sma3nz_amean"
LOUDNESS_MEAN = "loudness_sma3_amean"


def harmonic_tone(f0: float, amplitude: float, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """A voiced-like tone: 5 harmonics of ``f0`` with 1/k amplitudes, a little noise, float in [-1, 1]."""
    t = np.arange(int(seconds * SR)) / SR
    wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
    wave = wave / np.max(np.abs(wave))
    noise = np.random.default_rng(seed).normal(0, 0.003, t.size)
    return (amplitude * wave + noise).astype(np.float32)


def write(path: Path, samples: np.ndarray) -> Path:
    sf.write(path, samples, SR, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def tones(tmp_path_factory) -> list[Path]:
    """Tones at 110, 165, 220, 330 Hz, louder as they rise."""
    folder = tmp_path_factory.mktemp("tones")
    return [write(folder / f"tone_{f}.wav", harmonic_tone(f, a)) for f, a in ((110, 0.05), (165, 0.1), (220, 0.2), (330, 0.4))]


def test_functionals_names_pitch_and_loudness_order(tones):
    x, names, used, problems = egemaps.functionals(tones, progress=False)
    assert x.shape == (4, 88) and x.dtype == np.float32
    assert len(names) == 88 and names[0] == F0_MEAN and LOUDNESS_MEAN in names
    assert used == [0, 1, 2, 3] and problems == []
    f0 = x[:, names.index(F0_MEAN)]
    # openSMILE's F0 in semitones above 27.5 Hz: 12·log2(f / 27.5) → 24, 31.0, 36, 43.0
    np.testing.assert_allclose(f0, 12 * np.log2(np.array([110, 165, 220, 330]) / 27.5), atol=0.6)
    assert np.all(np.diff(x[:, names.index(LOUDNESS_MEAN)]) > 0)


def test_utterance_segment_is_honoured(tmp_path):
    """A file with 110 Hz then 330 Hz: the second half's segment gives the 330 Hz pitch."""
    path = write(tmp_path / "two.wav", np.concatenate([harmonic_tone(110, 0.2), harmonic_tone(330, 0.2)]))
    whole = Utterance(str(path), "test", "neutral", "s1")
    second = Utterance(str(path), "test", "neutral", "s1", start_s=1.0, end_s=2.0)
    x, names, _, _ = egemaps.functionals([whole, second], progress=False)
    f0 = x[:, names.index(F0_MEAN)]
    assert abs(f0[1] - 12 * np.log2(330 / 27.5)) < 0.6
    assert f0[0] < f0[1] - 3  # the whole file mixes in the 110 Hz half


def test_cache_hit_second_time(tones, tmp_path):
    first, second = CacheStats(), CacheStats()
    x1, *_ = egemaps.functionals(tones, cache_dir=tmp_path, progress=False, stats=first)
    assert (first.hits, first.misses) == (0, 4)
    files = sorted(tmp_path.rglob("*.npy"))
    assert len(files) == 4 and all("eGeMAPSv02" in str(f) for f in files)
    x2, *_ = egemaps.functionals(tones, cache_dir=tmp_path, progress=False, stats=second)
    assert (second.hits, second.misses) == (4, 0)
    np.testing.assert_array_equal(x1, x2)
    # The cached file is what is read: a marked entry comes back as stored.
    target = egemaps.cache_path(tmp_path, egemaps.clip_audio(tones[0]), "eGeMAPSv02")
    np.save(target, np.full(88, 7.0, np.float32))
    x3, *_ = egemaps.functionals(tones[:1], cache_dir=tmp_path, progress=False)
    assert np.all(x3[0] == 7.0)
    # A corrupt entry is recomputed and rewritten.
    target.write_bytes(b"garbage")
    stats = CacheStats()
    x4, *_ = egemaps.functionals(tones[:1], cache_dir=tmp_path, progress=False, stats=stats)
    assert stats.corrupt == 1 and stats.misses == 1
    np.testing.assert_array_equal(x4[0], x1[0])
    assert np.load(target).shape == (88,)


def test_broken_file_reported_and_skipped(tones, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really a wav file")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    x, _, used, problems = egemaps.functionals([tones[0], broken, empty, tones[1]], progress=False)
    assert x.shape == (2, 88) and used == [0, 3]
    assert [p for p, _ in problems] == [str(broken), str(empty)]
    assert "not a readable audio file" in problems[0][1] and "empty" in problems[1][1]


def test_unknown_feature_set_is_refused():
    with pytest.raises(egemaps.BaselineError, match="feature_set"):
        egemaps.functionals([], feature_set="GeMAPSv99")


@pytest.fixture(scope="module")
def two_classes(tmp_path_factory):
    """Speakers a, b, c with two low quiet "calm" and two high loud "angry" clips each;
    their functionals are computed once into a cache the tests share."""
    folder = tmp_path_factory.mktemp("classes")
    utts = []
    for s, spk in enumerate("abc"):
        for i in range(2):
            for label, f0, amp in (("calm", 100, 0.05), ("angry", 320, 0.5)):
                seed = 10 * s + i
                path = write(folder / f"{spk}_{label}_{i}.wav", harmonic_tone(f0 + 6 * seed, amp, 0.5, seed=seed))
                utts.append(Utterance(str(path), "test", label, spk))
    cache = folder / "cache"
    x, _, used, problems = egemaps.functionals(utts, cache_dir=cache, progress=False)
    assert used == list(range(12)) and problems == []
    y = np.array([0 if u.label == "angry" else 1 for u in utts])  # sorted label order: angry, calm
    return utts, x, y, cache


def test_lr_separates_two_clear_classes(two_classes):
    """LR trained on speakers a, b predicts speaker c perfectly, and each fold of two is perfect."""
    _, x, y, _ = two_classes
    train, test = np.arange(8), np.arange(8, 12)
    pred = egemaps.fit_predict(x[train], y[train], x[test], "lr", seed=0)
    np.testing.assert_array_equal(pred, y[test])
    folds = [Fold("f0", tuple(range(4, 8)), tuple(range(4)), tuple(range(8, 12))),
             Fold("f1", tuple(range(4)), tuple(range(4, 12)), ())]
    result = egemaps.baseline_scores(x, y, folds, 2, seed=0, kinds=("lr",))
    assert [f["sizes"] for f in result["folds"]] == [{"train": 8, "test": 4}, {"train": 4, "test": 8}]
    assert result["summary"]["lr"]["ua"] == {"mean": 1.0, "std": 0.0}
    assert result["folds"][0]["scores"]["lr"]["confusion"] == [[2, 0], [0, 2]]


def test_cross_fitted_teacher_never_scores_a_speaker_with_a_model_that_saw_it():
    rng = np.random.default_rng(2)
    y = np.tile([0, 1, 2], 20)
    groups = np.repeat(["a", "b", "c", "d"], 15)
    x = rng.normal(size=(60, 4)) + 3.0 * np.eye(3, 4)[y]
    logits = egemaps.cross_fitted_logits(x, y, groups, 4, seed=0)
    assert logits.shape == (60, 4) and logits.dtype == np.float32
    np.testing.assert_allclose(np.exp(logits).sum(axis=1), 1.0, rtol=1e-5)
    assert (logits.argmax(axis=1) == y).mean() >= 0.9  # an easy problem, scored out of speaker
    assert np.allclose(np.exp(logits[:, 3]), np.exp(logits[:, 3]).min()) and np.exp(logits[:, 3]).max() < 1e-3  # unseen class 3
    # relabelling speaker a's clips changes every other speaker's teacher, but not a's own
    y2 = y.copy()
    y2[groups == "a"] = (y2[groups == "a"] + 1) % 3
    moved = egemaps.cross_fitted_logits(x, y2, groups, 4, seed=0)
    np.testing.assert_array_equal(moved[groups == "a"], logits[groups == "a"])
    assert not np.allclose(moved[groups != "a"], logits[groups != "a"])
    with pytest.raises(egemaps.BaselineError, match="two groups"):
        egemaps.cross_fitted_logits(x, y, ["a"] * 60, 4)


def test_egemaps_teacher_of_clips_through_the_cache(two_classes, tmp_path):
    utts, x, y, cache = two_classes
    logits = egemaps.teacher_logits(utts, y, 2, cache_dir=cache)
    np.testing.assert_array_equal(logits, egemaps.cross_fitted_logits(x, y, [u.speaker for u in utts], 2))
    assert (logits.argmax(axis=1) == y).all()
    from edgeser.models.teacher import TeacherError

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"nope")
    with pytest.raises(TeacherError, match="broken.wav"):
        egemaps.teacher_logits([*utts, Utterance(str(broken), "test", "calm", "a")], np.append(y, 1), 2, cache_dir=cache)
    # one training speaker leaves nobody to fit on: a named error, not a traceback
    one = [u for u in utts if u.speaker == "a"]
    with pytest.raises(TeacherError, match="egemaps: cross-fitting needs at least two groups"):
        egemaps.teacher_logits(one, y[: len(one)], 2, cache_dir=cache)


def test_fit_predict_refuses_bad_shapes_and_kinds():
    x = np.random.default_rng(0).normal(size=(10, 3))
    y = np.array([0, 1] * 5)
    with pytest.raises(egemaps.BaselineError, match="same F"):
        egemaps.fit_predict(x, y, x[:, :2])
    with pytest.raises(egemaps.BaselineError, match="single class"):
        egemaps.fit_predict(x, np.zeros(10, int), x)
    with pytest.raises(egemaps.BaselineError, match="kind"):
        egemaps.fit_predict(x, y, x, kind="svm")


def test_mlp_is_seeded_and_learns_an_easy_problem():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 40)
    x = rng.normal(size=(120, 5)) + 4.0 * np.eye(3, 5)[y]
    a = egemaps.fit_predict(x[::2], y[::2], x[1::2], "mlp", seed=3)
    b = egemaps.fit_predict(x[::2], y[::2], x[1::2], "mlp", seed=3)
    np.testing.assert_array_equal(a, b)
    assert (a == y[1::2]).mean() >= 0.9


def test_restrict_folds_drops_skipped_clips():
    folds = [Fold("f", (0, 1, 2), (4, 5), (3,), ("s",))]
    (new,) = egemaps.restrict_folds(folds, [0, 2, 3, 5])
    assert (new.train, new.val, new.test, new.test_speakers) == ((0, 1), (2,), (3,), ("s",))


def test_accuracy_row_uses_the_folds_and_label_order(two_classes, tmp_path):
    utts, _, _, cache = two_classes
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"nope")
    utts = [utts[0], Utterance(str(broken), "test", "calm", "a"), *utts[1:]]  # folds index this list
    folds = [Fold("f1", tuple(range(5, 13)), tuple(range(5))), Fold("f2", tuple(range(5)), tuple(range(5, 13)))]
    row = egemaps.accuracy_row(utts, folds, 2, cache_dir=cache)
    assert row["name"] == "eGeMAPSv02 + LR"
    assert [f["fold"] for f in row["folds"]] == ["f1", "f2"]
    assert row["summary"]["macro_f1"] == {"mean": 1.0, "std": 0.0}
    assert [p for p, _ in row["skipped"]] == [str(broken)]
    with pytest.raises(egemaps.BaselineError, match="num_classes"):
        egemaps.accuracy_row(utts, folds, 3, cache_dir=cache)
    y, order = egemaps.label_indices(utts)
    assert order == ["angry", "calm"] and y[:3].tolist() == [1, 1, 0]


@pytest.mark.realdata
def test_ravdess_female_actor_speaks_higher(ravdess_root):
    """Real clips: Actor_02 (female) has a higher mean F0 than Actor_01 (male), all 88 values finite.
    (The 4-fold RAVDESS baseline itself takes minutes on a cold cache, so it is not a test.)"""
    male = sorted((ravdess_root / "Actor_01").glob("*.wav"))[:3]
    female = sorted((ravdess_root / "Actor_02").glob("*.wav"))[:3]
    x, names, used, problems = egemaps.functionals(male + female, progress=False)
    assert x.shape == (6, 88) and problems == [] and np.all(np.isfinite(x))
    f0 = x[:, names.index(F0_MEAN)]
    assert f0[3:].mean() > f0[:3].mean() + 3.0  # semitones
