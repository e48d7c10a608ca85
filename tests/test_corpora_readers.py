"""Every corpus reader on a tiny tree in that corpus' exact layout (built in tmp_path)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgeser.corpora import CorpusLayoutError, read_corpus


def wav(path: Path, seconds: float = 0.25, rate: int = 16000, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = (np.random.default_rng(seed).normal(size=int(seconds * rate)) * 1000).astype(np.int16)
    sf.write(str(path), x, rate, subtype="PCM_16")
    return path


def add_bad_files(folder: Path, names: dict[str, str]) -> dict[str, Path]:
    """names: kind -> file name; kinds: empty, text, truncated, headeronly."""
    out = {}
    for kind, name in names.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "text":
            path.write_text("this is not audio\n")
        elif kind == "truncated":
            wav(path, seconds=0.5)
            path.write_bytes(path.read_bytes()[:3000])
        elif kind == "headeronly":
            wav(path, seconds=0.5)
            path.write_bytes(path.read_bytes()[:44])
        out[kind] = path
    return out


def problem_paths(result) -> set[str]:
    return {Path(p).name for p, _ in result.problems}


# --------------------------------------------------------------------------- RAVDESS
def test_ravdess_tiny_tree(tmp_path):
    for actor in (1, 2):
        for emotion in (1, 5):
            wav(tmp_path / f"Actor_{actor:02d}" / f"03-01-{emotion:02d}-01-02-01-{actor:02d}.wav", rate=48000)
    wav(tmp_path / "Actor_01" / "03-02-05-01-01-01-01.wav")  # song
    bad = add_bad_files(tmp_path / "Actor_02", {"empty": "03-01-03-01-01-01-02.wav",
                                                "text": "03-01-04-01-01-01-02.wav",
                                                "truncated": "03-01-06-01-01-01-02.wav",
                                                "headeronly": "03-01-07-01-01-01-02.wav"})
    result = read_corpus("ravdess", tmp_path)
    assert len(result.utterances) == 4
    by_name = {Path(u.path).name: u for u in result.utterances}
    u = by_name["03-01-05-01-02-01-01.wav"]
    assert (u.label, u.speaker, u.gender, u.sentence) == ("angry", "Actor_01", "male", "Dogs are sitting by the door")
    assert by_name["03-01-01-01-02-01-02.wav"].gender == "female"
    reasons = dict((Path(p).name, r) for p, r in result.problems)
    assert "song" in reasons["03-02-05-01-01-01-01.wav"]
    assert {p.name for p in bad.values()} <= set(reasons)
    assert "empty" in reasons[bad["empty"].name]
    assert "truncated" in reasons[bad["truncated"].name] or "no audio" in reasons[bad["truncated"].name]


def test_ravdess_layout_error(tmp_path):
    wav(tmp_path / "something" / "a.wav")
    with pytest.raises(CorpusLayoutError, match="Actor_NN"):
        read_corpus("ravdess", tmp_path)
    with pytest.raises(CorpusLayoutError, match="does not exist"):
        read_corpus("ravdess", tmp_path / "missing")


# --------------------------------------------------------------------------- generic CSV
def test_generic_csv(tmp_path):
    wav(tmp_path / "a" / "one.wav")
    wav(tmp_path / "two.wav")
    add_bad_files(tmp_path, {"text": "bad.wav"})
    (tmp_path / "labels.csv").write_text(
        "path,label,speaker,gender\na/one.wav,happy,s1,female\ntwo.wav,sad,,\nbad.wav,angry,s2,male\n"
        "missing.wav,sad,s3,male\n,,,\n")
    result = read_corpus("generic", tmp_path)
    assert [(u.label, u.speaker, u.gender) for u in result.utterances] == [("happy", "s1", "female"), ("sad", "unknown", None)]
    assert problem_paths(result) >= {"bad.wav", "missing.wav"}
    assert any("without path or label" in r for _, r in result.problems)


def test_generic_layout_errors(tmp_path):
    with pytest.raises(CorpusLayoutError, match="labels.csv"):
        read_corpus("generic", tmp_path)
    (tmp_path / "labels.csv").write_text("file,emotion\nx.wav,sad\n")
    with pytest.raises(CorpusLayoutError, match="path,label"):
        read_corpus("generic", tmp_path)


# --------------------------------------------------------------------------- Speech Commands
def test_speech_commands(tmp_path):
    for word in ("yes", "no", "marvin"):
        for spk in ("aaaa1111", "bbbb2222"):
            wav(tmp_path / word / f"{spk}_nohash_0.wav")
    wav(tmp_path / "_background_noise_" / "white_noise.wav", seconds=3.5)
    (tmp_path / "validation_list.txt").write_text("yes/bbbb2222_nohash_0.wav\n")
    (tmp_path / "testing_list.txt").write_text("no/bbbb2222_nohash_0.wav\nmarvin/bbbb2222_nohash_0.wav\n")
    add_bad_files(tmp_path / "yes", {"empty": "cccc3333_nohash_0.wav"})
    result = read_corpus("speech_commands", tmp_path, keywords=("yes", "no"))
    counts = Counter(u.label for u in result.utterances)
    assert counts == {"yes": 2, "no": 2, "_unknown_": 2, "_silence_": 3}
    splits = {u.utterance_id: u.extra["split"] for u in result.utterances}
    assert splits["yes/bbbb2222_nohash_0"] == "validation"
    assert splits["no/bbbb2222_nohash_0"] == "test" and splits["marvin/bbbb2222_nohash_0"] == "test"
    assert splits["yes/aaaa1111_nohash_0"] == "train"
    assert {u.speaker for u in result.utterances if u.label == "yes"} == {"aaaa1111", "bbbb2222"}
    silence = [u for u in result.utterances if u.label == "_silence_"]
    assert [(u.start_s, u.end_s) for u in silence] == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
    assert problem_paths(result) == {"cccc3333_nohash_0.wav"}
    with pytest.raises(CorpusLayoutError, match="validation_list"):
        read_corpus("speech_commands", tmp_path / "yes")


# --------------------------------------------------------------------------- IEMOCAP
EMO_EVAL = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E2:\tNeutral;\t()
C-E3:\tNeutral;\t()
C-E4:\tNeutral;\t()
C-F1:\tNeutral;\t(curious)
A-E3:\tval 3; act 2; dom  2;\t()

[10.0100 - 11.3925]\tSes01F_impro01_M000\texc\t[4.0000, 3.5000, 3.0000]
C-E1:\tExcited; Happiness;\t()
C-E2:\tExcited;\t()
C-E4:\tNeutral;\t()

[14.8872 - 18.0175]\tSes01F_impro01_F001\tfru\t[2.0000, 3.0000, 3.5000]
C-E1:\tFrustration;\t()
C-E2:\tAnger;\t()

[20.0000 - 21.0000]\tSes01F_impro01_M001\tang\t[1.5000, 4.0000, 4.0000]
C-E1:\tAnger;\t()
C-E2:\tAnger; Frustration;\t()
"""
TRANSCRIPTS = """Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.
Ses01F_impro01_M000 [010.0100-011.3925]: Do you have your forms?
M: [BREATHING]
Ses01F_impro01_F001 [014.8872-018.0175]: Yeah.
Ses01F_impro01_M001 [020.0000-021.0000]: Let me see them.
"""


