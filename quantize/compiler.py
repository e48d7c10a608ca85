"""Driver for Coral's ``edgetpu_compiler`` and a parser for what it prints.

Several models are compiled in one call (``edgetpu_compiler -s -o OUT m1 m2 …``) so
that they are co-compiled and share the Edge TPU's on-chip parameter cache.

The compiler's console output (and its ``*_edgetpu.log`` file) looks like::

    Edge TPU Compiler version 16.0.384591198
    Started a compilation timeout timer of 180 seconds.

    Model compiled successfully in 917 ms.

    Input model: model_quant.tflite
    Input size: 5.58MiB
    Output model: model_quant_edgetpu.tflite
    Output size: 5.63MiB
    On-chip memory used for caching model parameters: 21.75KiB
    On-chip memory remaining for caching model parameters: 7.45MiB
    Off-chip memory used for streaming uncached model parameters: 3.00KiB
    Number of Edge TPU subgraphs: 1
    Total number of operations: 23
    Operation log: model_quant_edgetpu.log

    Model successfully compiled but not all operations are supported by the Edge TPU. …
    Number of operations that will run on Edge TPU: 6
    Number of operations that will run on CPU: 17

    Operator                       Count      Status

    CONV_2D                        5          Mapped to Edge TPU
    RESIZE_NEAREST_NEIGHBOR        1          Operation version not supported

With several models, each model's block starts at its ``Input model:`` line. The
``.log`` file uses ``Input:``/``Output:`` instead. (Format taken from compiler output
quoted in google-coral/edgetpu issues #147, #322, #358, #420, #433, #512 and from
Coral's "Edge TPU Compiler" page.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

COMPILER = "edgetpu_compiler"
MAPPED_STATUS = "Mapped to Edge TPU"

_UNITS = {"B": 1, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "KB": 1000, "MB": 1000**2, "GB": 1000**3}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMG]?i?B)\s*$", re.IGNORECASE)
_OP_LINE_RE = re.compile(r"^([A-Z][A-Z0-9_]*)\s+(\d+)\s+(\S.*?)\s*$")


def parse_size(text: str) -> int:
    """``"1.23MiB"`` -> bytes (int). Units: B, KiB, MiB, GiB (and KB/MB/GB as powers of 1000)."""
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(round(float(m.group(1)) * _UNITS[m.group(2).upper()]))


@dataclass
class OperatorLine:
    """One row of the ``Operator  Count  Status`` table."""

    operator: str
    count: int
    status: str

    @property
    def mapped(self) -> bool:
        return self.status == MAPPED_STATUS


@dataclass
class CompiledModel:
    """Everything the compiler reported for one input model (sizes in bytes)."""

    input_model: str
    output_model: str | None = None
    input_size_bytes: int | None = None
    output_size_bytes: int | None = None
    on_chip_used_bytes: int | None = None
    on_chip_remaining_bytes: int | None = None
    off_chip_used_bytes: int | None = None
    edgetpu_subgraphs: int | None = None
    total_ops: int | None = None
    tpu_ops: int | None = None
    cpu_ops: int | None = None
    operation_log: str | None = None
    operators: list[OperatorLine] = field(default_factory=list)

    @property
    def fully_mapped(self) -> bool:
        return self.cpu_ops == 0


@dataclass
class CompilerLog:
    """A parsed compiler run: version, timing, one :class:`CompiledModel` per input."""

    version: str | None = None
    compile_ms: int | None = None
    success: bool = False
    models: list[CompiledModel] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_KEYS = {
    "input model": ("input_model", str),
    "input": ("input_model", str),
    "output model": ("output_model", str),
    "output": ("output_model", str),
    "input size": ("input_size_bytes", parse_size),
    "output size": ("output_size_bytes", parse_size),
    "on-chip memory used for caching model parameters": ("on_chip_used_bytes", parse_size),
    "on-chip memory remaining for caching model parameters": ("on_chip_remaining_bytes", parse_size),
    "off-chip memory used for streaming uncached model parameters": ("off_chip_used_bytes", parse_size),
    "number of edge tpu subgraphs": ("edgetpu_subgraphs", int),
    "total number of operations": ("total_ops", int),
    "number of operations that will run on edge tpu": ("tpu_ops", int),
    "number of operations that will run on cpu": ("cpu_ops", int),
    "operation log": ("operation_log", str),
}


def parse_compiler_log(text: str) -> CompilerLog:
    """Parse the compiler's console output or its ``.log`` file."""
    log = CompilerLog()
    current: CompiledModel | None = None
    partial_warning: set[int] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = re.match(r"Edge TPU Compiler version (\S+)", line)
        if m:
            log.version = m.group(1)
            continue
        m = re.match(r"Model compiled successfully in (\d+) ms", line)
        if m:
            log.compile_ms = int(m.group(1))
            log.success = True
            continue
        if line.startswith("Model successfully compiled but not all operations"):
            if current is not None:
                partial_warning.add(id(current))
            continue
        if line.lower().startswith(("error", "internal compiler error", "invalid model", "compilation failed")):
            log.errors.append(line)
            continue
        if ":" in line:
            key, _, value = line.partition(":")
            spec = _KEYS.get(key.strip().lower())
            if spec is not None:
                attr, conv = spec
                value = value.strip()
                if attr == "input_model":
                    current = CompiledModel(input_model=value)
                    log.models.append(current)
                    continue
                if current is None:
                    continue
                try:
                    setattr(current, attr, conv(value))
                except ValueError:
                    log.errors.append(f"unparsed line: {line}")
                continue
        if current is not None and not line.startswith("Operator"):
            m = _OP_LINE_RE.match(line)
            if m:
                current.operators.append(OperatorLine(m.group(1), int(m.group(2)), m.group(3)))
    for model in log.models:
        if model.operators:
            tpu = sum(o.count for o in model.operators if o.mapped)
            cpu = sum(o.count for o in model.operators if not o.mapped)
            if model.tpu_ops is None:
                model.tpu_ops = tpu
            if model.cpu_ops is None:
                model.cpu_ops = cpu
        elif model.total_ops is not None and id(model) not in partial_warning:
            # A fully mapped model prints no per-op counts.
            if model.cpu_ops is None:
                model.cpu_ops = 0
            if model.tpu_ops is None:
                model.tpu_ops = model.total_ops
    if "Compilation succeeded" in text or "Compilation child process completed" in text:
        log.success = log.success or not log.errors
    return log


