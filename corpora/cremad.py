"""CREMA-D reader (Cao et al. 2014).

``ROOT/AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav`` (e.g. ``1001_DFA_ANG_XX.wav``),
``ROOT/VideoDemographics.csv`` (ActorID, Age, Sex, Race, Ethnicity) for gender, and
for the label distribution, the raters' responses: ``ROOT/finishedResponses.csv``
(one row per response; ``clipName``, ``respEmo`` in A D F H N S, ``queryType``
1 = voice only, 2 = face only, 3 = audio-visual) counted over the voice-only
responses (``query_types``) when that file is there, else
``ROOT/processedResults/tabulatedVotes.csv`` (per-clip vote counts in columns
A, D, F, H, N, S plus fileName). The label is the intended emotion from the file
name (6 classes: ANG DIS FEA HAP NEU SAD).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from edgeser.corpora.labels import distribution_from_votes
from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_files, named_wavs, require_dir

EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
VOTE_COLUMNS = {"A": "angry", "D": "disgust", "F": "fear", "H": "happy", "N": "neutral", "S": "sad"}
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified", "X": "unspecified"}
SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{1,2})$")
EXPECTED = "AudioWAV/NNNN_SSS_EEE_LL.wav and VideoDemographics.csv (CREMA-D)"


def _demographics(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return {row["ActorID"].strip(): {k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)}


def _votes(path: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("fileName") or "").strip()
            if not name:
                continue
            counts = {}
            for col, label in VOTE_COLUMNS.items():
                try:
                    counts[label] = float(row.get(col) or 0)
                except ValueError:
                    counts[label] = 0.0
            out[Path(name).stem] = counts
    return out


def _responses(path: Path, query_types: tuple[str, ...]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            name = Path((row.get("clipName") or "").strip()).stem
            emotion = VOTE_COLUMNS.get((row.get("respEmo") or "").strip().upper())
            if not name or emotion is None or (row.get("queryType") or "").strip() not in query_types:
                continue
            counts = out.setdefault(name, {})
            counts[emotion] = counts.get(emotion, 0.0) + 1.0
    return out


def read_cremad(root: str | Path, votes_file: str = "processedResults/tabulatedVotes.csv",
                responses_file: str = "finishedResponses.csv", query_types: tuple[str, ...] = ("1",)) -> CorpusReadResult:
    """Read CREMA-D; label distributions from ``responses_file`` (voice-only) or else ``votes_file``."""
    root = require_dir("CREMA-D", root, EXPECTED)
    audio_dir = root / "AudioWAV"
    demo_file = root / "VideoDemographics.csv"
    if not audio_dir.is_dir() or not demo_file.is_file():
        missing = "AudioWAV/" if not audio_dir.is_dir() else "VideoDemographics.csv"
        raise CorpusLayoutError("CREMA-D", root, f"{EXPECTED}; {missing} is missing")
    demographics = _demographics(demo_file)
    if (root / responses_file).is_file():
        votes = _responses(root / responses_file, tuple(query_types))
    else:
        votes = _votes(root / votes_file) if (root / votes_file).is_file() else {}
    problems: list[tuple[str, str]] = []
    candidates: list[Utterance] = []
    for path, match in named_wavs(audio_dir, NAME, "NNNN_SSS_EEE_LL.wav", problems):
        actor, sentence, emotion, level = match.groups()
        if emotion not in EMOTIONS or sentence not in SENTENCES:
            problems.append((str(path), f"unknown emotion {emotion} or sentence {sentence}"))
            continue
        person = demographics.get(actor)
        if person is None:
            problems.append((str(path), f"actor {actor} is not in VideoDemographics.csv"))
            continue
        sex = person.get("Sex", "").lower()
        gender = sex if sex in ("male", "female") else None
        candidates.append(Utterance(
            path=str(path), corpus="cremad", label=EMOTIONS[emotion], speaker=actor, gender=gender,
            sentence=SENTENCES[sentence], transcript=SENTENCES[sentence], utterance_id=path.stem,
            label_distribution=distribution_from_votes(votes[path.stem]) if path.stem in votes else None,
            extra={"level": LEVELS.get(level, level), "age": person.get("Age", ""),
                   "race": person.get("Race", ""), "ethnicity": person.get("Ethnicity", "")},
        ))
    return CorpusReadResult(check_files(candidates, problems), problems)
