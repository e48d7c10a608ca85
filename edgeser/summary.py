"""The end-of-run summary: one table from what the stages wrote into the run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from edgeser.rundir import RunDir


def _load(run: RunDir, name: str) -> Any:
    file = run.path / name
    return json.loads(file.read_text()) if file.is_file() else None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def summary_rows(run: RunDir) -> list[tuple[str, str, str, str]]:
    """(section, item, value, reference) rows for whatever stages have finished."""
    rows: list[tuple[str, str, str, str]] = []
    float_scores = (_load(run, "train_metrics.json") or {}).get("scores", {})
    int8_scores = (_load(run, "evaluate.json") or {}).get("scores", {})
    for name in ("acoustic", "keyword", "fusion"):
        f, q = float_scores.get(name), int8_scores.get(name)
        if f:
            rows.append(("accuracy (test split, float)", name, f"WA {_pct(f['wa'])}  UA {_pct(f['ua'])}  F1 {_pct(f['macro_f1'])}", ""))
        if q:
            rows.append(("accuracy (test split, int8 on TFLite-Micro)", name, f"WA {_pct(q['wa'])}  UA {_pct(q['ua'])}  F1 {_pct(q['macro_f1'])}", ""))
    if "fusion" in float_scores and "acoustic" in float_scores:
        gain = float_scores["fusion"]["macro_f1"] - float_scores["acoustic"]["macro_f1"]
        rows.append(("fusion gain", "fusion − acoustic macro-F1 (float)", f"{100 * gain:+.1f} points", "paper: +6.3"))
    quant = (_load(run, "quantize_report.json") or {}).get("models", {})
    for name, report in quant.items():
        delta = report["int8_macro_f1"] - report["float_macro_f1"]
        rows.append((
            "int8 vs float (test split)",
            name,
            f"macro-F1 int8 − float {100 * delta:+.2f} pts, argmax agreement {_pct(report['argmax_agreement'])} %",
            "goal: loss ≤ 0.5 pts",
        ))
    memory = _load(run, "memory.json")
    if memory:
        for name, m in memory["models"].items():
            rows.append(("memory", name, f"flash {m['flash_bytes'] / 1024:.1f} KiB + arena {m['arena_bytes'] / 1024:.1f} KiB", ""))
        rows.append(("memory", "frontend working memory", f"{memory['frontend_bytes'] / 1024:.1f} KiB", ""))
        if memory.get("speaker_norm_bytes"):
            rows.append(("memory", "speaker statistics + prior", f"{memory['speaker_norm_bytes'] / 1024:.1f} KiB", ""))
        total = memory["total_bytes"]
        rows.append(("memory", "total", f"{total / 1e6:.3f} MB", f"paper budget {memory['budget_bytes'] / 1e6:.1f} MB; goal {memory['goal_bytes'] / 1e6:.1f} MB"))
    bench = _load(run, "bench.json")
    checked = _load(run, "latency.json")
    predicted = (checked or {}).get("predicted")
    for backend, sub in (bench or {}).get("backends", {}).items():
        pipe = sub.get("pipeline") or {}
        stages = pipe.get("stages")
        if stages:
            parts = ", ".join(f"{k} {stages[k]['median_ms']:.2f}" for k in ("frontend", "keyword", "acoustic", "fusion"))
            rows.append(("latency (median ms, one clip)", f"host {backend}", f"{stages['total']['median_ms']:.2f} ({parts})", ""))
        predicted = predicted or pipe.get("predicted")
    if predicted and "clip_ms" in predicted:
        rows.append(("latency", "PREDICTED Dev Board Micro, one clip", f"{predicted['clip_ms']:.1f} ms", "paper: 21–23 ms"))
        budget = f"budget {checked['budget_ms']:g} ms{': OVER' if checked['over_budget'] else ''}" if checked else ""
        rows.append(("latency", "PREDICTED Dev Board Micro, streaming decision",
                     f"{predicted['streaming_decision_ms']:.1f} ms", budget))
    check = _load(run, "check.json")
    if check:
        for name, report in check.items():
            total = report["mapped_count"] + report["cpu_count"]
            rows.append(("Edge TPU (predicted by edgeser check)", name, f"{report['mapped_count']}/{total} ops mapped", "goal: 100 %"))
    from edgeser.pipeline import DEMO_STAGES

    stages = run.manifest().get("stages", {})
    order = [s.name for s in DEMO_STAGES] + sorted(set(stages) - {s.name for s in DEMO_STAGES})
    total = 0.0
    for name in order:
        info = stages.get(name)
        if info and info.get("recipe_sha256") == run.recipe_sha256:
            total += info["seconds"]
            rows.append(("stage time", name, f"{info['seconds']:.1f} s", ""))
    if total:
        rows.append(("stage time", "all stages", f"{total:.1f} s", "goal: < 15 min on 2 cores"))
    return rows


def print_summary(run: RunDir, console: Console | None = None) -> Path:
    """Print the summary table and write it as ``summary.md`` into the run; returns that path."""
    console = console or Console()
    table = Table(title=f"edgeser — run {run.recipe.name} ({run.path})", show_lines=False)
    for column in ("section", "item", "value", "reference"):
        table.add_column(column)
    rows = summary_rows(run)
    previous = None
    for section, item, value, reference in rows:
        table.add_row(section if section != previous else "", item, value, reference)
        previous = section
    console.print(table)
    lines = ["| section | item | value | reference |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return run.write_text("summary.md", "\n".join(lines) + "\n", "summary")
