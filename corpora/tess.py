"""TESS reader (Toronto emotional speech set; Dupuis & Pichora-Fuller 2010).

``ROOT/<OAF|YAF>_<emotion>/<OAF|YAF>_<word>_<emotion>.wav`` (folders may sit one
level deeper). Two female speakers, OAF (older) and YAF (younger); 7 emotions,
``ps`` = pleasant surprise. Carrier phrase "Say the word <word>".
"""

from __future__ import annotations

import re
from pathlib import Path

from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_files, named_wavs, require_dir

EMOTIONS = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
            "neutral": "neutral", "ps": "surprise", "sad": "sad"}
NAME = re.compile(r"^(OAF|YAF)_(.+)_([A-Za-z]+)$", re.IGNORECASE)
NAME_FORM = "<OAF|YAF>_<word>_<angry|disgust|fear|happy|neutral|ps|sad>.wav"
EXPECTED = "OAF_<emotion>/ and YAF_<emotion>/ folders of <OAF|YAF>_<word>_<emotion>.wav (TESS)"


def read_tess(root: str | Path) -> CorpusReadResult:
    root = require_dir("TESS", root, EXPECTED)
    folders = sorted(p for p in root.rglob("*") if p.is_dir() and re.match(r"^(OAF|YAF)_", p.name, re.IGNORECASE))
    if not folders:
        raise CorpusLayoutError("TESS", root, f"{EXPECTED}; found no OAF_*/YAF_* folder")
    problems: list[tuple[str, str]] = []
    candidates: list[Utterance] = []
    for folder in folders:
        for path, match in named_wavs(folder, NAME, NAME_FORM, problems):
            emotion = match.group(3).lower()
            if emotion not in EMOTIONS:
                problems.append((str(path), f"name is not {NAME_FORM}"))
                continue
            speaker, word = match.group(1).upper(), match.group(2).lower()
            candidates.append(Utterance(
                path=str(path), corpus="tess", label=EMOTIONS[emotion], speaker=speaker, gender="female",
                sentence=f"Say the word {word}", transcript=f"Say the word {word}",
                utterance_id=path.stem, extra={"word": word},
            ))
    return CorpusReadResult(check_files(candidates, problems), problems)
