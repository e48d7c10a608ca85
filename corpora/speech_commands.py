"""Google Speech Commands v2 reader (Warden 2018), for the keyword branch.

``ROOT/<word>/<speakerhash>_nohash_<n>.wav``, ``ROOT/_background_noise_/*.wav``,
``ROOT/validation_list.txt`` and ``ROOT/testing_list.txt`` (paths relative to ROOT).
Labels: each of ``keywords`` (default the 10 standard commands), ``_unknown_``
for every other word, and ``_silence_`` clips cut from the background-noise files
(``silence_clip_s`` windows; ``start_s``/``end_s`` set). The official split is in
``extra["split"]`` (train/validation/test); silence clips get a split from a
stable hash of their window. Speaker = the hash before ``_nohash_``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_audio, check_files, require_dir

STANDARD_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN = "_unknown_"
SILENCE = "_silence_"
EXPECTED = "<word>/<speaker>_nohash_<n>.wav folders, validation_list.txt and testing_list.txt (Speech Commands)"


def _read_list(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def _hash_split(key: str, validation_pct: float = 10.0, testing_pct: float = 10.0) -> str:
    value = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 10000 / 100.0
    if value < validation_pct:
        return "validation"
    if value < validation_pct + testing_pct:
        return "test"
    return "train"


def read_speech_commands(root: str | Path, keywords: tuple[str, ...] | list[str] = STANDARD_KEYWORDS,
                         include_unknown: bool = True, include_silence: bool = True,
                         silence_clip_s: float = 1.0) -> CorpusReadResult:
    """Read Speech Commands; see the module docstring for labels and splits."""
    import soundfile as sf

    root = require_dir("Speech Commands", root, EXPECTED)
    has_lists = (root / "validation_list.txt").is_file() and (root / "testing_list.txt").is_file()
    word_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    if not has_lists or not word_dirs:
        raise CorpusLayoutError("Speech Commands", root,
                                f"{EXPECTED}; " + ("list files missing" if not has_lists else "no word folders"))
    validation = _read_list(root / "validation_list.txt")
    testing = _read_list(root / "testing_list.txt")
    keywords = tuple(keywords)
    problems: list[tuple[str, str]] = []
    candidates: list[Utterance] = []
    for word_dir in word_dirs:
        word = word_dir.name
        if word not in keywords and not include_unknown:
            continue
        for path in sorted(word_dir.glob("*.wav")):
            speaker, sep, _ = path.stem.partition("_nohash_")
            if not sep:
                problems.append((str(path), "name is not <speaker>_nohash_<n>.wav"))
                continue
            rel = f"{word}/{path.name}"
            split = "validation" if rel in validation else "test" if rel in testing else "train"
            candidates.append(Utterance(
                path=str(path), corpus="speech_commands", label=word if word in keywords else UNKNOWN,
                speaker=speaker, transcript=word, utterance_id=f"{word}/{path.stem}",
                extra={"split": split, "word": word},
            ))
    utterances = check_files(candidates, problems)
    noise_dir = root / "_background_noise_"
    if include_silence and noise_dir.is_dir():
        for path in sorted(noise_dir.glob("*.wav")):
            reason = check_audio(path)
            if reason is not None:
                problems.append((str(path), reason))
                continue
            duration = sf.info(str(path)).duration
            for i in range(int(duration // silence_clip_s)):
                start = i * silence_clip_s
                key = f"{path.name}:{i}"
                utterances.append(Utterance(
                    path=str(path), corpus="speech_commands", label=SILENCE, speaker=f"noise:{path.stem}",
                    utterance_id=f"_silence_/{path.stem}_{i}", start_s=start, end_s=start + silence_clip_s,
                    extra={"split": _hash_split(key), "word": SILENCE},
                ))
    return CorpusReadResult(utterances, problems)
