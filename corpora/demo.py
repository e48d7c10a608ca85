"""A synthetic, offline demo corpus rendered with eSpeak NG (``make demo`` needs no download).

Emotions are rendered through prosody and voice quality, following the vocal-affect
literature (Murray & Arnott 1993; Banse & Scherer 1996; Scherer 2003; Juslin & Laukka 2003):

=========  ==========  ============  ===========  =========  ===========================
emotion    pitch level pitch range   rate         intensity  voice quality (post-filter)
=========  ==========  ============  ===========  =========  ===========================
neutral    baseline    moderate      baseline     baseline   none
happy      higher      wide          faster       louder     brighter (mild pre-emphasis)
sad        lower       narrow        slower       softer     darker (low-pass), longer gaps
angry      higher      widest        fastest      loudest    tense: pre-emphasis + saturation
=========  ==========  ============  ===========  =========  ===========================

Each speaker is an eSpeak voice variant (``en-us+m3``, ``en+f2`` …) with its own
baseline pitch; every utterance's prosody is jittered by a seeded generator, so one
seed gives one corpus, byte for byte.

Layout written under ``out``::

    utterances.csv                         path,label,speaker,gender,transcript
    keywords.csv                           path,label,speaker,gender,transcript
    wav/<speaker>/<speaker>_<emotion>_s<NN>_r<N>.wav
    keywords/<word>/<speaker>_nohash_<n>.wav   (Speech Commands naming; validation/testing lists by speaker)
    demo.json                              the settings and the seed

Audio: 16 kHz mono int16 WAV (eSpeak renders at 22050 Hz; polyphase resampling 320/441).
Read it with ``read_corpus("demo", out)`` (or ``"generic"`` with ``csv_name="utterances.csv"``) and
``read_corpus("demo_keywords", out)``.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgeser.corpora.espeak import SynthJob, synthesise_in_fresh_process
from edgeser.corpora.types import CorpusReadResult
from edgeser.settings import check

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "light", "music")
SENTENCES = (
    "Please turn on the light in the kitchen.",
    "Stop the music and go to bed.",
    "Yes, I want to go left at the corner.",
    "No, turn off the light right now.",
    "Turn the music up, it is far too quiet.",
    "Go down the stairs and stop at the door.",
    "Turn left, then right, and then stop.",
    "Yes, the music is on again.",
    "No, I said turn it down, not up.",
    "Switch off the light and go to sleep.",
)
# (name, eSpeak voice, gender, baseline pitch 0-100, baseline rate words/min)
SPEAKERS = (
    ("spk01", "en-us+m3", "male", 40, 165),
    ("spk02", "en-us+f2", "female", 55, 170),
    ("spk03", "en+m1", "male", 45, 160),
    ("spk04", "en+f4", "female", 60, 165),
    ("spk05", "en-us+m7", "male", 35, 175),
    ("spk06", "en+f1", "female", 50, 175),
    ("spk07", "en-gb-x-rp+m2", "male", 42, 170),
    ("spk08", "en-us+f3", "female", 58, 160),
    ("spk09", "en+m5", "male", 38, 168),
    ("spk10", "en-us+f5", "female", 52, 172),
    ("spk11", "en-us+m6", "male", 48, 162),
    ("spk12", "en-gb-x-rp+f2", "female", 62, 168),
)
# emotion -> (pitch offset, range, rate factor, volume, word gap, pre-emphasis, low-pass pole, saturation drive)
PROSODY = {
    "neutral": (0, 45, 1.00, 100, 0, 0.0, 0.0, 0.0),
    "happy": (14, 80, 1.12, 120, 0, 0.3, 0.0, 0.0),
    "sad": (-12, 15, 0.78, 70, 2, 0.0, 0.6, 0.0),
    "angry": (8, 95, 1.20, 150, 0, 0.6, 0.0, 2.5),
}
LAYOUT_VERSION = 1


@dataclass(frozen=True)
class DemoConfig:
    """Size and content of the demo corpus."""

    speakers: int = 8  # the first N of SPEAKERS (at most 12)
    sentences: int = 6  # the first N of SENTENCES per speaker and emotion
    repetitions: int = 1  # renderings of each sentence (each with other jitter)
    keyword_repetitions: int = 2  # 1 s keyword clips per speaker and keyword
    emotions: tuple[str, ...] = ("neutral", "happy", "sad", "angry")  # keys of PROSODY
    keywords: tuple[str, ...] = KEYWORDS  # words spoken alone for the keyword model
    sample_rate: int = 16000  # Hz of the written WAVs
    workers: int = 2  # parallel eSpeak NG processes (bounded: 2 cores)

    def __post_init__(self) -> None:
        check(1 <= self.speakers <= len(SPEAKERS), "speakers", f"must be in 1..{len(SPEAKERS)}, got {self.speakers}")
        check(1 <= self.sentences <= len(SENTENCES), "sentences", f"must be in 1..{len(SENTENCES)}, got {self.sentences}")
        check(1 <= self.repetitions <= 100, "repetitions", f"must be in 1..100, got {self.repetitions}")
        check(self.keyword_repetitions >= 0, "keyword_repetitions", f"must be >= 0, got {self.keyword_repetitions}")
        unknown = [e for e in self.emotions if e not in PROSODY]
        check(not unknown, "emotions", f"unknown emotions {unknown} (known: {sorted(PROSODY)})")
        check(self.sample_rate in (8000, 16000), "sample_rate", f"must be 8000 or 16000, got {self.sample_rate}")


@dataclass(frozen=True)
class DemoResult:
    out: Path
    utterances: int
    keywords: int
    seconds: float
    bytes: int


def _plan(config: DemoConfig, seed: int) -> list[list[tuple[str, dict, SynthJob]]]:
    """Per speaker: (relative wav path, CSV row, job). All randomness from ``seed``."""
    rng = np.random.default_rng(seed)
    batches = []
    for name, voice, gender, base_pitch, base_rate in SPEAKERS[: config.speakers]:
        batch = []
        for emotion in config.emotions:
            d_pitch, p_range, rate_f, volume, gap, *_ = PROSODY[emotion]
            for s, sentence in enumerate(SENTENCES[: config.sentences]):
                for r in range(config.repetitions):
                    jitter = rng.normal(size=4)
                    job = SynthJob(
                        text=sentence, voice=voice,
                        rate=int(np.clip(base_rate * rate_f * (1 + 0.04 * jitter[0]), 80, 450)),
                        volume=int(np.clip(volume * (1 + 0.05 * jitter[1]), 10, 200)),
                        pitch=int(np.clip(base_pitch + d_pitch + 3 * jitter[2], 0, 100)),
                        range=int(np.clip(p_range + 5 * jitter[3], 0, 100)),
                        wordgap=gap, seed=int(rng.integers(1, 2**31 - 1)),
                    )
                    rel = f"wav/{name}/{name}_{emotion}_s{s + 1:02d}_r{r + 1}.wav"
                    batch.append((rel, {"label": emotion, "speaker": name, "gender": gender,
                                        "transcript": sentence, "kind": "utterance"}, job))
        for word in config.keywords:
            for r in range(config.keyword_repetitions):
                jitter = rng.normal(size=3)
                job = SynthJob(
                    text=word, voice=voice, rate=int(np.clip(base_rate * (1 + 0.08 * jitter[0]), 80, 450)),
                    volume=int(np.clip(100 * (1 + 0.1 * jitter[1]), 10, 200)),
                    pitch=int(np.clip(base_pitch + 5 * jitter[2], 0, 100)), range=50,
                    seed=int(rng.integers(1, 2**31 - 1)),
                )
                rel = f"keywords/{word}/{name}_nohash_{r}.wav"
                batch.append((rel, {"label": word, "speaker": name, "gender": gender,
                                    "transcript": word, "kind": "keyword"}, job))
        batches.append(batch)
    return batches


def voice_quality(samples: np.ndarray, emotion: str) -> np.ndarray:
    """Emotion's voice-quality post-filter on float samples in [-1, 1] (shape [n])."""
    _, _, _, _, _, emphasis, pole, drive = PROSODY[emotion]
    x = samples.astype(np.float64)
    if emphasis > 0:  # flatter spectral tilt: tense / bright voice
        x = np.concatenate([x[:1], x[1:] - emphasis * x[:-1]]) / (1 - emphasis * 0.5)
    if pole > 0:  # steeper tilt: lax / dark voice
        from scipy.signal import lfilter

        x = lfilter([1 - pole], [1, -pole], x)
    if drive > 0:  # pressed phonation: soft saturation
        x = np.tanh(drive * x) / np.tanh(drive)
    return x


