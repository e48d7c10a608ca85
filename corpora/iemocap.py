"""IEMOCAP reader (Busso et al. 2008), full release layout.

``ROOT/Session{1..5}/sentences/wav/<dialog>/<utt>.wav``,
``ROOT/Session*/dialog/EmoEvaluation/<dialog>.txt`` (one header line per turn::

    [6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]

followed by per-evaluator lines ``C-E1:\tNeutral;\t()``), and
``ROOT/Session*/dialog/transcriptions/<dialog>.txt`` (``<utt> [start-end]: text``).

Class sets: ``"4class"`` (default) neutral/happy/sad/angry with excited merged
into happy; ``"6class"`` neutral/happy/sad/angry/excited/frustrated; ``"all"``
every label. V/A/D are the bracket values (valence, activation, dominance; 1–5).
The label distribution comes from the C-E evaluator lines (a rater giving k
categories gives each 1/k), mapped through the class set and renormalised.
Speaker = ``Ses01_F`` (session + gender letter of the turn), session = ``"1"``…``"5"``.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgeser.corpora.labels import normalise
from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_files, require_dir

CODES = {"neu": "neutral", "hap": "happy", "sad": "sad", "ang": "angry", "exc": "excited",
         "fru": "frustrated", "sur": "surprise", "fea": "fear", "dis": "disgust",
         "oth": "other", "xxx": "unknown"}
CLASS_SETS = {
    "4class": ("neutral", "happy", "sad", "angry"),
    "6class": ("neutral", "happy", "sad", "angry", "excited", "frustrated"),
    "all": tuple(CODES.values()),
}
HEADER = re.compile(r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[\s*([\d.]+),\s*([\d.]+),\s*([\d.]+)\s*\]")
EVALUATOR = re.compile(r"^C-E\d+:\s*(.*?)\s*(\(.*\))?\s*$")
TRANSCRIPT = re.compile(r"^(Ses\d\d[FM]_\S+)\s+\[[\d.]+-[\d.]+\]:\s*(.*)$")
EXPECTED = "Session1..5/dialog/EmoEvaluation/*.txt and Session*/sentences/wav/<dialog>/<utt>.wav"


def _class_label(label: str, classes: str) -> str | None:
    if classes == "4class" and label == "excited":
        label = "happy"
    return label if label in CLASS_SETS[classes] else None


def _distribution(votes: list[list[str]], classes: str) -> dict[str, float] | None:
    mass: dict[str, float] = {}
    for categories in votes:
        cats = [c for c in categories if c]
        for cat in cats:
            mapped = _class_label(normalise(cat), classes)
            if mapped is not None:
                mass[mapped] = mass.get(mapped, 0.0) + 1.0 / len(cats)
    total = sum(mass.values())
    return {k: v / total for k, v in sorted(mass.items())} if total > 0 else None


def parse_emo_evaluation(path: Path) -> list[dict]:
    """Parse one EmoEvaluation file into dicts: utt, code, start_s, end_s, vad, votes (list of category lists)."""
    turns: list[dict] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = HEADER.match(line)
        if match:
            start, end, utt, code, v, a, d = match.groups()
            turns.append({"utt": utt, "code": code, "start_s": float(start), "end_s": float(end),
                          "vad": (float(v), float(a), float(d)), "votes": []})
            continue
        match = EVALUATOR.match(line.strip())
        if match and turns:
            turns[-1]["votes"].append([c.strip() for c in match.group(1).split(";") if c.strip()])
    return turns


def parse_transcriptions(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = TRANSCRIPT.match(line.strip())
        if match:
            out[match.group(1)] = match.group(2).strip()
    return out


def read_iemocap(root: str | Path, classes: str = "4class", scripted: bool = True,
                 improvised: bool = True) -> CorpusReadResult:
    """Read IEMOCAP. ``classes``: "4class" | "6class" | "all"; ``scripted``/``improvised`` select dialog types."""
    if classes not in CLASS_SETS:
        raise ValueError(f"classes must be one of {sorted(CLASS_SETS)}, got {classes!r}")
    root = require_dir("IEMOCAP", root, EXPECTED)
    sessions = sorted(p for p in root.glob("Session[1-5]") if (p / "dialog" / "EmoEvaluation").is_dir())
    if not sessions:
        raise CorpusLayoutError("IEMOCAP", root, f"{EXPECTED}; found no Session*/dialog/EmoEvaluation folder")
    problems: list[tuple[str, str]] = []
    excluded: dict[str, int] = {}
    candidates: list[Utterance] = []
    for session_dir in sessions:
        number = session_dir.name[-1]
        transcripts: dict[str, str] = {}
        tdir = session_dir / "dialog" / "transcriptions"
        if tdir.is_dir():
            for tfile in sorted(t for t in tdir.glob("*.txt") if not t.name.startswith(".")):
                transcripts.update(parse_transcriptions(tfile))
        eval_files = (session_dir / "dialog" / "EmoEvaluation").glob("*.txt")
        for eval_file in sorted(f for f in eval_files if not f.name.startswith(".")):  # skip macOS ._ files
            for turn in parse_emo_evaluation(eval_file):
                utt = turn["utt"]
                dialog, _, turn_id = utt.rpartition("_")
                if ("_script" in dialog and not scripted) or ("_impro" in dialog and not improvised):
                    continue
                label = _class_label(CODES.get(turn["code"], normalise(turn["code"])), classes)
                if label is None:
                    key = CODES.get(turn["code"], turn["code"])
                    excluded[key] = excluded.get(key, 0) + 1
                    continue
                letter = turn_id[:1].upper()
                if letter not in ("F", "M"):
                    problems.append((utt, f"cannot tell the speaker's gender from turn id {turn_id!r}"))
                    continue
                wav = session_dir / "sentences" / "wav" / dialog / f"{utt}.wav"
                v, a, d = turn["vad"]
                candidates.append(Utterance(
                    path=str(wav), corpus="iemocap", label=label, speaker=f"Ses0{number}_{letter}",
                    gender="female" if letter == "F" else "male", session=number,
                    transcript=transcripts.get(utt), valence=v, arousal=a, dominance=d,
                    label_distribution=_distribution(turn["votes"], classes), utterance_id=utt,
                    extra={"dialog": dialog, "type": "script" if "_script" in dialog else "impro",
                           "segment": f"{turn['start_s']:.4f}-{turn['end_s']:.4f}"},
                ))
    return CorpusReadResult(check_files(candidates, problems), problems, excluded)
