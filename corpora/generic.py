"""A folder of WAVs plus a CSV: ``path,label[,speaker][,gender][,transcript][,session]``.

``path`` is relative to the CSV's folder (absolute paths are kept). A header row is
required. Missing speakers become ``"unknown"``; gender must be male/female/empty.
A relative ``path`` must stay inside the folder, and a label must be a valid class
name (``corpora.labels.label_problem``); other rows are reported and skipped.
The demo corpus (see demo.py) is read by this reader.
"""

from __future__ import annotations

import csv
from pathlib import Path

from edgeser.corpora.labels import label_problem, normalise
from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_files, require_dir

REQUIRED = ("path", "label")
OPTIONAL = ("speaker", "gender", "transcript", "session", "sentence")


def read_generic(root: str | Path, csv_name: str = "labels.csv", corpus: str = "generic",
                 normalise_labels: bool = False) -> CorpusReadResult:
    """Read ``root/csv_name``. ``normalise_labels`` maps spellings (``anger`` -> ``angry``)."""
    root = require_dir(corpus, root, f"a folder with {csv_name}")
    csv_path = root / csv_name
    if not csv_path.is_file():
        raise CorpusLayoutError(corpus, root, f"a CSV file {csv_name} with columns path,label[,speaker] (not found)")
    problems: list[tuple[str, str]] = []
    candidates: list[Utterance] = []
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        if not all(col in fields for col in REQUIRED):
            raise CorpusLayoutError(corpus, csv_path, f"a header with columns path,label (got {fields})")
        reader.fieldnames = fields
        for line, row in enumerate(reader, start=2):
            raw = (row.get("path") or "").strip()
            label = (row.get("label") or "").strip()
            if not raw or not label:
                problems.append((f"{csv_path}:{line}", "row without path or label"))
                continue
            problem = label_problem(label)
            if problem:
                problems.append((f"{csv_path}:{line}", problem))
                continue
            path = Path(raw) if Path(raw).is_absolute() else root / raw
            if not Path(raw).is_absolute() and not path.resolve().is_relative_to(root.resolve()):
                problems.append((f"{csv_path}:{line}", f"path {raw!r} points outside the corpus folder {root}"))
                continue
            gender = (row.get("gender") or "").strip().lower() or None
            if gender not in (None, "male", "female"):
                problems.append((str(path), f"gender {gender!r} is not male/female"))
                continue
            candidates.append(Utterance(
                path=str(path), corpus=corpus, label=normalise(label) if normalise_labels else label,
                speaker=(row.get("speaker") or "").strip() or "unknown", gender=gender,
                session=(row.get("session") or "").strip() or None,
                sentence=(row.get("sentence") or "").strip() or None,
                transcript=(row.get("transcript") or "").strip() or None,
                utterance_id=Path(raw).stem,
            ))
    return CorpusReadResult(check_files(candidates, problems), problems)
