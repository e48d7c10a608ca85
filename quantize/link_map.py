"""Per-memory use of a linked board app, read from the GNU ld link map.

The coralmicro SDK links every app with ``-Map=output.map``. The map's "Memory
Configuration" lists the linker script's regions (``m_text``, ``m_data``, …) and its
section list gives each output section's address, size and, when it is copied at
start-up, its load address. This module folds both into the RT1176's four memories:

=======  ===========================  =======================================
memory   linker regions (SDK M7)      holds
=======  ===========================  =======================================
ITCM     m_interrupts, m_text         code, read-only data (linked models!), and the
                                      start-up copies of .data / .sdram_data
DTCM     m_ncache, m_data             .data, .bss, the main stack
OCRAM    m_ocram, rpmsg_sh_mem        TFLite-Micro, lwIP and other library code
SDRAM    m_heap, m_sdram              the 16 MB heap (models read from LFS live
                                      there), .sdram_bss (the tensor arena)
=======  ===========================  =======================================

A section counts in the memory of its address, and its size counts a second time in
the memory of its load address when that differs (initialised data stored in ITCM).
Zero-initialised sections (``*bss*``, ``.stack``, ``.heap``, ``.noinit*``) have no load
image. Sections outside every region (debug info) are ignored.

Standard library only: ``python3 quantize/link_map.py output.map [--json OUT]`` runs
without edgeser's virtual environment (``make -C firmware app`` calls it that way).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import asdict, dataclass, field

__all__ = ["MEMORIES", "Region", "MemoryUse", "parse_link_map", "memory_use", "format_table", "main"]

# RT1176 memories by address range [begin, end) (reference manual's memory map).
MEMORIES = {
    "ITCM": (0x0000_0000, 0x0004_0000),
    "DTCM": (0x2000_0000, 0x2004_0000),
    "OCRAM": (0x2020_0000, 0x2036_0000),
    "SDRAM": (0x8000_0000, 0x8400_0000),
}
_NOBITS = re.compile(r"bss|^\.stack$|^\.heap$|^\.noinit|^\.ncache$")
_REGION = re.compile(r"^(\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)(?:\s+\S+)?\s*$")
_SECTION = re.compile(r"^(\.[^\s]+)?\s*0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)(?:\s+load address 0x([0-9a-fA-F]+))?\s*$")


@dataclass(frozen=True)
class Region:
    """One MEMORY region of the linker script (bytes)."""

    name: str
    origin: int
    length: int

    def holds(self, address: int) -> bool:
        return self.origin <= address < self.origin + self.length


@dataclass(frozen=True)
class Section:
    """One output section: run address, size and load address (bytes)."""

    name: str
    address: int
    size: int
    load_address: int


@dataclass
class MemoryUse:
    """Used and available bytes of one RT1176 memory, and what uses it."""

    memory: str
    used: int = 0
    size: int = 0
    regions: list[str] = field(default_factory=list)
    sections: dict[str, int] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return self.size - self.used


def parse_link_map(text: str) -> tuple[list[Region], list[Section]]:
    """Regions of "Memory Configuration" and the top-level output sections of a GNU ld map."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Memory Configuration")
        body = next(i for i, line in enumerate(lines) if line.strip() == "Linker script and memory map")
    except StopIteration:
        raise ValueError("not a GNU ld link map: no 'Memory Configuration' / 'Linker script and memory map'") from None
    regions = []
    for line in lines[start + 1 : body]:
        m = _REGION.match(line.strip())
        if m and m.group(1) not in ("Name", "*default*"):
            regions.append(Region(m.group(1), int(m.group(2), 16), int(m.group(3), 16)))
    if not regions:
        raise ValueError("link map lists no memory regions")

    sections: list[Section] = []
    pending = None  # a long section name goes on its own line, the numbers on the next
    for line in lines[body + 1 :]:
        if line.startswith("."):
            name = line.split()[0]
            m = _SECTION.match(line)
            if m and m.group(1):
                sections.append(_section(name, m))
                pending = None
            else:
                pending = name
        elif pending is not None:
            m = _SECTION.match(line)
            if m and not m.group(1):
                sections.append(_section(pending, m))
            pending = None
    return regions, sections


def _section(name: str, m: re.Match) -> Section:
    address = int(m.group(2), 16)
    load = int(m.group(4), 16) if m.group(4) else address
    return Section(name, address, int(m.group(3), 16), load)


def _memory_of(address: int) -> str | None:
    return next((name for name, (lo, hi) in MEMORIES.items() if lo <= address < hi), None)


def memory_use(regions: list[Region], sections: list[Section]) -> dict[str, MemoryUse]:
    """Bytes used / available per RT1176 memory (see the module docstring for the rules)."""
    use = {name: MemoryUse(name) for name in MEMORIES}
    for region in regions:
        memory = _memory_of(region.origin)
        if memory is not None:
            use[memory].size += region.length
            use[memory].regions.append(region.name)

    def add(memory: str, name: str, size: int) -> None:
        use[memory].used += size
        use[memory].sections[name] = use[memory].sections.get(name, 0) + size

    for s in sections:
        if s.size == 0 or not any(r.holds(s.address) for r in regions):
            continue
        memory = _memory_of(s.address)
        if memory is None:
            continue
        add(memory, s.name, s.size)
        load_memory = _memory_of(s.load_address)
        if s.load_address != s.address and load_memory and not _NOBITS.search(s.name):
            add(load_memory, f"{s.name} (load image)", s.size)
    return use


def format_table(use: dict[str, MemoryUse]) -> str:
    """A fixed-width table: memory, used, size, free, % used, largest sections."""
    rows = [f"{'memory':<6} {'used B':>10} {'size B':>10} {'free B':>10} {'used':>7}  largest sections"]
    for m in use.values():
        top = sorted(m.sections.items(), key=lambda kv: -kv[1])[:3]
        pct = f"{100.0 * m.used / m.size:.1f}%" if m.size else "-"
        rows.append(
            f"{m.memory:<6} {m.used:>10} {m.size:>10} {m.free:>10} {pct:>7}  "
            + ", ".join(f"{n} {b}" for n, b in top)
        )
    return "\n".join(rows)


def to_json(use: dict[str, MemoryUse]) -> dict:
    return {name: {**asdict(m), "free": m.free} for name, m in use.items()}


def main(argv: list[str] | None = None) -> int:
    """``link_map.py MAP [--json OUT]``: print the table; exit 1 when a memory overflows, 2 when the
    map cannot be read (``edgeser.exits``' convention; this file runs without the package)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("map", help="GNU ld link map (the SDK writes output.map in the build folder)")
    parser.add_argument("--json", help="also write the figures to this JSON file (atomically)")
    args = parser.parse_args(argv)
    try:
        with open(args.map, encoding="utf-8", errors="replace") as f:
            use = memory_use(*parse_link_map(f.read()))
    except (OSError, ValueError) as e:
        print(f"error: {args.map}: {e}", file=sys.stderr)
        return 2
    print(format_table(use))
    if args.json:
        folder = os.path.dirname(os.path.abspath(args.json))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".link_map.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(to_json(use), f, indent=2)
        os.replace(tmp, args.json)
    over = [m.memory for m in use.values() if m.used > m.size]
    if over:
        print(f"error: {', '.join(over)} overflowed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
