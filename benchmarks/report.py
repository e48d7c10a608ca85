"""Presentation of benchmark results: rich tables, the bench.json document, histograms.

``bench.json`` (schema ``edgeser.bench/1``)::

    {"schema": "edgeser.bench/1", "created": ISO time, "host": {...},
     "settings": {"backend", "variant", "warmup", "runs", "input"},
     "results":    [ {model, backend, variant, label, inputs, stats{n,min_ms,median_ms,p90_ms,p99_ms,max_ms,mean_ms},
                      samples_ms[], ops[]?, ops_sum_ms?} ],
     "predictions": [ Prediction.to_dict() ]     # labelled "predicted", never measured
     "comparisons": [ {a, b, ratio_of_medians} ],
     "pipeline":   {...} | null,
     "board":      {header, stages[], footer} | null}
"""

from __future__ import annotations

import datetime as _dt
import platform
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SCHEMA = "edgeser.bench/1"


def _ms(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def host_info() -> dict[str, Any]:
    import os

    return {
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "system": platform.system(),
    }


def make_document(settings: dict[str, Any], results=None, predictions=None, comparisons=None, pipeline=None, board=None) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": host_info(),
        "settings": settings,
        "results": results or [],
        "predictions": predictions or [],
        "comparisons": comparisons or [],
        "pipeline": pipeline,
        "board": board,
    }


def latency_table(results: list[dict[str, Any]], title: str = "Measured latency (ms per invocation)") -> Table:
    t = Table(title=title)
    for col in ("model", "backend", "runs", "min", "median", "p90", "p99", "max"):
        t.add_column(col, justify="left" if col in ("model", "backend") else "right")
    for r in results:
        s = r["stats"]
        t.add_row(Path(r["model"]).name, r["label"], str(s["n"]), _ms(s["min_ms"]), _ms(s["median_ms"]), _ms(s["p90_ms"]), _ms(s["p99_ms"]), _ms(s["max_ms"]))
    return t


def ops_table(result: dict[str, Any]) -> Table:
    total = result.get("ops_sum_ms") or 0.0
    t = Table(title=f"{Path(result['model']).name} on {result['label']}: per-op median (each op run alone); sum {total:.3f} ms vs whole-model median {result['stats']['median_ms']:.3f} ms")
    for col in ("#", "op", "MACs", "median ms", "share"):
        t.add_column(col, justify="right" if col not in ("op",) else "left")
    for o in result["ops"]:
        m = o.get("median_ms")
        share = f"{100 * m / total:.1f} %" if (m is not None and total) else "—"
        t.add_row(str(o["index"]), o["op"], f"{o['macs']:,}" if o.get("macs") is not None else "—", _ms(m, 4) if m is not None else o.get("error", "—"), share)
    return t


def prediction_table(preds: list[dict[str, Any]]) -> Table:
    t = Table(title="PREDICTED Dev Board Micro latency (analytic model, not a measurement; see docs/benchmarks.md)")
    for col in ("model", "ops TPU/CPU", "MACs", "params", "Edge TPU ms", "M7 ms", "predicted ms", "M7-only ms"):
        t.add_column(col, justify="left" if col == "model" else "right")
    for p in preds:
        t.add_row(
            Path(p["model"]).name,
            f"{p['ops_edgetpu']}/{p['ops_cpu']}",
            f"{p['macs_total']:,}",
            f"{p['param_bytes']:,} B",
            _ms(p["edgetpu"].get("total_ms")) if p["edgetpu"] else "—",
            _ms(p["cpu_ms"]),
            _ms(p["total_ms"]),
            _ms(p["cpu_only_ms"]),
        )
    return t


def comparison_table(comps: list[dict[str, Any]]) -> Table:
    t = Table(title="A/B comparison (interleaved in one process)")
    for col in ("A", "B", "backend", "median A", "median B", "A/B"):
        t.add_column(col, justify="left" if col in ("A", "B", "backend") else "right")
    for c in comps:
        r = c["ratio_of_medians"]
        t.add_row(Path(c["a"]["model"]).name, Path(c["b"]["model"]).name, c["label"], _ms(c["a"]["stats"]["median_ms"]), _ms(c["b"]["stats"]["median_ms"]), "—" if r is None else f"{r:.3f}")
    return t


