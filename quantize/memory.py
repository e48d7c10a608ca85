"""Memory of what ships: model flash, TFLite-Micro arena, frontend working memory.

``flash_bytes``  the .tflite as stored (the C array in firmware), bytes.
``arena_bytes``  the tensor arena TFLite-Micro actually needs for the model: the
                 interpreter is built with the allocation-recording allocator and run
                 once; the recorded "Arena allocation total" is then confirmed as the
                 smallest arena (16-byte steps) that allocates and invokes. Measured on
                 the host (64-bit), so pointer-holding structs are larger than on the
                 32-bit Cortex-M7: an upper bound for the board.
``frontend_working_bytes``  the MicroFrontend's state, computed from FrontendConfig.

The Dev Board Micro budget (DESIGN.md): 1.8 MB hard budget, 1.25 MB usable OCRAM goal.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from edgeser.quantize.edgetpu_check import NotATFLiteModel

_TOTAL_RE = re.compile(r"Arena allocation total (\d+) bytes")
_ALIGN = 16


@dataclass(frozen=True)
class ModelMemory:
    """Bytes one model needs: flash (weights + graph) and RAM (TFLM arena)."""

    flash_bytes: int
    arena_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.flash_bytes + self.arena_bytes


@dataclass
class MemoryReport:
    """Per-model memory plus totals against the budget (all in bytes)."""

    models: dict[str, ModelMemory]
    frontend_bytes: int
    budget_bytes: int
    goal_bytes: int
    notes: list[str] = field(default_factory=list)
    speaker_norm_bytes: int = 0  # speaker statistics (RAM) and prior (flash), fusion.input_norm: speaker

    @property
    def flash_total(self) -> int:
        return sum(m.flash_bytes for m in self.models.values())

    @property
    def arena_total(self) -> int:
        """Arenas summed: models that run one after the other could share one arena
        (then the max applies); the sum is the safe figure when they are all resident."""
        return sum(m.arena_bytes for m in self.models.values())

    @property
    def total_bytes(self) -> int:
        return self.flash_total + self.arena_total + self.frontend_bytes + self.speaker_norm_bytes

    @property
    def over_budget(self) -> bool:
        return self.total_bytes > self.budget_bytes

    @property
    def over_goal(self) -> bool:
        return self.total_bytes > self.goal_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": {name: asdict(m) for name, m in self.models.items()},
            "frontend_bytes": self.frontend_bytes,
            "speaker_norm_bytes": self.speaker_norm_bytes,
            "flash_total": self.flash_total,
            "arena_total": self.arena_total,
            "total_bytes": self.total_bytes,
            "budget_bytes": self.budget_bytes,
            "goal_bytes": self.goal_bytes,
            "over_budget": self.over_budget,
            "over_goal": self.over_goal,
            "notes": list(self.notes),
        }


def _read(model: bytes | bytearray | str | Path) -> bytes:
    """The bytes of a readable, full-int8 .tflite; :class:`NotATFLiteModel` naming the file otherwise
    (unreadable, not a flatbuffer, truncated, or with float inputs/outputs)."""
    from edgeser.quantize.edgetpu_check import load_model

    parsed, name = load_model(model)
    data = bytes(model) if isinstance(model, (bytes, bytearray, memoryview)) else Path(model).read_bytes()
    graph = parsed.subgraphs[0]
    for role, indices in (("input", graph.inputs), ("output", graph.outputs)):
        for i in indices:
            t = graph.tensors[int(i)]
            if t.type not in (9, 3):  # TensorType INT8, UINT8
                tname = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
                raise NotATFLiteModel(
                    f"{name} is not a full-int8 model ({role} {tname!r} is not int8): the board runs full-int8 "
                    "models only; quantise it first (`edgeser quantize RUN`)."
                )
    return data


@contextlib.contextmanager
def _quiet_fd2():
    """Silence the C library's allocation-failure messages (written to fd 2) while probing."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _try_arena(model: bytes, arena_size: int):
    """An interpreter that allocated and invoked once with ``arena_size``, or None."""
    with _quiet_fd2():
        return _try_arena_loud(model, arena_size)