def make_iemocap(root: Path) -> None:
    for n in (1, 2):
        prefix = f"Ses0{n}F_impro01"
        text = EMO_EVAL.replace("Ses01F_impro01", prefix)
        (root / f"Session{n}/dialog/EmoEvaluation").mkdir(parents=True)
        (root / f"Session{n}/dialog/EmoEvaluation/{prefix}.txt").write_text(text)
        (root / f"Session{n}/dialog/transcriptions").mkdir(parents=True)
        (root / f"Session{n}/dialog/transcriptions/{prefix}.txt").write_text(TRANSCRIPTS.replace("Ses01F_impro01", prefix))
        for turn in ("F000", "M000", "F001", "M001"):
            if (n, turn) != (2, "M001"):  # one missing wav -> problem
                wav(root / f"Session{n}/sentences/wav/{prefix}/{prefix}_{turn}.wav")


def test_iemocap_4class(tmp_path):
    make_iemocap(tmp_path)
    result = read_corpus("iemocap", tmp_path)
    by_id = {u.utterance_id: u for u in result.utterances}
    assert set(by_id) == {"Ses01F_impro01_F000", "Ses01F_impro01_M000", "Ses01F_impro01_M001",
                          "Ses02F_impro01_F000", "Ses02F_impro01_M000"}
    u = by_id["Ses01F_impro01_F000"]
    assert (u.label, u.speaker, u.gender, u.session) == ("neutral", "Ses01_F", "female", "1")
    assert (u.valence, u.arousal, u.dominance) == (2.5, 2.5, 2.5)
    assert u.transcript == "Excuse me."
    assert u.label_distribution == {"neutral": 1.0}  # the actor's own C-F1 rating is not used
    m = by_id["Ses01F_impro01_M000"]
    assert (m.label, m.speaker, m.gender) == ("happy", "Ses01_M", "male")  # excited merged into happy
    assert m.label_distribution == pytest.approx({"happy": 2 / 3, "neutral": 1 / 3})
    a = by_id["Ses01F_impro01_M001"]
    assert a.label_distribution == pytest.approx({"angry": 1.0})  # frustration dropped in 4-class
    assert result.excluded == {"frustrated": 2}
    assert [Path(p).name for p, _ in result.problems] == ["Ses02F_impro01_M001.wav"]
    from edgeser.corpora.splits import leave_one_session_out

    folds = leave_one_session_out(result.utterances)
    assert [f.name for f in folds] == ["session1", "session2"]
    for fold in folds:
        train = {result.utterances[i].speaker for i in fold.train}
        assert not train & {result.utterances[i].speaker for i in fold.test}