def _finish(samples: np.ndarray, rate_in: int, rate_out: int, emotion: str | None) -> np.ndarray:
    from scipy.signal import resample_poly

    from edgeser.corpora.audio import to_int16

    x = samples.astype(np.float64) / 32768.0
    if emotion is not None:
        x = voice_quality(x, emotion)
    g = np.gcd(rate_in, rate_out)
    x = resample_poly(x, rate_out // g, rate_in // g)
    return to_int16(np.clip(x, -1.0, 32767 / 32768))


def _wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def generate_demo(out: str | Path, seed: int = 0, config: DemoConfig = DemoConfig()) -> DemoResult:
    """Render the demo corpus into ``out`` (see module doc); same seed and config -> identical bytes."""
    from edgeser.atomic import write_bytes, write_json, write_text

    out = Path(out)
    start = time.perf_counter()
    plan = _plan(config, seed)
    rendered = synthesise_in_fresh_process([[job for _, _, job in batch] for batch in plan], workers=config.workers)
    rows: dict[str, list[dict]] = {"utterance": [], "keyword": []}
    total_bytes = 0
    for batch, (rate, arrays) in zip(plan, rendered):
        for (rel, row, _), samples in zip(batch, arrays):
            emotion = row["label"] if row["kind"] == "utterance" else None
            data = _wav_bytes(_finish(samples, rate, config.sample_rate, emotion), config.sample_rate)
            write_bytes(out / rel, data)
            total_bytes += len(data)
            rows[row["kind"]].append({"path": rel, **{k: row[k] for k in ("label", "speaker", "gender", "transcript")}})
    for kind, name in (("utterance", "utterances.csv"), ("keyword", "keywords.csv")):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["path", "label", "speaker", "gender", "transcript"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[kind])
        write_text(out / name, buffer.getvalue())
    # Speech Commands lists for keywords/: the last speaker is test, the one before validation.
    names = [s[0] for s in SPEAKERS[: config.speakers]]
    val_spk = names[-2] if len(names) >= 3 else None
    test_spk = names[-1] if len(names) >= 2 else None
    for spk, fname in ((val_spk, "validation_list.txt"), (test_spk, "testing_list.txt")):
        lines = [r["path"][len("keywords/"):] for r in rows["keyword"] if r["speaker"] == spk]
        write_text(out / "keywords" / fname, "".join(f"{line}\n" for line in lines))
    write_json(out / "demo.json", {"seed": seed, "layout_version": LAYOUT_VERSION,
                                   "config": {k: list(v) if isinstance(v, tuple) else v
                                              for k, v in asdict(config).items() if k != "workers"}})
    return DemoResult(out, len(rows["utterance"]), len(rows["keyword"]), time.perf_counter() - start, total_bytes)


def read_demo(root: str | Path) -> CorpusReadResult:
    """The demo's emotion utterances (labels neutral/happy/sad/angry)."""
    from edgeser.corpora.generic import read_generic

    return read_generic(root, csv_name="utterances.csv", corpus="demo")


def read_demo_keywords(root: str | Path) -> CorpusReadResult:
    """The demo's keyword clips (label = the word)."""
    from edgeser.corpora.generic import read_generic

    return read_generic(root, csv_name="keywords.csv", corpus="demo_keywords")
