"""The record every corpus reader returns, and the errors and helpers readers share.

A reader turns one corpus' own published layout into a list of :class:`Utterance`
records plus a list of problems (files it had to skip, each with a reason). Files
are checked cheaply with ``soundfile.info`` (header only, no decode) so a reader
of thousands of files stays fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Mapping

GENDERS = ("male", "female")

Problem = tuple[str, str]
"""``(path, reason)`` for one file a reader skipped."""


class CorpusLayoutError(ValueError):
    """A folder is not the named corpus' layout; the message says what was expected and where."""

    def __init__(self, corpus: str, root: str | Path, expected: str):
        self.corpus = corpus
        self.root = str(root)
        self.expected = expected
        super().__init__(f"{root} does not hold a {corpus} corpus: expected {expected}")


@dataclass(frozen=True)
class Utterance:
    """One labelled clip.

    ``label`` is the corpus' own class name after the reader's mapping (lower case:
    ``"neutral"``, ``"happy"`` …). ``gender`` is ``"male"``, ``"female"`` or None.
    ``valence/arousal/dominance`` are on the corpus' own scale (IEMOCAP, MSP-IMPROV:
    1–5) when the corpus gives them. ``label_distribution`` maps label → probability
    (sums to 1) where several raters labelled the clip. ``start_s``/``end_s`` give
    the segment inside ``path`` when the clip is a part of a longer file (seconds);
    None means the whole file.
    """

    path: str
    corpus: str
    label: str
    speaker: str
    gender: str | None = None
    session: str | None = None
    sentence: str | None = None
    transcript: str | None = None
    valence: float | None = None
    arousal: float | None = None
    dominance: float | None = None
    label_distribution: Mapping[str, float] | None = None
    utterance_id: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.gender is not None and self.gender not in GENDERS:
            raise ValueError(f"{self.path}: gender must be 'male', 'female' or None, got {self.gender!r}")
        if self.label_distribution is not None:
            total = sum(self.label_distribution.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"{self.path}: label_distribution sums to {total}, not 1")

    @property
    def id(self) -> str:
        """A stable identifier: ``utterance_id`` or the file's stem."""
        return self.utterance_id or Path(self.path).stem

    def with_label(self, label: str) -> "Utterance":
        return replace(self, label=label)

    def __hash__(self) -> int:  # Mappings are not hashable; identity is path + id + label.
        return hash((self.path, self.utterance_id, self.corpus, self.label))


@dataclass
class CorpusReadResult:
    """What a reader returns: the usable utterances and every file it skipped, with why."""

    utterances: list[Utterance]
    problems: list[Problem] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    """Clips left out on purpose by the chosen class set (label -> count), e.g. IEMOCAP 'fru' in 4-class."""

    def __len__(self) -> int:
        return len(self.utterances)


def check_audio(path: str | Path, min_frames: int = 1) -> str | None:
    """Cheap header check of one audio file: None when usable, else the reason.

    Detects a missing file, a folder, a zero-length file, a non-audio file
    (soundfile cannot parse the header) and a truncated/empty file (header
    present, fewer than ``min_frames`` frames, or data chunk shorter than the
    header claims); float files are read whole for NaN/inf or out-of-range samples.
    """
    import soundfile as sf

    from edgeser.corpora.audio import float_sample_problem, truncation_problem

    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "file does not exist"
    except OSError as exc:
        return f"cannot stat file ({exc})"
    if path.is_dir():
        return "is a folder, not an audio file"
    if stat.st_size == 0:
        return "file is empty (0 bytes)"
    try:
        info = sf.info(str(path))
    except Exception as exc:  # LibsndfileError, RuntimeError, …
        return f"not a readable audio file ({type(exc).__name__}: {str(exc).strip()[:120]})"
    if info.frames < min_frames:
        return f"contains no audio frames ({info.frames})"
    truncated = truncation_problem(path, info)
    if truncated:
        return truncated
    if info.subtype in ("FLOAT", "DOUBLE"):  # float files are read whole: NaN/inf, out of range
        try:
            data, _ = sf.read(str(path), dtype="float64", always_2d=True)
        except Exception as exc:
            return f"not a readable audio file ({type(exc).__name__}: {str(exc).strip()[:120]})"
        return float_sample_problem(data)
    return None


def check_files(candidates: "list[Utterance]", problems: list[Problem]) -> list[Utterance]:
    """Keep the utterances whose file passes :func:`check_audio`; list the others in ``problems``."""
    kept = []
    checked: dict[str, str | None] = {}
    for utt in candidates:
        if utt.path not in checked:
            checked[utt.path] = check_audio(utt.path)
            if checked[utt.path] is not None:
                problems.append((utt.path, checked[utt.path]))
        if checked[utt.path] is None:
            kept.append(utt)
    return kept


def named_wavs(folder: Path, name: re.Pattern, expected: str, problems: list[Problem]) -> Iterator[tuple[Path, re.Match]]:
    """The ``.wav`` files of ``folder`` (sorted by name; hidden files and subfolders passed over)
    whose stem matches ``name``, each with its match; any other file goes to ``problems`` as
    ``name is not <expected>``."""
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.name.startswith("."):
            continue
        match = name.match(path.stem)
        if path.suffix.lower() != ".wav" or match is None:
            problems.append((str(path), f"name is not {expected}"))
            continue
        yield path, match


def require_dir(corpus: str, root: str | Path, expected: str) -> Path:
    """``root`` as a Path; raises :class:`CorpusLayoutError` when it is not a folder."""
    root = Path(root)
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "the folder does not exist"
        raise CorpusLayoutError(corpus, root, f"{expected} ({what})")
    return root
