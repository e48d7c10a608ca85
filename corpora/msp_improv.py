"""MSP-IMPROV reader (Busso et al. 2017).

Audio: ``ROOT/Audio/session<N>/<SxxY>/<scenario>/MSP-IMPROV-S01A-F01-P-FM01.wav``
(also accepted without the ``Audio/`` level). Name fields: ``S01A`` target sentence
01 with target emotion A; ``F01`` the actor (gender letter + session number);
``P`` the scenario (R read, S target improvised, P natural interaction, T other
improvised); ``FM01`` the dyad and turn. Labels: ``Evalution.txt`` (the corpus'
own spelling; ``Evaluation.txt`` accepted), one block per clip::

    UTD-IMPROV-S01A-F01-P-FM01.avi; A; A:2.500000; V:3.000000; D:2.000000 ; N:3.000000;
    rater1; Angry; Frustrated,Other; A:3.0; V:2.0; D:3.0; N:3.0;

The header gives the consensus class (A angry, H happy, S sad, N neutral,
O other, X no agreement) and mean arousal/valence/dominance (1–5); each rater
line's primary emotion feeds the label distribution. The default class set keeps
the 4 classes (O and X are counted in ``excluded``).
"""

from __future__ import annotations

import re
from pathlib import Path

from edgeser.corpora.labels import distribution_from_votes
from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_files, require_dir

CONSENSUS = {"A": "angry", "H": "happy", "S": "sad", "N": "neutral", "O": "other", "X": "unknown"}
NUM = r"(\d+(?:\.\d+)?|NaN)"
HEADER = re.compile(rf"^UTD-IMPROV-([A-Z0-9-]+)\.avi;\s*([A-Z]);\s*A:{NUM};\s*V:{NUM};\s*D:{NUM}\s*;\s*N:{NUM};?$")
RATER = re.compile(r"^([^;]+);\s*([A-Za-z]+)\s*;")
NAME = re.compile(r"^MSP-IMPROV-S(\d\d)([A-Z])-([FM])(\d\d)-([A-Z])-([FM]{2})(\d\d)$")
SCENARIOS = {"R": "read", "S": "target_improvised", "P": "natural", "T": "other_improvised"}
EXPECTED = "Evalution.txt and Audio/session*/.../MSP-IMPROV-S01A-F01-P-FM01.wav (MSP-IMPROV)"


def _float(text: str) -> float | None:
    return None if text == "NaN" else float(text)


def parse_evaluation(path: Path) -> dict[str, dict]:
    """Clip name (``MSP-IMPROV-…``) -> {code, vad (valence, arousal, dominance), raters, votes}."""
    clips: dict[str, dict] = {}
    current = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        match = HEADER.match(line)
        if match:
            current = "MSP-IMPROV-" + match.group(1)
            clips[current] = {"code": match.group(2), "vad": tuple(_float(match.group(i)) for i in (4, 3, 5)),
                              "raters": {}}
            continue
        match = RATER.match(line)
        if match and current is not None:
            # A rater line repeated for the same clip is a copy in the release: count each rater once.
            clips[current]["raters"].setdefault(match.group(1).strip(), match.group(2).strip())
    for clip in clips.values():
        votes: dict[str, int] = {}
        for label in clip["raters"].values():
            votes[label] = votes.get(label, 0) + 1
        clip["votes"] = votes
    return clips


def read_msp_improv(root: str | Path, classes: tuple[str, ...] = ("neutral", "happy", "sad", "angry")) -> CorpusReadResult:
    root = require_dir("MSP-IMPROV", root, EXPECTED)
    label_file = next((root / n for n in ("Evalution.txt", "Evaluation.txt") if (root / n).is_file()), None)
    audio_root = root / "Audio" if (root / "Audio").is_dir() else root
    sessions = sorted(audio_root.glob("session*"))
    if label_file is None or not sessions:
        raise CorpusLayoutError("MSP-IMPROV", root, f"{EXPECTED}; " +
                                ("Evalution.txt is missing" if label_file is None else "no session* folder"))
    clips = parse_evaluation(label_file)
    problems: list[tuple[str, str]] = []
    excluded: dict[str, int] = {}
    candidates: list[Utterance] = []
    for path in sorted(p for s in sessions for p in s.rglob("*.wav")):
        match = NAME.match(path.stem)
        if match is None:
            problems.append((str(path), "name is not MSP-IMPROV-SnnE-Gnn-X-GGnn.wav"))
            continue
        clip = clips.get(path.stem)
        if clip is None:
            problems.append((str(path), f"no entry in {label_file.name}"))
            continue
        label = CONSENSUS.get(clip["code"], "unknown")
        if label not in classes:
            excluded[label] = excluded.get(label, 0) + 1
            continue
        sentence, target, gletter, session, scenario, dyad, turn = match.groups()
        v, a, d = clip["vad"]
        dist = distribution_from_votes(clip["votes"])
        if dist is not None:
            dist = {k: p for k, p in dist.items() if k in classes}
            total = sum(dist.values())
            dist = {k: p / total for k, p in dist.items()} if total > 0 else None
        candidates.append(Utterance(
            path=str(path), corpus="msp_improv", label=label, speaker=f"{gletter}{session}",
            gender="female" if gletter == "F" else "male", session=str(int(session)),
            valence=v, arousal=a, dominance=d, label_distribution=dist, utterance_id=path.stem,
            extra={"target_sentence": sentence, "target_emotion": CONSENSUS.get(target, target),
                   "scenario": SCENARIOS.get(scenario, scenario), "dyad": f"{dyad}{turn}"},
        ))
    return CorpusReadResult(check_files(candidates, problems), problems, excluded)
