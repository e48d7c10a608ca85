"""Batch feature extraction: audio files/folders → one ``.npy`` per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeser import atomic
from edgeser.corpora.audio import AudioError, load_audio
from edgeser.frontend.config import FrontendConfig
from edgeser.frontend.features import to_int8
from edgeser.frontend.microfrontend import compute_raw

__all__ = ["ExtractionReport", "collect_inputs", "extract_to_dir"]

#: Suffixes searched for inside folders (files named explicitly are always tried).
FOLDER_SUFFIXES = (".wav", ".flac", ".ogg")


@dataclass
class ExtractionReport:
    """What :func:`extract_to_dir` wrote and what it skipped (with the reason)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def collect_inputs(inputs: list[Path]) -> tuple[list[tuple[Path, Path]], list[tuple[Path, str]]]:
    """Expand files/folders to ``(audio file, output name relative to out_dir)`` pairs.

    A file named directly gives ``<stem>.npy``; a folder is searched recursively for
    .wav/.flac/.ogg and keeps the sub-folders below it (``<sub>/<stem>.npy``).
    Inputs that do not exist are returned as skipped with a reason.
    """
    items: list[tuple[Path, Path]] = []
    skipped: list[tuple[Path, str]] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES
            )
            if not found:
                skipped.append((path, "folder contains no .wav/.flac/.ogg files"))
            for audio in found:
                rel = audio.relative_to(path).with_suffix(".npy")
                items.append((audio, rel))
        elif path.exists():
            items.append((path, Path(path.stem + ".npy")))
        else:
            skipped.append((path, "file does not exist"))
    return items, skipped


def extract_to_dir(
    inputs: list[Path],
    config: FrontendConfig,
    out_dir: Path,
    raw: bool = False,
    progress: bool = True,
) -> ExtractionReport:
    """Extract features of every input into ``out_dir``.

    int8 features (the model input) by default, the frontend's uint16 output with
    ``raw=True``. Unreadable files (:class:`AudioError`) and output-name collisions
    are listed in the report's ``skipped`` with the reason; writes are atomic.
    """
    out_dir = Path(out_dir)
    items, skipped = collect_inputs([Path(p) for p in inputs])
    report = ExtractionReport(skipped=list(skipped))
    seen: dict[Path, Path] = {}
    iterator = items
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(items, desc="features", unit="file")
        iterator = bar
    try:
        for audio_path, rel in iterator:
            target = out_dir / rel
            if target in seen:
                report.skipped.append(
                    (audio_path, f"output {target} would overwrite the features of {seen[target]}")
                )
                continue
            try:
                samples = load_audio(audio_path, config.sample_rate)
            except AudioError as exc:
                report.skipped.append((audio_path, exc.reason))
                continue
            if samples.size < config.window_samples:
                report.skipped.append((audio_path, f"{samples.size} samples is shorter than one "
                                                   f"{config.window_ms} ms frontend window: no features"))
                continue
            values = compute_raw(samples, config)
            array = values if raw else to_int8(values, config)
            atomic.save_npy(target, np.ascontiguousarray(array))
            seen[target] = audio_path
            report.written.append(target)
    finally:
        if bar is not None:
            bar.close()
    return report
