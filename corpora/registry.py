"""``read_corpus(name, root, **options)``: one entry point for every reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from edgeser.corpora.types import CorpusReadResult


def _demo(root: str | Path, **options: Any) -> CorpusReadResult:
    from edgeser.corpora.demo import read_demo

    return read_demo(root, **options)


def _demo_keywords(root: str | Path, **options: Any) -> CorpusReadResult:
    from edgeser.corpora.demo import read_demo_keywords

    return read_demo_keywords(root, **options)


def _lazy(module: str, function: str) -> Callable[..., CorpusReadResult]:
    def call(root: str | Path, **options: Any) -> CorpusReadResult:
        import importlib

        return getattr(importlib.import_module(f"edgeser.corpora.{module}"), function)(root, **options)

    call.__name__ = function
    return call


READERS: dict[str, Callable[..., CorpusReadResult]] = {
    "iemocap": _lazy("iemocap", "read_iemocap"),
    "msp_improv": _lazy("msp_improv", "read_msp_improv"),
    "ravdess": _lazy("ravdess", "read_ravdess"),
    "savee": _lazy("savee", "read_savee"),
    "cremad": _lazy("cremad", "read_cremad"),
    "emodb": _lazy("emodb", "read_emodb"),
    "tess": _lazy("tess", "read_tess"),
    "speech_commands": _lazy("speech_commands", "read_speech_commands"),
    "generic": _lazy("generic", "read_generic"),
    "demo": _demo,
    "demo_keywords": _demo_keywords,
}
ALIASES = {"msp-improv": "msp_improv", "crema-d": "cremad", "crema_d": "cremad", "speechcommands": "speech_commands",
           "speech-commands": "speech_commands", "csv": "generic", "folder": "generic", "demo-keywords": "demo_keywords"}


def corpus_names() -> list[str]:
    return sorted(READERS)


def read_corpus(name: str, root: str | Path, **options: Any) -> CorpusReadResult:
    """Read corpus ``name`` at ``root``; ``options`` go to the reader (e.g. ``classes="6class"``).

    Raises ``KeyError`` for an unknown name and :class:`CorpusLayoutError` when
    ``root`` is not that corpus' layout.
    """
    key = ALIASES.get(name.lower(), name.lower())
    if key not in READERS:
        raise KeyError(f"unknown corpus {name!r} (known: {', '.join(corpus_names())})")
    return READERS[key](root, **options)
