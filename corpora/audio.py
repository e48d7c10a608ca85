"""Audio input: any WAV/FLAC/OGG file to mono int16 at the frontend's sample rate.

Method: ``soundfile`` decodes to float64 in [-1, 1]; channels are averaged
(down-mix); ``soxr`` (via ``librosa.resample(res_type="soxr_hq")``) resamples
when the file's rate differs; the result is scaled by 32768, rounded half away
from zero and clipped to int16. A 16-bit file already at the target rate and
mono is returned sample for sample, unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga")


class AudioError(ValueError):
    """A file that cannot be used as audio; the message names the file and the problem."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] → int16 (×32768, round half away from zero, clip)."""
    scaled = np.asarray(samples, dtype=np.float64) * 32768.0
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return np.clip(rounded, -32768, 32767).astype(np.int16)


_RESAMPLED = False


def _note_first_resample(path: Path, rate: int, sample_rate: int) -> None:
    """Say once per process that resampling starts (its first call compiles for a while)."""
    global _RESAMPLED
    if not _RESAMPLED:
        _RESAMPLED = True
        import sys

        print(f"note: resampling {path.name} from {rate} Hz to {sample_rate} Hz (the first resample "
              "loads and compiles the resampler, which can take a minute)", file=sys.stderr, flush=True)


def wav_data_end(path: Path) -> int | None:
    """The byte offset of the end of the ``data`` chunk as the header claims it, or None."""
    import struct

    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            offset = 12
            for _ in range(64):
                chunk = handle.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                offset += 8
                if cid == b"data":
                    if size in (0, 0xFFFFFFFF):
                        return None  # streaming writers leave the size open
                    return offset + size
                offset += size + (size & 1)
                handle.seek(offset)
    except OSError:
        return None
    return None


def truncation_problem(path: Path, info) -> str | None:
    """For a PCM WAV whose header claims more data than the file holds (soundfile's
    ``info``), the reason; else None. libsndfile would read the part that is there."""
    if info.format != "WAV" or not info.subtype.startswith("PCM_"):
        return None
    claimed, size = wav_data_end(path), path.stat().st_size
    if claimed is not None and claimed > size:
        return f"truncated: header claims {claimed} data bytes, file has {size} bytes"
    return None


def float_sample_problem(data: np.ndarray) -> str | None:
    """Why float samples [N, channels] cannot be used as [-1, 1] audio, or None:
    NaN/inf, or more than 1 % over full scale (clipping them would change the signal)."""
    if not np.all(np.isfinite(data)):
        return "contains NaN or infinite samples"
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    if peak > 1.01:
        return f"has float samples up to {peak:.3g}, outside [-1, 1] (they would be clipped; rescale the file)"
    return None


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Read ``path`` as mono int16 at ``sample_rate`` Hz.

    Returns an array of shape ``[num_samples]``, dtype int16.
    Raises :class:`AudioError` for a missing, empty, unreadable, non-audio or
    NaN/inf-containing file.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioError(path, "file does not exist")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")
    try:
        info = sf.info(str(path))
        truncated = truncation_problem(path, info)
        if truncated:
            raise AudioError(path, truncated)
        if info.subtype in ("PCM_16",) and info.channels == 1 and info.samplerate == sample_rate:
            data, rate = sf.read(str(path), dtype="int16", always_2d=True)
            if data.shape[0] == 0:
                raise AudioError(path, "contains no samples")
            return np.ascontiguousarray(data[:, 0])
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except AudioError:
        raise
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, …
        raise AudioError(path, f"not a readable audio file ({exc})") from None
    if data.shape[0] == 0:
        raise AudioError(path, "contains no samples")
    problem = float_sample_problem(data)
    if problem:
        raise AudioError(path, problem)
    mono = data.mean(axis=1)
    if rate != sample_rate:
        import librosa

        _note_first_resample(path, rate, sample_rate)
        mono = librosa.resample(mono, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    return to_int16(mono)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int = 16000) -> None:
    """Write int16 mono ``samples`` as a 16-bit PCM WAV (atomically: temp file + rename)."""
    import os

    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        sf.write(str(tmp), np.asarray(samples, dtype=np.int16), sample_rate, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