def find_compiler() -> str | None:
    """Path of ``edgetpu_compiler`` on PATH, or None."""
    return shutil.which(COMPILER)


def missing_compiler_message() -> str:
    return (
        "edgetpu_compiler was not found on PATH. Coral publishes it only as the Debian package "
        "`edgetpu-compiler` in its own package repository (https://packages.cloud.google.com/apt, "
        "suite `coral-edgetpu-stable`; see https://coral.ai/docs/edgetpu/compiler/), and it runs on "
        "x86-64 Linux only (not on ARM64 or macOS; Coral also offers a Colab notebook). Until it is "
        "installed, `edgeser check MODEL.tflite` predicts op by op what the compiler would map and "
        "where it would split the model."
    )


@dataclass
class CompileResult:
    """A compiler run: the command, exit status, raw output and the parsed log."""

    command: list[str]
    returncode: int
    output: str
    log: CompilerLog
    outputs: list[Path]


def compile_models(
    models: Sequence[Path | str],
    out_dir: Path | str,
    extra_args: Sequence[str] = (),
    timeout_s: float = 600.0,
    compiler: str | None = None,
) -> CompileResult:
    """Co-compile ``models`` into ``out_dir`` (one call, shared parameter cache).

    Raises FileNotFoundError with :func:`missing_compiler_message` when the compiler is absent.
    """
    exe = compiler or find_compiler()
    if exe is None:
        raise FileNotFoundError(missing_compiler_message())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "-s", "-o", str(out), *extra_args, *[str(m) for m in models]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    text = proc.stdout + ("\n" + proc.stderr if proc.stderr else "")
    log = parse_compiler_log(text)
    if proc.returncode != 0:
        log.success = False
    outputs = [out / f"{Path(m).stem}_edgetpu.tflite" for m in models]
    return CompileResult(cmd, proc.returncode, text, log, [p for p in outputs if p.exists()])


RUN_COMPILED = ("keyword", "acoustic")  # coralmicro caches at most two models' parameters; fusion stays on the M7


def compile_run(run, compiler: str | None = None):
    """Co-compile a run's keyword and acoustic int8 models into ``RUN/edgetpu/``; the parsed
    log goes to ``RUN/compile.json`` (recorded in the manifest, shown by the report)."""
    import dataclasses

    models = [run.path / f"{name}_int8.tflite" for name in RUN_COMPILED]
    missing = [m.name for m in models if not m.is_file()]
    if missing:
        raise FileNotFoundError(f"{run.path}: the run has no {', '.join(missing)}; run `edgeser quantize {run.path}` first")
    result = compile_models(models, run.path / "edgetpu", compiler=compiler)
    run.write_json("compile.json", dataclasses.asdict(result), "compile", sources=tuple(m.name for m in models))
    return result