def _try_arena_loud(model: bytes, arena_size: int):
    from tflite_micro.python.tflite_micro import runtime

    try:
        interp = runtime.Interpreter.from_bytes(model, arena_size=int(arena_size))
        i = 0
        while True:
            try:
                details = interp.get_input_details(i)
            except Exception:
                break
            interp.set_input(np.zeros(tuple(details["shape"]), dtype=details["dtype"]), i)
            i += 1
        interp.invoke()
        return interp
    except RuntimeError:
        return None


@contextlib.contextmanager
def _captured_fd2():
    """Collect what the C library writes to fd 2 during the block: yields a list that
    holds the text once the block ends."""
    captured: list[str] = []
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read().decode("utf-8", "replace"))


def _recorded_total(interp) -> int | None:
    """Parse the RecordingMicroAllocator's "Arena allocation total" (printed to fd 2)."""
    with _captured_fd2() as text:
        interp.print_allocations()
    m = _TOTAL_RE.search(text[0])
    return int(m.group(1)) if m else None


class ArenaError(RuntimeError):
    """TFLite-Micro cannot allocate or run a model (its own message is kept)."""


def _tflm_failure(model: bytes, arena_size: int) -> str:
    """What TFLite-Micro says when it fails on ``model`` (its stderr and exception text)."""
    from tflite_micro.python.tflite_micro import runtime

    said = ""
    with _captured_fd2() as text:
        try:
            runtime.Interpreter.from_bytes(model, arena_size=int(arena_size)).invoke()
        except Exception as exc:  # the C++ side's failure, as the binding raises it
            said = str(exc)
    logged = text[0]
    lines = [line.strip() for line in (logged + "\n" + said).splitlines() if line.strip()]
    return "; ".join(dict.fromkeys(lines))[:500] or "no message"


