"""Memory report, compiler log parser, C array export."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)

from edgeser.frontend import FrontendConfig
from edgeser.quantize.compiler import compile_models, missing_compiler_message, parse_compiler_log, parse_size

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def tiny_int8() -> bytes:
    from edgeser.quantize.convert import edgeser_metadata, quantize_keras_model

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(2)
    i = L.Input((10, 1, 6), batch_size=1)
    x = L.Conv2D(8, 1, activation="relu")(i)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(3)(x)
    rng = np.random.default_rng(0)
    meta = edgeser_metadata(FrontendConfig().to_json(), ["neutral", 'say "hi"', "sad"])
    return quantize_keras_model(tf.keras.Model(i, x), [rng.standard_normal((1, 10, 1, 6)).astype(np.float32) for _ in range(4)], meta)


# --- memory -------------------------------------------------------------------
def test_measure_model_arena_is_the_minimum(tiny_int8, tmp_path):
    from tflite_micro.python.tflite_micro import runtime

    from edgeser.quantize.memory import measure_model

    path = tmp_path / "m.tflite"
    path.write_bytes(tiny_int8)
    mem = measure_model(path)
    assert mem.flash_bytes == len(tiny_int8)
    assert mem.arena_bytes % 16 == 0 and 256 < mem.arena_bytes < 64 * 1024
    runtime.Interpreter.from_bytes(tiny_int8, arena_size=mem.arena_bytes).invoke()
    with pytest.raises(RuntimeError):
        runtime.Interpreter.from_bytes(tiny_int8, arena_size=mem.arena_bytes - 16).invoke()


def test_memory_report_totals(tiny_int8):
    from edgeser.quantize.memory import format_memory_table, frontend_working_bytes, measure_model, memory_report

    mem = measure_model(tiny_int8)
    fe = frontend_working_bytes(FrontendConfig())
    r = memory_report({"a": tiny_int8, "b": tiny_int8}, fe, budget_bytes=10**6, goal_bytes=10**5)
    assert r.total_bytes == 2 * (mem.flash_bytes + mem.arena_bytes) + fe
    assert not r.over_budget and not r.over_goal
    tight = memory_report({"a": tiny_int8}, fe, budget_bytes=1000, goal_bytes=500)
    assert tight.over_budget and tight.to_dict()["over_budget"] is True
    format_memory_table(r)


def test_frontend_working_bytes_formula():
    from edgeser.quantize.memory import frontend_working_bytes

    c = FrontendConfig()  # 30 ms at 16 kHz: W = 480, F = 512, H = 257, N = 40
    expected = 6 * 480 + (2 * 512 + 4 * 257 + 5 * 512 + 300) + (6 * 41 + 4 * (257 + 4 * 41) + 8 * 41) + 4 * 40 + 250
    assert frontend_working_bytes(c) == expected
    assert frontend_working_bytes(c.replace(noise_reduction=False, pcan=False)) == expected - 160 - 250


# --- compiler log -------------------------------------------------------------
# Two models co-compiled: the console output as the compiler prints it (format: quantize/compiler.py).
LOG_TWO_MODELS = (Path(__file__).parent / "data" / "edgetpu_compiler_two_models.log").read_text()


def test_parse_size():
    assert parse_size("1.23MiB") == round(1.23 * 1024 * 1024)
    assert parse_size("0.00B") == 0
    assert parse_size("21.75KiB") == 22272


def test_parse_two_model_log():
    log = parse_compiler_log(LOG_TWO_MODELS)
    assert log.version == "16.0.384591198" and log.compile_ms == 1234 and log.success
    a, f = log.models
    assert a.input_model == "acoustic.tflite" and a.output_model == "out/acoustic_edgetpu.tflite"
    assert a.on_chip_used_bytes == round(1.23 * 1024**2) and a.off_chip_used_bytes == 0
    assert a.edgetpu_subgraphs == 1 and a.total_ops == 24
    assert a.tpu_ops == 24 and a.cpu_ops == 0 and a.fully_mapped  # derived from the table
    assert [(o.operator, o.count, o.mapped) for o in a.operators][:2] == [("CONV_2D", 20, True), ("MEAN", 1, True)]
    assert f.tpu_ops == 3 and f.cpu_ops == 2 and not f.fully_mapped
    assert f.off_chip_used_bytes == 1536
    assert [o.operator for o in f.operators if not o.mapped] == ["TRANSPOSE", "GELU"]
    assert f.operators[2].status.startswith("Operation is otherwise supported")


def test_parse_operation_log_file_and_errors():
    text = (
        "Edge TPU Compiler version 14.1.317412892\nInput: tiny_yolo.tflite\nOutput: tiny_yolo_edgetpu.tflite\n\n"
        "Operator                       Count      Status\n\n"
        "MAX_POOL_2D                    6          Mapped to Edge TPU\n"
        "RESIZE_NEAREST_NEIGHBOR        1          Operation version not supported\n"
    )
    log = parse_compiler_log(text)
    (m,) = log.models
    assert m.input_model == "tiny_yolo.tflite" and m.tpu_ops == 6 and m.cpu_ops == 1
    err = parse_compiler_log(
        "Edge TPU Compiler version 16.0.384591198\nERROR: Didn't find op for builtin opcode 'CONV_2D' version '6'\n"
        "ERROR: Registration failed.\n\nInvalid model: m.tflite\nModel could not be parsed\n"
    )
    assert not err.success and len(err.errors) == 3 and not err.models


def test_missing_compiler(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    msg = missing_compiler_message()
    assert "edgetpu-compiler" in msg and "x86-64" in msg and "edgeser check" in msg
    with pytest.raises(FileNotFoundError, match="edgetpu-compiler"):
        compile_models([tmp_path / "m.tflite"], tmp_path / "out")


def test_compile_models_runs_the_compiler_with_co_compilation(tmp_path):
    fake = tmp_path / "edgetpu_compiler"
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args.txt"\ncat "$(dirname "$0")/log.txt"\n')
    fake.chmod(0o755)
    (tmp_path / "log.txt").write_text(LOG_TWO_MODELS)
    res = compile_models([tmp_path / "acoustic.tflite", tmp_path / "fusion.tflite"], tmp_path / "out", compiler=str(fake))
    args = (tmp_path / "args.txt").read_text().split()
    assert args[:3] == ["-s", "-o", str(tmp_path / "out")] and args[3:] == [str(tmp_path / "acoustic.tflite"), str(tmp_path / "fusion.tflite")]
    assert res.returncode == 0 and len(res.log.models) == 2


# --- C export -------------------------------------------------------------------
def test_c_export_round_trip(tiny_int8, tmp_path):
    from edgeser.quantize.c_export import export_c_array, io_quantization, parse_c_array

    paths = export_c_array(tiny_int8, "ser_model", tmp_path)
    src = paths["source"].read_text()
    assert "alignas(16) const unsigned char ser_model[]" in src
    data, length, crc = parse_c_array(src, "ser_model")
    assert data == tiny_int8 and length == len(tiny_int8) and crc == zlib.crc32(tiny_int8)
    header = paths["header"].read_text()
    assert "extern const unsigned char ser_model[];" in header and f"0x{crc:08x}" in header
    io = paths["io_header"].read_text()
    (inp,), (out,) = io_quantization(tiny_int8)
    assert inp.dtype == "int8" and inp.shape == (1, 10, 1, 6)
    assert f"ser_model_input0_zero_point = {inp.zero_point};" in io
    assert re.search(r"ser_model_input0_shape\[\] = \{1, 10, 1, 6\};", io)
    assert f"ser_model_output0_scale = {out.scale!r}f;" in io
    assert '"say \\"hi\\""' in io and "SER_MODEL_NUM_LABELS 3" in io


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_c_export_compiles_and_checks_alignment(tiny_int8, tmp_path):
    from edgeser.quantize.c_export import export_c_array

    export_c_array(tiny_int8, "ser_model", tmp_path)
    (tmp_path / "main.cc").write_text(
        '#include <cstdint>\n#include <cstdio>\n#include "ser_model.h"\n#include "ser_model_io.h"\n'
        "int main(){ if (reinterpret_cast<uintptr_t>(ser_model) % 16) return 2;\n"
        " unsigned c = 0xffffffffu; for (unsigned i = 0; i < ser_model_len; ++i) { c ^= ser_model[i];\n"
        "  for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u))); }\n"
        " std::printf(\"%s %d\\n\", ser_model_labels[0], SER_MODEL_NUM_LABELS);\n"
        " return (~c) == ser_model_crc32 ? 0 : 3; }\n"
    )
    exe = tmp_path / "a.out"
    subprocess.run(["g++", "-std=c++11", "-Wall", "-Werror", "-Wno-unused-variable", "-o", str(exe),
                    str(tmp_path / "main.cc"), str(tmp_path / "ser_model.cc")], check=True, cwd=tmp_path)
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "neutral 3"


def test_memory_cli(tiny_int8, tmp_path):
    import json

    import typer
    from typer.testing import CliRunner

    from edgeser.quantize.cli import memory

    app = typer.Typer()
    app.command()(memory)
    app.command("other")(lambda: None)
    path = tmp_path / "ser.tflite"
    path.write_bytes(tiny_int8)
    res = CliRunner().invoke(app, ["memory", str(path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["models"]["ser"]["flash_bytes"] == len(tiny_int8) and data["budget_bytes"] == 1_800_000
    junk = tmp_path / "junk.tflite"
    junk.write_text("nope")
    bad = CliRunner().invoke(app, ["memory", str(junk)])
    assert bad.exit_code == 2 and "junk.tflite is not a TensorFlow Lite model" in " ".join(bad.output.split())


def test_make_compile_edgetpu_compiles_a_run_or_says_how_to_get_the_compiler(private_run, tmp_path, monkeypatch):
    """`make compile-edgetpu` = `edgeser compile --run RUN`: without Coral's compiler one message naming
    it and exit 2; with a compiler (here a stand-in script printing a real log) the run's keyword and
    acoustic models are co-compiled and the parsed log lands in RUN/compile.json and the report."""
    import json

    from typer.testing import CliRunner

    from edgeser.cli import app
    from edgeser.quantize.compiler import compile_run
    from edgeser.report import edgetpu
    from edgeser.rundir import RunDir

    with monkeypatch.context() as patched:
        patched.setenv("PATH", str(tmp_path / "empty"))
        missing = CliRunner().invoke(app, ["compile", "--run", str(private_run)])
        assert missing.exit_code == 2 and "edgetpu_compiler" in missing.output and "edgeser check" in missing.output
        both = CliRunner().invoke(app, ["compile", "m.tflite", "--run", str(private_run)])
        assert both.exit_code == 2 and "one of the two" in both.output
    fake = tmp_path / "edgetpu_compiler"
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args.txt"\ncat "$(dirname "$0")/log.txt"\n')
    fake.chmod(0o755)
    (tmp_path / "log.txt").write_text(LOG_TWO_MODELS)
    run = RunDir.open(private_run)
    result = compile_run(run, compiler=str(fake))
    args = (tmp_path / "args.txt").read_text().split()
    assert args[-2:] == [str(private_run / "keyword_int8.tflite"), str(private_run / "acoustic_int8.tflite")]
    stored = json.loads((private_run / "compile.json").read_text())
    assert stored["log"]["success"] and len(stored["log"]["models"]) == len(result.log.models) == 2
    assert "compile.json" in json.loads((private_run / "manifest.json").read_text())["files"]
    section = edgetpu(private_run)
    assert any("edgetpu_compiler" in str(getattr(b, "caption", "")) for b in section.blocks)
    untrained = RunDir.create(tmp_path / "untrained", run.recipe)  # no int8 models yet
    with pytest.raises(FileNotFoundError, match="keyword_int8.tflite, acoustic_int8.tflite.*edgeser quantize"):
        compile_run(untrained, compiler=str(fake))
