"""Noise robustness of a trained run: UAR of acoustic-only and fusion vs SNR and noise kind.

    edgeser noise RUN_DIR --corpus NAME --data ROOT [--snr clean,20,10,5,0] [--kinds white,pink,babble]
                          [--device-channel] [--backend keras|tflm] [--limit N]

Protocol (after Tiwari et al., EDRL-MEA). Every usable clip of the corpus (labels the
run knows, as in ``edgeser evaluate``; ``--limit N`` keeps N clips dealt round-robin over
the classes from a seeded shuffle) is corrupted once per *condition*:

* ``clean``: the audio as read (the reference; always scored);
* ``<kind> <snr> dB`` for every noise kind × SNR: ``corpora.augment`` noise (white,
  pink, or babble of ``talkers`` stretches of *other* clips of the set) mixed in at the
  SNR over the whole clip. If the mix would exceed int16 full scale, clip and noise are
  attenuated together (the SNR is kept; ``attenuated`` counts such clips). The realised
  SNR of every corrupted clip is measured and reported (mean/min/max per condition);
* ``device`` (``--device-channel``): a re-recording through the simulated MEMS
  microphone in a small room (``corpora.augment.device_channel``).

Randomness: clip ``i`` of kind ``k`` draws its noise from ``default_rng([seed, k, i])``,
so one noise realisation is used at every SNR of a kind (only its level changes), and
the same seed gives the same numbers.

Model inputs are made exactly as ``edgeser evaluate`` makes them (the run's frontend
through ``compute_features``, centre crop/pad with ``fit_frames``, ``keyword_windows``),
so the clean row equals ``evaluate_run`` on the same clips. ``keras`` scores the float
models, ``tflm`` the int8 models on the TFLite-Micro interpreter chained as on the board.

Output in ``RUN/noise/`` (atomic writes, recorded in the run's manifest under the stage
``noise``): ``noise_<backend>.json``, ``noise_<backend>.md`` (the table) and
``noise_<backend>.png`` (UAR vs SNR per model and noise kind, clean as a reference line).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edgeser.evaluation.evaluate import BACKENDS, MODEL_TITLES, EvaluateError
from edgeser.settings import SettingsError, check

KINDS = ("white", "pink", "babble")
DEVICE = "device"
CLEAN = "clean"
MODELS = ("acoustic", "fusion")
_KIND_CODE = {"white": 1, "pink": 2, "babble": 3, DEVICE: 4}  # rng stream of each kind
STAGE = "noise"


@dataclass(frozen=True)
class NoiseSettings:
    """What to sweep. ``snrs`` in dB (clean is always scored as the reference)."""

    snrs: tuple[float, ...] = (20.0, 10.0, 5.0, 0.0)
    kinds: tuple[str, ...] = KINDS
    device_channel: bool = False
    backend: str = "keras"
    limit: int | None = None  # keep at most this many clips (None: all)
    seed: int = 0
    talkers: int = 4  # babble: number of overlapping other clips

    def __post_init__(self) -> None:
        check(len(self.snrs) > 0, "snr", "empty list: give at least one SNR in dB (e.g. 20,10,5,0)")
        check(all(math.isfinite(s) for s in self.snrs), "snr", f"every SNR must be a finite number of dB, got {list(self.snrs)}")
        check(len(set(self.snrs)) == len(self.snrs), "snr", f"repeated SNR in {list(self.snrs)}")
        check(len(self.kinds) > 0, "kinds", f"empty list: give at least one of {', '.join(KINDS)}")
        unknown = [k for k in self.kinds if k not in KINDS]
        check(not unknown, "kinds", f"unknown noise kind(s) {unknown} (known: {', '.join(KINDS)})")
        check(len(set(self.kinds)) == len(self.kinds), "kinds", f"repeated kind in {list(self.kinds)}")
        check(self.backend in BACKENDS, "backend", f"must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        check(self.limit is None or self.limit >= 1, "limit", f"must be at least 1, got {self.limit}")
        check(self.talkers >= 1, "talkers", f"must be at least 1, got {self.talkers}")


def parse_snrs(text: str) -> tuple[float, ...]:
    """``"clean,20,10,5,0"`` -> ``(20.0, 10.0, 5.0, 0.0)`` (``clean`` is always scored; it is accepted and skipped)."""
    values = []
    for token in (t.strip() for t in text.split(",")):
        if not token or token.lower() == CLEAN:
            continue
        try:
            values.append(float(token.lower().removesuffix("db")))
        except ValueError:
            raise SettingsError("snr", f"{token!r} is neither a number of dB nor 'clean'") from None
    if not values:
        raise SettingsError("snr", f"empty list in {text!r}: give at least one SNR in dB (e.g. clean,20,10,5,0)")
    return tuple(values)


def parse_kinds(text: str) -> tuple[str, ...]:
    """``"white,pink"`` -> ``("white", "pink")``; unknown or no kinds raise :class:`SettingsError`."""
    kinds = tuple(t.strip().lower() for t in text.split(",") if t.strip())
    NoiseSettings(kinds=kinds)  # validates
    return kinds


@dataclass(frozen=True)
class Condition:
    """One row of the sweep: ``kind`` in clean | white | pink | babble | device; ``snr_db`` for noise kinds."""

    kind: str
    snr_db: float | None = None

    @property
    def name(self) -> str:
        return f"{self.kind} {self.snr_db:g} dB" if self.snr_db is not None else self.kind


def conditions(settings: NoiseSettings) -> list[Condition]:
    """clean, then every kind × SNR (in the given orders), then device when asked for."""
    rows = [Condition(CLEAN)] + [Condition(k, float(s)) for k in settings.kinds for s in settings.snrs]
    return rows + ([Condition(DEVICE)] if settings.device_channel else [])


# -- audio -> corrupted audio ------------------------------------------------------------------
def corrupt(audio: np.ndarray, condition: Condition, rng: np.random.Generator, others: Sequence[np.ndarray] = (),
            sample_rate: int = 16000, talkers: int = 4) -> tuple[np.ndarray, float | None, float]:
    """int16 ``audio`` [samples] under ``condition`` -> (int16 [samples], realised SNR in dB or None, gain).

    Noise kinds: the noise is scaled to ``condition.snr_db`` over the whole clip; when
    the mix peaks above int16 full scale, clip and noise are both multiplied by ``gain``
    (< 1) so nothing clips and the SNR holds. The realised SNR is measured on the int16
    result against ``gain * audio``. ``others``: the clips babble is built from.
    """
    from edgeser.corpora.augment import add_noise, babble_noise, device_channel, like, make_noise, snr_db, to_float

    audio = np.asarray(audio)
    if audio.dtype != np.int16 or audio.ndim != 1:
        raise TypeError(f"audio must be 1-D int16, got {audio.dtype} with shape {audio.shape}")
    if condition.kind == CLEAN:
        return audio.copy(), None, 1.0
    if condition.kind == DEVICE:
        return device_channel(audio, sample_rate, rng), None, 1.0
    clean = to_float(audio)
    if condition.kind == "babble":
        noise = babble_noise(clean.size, others, rng, talkers)
    else:
        noise = make_noise(condition.kind, clean.size, rng)
    mixed = add_noise(clean, noise, float(condition.snr_db))
    peak = float(np.max(np.abs(mixed))) if mixed.size else 0.0
    gain = min(1.0, (32767.0 / 32768.0) / peak) if peak > 0 else 1.0
    noisy = like(mixed * gain, audio)
    return noisy, snr_db(clean * gain, noisy), gain


# -- clips of a corpus ----------------------------------------------------------------------
@dataclass
class SweepClips:
    """The clips of the sweep: int16 audio, label indices into the run's emotions [N], paths."""

    audio: list[np.ndarray]
    y: np.ndarray
    paths: list[str]
    unknown_labels: dict[str, int]
    problems: list[tuple[str, str]]
    speakers: list[str]  # [N]: a speaker-normalised fusion head runs each speaker's clips as one session