def pipeline_table(p: dict[str, Any]) -> Table:
    t = Table(
        title=(
            f"Pipeline on {p['audio_seconds']:.2f} s of audio ({p['frames']} frames): frontend + "
            f"{p['keyword_windows']} keyword windows + acoustic + fusion, {p['backend']}"
            + (f"/{p['variant']}" if p.get("variant") else "")
        )
    )
    for col in ("stage", "min", "median", "p90", "p99", "max"):
        t.add_column(col, justify="left" if col == "stage" else "right")
    for name, s in p["stages"].items():
        t.add_row(name, _ms(s["min_ms"]), _ms(s["median_ms"]), _ms(s["p90_ms"]), _ms(s["p99_ms"]), _ms(s["max_ms"]))
    return t


def board_table(b: dict[str, Any], url: str = "") -> Table:
    h = b.get("header", {})
    t = Table(title=f"Board {h.get('board', '')} {url} (measured on the board; mean/min/max per stage, no percentiles reported)")
    for col in ("stage", "n", "mean ms", "min ms", "max ms", "total ms"):
        t.add_column(col, justify="left" if col == "stage" else "right")
    for s in b["stages"]:
        def f(v):
            return "—" if v is None else f"{v / 1000:.3f}"

        t.add_row(s["name"], "—" if s["n"] is None else str(s["n"]), f(s["mean_us"]), f(s["min_us"]), f(s["max_us"]), f(s["total_us"]))
    return t


def print_document(doc: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    if doc["results"]:
        console.print(latency_table(doc["results"]))
        console.print(f"inputs: {doc['results'][0]['inputs']}")
        for r in doc["results"]:
            if r.get("ops"):
                console.print(ops_table(r))
    if doc["comparisons"]:
        console.print(comparison_table(doc["comparisons"]))
    if doc["pipeline"]:
        console.print(pipeline_table(doc["pipeline"]))
        pp = doc["pipeline"].get("predicted")
        if pp and "error" not in pp:
            console.print(
                f"PREDICTED on the Dev Board Micro (analytic model, not measured): clip {pp['clip_ms']:.2f} ms "
                f"({pp['frames']} frontend frames + {pp['keyword_windows']} keyword windows + acoustic + fusion); "
                f"streaming decision {pp['streaming_decision_ms']:.2f} ms"
            )
    if doc["board"]:
        console.print(board_table(doc["board"], doc["settings"].get("port", "")))
    if doc["predictions"]:
        console.print(prediction_table(doc["predictions"]))


def write_histograms(doc: dict[str, Any], out_dir: Path) -> list[Path]:
    """One PNG per measured model and backend (+ the pipeline): histogram of invocation times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgeser.atomic import atomic_path

    written: list[Path] = []
    series = [(f"{Path(r['model']).stem}_{r['label'].replace('/', '-')}", f"{Path(r['model']).name} on {r['label']}", r["samples_ms"], r["stats"]) for r in doc["results"]]
    if doc["pipeline"]:
        p = doc["pipeline"]
        series.append(("pipeline", "pipeline end to end", p["samples_ms"], p["stages"]["total"]))
    used: set[str] = set()
    for stem, title, samples, stats in series:
        name = stem
        n = 2
        while name in used:
            name, n = f"{stem}_{n}", n + 1
        used.add(name)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(samples, bins=min(50, max(5, len(samples) // 4)), color="#4477aa")
        ax.axvline(stats["median_ms"], color="k", linestyle="--", label=f"median {stats['median_ms']:.3f} ms")
        ax.axvline(stats["p99_ms"], color="#cc6677", linestyle=":", label=f"p99 {stats['p99_ms']:.3f} ms")
        ax.set_xlabel("ms per invocation")
        ax.set_ylabel("count")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / f"hist_{name}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)
        written.append(path)
    return written
