"""Berlin EmoDB reader (Burkhardt et al. 2005).

``ROOT/wav/03a01Fa.wav``: speaker = first 2 digits, sentence = chars 3–5
(``a01``), emotion = 6th char (W anger, L boredom, E disgust, A fear,
F happiness, T sadness, N neutral), last char = version. Genders from the corpus
documentation: 03, 10, 11, 12, 15 male; 08, 09, 13, 14, 16 female.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_files, named_wavs, require_dir

EMOTIONS = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}
GENDERS = {"03": "male", "10": "male", "11": "male", "12": "male", "15": "male",
           "08": "female", "09": "female", "13": "female", "14": "female", "16": "female"}
SENTENCES = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
NAME = re.compile(r"^(\d\d)([ab]\d\d)([WLEAFTN])([a-z])$")
EXPECTED = "wav/SSxNNEv.wav files such as wav/03a01Fa.wav (EmoDB)"


def read_emodb(root: str | Path) -> CorpusReadResult:
    root = require_dir("EmoDB", root, EXPECTED)
    wav_dir = root / "wav"
    if not wav_dir.is_dir():
        raise CorpusLayoutError("EmoDB", root, f"{EXPECTED}; wav/ is missing")
    problems: list[tuple[str, str]] = []
    candidates: list[Utterance] = []
    for path, match in named_wavs(wav_dir, NAME, "SSxNNEv.wav (e.g. 03a01Fa.wav)", problems):
        speaker, sentence, emotion, version = match.groups()
        if speaker not in GENDERS:
            problems.append((str(path), f"speaker {speaker} is not one of the 10 EmoDB speakers"))
            continue
        candidates.append(Utterance(
            path=str(path), corpus="emodb", label=EMOTIONS[emotion], speaker=speaker, gender=GENDERS[speaker],
            sentence=SENTENCES.get(sentence), transcript=SENTENCES.get(sentence), utterance_id=path.stem,
            extra={"sentence_code": sentence, "version": version},
        ))
    return CorpusReadResult(check_files(candidates, problems), problems)
