"""The board app against the real coralmicro SDK (../shared/coralmicro-sdk).

- ``make -C firmware app`` builds and links ``edgeser_app`` for the Cortex-M7 with
  Debian's gcc-arm-none-eabi, for ``firmware/generated_example`` and for a real run's
  export (models in LFS), and the link map's figures per memory fit their sizes;
- the host stubs declare exactly what the SDK declares (``app/sdk_api_probe.cc``
  compiles against both; a drifted stub fails);
- the SDK's own MicroFrontend C library, built for the host from the sources the
  board compiles, is bit-exact with edgeser's frontend;
- ``make flash`` runs the SDK's flashtool with the app and the model files.

The board-build tests skip, with the reason, when the SDK or the cross compiler is
missing (README: "Board build"); the stub-drift test needs only g++.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"
SDK = REPO.parent / "shared" / "coralmicro-sdk"
RAVDESS = REPO.parent / "shared" / "data" / "ravdess"


def _make(*args: str, timeout: int = 1200, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(FIRMWARE), *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )


def _prereqs(mode: str = "build", sdk: Path = SDK) -> subprocess.CompletedProcess:
    env = {**os.environ, "CORALMICRO_DIR": str(sdk)}
    return subprocess.run(["sh", str(FIRMWARE / "scripts/check_board_prereqs.sh"), mode],
                          capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def sdk() -> Path:
    if not (SDK / "CMakeLists.txt").is_file():
        pytest.skip(f"the coralmicro SDK is not at {SDK} (../shared/coralmicro-sdk)")
    check = _prereqs("build")
    if check.returncode != 0:
        pytest.skip(f"board build prerequisites missing: {check.stderr.strip()}")
    return SDK


@pytest.fixture(scope="module")
def board_build(sdk, tmp_path_factory) -> Path:
    """BUILD folder after ``make -C firmware app`` with generated_example (≈ 4 min on 2 cores)."""
    build = tmp_path_factory.mktemp("fw")
    start = time.monotonic()
    result = _make("app", f"BUILD={build}", f"CORALMICRO_DIR={sdk}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    print(f"board build of generated_example: {time.monotonic() - start:.0f} s")
    assert "EDGESER_MODELS=linked" in result.stdout  # placeholders: no .tflite files
    return build


def _link_figures(build: Path) -> dict:
    doc = json.loads((build / "board" / "link_map.json").read_text())
    assert set(doc) == {"ITCM", "DTCM", "OCRAM", "SDRAM"}
    return doc


def test_example_app_links_for_the_m7(board_build):
    board = board_build / "board"
    assert (board / "edgeser_app").is_file() and (board / "edgeser_app.stripped").is_file()
    assert (board / "coralmicro" / "apps" / "elf_loader" / "image.srec").is_file()  # flashtool loads it first
    with open(board / "edgeser_app", "rb") as f:
        header = f.read(20)
    assert header[:4] == b"\x7fELF" and header[4] == 1 and int.from_bytes(header[18:20], "little") == 40  # 32-bit ARM

    mem = _link_figures(board_build)
    for name, m in mem.items():
        assert 0 < m["used"] <= m["size"], (name, m)
    assert mem["ITCM"]["size"] == 0x400 + 0x3F400  # m_interrupts + m_text of the SDK's M7 script
    assert mem["DTCM"]["size"] == 0x40000
    # the arena (368 KiB in generated_example/memory_plan.h) is in SDRAM's .sdram_bss, not DTCM
    assert mem["SDRAM"]["sections"][".sdram_bss"] >= (96 + 256 + 16) * 1024
    assert mem["DTCM"]["sections"][".bss"] < 224 * 1024
    assert mem["ITCM"]["sections"][".text"] > 100_000  # app + SDK code


def test_run_export_links_with_models_in_lfs(board_build, tiny_run, sdk):
    """A real run's export: models as LFS files (the default), read into the SDRAM heap."""
    from edgeser.quantize.firmware_export import arena_plan

    generated = tiny_run / "firmware"
    result = _make("app", f"BUILD={board_build}", f"CORALMICRO_DIR={sdk}", f"GENERATED={generated}", timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "EDGESER_MODELS=lfs" in result.stdout
    mem = _link_figures(board_build)
    assert all(m["used"] <= m["size"] for m in mem.values())
    plan = arena_plan(json.loads((tiny_run / "memory.json").read_text()))
    assert mem["SDRAM"]["sections"][".sdram_bss"] >= sum(plan.values())
    memory_plan = (generated / "memory_plan.h").read_text()
    assert "#define EDGESER_ARENA_IN_OCRAM 0" in memory_plan and "CMSIS-NN" in memory_plan

    # What flashtool would write to the board's LittleFS, computed by flashtool itself.
    flashtool = _import_flashtool(sdk)
    board = board_build / "board"
    files = flashtool.CreateFilesystem(str(board), str(sdk), str(board), str(board / "edgeser_app"),
                                       False, False, None, True)
    # StateProgramDataFiles writes each file at "/" + its target (flashtool.py)
    targets = {"/" + dst.replace("\\", "/").lstrip("/"): Path(src) for src, dst in files.items()}
    for name in ("keyword", "acoustic", "fusion"):
        src = targets[f"/models/edgeser_{name}.tflite"]
        assert src.read_bytes() == (generated / f"edgeser_{name}.tflite").read_bytes()


def _import_flashtool(sdk: Path):
    import importlib.util

    for module in ("hid", "serial", "usb", "progress", "hexformat"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"flashtool's Python module {module!r} is missing (make setup installs edgeser[board])")
    spec = importlib.util.spec_from_file_location("coral_flashtool", sdk / "scripts" / "flashtool.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_link_map_record_in_the_run_report(board_build, tiny_run, tmp_path):
    from typer.testing import CliRunner

    from edgeser.cli import app

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    result = CliRunner().invoke(app, ["memory", "--link-map", str(board_build / "board" / "output.map"),
                                      "--run", str(run)])
    assert result.exit_code == 0, result.output
    assert re.search(r"^ITCM\s+\d+\s+260096\s", result.output, re.M)
    doc = json.loads((run / "link_map.json").read_text())
    assert doc["memories"]["SDRAM"]["size"] == 0x3000000
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["files"]["link_map.json"]["stage"] == "firmware"
    report = CliRunner().invoke(app, ["report", str(run)])
    assert report.exit_code == 0, report.output
    assert "from the linker's map" in (run / "report.md").read_text()


def test_flash_runs_the_sdk_flashtool(sdk):
    result = _make("-s", "print-flash-command", f"CORALMICRO_DIR={sdk}", "FLASH_ARGS=--serial 1234abcd")
    assert result.returncode == 0, result.stderr
    cmd = shlex.split(result.stdout)
    assert cmd[1] == str(sdk / "scripts" / "flashtool.py") and Path(cmd[0]).name.startswith("python")
    assert cmd[cmd.index("--build_dir") + 1] == str(FIRMWARE / "build" / "board")
    assert cmd[cmd.index("--elf_path") + 1] == str(FIRMWARE / "build" / "board" / "edgeser_app")
    assert cmd[-2:] == ["--serial", "1234abcd"]
    _import_flashtool(sdk)  # skips with the reason when its modules are missing
    help_text = subprocess.run([cmd[0], cmd[1], "--help"], capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0, help_text.stderr
    for option in ("--build_dir", "--elf_path", "--serial", "--nodata"):
        assert option in help_text.stdout


def test_prereqs_name_what_is_missing(tmp_path):
    missing = _prereqs("build", tmp_path / "nowhere")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    fake = tmp_path / "sdk"
    (fake / "cmake").mkdir(parents=True)
    (fake / "cmake" / "toolchain-arm-none-eabi-gcc.cmake").write_text("")
    no_toolchain = _prereqs("build", fake)
    assert no_toolchain.returncode == 1
    assert "toolchain-linux does not exist" in no_toolchain.stderr and "GCC 9" in no_toolchain.stderr
    broken = fake / "third_party" / "toolchain-linux" / "gcc" / "bin"
    broken.mkdir(parents=True)
    (broken / "arm-none-eabi-gcc").write_text("#!/bin/sh\nexit 127\n")
    (broken / "arm-none-eabi-gcc").chmod(0o755)
    not_running = _prereqs("build", fake)
    assert "does not run" in not_running.stderr and "gcc-arm-none-eabi" in not_running.stderr


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs the host g++")
def test_a_stub_that_drifts_from_the_sdk_is_caught(tmp_path):
    stubs = tmp_path / "host_stub"
    shutil.copytree(FIRMWARE / "app" / "host_stub", stubs)
    probe = ["g++", "-std=c++17", "-fsyntax-only", "-fno-exceptions", "-fno-rtti", f"-I{stubs}",
             str(FIRMWARE / "app" / "sdk_api_probe.cc")]
    ok = subprocess.run(probe, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    header = stubs / "third_party/tflite-micro/tensorflow/lite/micro/micro_interpreter.h"
    text = header.read_text()
    drifted = re.sub(r"size_t tensor_arena_size, ErrorReporter\* error_reporter,\s*"
                     r"MicroResourceVariables\* resource_variables = nullptr, MicroProfiler\* profiler = nullptr\)",
                     "size_t tensor_arena_size)", text)
    assert drifted != text
    header.write_text(drifted)  # the newer TFLite-Micro's 4-argument constructor
    bad = subprocess.run(probe, capture_output=True, text=True)
    assert bad.returncode != 0 and "4-argument" in bad.stderr


# --------------------------------------------------------------------------- frontend parity
@pytest.fixture(scope="module")
def sdk_frontend(sdk, tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("sdkfe")
    result = _make("sdk-frontend", f"BUILD={build}", f"CORALMICRO_DIR={sdk}", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from 23 SDK sources (kissfft with -DFIXED_POINT=16)" in result.stdout
    return build / "sdk-frontend" / "sdk_frontend"


def _sdk_frames(tool: Path, audio: np.ndarray, config) -> np.ndarray:
    from edgeser.frontend.microfrontend import op_attributes

    args = [str(int(v)) if isinstance(v, (bool, int)) else repr(float(v)) for v in op_attributes(config).values()]
    out = subprocess.run([str(tool), *args], input=audio.astype("<i2").tobytes(), capture_output=True,
                         check=True, timeout=120).stdout
    return np.frombuffer(out, "<u2").reshape(-1, config.num_channels)


def _configs() -> dict:
    from edgeser.frontend.config import PRESETS, FrontendConfig
    from edgeser.recipe import load_recipe

    return {
        "default": FrontendConfig(),
        **{name: PRESETS[name] for name in ("micro_speech", "coralmicro")},
        "ravdess_recipe": load_recipe(REPO / "configs" / "ravdess.yaml").frontend,
        "no_pcan_8khz": FrontendConfig(sample_rate=8000, window_ms=32, stride_ms=10, num_channels=24,
                                       lower_band_hz=100.0, upper_band_hz=3800.0, pcan=False, log_shift=7),
        "no_nr_linear": FrontendConfig(noise_reduction=False, log_scale=False, num_channels=32),
    }


def test_sdk_c_frontend_is_bit_exact_on_synthetic_signals(sdk_frontend):
    from edgeser.frontend.microfrontend import compute_raw

    rng = np.random.default_rng(7)
    for name, config in _configs().items():
        n = config.sample_rate
        t = np.arange(n) / config.sample_rate
        signals = {
            "silence": np.zeros(n, np.int16),
            "noise": rng.integers(-32768, 32767, n).astype(np.int16),
            "tone": np.round(20000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16),
            "dc": np.full(n, -32768, np.int16),
        }
        for what, audio in signals.items():
            ours, theirs = compute_raw(audio, config), _sdk_frames(sdk_frontend, audio, config)
            assert theirs.shape == ours.shape == (config.num_frames(n), config.num_channels), (name, what)
            assert np.array_equal(theirs, ours), f"{name}/{what}: SDK C frontend != edgeser"


@pytest.mark.realdata
def test_sdk_c_frontend_is_bit_exact_on_ravdess(sdk_frontend):
    from edgeser.corpora.audio import load_audio
    from edgeser.frontend.microfrontend import compute_raw

    if not RAVDESS.is_dir():
        pytest.skip(f"real RAVDESS clips not found at {RAVDESS} (../shared/data/ravdess)")
    clips = sorted(RAVDESS.glob("Actor_*/*.wav"))[::61][:12]
    assert len(clips) >= 6
    frames = 0
    for name, config in _configs().items():
        for path in clips:
            audio = load_audio(path, config.sample_rate)
            ours, theirs = compute_raw(audio, config), _sdk_frames(sdk_frontend, audio, config)
            assert np.array_equal(theirs, ours), f"{name} on {path.name}: SDK C frontend != edgeser"
            frames += len(ours)
    print(f"SDK C frontend == edgeser on {len(clips)} RAVDESS clips x {len(_configs())} configs ({frames} frames)")
