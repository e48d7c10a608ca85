#!/usr/bin/env python3
"""Reference parser for the edgeser board's serial protocol (firmware/README.md).

Standalone (standard library only; pyserial only for --port) so the latency
CLI, tests and a person at a terminal can all use it:

    python3 firmware/tools/serial_protocol.py --port /dev/ttyACM0      # live
    python3 firmware/tools/serial_protocol.py --file board.log --bench  # BENCH table

Line kinds (one per line, "\\r\\n" or "\\n" terminated):
  decision  {"t_ms":..,"emotion":"..","confidence":..,"probs":[..]}
  bench     BENCH begin|stage|end key=value ...
  info      INFO key=value ...   (and anything else: ignore)
  error     ERROR <message>
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Iterable, Optional

DECISION_KEYS = ("t_ms", "emotion", "confidence", "probs")
BENCH_STAGE_INT_KEYS = ("n", "us", "min_us", "max_us", "total_us")


def _kv(tokens: Iterable[str]) -> dict:
    out = {}
    for tok in tokens:
        key, sep, value = tok.partition("=")
        if not sep:
            raise ValueError(f"expected key=value, got {tok!r}")
        out[key] = int(value) if value.lstrip("-").isdigit() else value
    return out


def parse_line(line: str) -> Optional[dict]:
    """One serial line -> {"kind": ..., ...}; None for blank lines.

    Raises ValueError for a malformed decision or BENCH line (those are the
    machine-readable ones; anything else is returned as kind "info"/"error").
    """
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if line.startswith("{"):
        obj = json.loads(line)
        if tuple(obj) != DECISION_KEYS:
            raise ValueError(f"decision keys {tuple(obj)} != {DECISION_KEYS}")
        if not isinstance(obj["probs"], list) or not obj["probs"]:
            raise ValueError("probs must be a non-empty list")
        return {"kind": "decision", **obj}
    if line.startswith("BENCH "):
        tokens = line.split()[1:]
        if not tokens:
            raise ValueError("empty BENCH line")
        if tokens[0] in ("begin", "end"):
            return {"kind": "bench_" + tokens[0], **_kv(tokens[1:])}
        fields = _kv(tokens)
        if "stage" not in fields or any(k not in fields for k in BENCH_STAGE_INT_KEYS):
            raise ValueError(f"BENCH stage line lacks fields: {line!r}")
        return {"kind": "bench_stage", **fields}
    if line.startswith("ERROR"):
        return {"kind": "error", "message": line[5:].strip()}
    return {"kind": "info", "text": line[5:].strip() if line.startswith("INFO ") else line}


def parse_bench(lines: Iterable[str]) -> dict:
    """The last complete BENCH block -> {"begin": {...}, "stages": {name: {...}}, "end": {...}}."""
    block, result = None, None
    for raw in lines:
        try:
            rec = parse_line(raw)
        except (ValueError, json.JSONDecodeError):
            continue
        if rec is None:
            continue
        kind = rec.pop("kind")
        if kind == "bench_begin":
            block = {"begin": rec, "stages": {}}
        elif kind == "bench_stage" and block is not None:
            block["stages"][rec.pop("stage")] = rec
        elif kind == "bench_end" and block is not None:
            if rec.get("stages") != len(block["stages"]):
                raise ValueError(f"BENCH end says {rec.get('stages')} stages, block has {len(block['stages'])}")
            block["end"] = rec
            result, block = block, None
    if result is None:
        raise ValueError("no complete BENCH block (begin ... end) found")
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--port", help="serial device, e.g. /dev/ttyACM0 (needs pyserial)")
    src.add_argument("--file", help="a saved serial log ('-' for stdin)")
    ap.add_argument("--bench", action="store_true", help="print the BENCH block as a table and exit")
    args = ap.parse_args(argv)

    if args.port:
        import serial  # pyserial, installed with the coralmicro SDK's requirements

        port = serial.Serial(args.port, 115200, timeout=None)
        lines = (raw.decode("utf-8", "replace") for raw in iter(port.readline, b""))
    else:
        lines = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8", errors="replace")

    if args.bench:
        block = parse_bench(lines)
        print(f"{'stage':<12} {'n':>6} {'mean_us':>9} {'min_us':>9} {'max_us':>9}")
        for name, s in block["stages"].items():
            print(f"{name:<12} {s['n']:>6} {s['us']:>9} {s['min_us']:>9} {s['max_us']:>9}")
        return 0
    for raw in lines:
        try:
            rec = parse_line(raw)
        except (ValueError, json.JSONDecodeError) as exc:
            print(f"malformed line ({exc}): {raw.rstrip()}", file=sys.stderr)
            continue
        if rec and rec["kind"] == "decision":
            print(f"{rec['t_ms']:>10} ms  {rec['emotion']:<10} {rec['confidence']:.2f}", flush=True)
        elif rec and rec["kind"] == "error":
            print(f"board error: {rec['message']}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
