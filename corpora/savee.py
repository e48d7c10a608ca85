"""SAVEE reader (Haq & Jackson 2009).

``ROOT/AudioData/<speaker>/<prefix><NN>.wav`` with speakers DC, JE, JK, KL (all
male) and prefixes a anger, d disgust, f fear, h happiness, n neutral,
sa sadness, su surprise.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_files, named_wavs, require_dir

SPEAKERS = ("DC", "JE", "JK", "KL")
PREFIXES = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise"}
NAME = re.compile(r"^(sa|su|a|d|f|h|n)(\d\d)$")
EXPECTED = "AudioData/{DC,JE,JK,KL}/<emotion prefix><NN>.wav (SAVEE)"


def read_savee(root: str | Path) -> CorpusReadResult:
    root = require_dir("SAVEE", root, EXPECTED)
    audio = root / "AudioData" if (root / "AudioData").is_dir() else root
    speaker_dirs = [audio / s for s in SPEAKERS if (audio / s).is_dir()]
    if not speaker_dirs:
        raise CorpusLayoutError("SAVEE", root, f"{EXPECTED}; no speaker folder found")
    problems: list[tuple[str, str]] = []
    candidates: list[Utterance] = []
    for speaker_dir in speaker_dirs:
        for path, match in named_wavs(speaker_dir, NAME, "<a|d|f|h|n|sa|su><NN>.wav", problems):
            candidates.append(Utterance(
                path=str(path), corpus="savee", label=PREFIXES[match.group(1)], speaker=speaker_dir.name,
                gender="male", utterance_id=f"{speaker_dir.name}_{path.stem}",
            ))
    return CorpusReadResult(check_files(candidates, problems), problems)
