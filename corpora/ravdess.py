"""RAVDESS speech reader (Livingstone & Russo 2018).

Layout: ``ROOT/Actor_NN/MM-VV-EE-II-SS-RR-AA.wav`` (modality, vocal channel,
emotion, intensity, statement, repetition, actor). Only audio-only (modality 03)
speech (vocal channel 01) is used; song (channel 02) and video files are listed
in ``problems`` with the reason. Odd actors are male, even female. Any sample rate
(16 kHz copies or the original 48 kHz) is accepted.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_files, named_wavs, require_dir

EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
            "05": "angry", "06": "fear", "07": "disgust", "08": "surprise"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
INTENSITIES = {"01": "normal", "02": "strong"}
NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
EXPECTED = "Actor_NN/03-01-EE-II-SS-RR-NN.wav files (RAVDESS speech)"


def read_ravdess(root: str | Path) -> CorpusReadResult:
    """Read a RAVDESS speech tree; labels use the shared vocabulary (fearful -> fear, surprised -> surprise)."""
    root = require_dir("RAVDESS", root, EXPECTED)
    actors = sorted(p for p in root.rglob("Actor_*") if p.is_dir())
    if not actors:
        raise CorpusLayoutError("RAVDESS", root, f"{EXPECTED}; found no Actor_NN folder")
    problems: list[tuple[str, str]] = []
    candidates: list[Utterance] = []
    for actor_dir in actors:
        folder_actor = actor_dir.name.split("_", 1)[1]
        for path, match in named_wavs(actor_dir, NAME, "MM-VV-EE-II-SS-RR-AA.wav", problems):
            modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
            if channel == "02":
                problems.append((str(path), "song (vocal channel 02), not speech: skipped"))
                continue
            if modality != "03" or channel != "01":
                problems.append((str(path), f"modality {modality}/channel {channel} is not audio-only speech (03-01)"))
                continue
            if emotion not in EMOTIONS or statement not in STATEMENTS or intensity not in INTENSITIES:
                problems.append((str(path), f"unknown emotion/intensity/statement code {emotion}/{intensity}/{statement}"))
                continue
            if actor != folder_actor:
                problems.append((str(path), f"actor {actor} in the name but in folder {actor_dir.name}"))
                continue
            candidates.append(Utterance(
                path=str(path), corpus="ravdess", label=EMOTIONS[emotion], speaker=f"Actor_{actor}",
                gender="male" if int(actor) % 2 == 1 else "female",
                sentence=STATEMENTS[statement], transcript=STATEMENTS[statement],
                utterance_id=path.stem,
                extra={"intensity": INTENSITIES[intensity], "repetition": repetition, "statement": statement},
            ))
    return CorpusReadResult(check_files(candidates, problems), problems)
