"""eSpeak NG through ctypes, from the ``espeakng-loader`` package (libespeak-ng.so + espeak-ng-data).

API used (``speak_lib.h``): ``espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0)``
returns the sample rate (22050 Hz); ``espeak_SetSynthCallback`` collects the int16
samples; ``espeak_SetVoiceByName("en-us+f2")`` picks language + variant;
``espeak_SetParameter`` sets rate (words/min), volume (0–200), pitch (0–100),
range (0–100), word gap (×10 ms); ``espeak_Synth`` + ``espeak_Synchronize`` render.

Reproducibility: within one process eSpeak NG's output for a text depends on
what was synthesised before (internal state such as the pitch-flutter phase is
not reset, not even by ``espeak_Terminate`` + ``espeak_Initialize``), and its
noise source is seeded differently in every process unless ``espeak_ng_SetRandSeed`` is called.
With the seed set before every job, the same sequence of calls in a fresh
process gives identical samples (checked), so
:func:`synthesise_in_fresh_process` runs each batch in a newly spawned process
(synchronous, single-threaded mode); a batch's output depends only on the batch.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Sequence

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
RATE, VOLUME, PITCH, RANGE, WORDGAP = 1, 2, 3, 4, 7


@dataclass(frozen=True)
class SynthJob:
    """One utterance to render: text, voice (``lang+variant``) and prosody in eSpeak units."""

    text: str
    voice: str = "en-us"
    rate: int = 175  # words per minute
    volume: int = 100  # amplitude, 0-200
    pitch: int = 50  # base pitch, 0-100
    range: int = 50  # pitch range, 0-100
    wordgap: int = 0  # pause between words, units of 10 ms
    seed: int = 0  # seeds the jitter of this rendering


class EspeakUnavailable(RuntimeError):
    """eSpeak NG could not be loaded (``espeakng-loader`` missing or broken)."""


class _Engine:
    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - dependency is pinned
            raise EspeakUnavailable("the espeakng-loader package is not installed (pip install espeakng-loader)") from exc
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        self.sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if self.sample_rate <= 0:
            raise EspeakUnavailable(f"espeak_Initialize failed ({self.sample_rate})")
        self._chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

        def collect(wav, n, events):  # noqa: ARG001
            if wav and n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = callback_type(collect)  # keep a reference: ctypes callbacks must outlive the C side
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib

    def synth(self, job: SynthJob) -> np.ndarray:
        """Render one job: int16 [samples] at ``self.sample_rate``."""
        if self.lib.espeak_SetVoiceByName(job.voice.encode()) != 0:
            raise EspeakUnavailable(f"eSpeak NG has no voice {job.voice!r}")
        for param, value in ((RATE, job.rate), (VOLUME, job.volume), (PITCH, job.pitch),
                             (RANGE, job.range), (WORDGAP, job.wordgap)):
            self.lib.espeak_SetParameter(param, int(value), 0)
        self.lib.espeak_ng_SetRandSeed(ctypes.c_long(job.seed))
        self._chunks = []
        text = job.text.encode("utf-8") + b"\0"
        err = self.lib.espeak_Synth(text, len(text), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if err != 0:
            raise EspeakUnavailable(f"espeak_Synth failed with {err} for {job.text!r}")
        return np.concatenate(self._chunks).astype(np.int16) if self._chunks else np.zeros(0, np.int16)


def synthesise_batch(jobs: Sequence[SynthJob]) -> tuple[int, list[np.ndarray]]:
    """Render ``jobs`` in this process: (sample rate, int16 arrays). Not reproducible across batches; see module doc."""
    engine = _Engine()
    return engine.sample_rate, [engine.synth(job) for job in jobs]


def synthesise_in_fresh_process(batches: Sequence[Sequence[SynthJob]], workers: int = 2) -> list[tuple[int, list[np.ndarray]]]:
    """Render each batch in its own new Python process (bit-reproducible), ``workers`` at a time.

    Each batch runs ``python -m edgeser.corpora.espeak`` with the jobs as JSON on
    stdin and gets an .npz back on stdout, so no ``if __name__ == "__main__"``
    guard is needed in the caller (unlike multiprocessing's spawn).
    """
    from concurrent.futures import ThreadPoolExecutor

    def run(batch: Sequence[SynthJob]) -> tuple[int, list[np.ndarray]]:
        import io
        import json
        import subprocess
        import sys
        from dataclasses import asdict

        payload = json.dumps([asdict(job) for job in batch]).encode()
        proc = subprocess.run([sys.executable, "-m", "edgeser.corpora.espeak"], input=payload, capture_output=True)
        if proc.returncode != 0:
            raise EspeakUnavailable(f"eSpeak NG worker failed: {proc.stderr.decode(errors='replace')[-2000:]}")
        data = np.load(io.BytesIO(proc.stdout), allow_pickle=False)
        return int(data["sample_rate"]), [data[f"a{i}"] for i in range(len(batch))]

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(run, [list(b) for b in batches]))


def _worker_main() -> None:
    """Worker: JSON list of SynthJob fields on stdin -> .npz (sample_rate, a0, a1, …) on stdout."""
    import io
    import json
    import sys

    jobs = [SynthJob(**fields) for fields in json.loads(sys.stdin.buffer.read())]
    rate, arrays = synthesise_batch(jobs)
    buffer = io.BytesIO()
    np.savez(buffer, sample_rate=np.int64(rate), **{f"a{i}": a for i, a in enumerate(arrays)})
    sys.stdout.buffer.write(buffer.getvalue())


if __name__ == "__main__":
    _worker_main()