def measure_arena(model: bytes) -> int:
    """Smallest tensor arena (bytes, multiple of 16) with which TFLM allocates and invokes."""
    roomy = max(64 * 1024, len(model) * 10)
    interp = None
    while interp is None:
        interp = _try_arena(model, roomy)
        if interp is None:
            if roomy > 256 * 1024 * 1024:
                raise ArenaError(f"TFLite-Micro cannot run this model: {_tflm_failure(model, roomy)}")
            roomy *= 4
    hint = _recorded_total(interp) or roomy
    hint = -(-hint // _ALIGN) * _ALIGN
    # Binary search in [lo, hi] for the smallest working multiple of 16; start near the hint.
    if _try_arena(model, hint) is not None:
        hi, lo = hint, max(_ALIGN, hint // 2)
        if _try_arena(model, lo) is not None:
            lo = _ALIGN
    else:
        lo, hi = hint, roomy
    while hi - lo > _ALIGN:
        mid = (lo + hi) // 2 // _ALIGN * _ALIGN
        if mid <= lo:
            break
        if _try_arena(model, mid) is not None:
            hi = mid
        else:
            lo = mid
    return hi


def measure_model(model: bytes | bytearray | str | Path) -> ModelMemory:
    """Flash and TFLM arena of one int8 .tflite (path or bytes)."""
    data = _read(model)
    try:
        return ModelMemory(flash_bytes=len(data), arena_bytes=measure_arena(data))
    except ArenaError as exc:
        name = "<bytes>" if isinstance(model, (bytes, bytearray, memoryview)) else str(model)
        raise ArenaError(f"{name}: {exc}") from None


def frontend_working_bytes(config: Any) -> int:
    """Working memory (bytes) of the TFLite-Micro MicroFrontend C library for ``config``.

    What ``FrontendPopulateState`` allocates, with ``N`` = ``num_channels``,
    ``W`` = ``window_samples``, ``F`` = ``fft_size`` (``H = F/2 + 1`` bins):

    * window (``window_util.c``): coefficients, input, output int16[W]       = 6 W
    * FFT (``fft_util.c``): input int16[F], output complex int16[H]           = 2 F + 4 H
      + kiss_fftr scratch: the F/2-point complex state (4 bytes per twiddle)
        and the real-FFT super-twiddles and buffer (≈ 3F bytes), ≈ 5 F + 300
    * filterbank (``filterbank_util.c``): start/weight-start/width int16[N+1]
      + weights and unweights int16[≤ H + 4 (N+1)] + work uint64[N+1]         = 6 (N+1) + 4 (H + 4 (N+1)) + 8 (N+1)
    * noise reduction (if enabled): estimate uint32[N]                        = 4 N
    * PCAN (if enabled): gain LUT int16[125]                                  = 250
    * log scale and the uint16 output work in place on the filterbank buffer  = 0

    Small structs (< 100 bytes) are not counted; the weight count is bounded from above.
    """
    n = int(config.num_channels)
    w = int(config.window_samples)
    f = int(config.fft_size)
    h = f // 2 + 1
    total = 6 * w
    total += 2 * f + 4 * h + 5 * f + 300
    total += 6 * (n + 1) + 4 * (h + 4 * (n + 1)) + 8 * (n + 1)
    if getattr(config, "noise_reduction", True):
        total += 4 * n
    if getattr(config, "pcan", True):
        total += 2 * 125
    return total


def speaker_norm_bytes(dims: int) -> int:
    """Bytes of the firmware's speaker normalisation for ``dims`` fusion inputs
    (``edgeser::SpeakerNorm`` + the pipeline's centred buffer: 4 doubles, 2 int64 and 2 int32
    per dimension in RAM; the prior's mean and variance, 2 doubles per dimension, in flash)."""
    return int(dims) * (4 * 8 + 2 * 8 + 2 * 4 + 2 * 8)


def memory_report(
    models: Mapping[str, str | Path | bytes],
    frontend_bytes: int,
    budget_bytes: int,
    goal_bytes: int,
    speaker_norm: int = 0,
) -> MemoryReport:
    """Measure each model and sum everything against the budget and the goal
    (``speaker_norm``: :func:`speaker_norm_bytes` when the fusion head is speaker-normalised)."""
    measured = {name: measure_model(src) for name, src in models.items()}
    report = MemoryReport(measured, int(frontend_bytes), int(budget_bytes), int(goal_bytes),
                          speaker_norm_bytes=int(speaker_norm))
    report.notes.append("arena measured on the host (64-bit): an upper bound for the 32-bit Cortex-M7")
    return report


def recipe_memory_report(recipe: Any, models: Mapping[str, str | Path | bytes]) -> MemoryReport:
    """:func:`memory_report` of a recipe's device models (keyword, acoustic, fusion) against its
    budget: the frontend's working memory and, with ``fusion.input_norm: speaker``, the speaker
    statistics for the fusion head's inputs (the pipeline's memory stage and ``edgeser tune``)."""
    speaker = 0
    if recipe.fusion.input_norm == "speaker":
        from edgeser.quantize.c_export import io_quantization

        fusion = models["fusion"]
        data = fusion if isinstance(fusion, (bytes, bytearray)) else Path(fusion).read_bytes()
        speaker = speaker_norm_bytes(sum(int(np.prod(t.shape)) for t in io_quantization(bytes(data))[0]))
    return memory_report(models, frontend_working_bytes(recipe.frontend), recipe.budget.memory_bytes,
                         recipe.budget.memory_goal_bytes, speaker)


def _kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB"


def format_memory_table(report: MemoryReport):
    """A rich Table with one row per model, the frontend, and the totals."""
    from rich.table import Table

    table = Table(title="Memory (flash + TFLite-Micro arena + frontend)")
    for col in ("part", "flash", "RAM (arena / state)", "total"):
        table.add_column(col, justify="right" if col != "part" else "left")
    for name, m in report.models.items():
        table.add_row(name, _kib(m.flash_bytes), _kib(m.arena_bytes), _kib(m.total_bytes))
    table.add_row("frontend", "", _kib(report.frontend_bytes), _kib(report.frontend_bytes))
    if report.speaker_norm_bytes:
        table.add_row("speaker statistics + prior", "", "", _kib(report.speaker_norm_bytes))
    status = "[red]over budget[/red]" if report.over_budget else ("[yellow]over goal[/yellow]" if report.over_goal else "[green]ok[/green]")
    table.add_row(
        "total",
        _kib(report.flash_total),
        _kib(report.arena_total + report.frontend_bytes),  # the speaker rows are in the total column
        f"{_kib(report.total_bytes)} / budget {_kib(report.budget_bytes)}, goal {_kib(report.goal_bytes)} {status}",
    )
    return table