def _deal(y: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` clips, round-robin over the classes of a seeded shuffle (sorted)."""
    if limit is None or limit >= len(y):
        return np.arange(len(y))
    order = np.random.default_rng(seed).permutation(len(y))
    queues = {c: [i for i in order if y[i] == c] for c in sorted(set(y.tolist()))}
    picked: list[int] = []
    while len(picked) < limit:
        for c in queues:
            if queues[c] and len(picked) < limit:
                picked.append(queues[c].pop(0))
    return np.sort(np.array(picked, np.int64))


def load_sweep_clips(run, corpus: str, root: str | Path, limit: int | None = None, seed: int = 0) -> SweepClips:
    """Read ``corpus`` at ``root``; keep the clips whose label the run knows (as ``evaluate`` does), then ``limit``."""
    from edgeser.datasets import utterance_audio
    from edgeser.evaluation.evaluate import known_clips
    from edgeser.corpora.audio import AudioError

    root = Path(root)
    kept, unknown, problems, emotions, readable = known_clips(run, corpus, root)
    audio, labels, paths, speakers = [], [], [], []
    for utt, label in kept:
        try:
            audio.append(utterance_audio(utt, run.recipe.frontend.sample_rate))
        except AudioError as exc:
            problems.append((exc.path, exc.reason))
            continue
        labels.append(label)
        paths.append(str(utt.path))
        speakers.append(str(utt.speaker))
    if not audio:
        raise EvaluateError(
            f"{root}: no usable clips in the {corpus} corpus for this run ({readable} readable clip(s); "
            f"labels the run does not know: {dict(sorted(unknown.items())) or 'none'}; the run knows {', '.join(emotions)})"
        )
    y = np.array(labels, np.int64)
    pick = _deal(y, limit, seed)
    return SweepClips([audio[i] for i in pick], y[pick], [paths[i] for i in pick], unknown, problems,
                      [speakers[i] for i in pick])


# -- the sweep --------------------------------------------------------------------------------
def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"mean": float(np.mean(values)), "min": float(np.min(values)), "max": float(np.max(values))}


def noise_sweep(run_dir: str | Path, corpus: str, data: str | Path, settings: NoiseSettings = NoiseSettings(),
                progress: bool = True) -> dict[str, Any]:
    """Score the run under every condition; writes JSON, table and plot into ``RUN/noise/``; returns the JSON."""
    from tqdm.auto import tqdm

    from edgeser.evaluation.evaluate import open_run, result_header
    from edgeser.evaluation.predictor import Predictor, clip_inputs
    from edgeser.metrics import score

    start = time.perf_counter()
    run = open_run(run_dir, settings.backend)
    emotions = run.labels()["emotions"]
    clips = load_sweep_clips(run, corpus, data, settings.limit, settings.seed)
    if "babble" in settings.kinds and len(clips.audio) < 2:
        raise EvaluateError(f"{data}: babble noise is built from other clips of the set; only {len(clips.audio)} clip(s)")
    predictor = Predictor.from_run(run, settings.backend)
    rate = run.recipe.frontend.sample_rate
    rows = []
    bar = tqdm(conditions(settings), desc="noise conditions", unit="condition", disable=not progress)
    for condition in bar:
        bar.set_postfix_str(condition.name)
        code = _KIND_CODE.get(condition.kind, 0)
        corrupted, realised, attenuated = [], [], 0
        for i, audio in enumerate(clips.audio):
            rng = np.random.default_rng([settings.seed, code, i])
            others = [a for j, a in enumerate(clips.audio) if j != i] if condition.kind == "babble" else ()
            try:
                noisy, snr, gain = corrupt(audio, condition, rng, others, rate, settings.talkers)
            except SettingsError as exc:  # a silent clip has no SNR
                raise EvaluateError(f"{clips.paths[i]}: cannot corrupt it under {condition.name}: {exc}") from None
            corrupted.append(noisy)
            if snr is not None:
                realised.append(snr)
            attenuated += gain < 1.0
        x, windows = clip_inputs(corrupted, run.recipe)
        logits = predictor(x, windows, speakers=clips.speakers)
        rows.append({
            "condition": condition.name,
            "kind": condition.kind,
            "snr_db": condition.snr_db,
            "realised_snr_db": _stats(realised),
            "attenuated": int(attenuated),
            "scores": {m: score(clips.y, logits[m].argmax(-1), len(emotions)).to_dict() for m in MODELS},
        })
    out = Path(STAGE)
    result = {
        **result_header(run, corpus, data, settings.backend, emotions, clips),
        "class_counts": {e: int(c) for e, c in zip(emotions, np.bincount(clips.y, minlength=len(emotions)))},
        "paths": clips.paths,
        "settings": {"snrs": list(settings.snrs), "kinds": list(settings.kinds), "device_channel": settings.device_channel,
                     "limit": settings.limit, "seed": settings.seed, "talkers": settings.talkers},
        "unknown_labels": dict(sorted(clips.unknown_labels.items())),
        "unreadable": [{"path": p, "reason": r} for p, r in clips.problems],
        "rows": rows,
        "seconds": round(time.perf_counter() - start, 2),
    }
    png = out / f"noise_{settings.backend}.png"
    plot_noise(result, run.path / png)
    run.record(png, STAGE)
    run.write_text(out / f"noise_{settings.backend}.md", markdown_table(result), STAGE)
    result["plot"] = str(run.path / png)
    json_name = out / f"noise_{settings.backend}.json"
    result["json"] = str(run.path / json_name)
    with run.locked():
        run.write_json(json_name, result, STAGE, sources=run.model_files())
    return result


# -- reports ----------------------------------------------------------------------------------
def _cells(row: dict) -> list[str]:
    cells = []
    for m in MODELS:
        s = row["scores"][m]
        cells += [f"{s['ua']:.3f}", f"{s['macro_f1']:.3f}"]
    realised = row["realised_snr_db"]
    cells.append("-" if realised is None else f"{realised['mean']:.2f}")
    return cells


def _headers() -> list[str]:
    return [f"{MODEL_TITLES[m]} {k}" for m in MODELS for k in ("UAR", "F1")] + ["realised SNR dB"]


def format_table(result: dict[str, Any]):
    """A rich table: one row per condition (clean, kind × SNR, device), UAR and macro-F1 of each model."""
    from rich.table import Table

    table = Table(title=f"{result['recipe']} under noise: {result['corpus']} ({result['backend']}, {result['clips']} clips)")
    table.add_column("condition")
    for header in _headers():
        table.add_column(header, justify="right")
    for row in result["rows"]:
        table.add_row(row["condition"], *_cells(row), style="bold" if row["kind"] == CLEAN else None)
    return table


def markdown_table(result: dict[str, Any]) -> str:
    """The same table as Markdown."""
    headers = ["condition"] + _headers()
    lines = [f"# {result['recipe']} under noise: {result['corpus']} ({result['backend']}, {result['clips']} clips)", "",
             "| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
    lines += ["| " + " | ".join([row["condition"], *_cells(row)]) + " |" for row in result["rows"]]
    return "\n".join(lines) + "\n"


def plot_noise(result: dict[str, Any], path: str | Path) -> Path:
    """UAR vs SNR, one panel per model, one line per noise kind; clean (and device) as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgeser.atomic import atomic_path

    rows = result["rows"]
    fig, axes = plt.subplots(1, len(MODELS), figsize=(5.2 * len(MODELS), 4.0), sharey=True, squeeze=False)
    chance = 1.0 / max(1, len(result["labels"]))
    for ax, model in zip(axes[0], MODELS):
        for kind in result["settings"]["kinds"]:
            points = sorted((r["snr_db"], r["scores"][model]["ua"]) for r in rows if r["kind"] == kind)
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=kind)
        for r in rows:
            if r["kind"] == CLEAN:
                ax.axhline(r["scores"][model]["ua"], color="black", linestyle="--", label="clean")
            elif r["kind"] == DEVICE:
                ax.axhline(r["scores"][model]["ua"], color="tab:purple", linestyle=":", label="device channel")
        ax.axhline(chance, color="grey", linewidth=0.8, label="chance")
        ax.set(title=MODEL_TITLES[model], xlabel="SNR (dB)", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("UAR")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{result['recipe']} on {result['corpus']}: {result['backend']}, {result['clips']} clips")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)
