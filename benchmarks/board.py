"""The ``board`` backend: per-stage timings from the firmware's benchmark build over USB serial.

Protocol: firmware/README.md, section "Serial protocol" (formatters in
firmware/core/src/serial_format.cc, printed by firmware/app/main.cc). A
benchmark build (``EDGESER_BENCHMARK_DECISIONS=N`` > 0) runs the live pipeline on the
microphone and, after N decisions, prints one block and stops::

    BENCH begin version=1 board=coral-dev-board-micro cpu_mhz=800 arena=ocram arena_bytes=524288 decisions=20
    BENCH stage=frontend n=745 us=312 min_us=290 max_us=402 total_us=232440
    ...one line per stage (frontend, keyword, acoustic, fusion, postprocess, report, decision)...
    BENCH end stages=7 decisions=20

Lines end in ``\\r\\n``. ``us`` is the mean per call (rounded), ``n`` the calls, and
``min_us``/``max_us``/``total_us`` what the names say; the board reports no
percentiles, so median/p90/p99 stay empty for this backend. The ``decision`` stage
is the end-to-end time of one decision (frontend step of the triggering frame, its
keyword run, acoustic, fusion, postprocess, report). Other lines are skipped:
JSON decision lines, ``INFO …``; an ``ERROR …`` line (the firmware's fatal-error
report) ends the read with that message. The firmware reads nothing from the serial
port, so by default nothing is sent; ``command`` sends a line first if a later
firmware wants one. The older minimal form ``BENCH stage=<name> us=<int>`` with
``BENCH done`` as the end marker is accepted too.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from edgeser.benchmarks.latency import BenchError

DEFAULT_BAUD = 115200
DEFAULT_TIMEOUT_S = 120.0


@dataclass
class StageTiming:
    name: str
    n: int | None
    mean_us: int
    min_us: int | None = None
    max_us: int | None = None
    total_us: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BoardBench:
    header: dict[str, str] = field(default_factory=dict)
    stages: list[StageTiming] = field(default_factory=list)
    footer: dict[str, str] = field(default_factory=dict)
    skipped_lines: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "header": dict(self.header),
            "footer": dict(self.footer),
            "stages": [s.to_dict() for s in self.stages],
            "skipped_lines": self.skipped_lines,
        }


def _fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for tok in text.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def _int(d: dict[str, str], key: str, line: str, required: bool = False) -> int | None:
    if key not in d:
        if required:
            raise BenchError(f"the board sent a BENCH stage line without {key}=: {line!r}.")
        return None
    try:
        return int(d[key])
    except ValueError:
        raise BenchError(f"the board sent a BENCH line whose {key} is not an integer: {line!r}.") from None


class BenchParser:
    """Feed lines; ``done`` becomes True at ``BENCH end`` / ``BENCH done``."""

    def __init__(self) -> None:
        self.result = BoardBench()
        self.done = False
        self.begun = False

    def feed(self, raw: str | bytes) -> None:
        line = (raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else raw).strip()
        if not line:
            return
        if line.startswith("ERROR"):
            raise BenchError(f"the board reported an error instead of timings: {line[5:].strip() or line}.")
        if not line.startswith("BENCH"):
            self.result.skipped_lines += 1
            return
        rest = line[5:].strip()
        if rest.startswith("begin"):
            self.begun = True
            self.result = BoardBench(header=_fields(rest[5:]), skipped_lines=self.result.skipped_lines)
        elif rest.startswith("stage="):
            d = _fields(rest)
            self.result.stages.append(
                StageTiming(
                    name=d["stage"],
                    n=_int(d, "n", line),
                    mean_us=_int(d, "us", line, required=True),
                    min_us=_int(d, "min_us", line),
                    max_us=_int(d, "max_us", line),
                    total_us=_int(d, "total_us", line),
                )
            )
        elif rest.startswith("end") or rest == "done":
            self.result.footer = _fields(rest[3:]) if rest.startswith("end") else {}
            expected = self.result.footer.get("stages")
            if expected is not None and expected.isdigit() and int(expected) != len(self.result.stages):
                raise BenchError(
                    f"the board announced {expected} BENCH stages but sent {len(self.result.stages)}; "
                    "the serial read lost lines."
                )
            self.done = True
        else:
            self.result.skipped_lines += 1


def parse_bench_lines(lines: Iterable[str | bytes]) -> BoardBench:
    """Parse a recorded serial log; raises when it holds no complete BENCH block."""
    p = BenchParser()
    for line in lines:
        p.feed(line)
        if p.done:
            return p.result
    raise BenchError("the serial log holds no complete BENCH block (no 'BENCH end' line).")


def open_port(url: str, baudrate: int = DEFAULT_BAUD, timeout: float = 0.5):
    """``serial.serial_for_url`` with one clear sentence when the device is missing."""
    import serial

    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout)
    except (serial.SerialException, OSError, ValueError) as exc:
        errno = getattr(exc, "errno", None)
        reason = os.strerror(errno).lower() if isinstance(errno, int) else (str(exc).strip() or type(exc).__name__)
        raise BenchError(f"cannot open serial device {url}: {reason}.") from None


def read_board_bench(port: Any, command: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S, name: str = "the board") -> BoardBench:
    """Optionally send ``command``, then read lines until the BENCH block ends.

    ``port`` is an open pyserial port (or anything with ``readline``/``write``).
    """
    if command:
        port.write((command.rstrip("\r\n") + "\r\n").encode())
        if hasattr(port, "flush"):
            port.flush()
    parser = BenchParser()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        raw = port.readline()
        if not raw:
            continue
        parser.feed(raw)
        if parser.done:
            return parser.result
    got = "a partial BENCH block" if parser.begun else "no BENCH block"
    raise BenchError(
        f"{name} sent {got} within {timeout_s:g} s: flash a benchmark build "
        "(EDGESER_BENCHMARK_DECISIONS > 0) and check the port."
    )


def board_bench(url: str, command: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S, baudrate: int = DEFAULT_BAUD) -> BoardBench:
    port = open_port(url, baudrate=baudrate)
    try:
        return read_board_bench(port, command=command, timeout_s=timeout_s, name=f"serial device {url}")
    finally:
        port.close()