def test_iemocap_6class_and_layout(tmp_path):
    make_iemocap(tmp_path)
    result = read_corpus("iemocap", tmp_path, classes="6class")
    labels = Counter(u.label for u in result.utterances)
    assert labels == {"neutral": 2, "excited": 2, "frustrated": 2, "angry": 1}
    m = next(u for u in result.utterances if u.utterance_id == "Ses01F_impro01_M000")
    assert m.label_distribution == pytest.approx({"excited": 0.5, "happy": 1 / 6, "neutral": 1 / 3})
    a = next(u for u in result.utterances if u.utterance_id == "Ses01F_impro01_M001")
    assert a.label_distribution == pytest.approx({"angry": 0.75, "frustrated": 0.25})
    with pytest.raises(CorpusLayoutError, match="EmoEvaluation"):
        read_corpus("iemocap", tmp_path / "Session1")
    with pytest.raises(ValueError, match="classes"):
        read_corpus("iemocap", tmp_path, classes="5class")


# --------------------------------------------------------------------------- CREMA-D
def make_cremad(root: Path) -> None:
    (root / "VideoDemographics.csv").parent.mkdir(parents=True, exist_ok=True)
    (root / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n1002,21,Female,Caucasian,Not Hispanic\n")
    (root / "processedResults").mkdir()
    (root / "processedResults/tabulatedVotes.csv").write_text(
        ",A,D,F,H,N,S,fileName,numResponses,agreement,meanEmoResp,meanEmoRespNorm,emoVote\n"
        "1,8,0,0,0,2,0,1001_DFA_ANG_XX,10,0.8,50,0.2,A\n"
        "2,0,0,0,3,3,0,1002_IEO_HAP_HI,6,0.5,40,0.1,H:N\n")
    for name in ("1001_DFA_ANG_XX", "1002_IEO_HAP_HI", "1002_TIE_SAD_LO", "1003_DFA_NEU_XX"):
        wav(root / "AudioWAV" / f"{name}.wav")
    add_bad_files(root / "AudioWAV", {"empty": "1001_ITS_FEA_XX.wav", "text": "1001_TSI_DIS_XX.wav"})


def test_cremad(tmp_path):
    make_cremad(tmp_path)
    result = read_corpus("cremad", tmp_path)
    by_id = {u.utterance_id: u for u in result.utterances}
    assert set(by_id) == {"1001_DFA_ANG_XX", "1002_IEO_HAP_HI", "1002_TIE_SAD_LO"}
    u = by_id["1001_DFA_ANG_XX"]
    assert (u.label, u.speaker, u.gender, u.sentence) == ("angry", "1001", "male", "Don't forget a jacket")
    assert u.label_distribution == pytest.approx({"angry": 0.8, "neutral": 0.2})
    assert by_id["1002_IEO_HAP_HI"].label_distribution == pytest.approx({"happy": 0.5, "neutral": 0.5})
    assert by_id["1002_TIE_SAD_LO"].label_distribution is None and by_id["1002_TIE_SAD_LO"].gender == "female"
    reasons = {Path(p).name: r for p, r in result.problems}
    assert set(reasons) == {"1003_DFA_NEU_XX.wav", "1001_ITS_FEA_XX.wav", "1001_TSI_DIS_XX.wav"}
    assert "VideoDemographics" in reasons["1003_DFA_NEU_XX.wav"]
    # Per-rater responses take precedence; only voice-only (queryType 1) responses count.
    (tmp_path / "finishedResponses.csv").write_text(
        ",localid,sessionNums,queryType,questNum,respEmo,respLevel,dispEmo,dispVal,dispLevel,clipNum,clipName\n"
        "0,r1,1,1,1,A,50,A,50,50,1,1001_DFA_ANG_XX\n"
        "1,r2,1,1,2,S,50,S,50,50,1,1001_DFA_ANG_XX\n"
        "2,r3,1,3,3,N,50,N,50,50,1,1001_DFA_ANG_XX\n"
        "3,r4,1,1,4,A,50,A,50,50,1,1001_DFA_ANG_XX\n"
        "4,r4,1,1,4,H,50,H,50,50,2,1002_IEO_HAP_HI\n")
    again = {u.utterance_id: u for u in read_corpus("cremad", tmp_path).utterances}
    assert again["1001_DFA_ANG_XX"].label_distribution == pytest.approx({"angry": 2 / 3, "sad": 1 / 3})
    assert again["1002_IEO_HAP_HI"].label_distribution == {"happy": 1.0}
    (tmp_path / "VideoDemographics.csv").unlink()
    with pytest.raises(CorpusLayoutError, match="VideoDemographics.csv"):
        read_corpus("crema-d", tmp_path)


# --------------------------------------------------------------------------- EmoDB, SAVEE, TESS
def test_emodb(tmp_path):
    for name in ("03a01Fa", "08b02Wb", "16a05Lc", "11b10Td"):
        wav(tmp_path / "wav" / f"{name}.wav")
    add_bad_files(tmp_path / "wav", {"truncated": "09a01Na.wav"})
    wav(tmp_path / "wav" / "99a01Na.wav")
    result = read_corpus("emodb", tmp_path)
    got = {u.utterance_id: (u.label, u.speaker, u.gender) for u in result.utterances}
    assert got == {"03a01Fa": ("happy", "03", "male"), "08b02Wb": ("angry", "08", "female"),
                   "16a05Lc": ("boredom", "16", "female"), "11b10Td": ("sad", "11", "male")}
    assert problem_paths(result) == {"09a01Na.wav", "99a01Na.wav"}
    with pytest.raises(CorpusLayoutError, match="wav/"):
        read_corpus("emodb", tmp_path / "wav")


def test_savee(tmp_path):
    for spk in ("DC", "KL"):
        for name in ("a01", "sa02", "su03", "n30"):
            wav(tmp_path / "AudioData" / spk / f"{name}.wav")
    add_bad_files(tmp_path / "AudioData" / "JE", {"empty": "h01.wav"})
    result = read_corpus("savee", tmp_path)
    assert Counter(u.label for u in result.utterances) == {"angry": 2, "sad": 2, "surprise": 2, "neutral": 2}
    assert {u.speaker for u in result.utterances} == {"DC", "KL"}
    assert {u.gender for u in result.utterances} == {"male"}
    assert problem_paths(result) == {"h01.wav"}
    with pytest.raises(CorpusLayoutError, match="DC,JE,JK,KL"):
        read_corpus("savee", tmp_path / "AudioData" / "DC")


def test_tess(tmp_path):
    for spk, folder_emotions in (("OAF", ("angry", "Pleasant_surprise")), ("YAF", ("sad", "pleasant_surprised"))):
        for folder in folder_emotions:
            emo = "ps" if "surpris" in folder.lower() else folder
            for word in ("back", "bar"):
                wav(tmp_path / "TESS Toronto emotional speech set data" / f"{spk}_{folder}" / f"{spk}_{word}_{emo}.wav")
    add_bad_files(tmp_path / "TESS Toronto emotional speech set data" / "YAF_sad", {"text": "YAF_bath_sad.wav"})
    result = read_corpus("tess", tmp_path)
    assert Counter(u.label for u in result.utterances) == {"angry": 2, "surprise": 4, "sad": 2}
    assert {u.speaker for u in result.utterances} == {"OAF", "YAF"}
    assert {u.gender for u in result.utterances} == {"female"}
    assert next(u for u in result.utterances if u.utterance_id == "OAF_bar_angry").transcript == "Say the word bar"
    assert problem_paths(result) == {"YAF_bath_sad.wav"}
    with pytest.raises(CorpusLayoutError, match="OAF"):
        read_corpus("tess", tmp_path / "nothing")


# --------------------------------------------------------------------------- MSP-IMPROV
EVALUTION = """UTD-IMPROV-S01A-F01-P-FM01.avi; A; A:4.000000; V:1.500000; D:3.500000 ; N:2.000000;
rater1; Angry; Frustrated; A:4.0; V:1.0; D:4.0; N:2.0;
rater2; Angry; ; A:4.0; V:2.0; D:3.0; N:2.0;
rater3; Neutral; ; A:4.0; V:1.5; D:3.5; N:2.0;
rater4; Sad; ; A:4.0; V:1.5; D:3.5; N:2.0;
rater4; Sad; ; A:4.0; V:1.5; D:3.5; N:2.0;

UTD-IMPROV-S02H-M01-R-MM01.avi; H; A:3.000000; V:4.500000; D:3.000000 ; N:4.000000;
rater1; Happy; ; A:3.0; V:4.5; D:3.0; N:4.0;

UTD-IMPROV-S03S-F02-S-FM02.avi; X; A:2.000000; V:2.000000; D:2.000000 ; N:2.000000;
rater1; Sad; ; A:2.0; V:2.0; D:2.0; N:2.0;
rater2; Other; Bored; A:2.0; V:2.0; D:2.0; N:2.0;
"""


def test_msp_improv(tmp_path):
    (tmp_path / "Evalution.txt").write_text(EVALUTION)
    wav(tmp_path / "Audio/session1/S01A/P/MSP-IMPROV-S01A-F01-P-FM01.wav")
    wav(tmp_path / "Audio/session1/S02H/R/MSP-IMPROV-S02H-M01-R-MM01.wav")
    wav(tmp_path / "Audio/session2/S03S/S/MSP-IMPROV-S03S-F02-S-FM02.wav")
    wav(tmp_path / "Audio/session2/S04N/P/MSP-IMPROV-S04N-M02-P-FM03.wav")  # not in the label file
    result = read_corpus("msp-improv", tmp_path)
    by_id = {u.utterance_id: u for u in result.utterances}
    assert set(by_id) == {"MSP-IMPROV-S01A-F01-P-FM01", "MSP-IMPROV-S02H-M01-R-MM01"}
    u = by_id["MSP-IMPROV-S01A-F01-P-FM01"]
    assert (u.label, u.speaker, u.gender, u.session) == ("angry", "F01", "female", "1")
    assert (u.valence, u.arousal, u.dominance) == (1.5, 4.0, 3.5)
    assert u.label_distribution == pytest.approx({"angry": 0.5, "neutral": 0.25, "sad": 0.25})
    assert by_id["MSP-IMPROV-S02H-M01-R-MM01"].gender == "male"
    assert result.excluded == {"unknown": 1}
    assert problem_paths(result) == {"MSP-IMPROV-S04N-M02-P-FM03.wav"}
    (tmp_path / "Evalution.txt").unlink()
    with pytest.raises(CorpusLayoutError, match="Evalution.txt"):
        read_corpus("msp_improv", tmp_path)


def test_unknown_corpus_name(tmp_path):
    with pytest.raises(KeyError, match="known"):
        read_corpus("nope", tmp_path)
