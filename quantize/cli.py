"""Command-line entry points of the quantize stage (mounted by ``edgeser.cli``).

``edgeser check MODEL.tflite…``   static Edge TPU compatibility prediction
``edgeser memory MODEL.tflite…``  flash + TFLite-Micro arena per model and in total
``edgeser compile MODEL.tflite… | --run RUN`` run Coral's compiler when it is installed
``edgeser convert MODEL.onnx --calibration X --out DIR`` a user's ONNX model to int8 + its check
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from edgeser.exits import BAD_INPUT, FAILED
from rich.console import Console


def _load_recipe(console: Console, recipe: Optional[Path]):
    if recipe is None:
        return None
    from edgeser.recipe import load_recipe
    from edgeser.settings import SettingsError

    try:
        return load_recipe(recipe)
    except (SettingsError, OSError) as exc:
        console.print(f"[red]invalid recipe {recipe}:[/red] {exc}")
        raise typer.Exit(BAD_INPUT)


def check(
    models: List[Path] = typer.Argument(..., help="int8 .tflite files to check."),
    json_out: bool = typer.Option(False, "--json", help="Print the reports as JSON instead of tables."),
    recipe: Optional[Path] = typer.Option(None, help="Recipe whose FrontendConfig the models must store."),
    lenient: bool = typer.Option(
        False, "--lenient", help="Apply only the letter of Coral's op table (allow MEAN/SUM over channels when z % 4 == 0)."
    ),
) -> None:
    """Predict op by op which ops the Edge TPU compiler maps; exit 1 when anything falls back to the CPU
    (2 when a file is not a readable model)."""
    from edgeser.quantize.edgetpu_check import NotATFLiteModel, check_model, format_table, summary_line

    console = Console()
    rec = _load_recipe(console, recipe)
    reports, errors = [], []
    for path in models:
        try:
            reports.append(check_model(path, strict=not lenient, frontend=None if rec is None else rec.frontend))
        except NotATFLiteModel as exc:
            errors.append(str(exc))
    if json_out:
        print(json.dumps({"reports": [r.to_dict() for r in reports], "errors": errors}, indent=2))
    else:
        for report in reports:
            console.print(format_table(report))
            for note in report.notes:
                console.print(f"note: {note}")
            console.print(summary_line(report))
        for err in errors:
            console.print(f"[red]error:[/red] {err}")
    if errors:
        raise typer.Exit(BAD_INPUT)
    if any(not r.fully_mapped or r.frontend_problem for r in reports):
        raise typer.Exit(FAILED)


def memory(
    models: Optional[List[Path]] = typer.Argument(None, help="int8 .tflite files (all shipped together)."),
    recipe: Optional[Path] = typer.Option(None, help="Recipe giving the FrontendConfig and the budget (defaults otherwise)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    link_map: Optional[Path] = typer.Option(
        None, help="GNU ld map of a board build (firmware/build/board/output.map): bytes per RT1176 memory."
    ),
    run_dir: Optional[Path] = typer.Option(
        None, "--run", help="With --link-map: record the figures in this run folder (link_map.json, in its report)."
    ),
) -> None:
    """Measure flash and TFLite-Micro arena per model, or a board build's memories from its link map.

    Exit 1 when the models' total is over the budget or a memory of the link overflows.
    """
    console = Console()
    if link_map is not None:
        _memory_link_map(console, link_map, run_dir, json_out)
        if not models:
            return
    if not models:
        console.print("[red]error:[/red] give int8 .tflite files, or --link-map")
        raise typer.Exit(BAD_INPUT)
    from edgeser.frontend import FrontendConfig
    from edgeser.quantize.edgetpu_check import NotATFLiteModel
    from edgeser.quantize.memory import ArenaError, format_memory_table, frontend_working_bytes, memory_report
    from edgeser.recipe import BudgetSettings

    rec = _load_recipe(console, recipe)
    frontend = FrontendConfig() if rec is None else rec.frontend
    budget = BudgetSettings() if rec is None else rec.budget
    try:
        report = memory_report(
            {p.stem: p for p in models},
            frontend_bytes=frontend_working_bytes(frontend),
            budget_bytes=budget.memory_bytes,
            goal_bytes=budget.memory_goal_bytes,
        )
    except (NotATFLiteModel, ArenaError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    if json_out:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        console.print(format_memory_table(report))
    if report.over_budget:
        raise typer.Exit(FAILED)


def _memory_link_map(console: Console, link_map: Path, run_dir: Optional[Path], json_out: bool) -> None:
    """Print (and with ``run_dir`` record) the per-memory figures of a board link."""
    from edgeser.quantize.link_map import format_table, memory_use, parse_link_map, to_json
    from edgeser.rundir import RunDir, RunDirError

    try:
        use = memory_use(*parse_link_map(link_map.read_text(encoding="utf-8", errors="replace")))
    except (OSError, ValueError) as exc:
        console.print(f"[red]error:[/red] {link_map}: {exc}")
        raise typer.Exit(BAD_INPUT)
    doc = {"link_map": str(link_map), "memories": to_json(use)}
    if json_out:
        print(json.dumps(doc, indent=2))
    else:
        print(format_table(use))
    if run_dir is not None:
        try:
            RunDir.open(run_dir).write_json("link_map.json", doc, "firmware")
        except RunDirError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(BAD_INPUT)
        console.print(f"recorded in {run_dir / 'link_map.json'}")
    over = [m.memory for m in use.values() if m.used > m.size]
    if over:
        console.print(f"[red]error:[/red] {', '.join(over)} overflowed")
        raise typer.Exit(FAILED)


def compile_edgetpu(
    models: Optional[List[Path]] = typer.Argument(None, help="int8 .tflite files, co-compiled in one call."),
    run_dir: Optional[Path] = typer.Option(None, "--run", help="A run folder: co-compile its keyword and acoustic "
                                           "int8 models into RUN/edgetpu and record the log in RUN/compile.json."),
    out_dir: Path = typer.Option(Path("edgetpu"), "--out-dir", "-o", help="Folder for the *_edgetpu.tflite files."),
    json_out: bool = typer.Option(False, "--json", help="Print the parsed compiler log as JSON."),
) -> None:
    """Co-compile models with Coral's edgetpu_compiler (shared parameter cache); exit 1 on failure or CPU
    fallback, 2 when the compiler is not installed."""
    from edgeser.quantize.compiler import compile_models, compile_run, find_compiler, missing_compiler_message
    from edgeser.rundir import RunDir

    console = Console()
    if bool(models) == (run_dir is not None):
        Console(stderr=True).print("[red]error:[/red] give MODEL.tflite files or --run RUN (one of the two)")
        raise typer.Exit(BAD_INPUT)
    if find_compiler() is None:
        Console(stderr=True).print(missing_compiler_message(), soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    try:
        result = compile_run(RunDir.open(run_dir)) if run_dir is not None else compile_models(models, out_dir)
    except FileNotFoundError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    if json_out:
        print(json.dumps(result.log.to_dict(), indent=2))
    else:
        console.print(result.output)
    if result.returncode != 0 or not result.log.success or any(not m.fully_mapped for m in result.log.models):
        raise typer.Exit(FAILED)


def convert(
    model: Path = typer.Argument(..., help="An ONNX model (e.g. from torch.onnx.export(..., dynamo=False))."),
    calibration: Path = typer.Option(..., "--calibration", help="Calibration inputs in the ONNX layout: FEATURES.npy "
                                     "[N, ...], a .npz keyed by input name, or a folder of .npy files."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for <name>_int8.tflite and <name>_check.json."),
    name: Optional[str] = typer.Option(None, "--name", help="Base name of the outputs (default: the model's file name)."),
    keep_layout: bool = typer.Option(False, "--keep-layout", help="Keep the ONNX input layout (adds a TRANSPOSE the "
                                     "Edge TPU does not map) instead of onnx2tf's channels-last input."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON instead of the table."),
) -> None:
    """ONNX -> onnx2tf -> full int8 (calibrated) -> Edge TPU check, and the int8 model's agreement with the float
    ONNX model on the calibration examples; exit 1 when an op falls back to the CPU, 2 when it cannot convert."""
    from edgeser.evaluation.onnx_import import convert_onnx
    from edgeser.quantize.edgetpu_check import format_table, summary_line
    from edgeser.quantize.onnx_convert import OnnxConvertError, onnx2tf_available

    err = Console(stderr=True)
    if out.exists() and not out.is_dir():
        err.print(f"[red]error:[/red] --out {out} is a file; it must be a folder")
        raise typer.Exit(BAD_INPUT)
    missing = onnx2tf_available()
    if missing:
        err.print(f"[red]error:[/red] {missing}", soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    try:
        doc, report = convert_onnx(model, calibration, out, name, keep_layout)
    except OnnxConvertError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    if json_out:
        print(json.dumps(doc, indent=2))
    else:
        console = Console()
        console.print(format_table(report))
        agree = doc["int8_vs_float"]
        shapes = ", ".join(f"{i['name']} {i['onnx_shape']} -> {i['int8_shape']}" for i in doc["inputs"])
        console.print(f"inputs: {shapes} ({doc['layout']})")
        console.print(f"int8 vs float ONNX on {doc['calibration']['examples']} calibration examples: argmax agreement "
                      f"{agree['argmax_agreement']:.1%}, mean |error| {agree['mean_abs_error']:.4g}")
        console.print(summary_line(report))
        console.print(f"wrote {doc['tflite']} ({doc['tflite_bytes']} B) and {doc['report']}")
    if not report.fully_mapped:
        raise typer.Exit(FAILED)
