"""The export stage writes every generated file the firmware build needs into RUN/firmware/.

A tiny run (the tiny recipe's model builders, untrained, int8-quantised on random
features; labels.json; the real memory stage) is exported with ``stage_export``;
``EDGESER_PARITY_RUN=<finished run>`` exports a copy of that run's models instead.
Checked: ``make -C firmware check-generated app-check GENERATED=<dir>`` (config_check.h's
static_asserts, the arrays' link names and CRCs, app/main.cc against the SDK stubs),
labels.h against labels.json, memory_plan.h against memory.json, model_io.h against
the models, the arrays' bytes against the .tflite files, and the run manifest.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"
TINY = REPO / "tests" / "data" / "tiny.yaml"
NAMES = ("keyword", "acoustic", "fusion")
EMOTIONS = ["angry", "happy", "neutral", "sad"]

needs_make = pytest.mark.skipif(
    shutil.which("g++") is None or shutil.which("make") is None, reason="the firmware host build needs g++ and make"
)


def _defines(text: str) -> dict[str, str]:
    return dict(re.findall(r"^#define (EDGESER_\w+) (.+?)(?:\s+/\*.*\*/)?$", text, re.M))


def _int(value: str) -> int:
    return int(value.strip("()"))


def _build_models(run) -> None:
    """keyword/acoustic/fusion int8 .tflite of the recipe's shapes, calibrated on random features."""
    import tensorflow as tf

    from edgeser.models.acoustic import build_acoustic_model, embedding_model
    from edgeser.models.fusion import build_fusion_model
    from edgeser.models.kws import build_kws_embedding_model, build_kws_model
    from edgeser.models.registry import model_configs, plan_of
    from edgeser.quantize.convert import quantize_keras_model

    tf.keras.utils.set_random_seed(0)
    labels = {"emotions": EMOTIONS, "keywords": ["yes", "no", "_unknown_", "_silence_"]}
    run.write_json("labels.json", labels, "features")
    acoustic_cfg, keyword_cfg, fusion_cfg = model_configs(run.recipe, labels)
    plan, channels = plan_of(run.recipe), run.recipe.frontend.num_channels
    rng = np.random.default_rng(0)

    def write(name, model, shapes, pin):
        rep = [[rng.uniform(-128, 127, size=(1, *s)).astype(np.float32) if pin else
                rng.normal(size=(1, *s)).astype(np.float32) for s in shapes] for _ in range(8)]
        run.write_bytes(f"{name}_int8.tflite", quantize_keras_model(model, rep, pin_input_range=pin), "quantize")

    write("acoustic", embedding_model(build_acoustic_model(acoustic_cfg)), [(plan.clip_frames, channels)], (-128.0, 127.0))
    write("keyword", build_kws_embedding_model(build_kws_model(keyword_cfg)), [(plan.keyword_frames, channels)],
          (-128.0, 127.0))
    fusion = build_fusion_model(fusion_cfg)
    write("fusion", fusion, [tuple(int(d) for d in i.shape[1:]) for i in fusion.inputs], None)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from edgeser.pipeline import stage_export, stage_memory
    from edgeser.recipe import load_recipe
    from edgeser.rundir import RunDir

    given = os.environ.get("EDGESER_PARITY_RUN")
    if given:  # a copy, so the finished run's own firmware/ and manifest stay as they are
        src = RunDir.open(given)
        r = RunDir.create(tmp_path_factory.mktemp("export_run") / src.path.name, src.recipe)
        for rel in [f"{n}_int8.tflite" for n in NAMES] + ["labels.json", "memory.json"]:
            r.write_bytes(rel, (src.path / rel).read_bytes(), "copy")
    else:
        r = RunDir.create(tmp_path_factory.mktemp("export_run") / "tiny", load_recipe(TINY))
        _build_models(r)
        stage_memory(r)
    r.summary = stage_export(r)
    return r


@pytest.fixture(scope="module")
def generated(run) -> Path:
    return run.path / "firmware"


