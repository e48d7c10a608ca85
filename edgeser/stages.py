"""Run a sequence of stages in a run folder, resuming after the last finished one.

A stage is a named function ``fn(run: RunDir) -> dict`` that writes its outputs
through the run folder (so the manifest records them) and returns a small summary.
:func:`run_stages` skips a stage the manifest shows as done under the current
recipe with intact files, times the others, and marks each finished only after it
returned — so an interrupted or failed stage is simply run again next time, and
the outputs of the stages before it stay as they were. Once one stage runs, all
later stages run too, since what they read may have changed; and a stage that
finished before a stage it follows (e.g. quantise before a retraining) is stale.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from rich.console import Console

from edgeser.rundir import RunDir

StageFn = Callable[[RunDir], dict]


@dataclass(frozen=True)
class Stage:
    name: str
    fn: StageFn
    description: str


@dataclass
class StageResult:
    name: str
    seconds: float
    skipped: bool
    summary: dict[str, Any] = field(default_factory=dict)


def run_stages(run: RunDir, stages: list[Stage], console: Console | None = None) -> list[StageResult]:
    """Run ``stages`` in order in ``run``; returns one result per stage."""
    console = console or Console(stderr=True)
    with run.locked():
        return _run_locked(run, stages, console)


def _run_locked(run: RunDir, stages: list[Stage], console: Console) -> list[StageResult]:
    results: list[StageResult] = []
    rerun = False  # once a stage runs, every later one does too: its inputs may have changed
    latest = ""  # finish time of the stages before; a stage finished before them is stale
    for number, stage in enumerate(stages, start=1):
        label = f"[{number}/{len(stages)}] {stage.name}"
        info = run.manifest()["stages"].get(stage.name, {})
        why = run.stage_status(stage.name)
        if not rerun and why is None and info.get("finished_at", "") >= latest:
            latest = info["finished_at"]
            console.print(f"[dim]{label}: done earlier ({info['seconds']:.1f} s), skipped[/dim]")
            results.append(StageResult(stage.name, float(info["seconds"]), True, info.get("summary", {})))
            continue
        if info and not rerun:  # it had finished: say why it runs again
            why = why or "an earlier stage finished after it"
            console.print(f"[yellow]{label}: redone because {why}[/yellow]")
        rerun = True
        console.rule(f"{label}: {stage.description}")
        start = time.perf_counter()
        summary = stage.fn(run) or {}
        seconds = time.perf_counter() - start
        json.dumps(summary)  # a stage's summary must be JSON-ready; fail here, not at resume
        run.finish_stage(stage.name, seconds, summary=summary)
        latest = run.manifest()["stages"][stage.name]["finished_at"]
        console.print(f"[green]{label}: finished in {seconds:.1f} s[/green]")
        results.append(StageResult(stage.name, seconds, False, summary))
    return results