@needs_make
def test_generated_folder_builds_with_the_firmware_checks(generated, tmp_path):
    """config_check.h's static_asserts, model arrays linked with their CRCs, app/main.cc vs the SDK stubs."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(FIRMWARE), "check-generated", "app-check",
         f"GENERATED={generated}", f"BUILD={tmp_path}"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout and f"generated files in {generated}: OK" in result.stdout


def test_every_header_the_build_includes_is_there(generated, run):
    for name in ("frontend_config.h", "model_io.h", "labels.h", "memory_plan.h"):
        assert (generated / name).is_file(), name
    for name in NAMES:
        for suffix in (".h", ".cc", "_io.h"):
            assert (generated / f"edgeser_{name}_model{suffix}").is_file()
        assert not (generated / f"model_{name}.cc").exists()  # would shadow the export in the build
    assert run.summary["folder"] == str(generated)


def test_labels_h_is_labels_json(generated, run):
    d = _defines((generated / "labels.h").read_text())
    labels = json.loads((run.path / "labels.json").read_text())["emotions"]
    assert _int(d["EDGESER_NUM_EMOTIONS"]) == len(labels)
    assert re.findall(r'"((?:[^"\\]|\\.)*)"', d["EDGESER_EMOTION_LABELS"]) == labels


def test_memory_plan_is_memory_json_plus_scratch_headroom(generated, run):
    from edgeser.quantize.firmware_export import ARENA_HEADROOM, ARENA_SCRATCH_BYTES

    d = _defines((generated / "memory_plan.h").read_text())
    memory = json.loads((run.path / "memory.json").read_text())
    slices = {n: _int(d[f"EDGESER_ARENA_{n.upper()}_BYTES"]) for n in NAMES}
    for n in NAMES:
        want = math.ceil(memory["models"][n]["arena_bytes"] * (1 + ARENA_HEADROOM)) + ARENA_SCRATCH_BYTES
        assert slices[n] == -(-want // 16) * 16  # measured + headroom, rounded up to 16 bytes
    assert d["EDGESER_ARENA_BYTES"].startswith("(EDGESER_ARENA_KEYWORD_BYTES + ")
    assert _int(d["EDGESER_ARENA_IN_OCRAM"]) == 0  # the SDK's M7 linker script has no .ocram_bss
    app_config = (FIRMWARE / "core/include/edgeser/app_config.h").read_text()
    assert "#define EDGESER_OCRAM_ARENA_LIMIT_BYTES (1280u * 1024u)" in app_config
    assert "#define EDGESER_LINKER_HAS_OCRAM_BSS 0" in app_config


def test_arena_placement_is_sdram_unless_a_linker_script_has_ocram():
    from edgeser.quantize.firmware_export import OCRAM_ARENA_LIMIT_BYTES, render_memory_plan_h

    def placement(kw, ac, fu, headroom=0.0, ocram=False):
        memory = {"models": {"keyword": {"arena_bytes": kw}, "acoustic": {"arena_bytes": ac},
                             "fusion": {"arena_bytes": fu}}}
        d = _defines(render_memory_plan_h(memory, headroom, scratch=0, ocram=ocram))
        return _int(d["EDGESER_ARENA_IN_OCRAM"]), [_int(d[f"EDGESER_ARENA_{n.upper()}_BYTES"]) for n in NAMES]

    limit = OCRAM_ARENA_LIMIT_BYTES
    assert placement(1024, 2048, 1024) == (0, [1024, 2048, 1024])  # small, still SDRAM on the M7
    assert placement(1024, limit - 2048, 1024, ocram=True) == (1, [1024, limit - 2048, 1024])  # exactly the limit
    with pytest.raises(ValueError, match="OCRAM limit"):
        placement(1024, limit - 2048, 1040, ocram=True)  # 16 bytes over
    assert placement(1000, 5, 17) == (0, [1008, 16, 32])  # rounded up to 16-byte multiples
    assert placement(1000, 1000, 1000, 0.5)[1] == [1504, 1504, 1504]
    with pytest.raises(ValueError, match="memory stage"):
        render_memory_plan_h({"models": {"keyword": {"arena_bytes": 16}}})


def test_model_arrays_are_the_tflite_files(generated, run):
    import zlib

    from edgeser.quantize.c_export import parse_c_array
    from edgeser.quantize.firmware_export import model_sources

    sources = model_sources(run)
    for name in NAMES:
        assert sources[name] == run.path / f"{name}_int8.tflite"  # no edgetpu/ folder here
        tflite = sources[name].read_bytes()
        data, length, crc = parse_c_array((generated / f"edgeser_{name}_model.cc").read_text(), f"edgeser_{name}_model")
        assert data == tflite and length == len(tflite) and crc == zlib.crc32(tflite)
        assert (generated / f"edgeser_{name}.tflite").read_bytes() == tflite  # EDGESER_MODELS=lfs


def test_compiled_models_are_preferred_when_fresh(run, tmp_path):
    from edgeser.quantize.firmware_export import model_sources

    class Fake:
        path = tmp_path

    for name in NAMES:
        (tmp_path / f"{name}_int8.tflite").write_bytes(b"int8")
    (tmp_path / "edgetpu").mkdir()
    for name in NAMES:
        (tmp_path / "edgetpu" / f"{name}_int8_edgetpu.tflite").write_bytes(b"tpu")
    got = model_sources(Fake())
    assert got["keyword"].parent.name == got["acoustic"].parent.name == "edgetpu"
    assert got["fusion"] == tmp_path / "fusion_int8.tflite"  # the fusion head stays on the CPU
    os.utime(tmp_path / "edgetpu" / "keyword_int8_edgetpu.tflite", (0, 0))  # older than its int8 source: stale
    assert model_sources(Fake())["keyword"] == tmp_path / "keyword_int8.tflite"
    assert model_sources(Fake(), prefer_edgetpu=False)["acoustic"] == tmp_path / "acoustic_int8.tflite"


def test_model_io_h_is_the_models(generated, run):
    from edgeser.models.registry import plan_of
    from edgeser.quantize.c_export import io_quantization
    from edgeser.quantize.firmware_export import render_model_io_h

    d = _defines((generated / "model_io.h").read_text())
    plan = plan_of(run.recipe)
    io = {n: io_quantization((run.path / f"{n}_int8.tflite").read_bytes()) for n in NAMES}
    (kw_in,), (kw_out,) = io["keyword"]
    (ac_in,), (ac_out,) = io["acoustic"]
    fus_in, (fus_out,) = io["fusion"]
    f32 = lambda v: np.float32(float(v.rstrip("f")))  # noqa: E731
    assert _int(d["EDGESER_KEYWORD_INPUT_FRAMES"]) == plan.keyword_frames
    assert _int(d["EDGESER_ACOUSTIC_INPUT_FRAMES"]) == plan.clip_frames
    assert _int(d["EDGESER_KEYWORD_INPUT_CHANNELS"]) == run.recipe.frontend.num_channels
    assert _int(d["EDGESER_KEYWORD_HOP_FRAMES"]) == _int(d["EDGESER_DECISION_HOP_FRAMES"]) == plan.keyword_hop_frames
    assert _int(d["EDGESER_KEYWORD_NUM_WINDOWS"]) == plan.num_keyword_windows
    for prefix, t in (("KEYWORD_INPUT", kw_in), ("KEYWORD_OUTPUT", kw_out), ("ACOUSTIC_INPUT", ac_in),
                      ("ACOUSTIC_OUTPUT", ac_out), ("FUSION_ACOUSTIC", fus_in[0]), ("FUSION_KEYWORD", fus_in[-1]),
                      ("FUSION_OUTPUT", fus_out)):
        assert f32(d[f"EDGESER_{prefix}_SCALE"]) == np.float32(t.scale), prefix
        assert _int(d[f"EDGESER_{prefix}_ZERO_POINT"]) == t.zero_point, prefix
    assert _int(d["EDGESER_FUSION_NUM_INPUTS"]) == len(fus_in)
    assert _int(d["EDGESER_FUSION_OUTPUT_SIZE"]) == len(json.loads((run.path / "labels.json").read_text())["emotions"])
    hop = plan.keyword_hop_frames
    assert "#define EDGESER_DECISION_HOP_FRAMES %d\n" % (2 * hop) in render_model_io_h(run, 2 * hop)
    with pytest.raises(ValueError, match="multiple of the keyword hop"):
        render_model_io_h(run, hop + 1)


def test_every_file_is_in_the_manifest(generated, run):
    from edgeser.rundir import file_sha256

    files = run.manifest()["files"]
    on_disk = sorted(p for p in generated.iterdir() if p.is_file())
    assert len(on_disk) == 4 + 4 * len(NAMES) == run.summary["files"]
    for path in on_disk:
        entry = files[str(path.relative_to(run.path))]
        assert entry["stage"] == "export" and entry["sha256"] == file_sha256(path), path.name
    assert not [p for p in generated.iterdir() if p.name.endswith(".tmp")]  # atomic writes leave no temp files
