"""The firmware's portable C++ core (firmware/core), checked from Python.

Builds the host unit tests and the core CLI (firmware/core/tools/map_stdin.cc)
with the host g++ and compares the C++ results with Python references on a few
hundred random values: the frontend -> int8 mapping (also against
edgeser.frontend.features.to_int8), requantisation, keyword-embedding pooling,
softmax post-processing, temporal smoothing, the JSON decision line and the
BENCH lines (also through edgeser.benchmarks.board's parser when present).
Skips only when g++ or make are missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from edgeser.evaluation.int8 import quantize_multiplier

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"

pytestmark = pytest.mark.skipif(
    shutil.which("g++") is None or shutil.which("make") is None,
    reason="the firmware core host build needs g++ and make",
)


def _make(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(FIRMWARE), *args],
        capture_output=True, text=True, env=env, timeout=600,
    )


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("firmware_build")


@pytest.fixture(scope="module")
def cli(build_dir: Path) -> Path:
    result = _make("cli", f"BUILD={build_dir}")
    assert result.returncode == 0, result.stdout + result.stderr
    path = build_dir / "host" / "edgeser_core_cli"
    assert path.exists()
    return path


def run_cli(cli: Path, lines: list[str]) -> list[str]:
    result = subprocess.run([str(cli)], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) >= len(lines), result.stdout
    for line in out:
        assert not line.startswith("error"), line
    return out


def f32(x: float) -> float:
    """x rounded to float32, as the C++ side stores it."""
    return float(np.float32(x))


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


serial_protocol = load_module("edgeser_fw_serial_protocol", FIRMWARE / "tools" / "serial_protocol.py")


# --------------------------------------------------------------- Python references
def ref_int8(raw: int, num: int, den: int, offset: int) -> int:
    return max(-128, min(127, (raw * num + den // 2) // den + offset))


def ref_multiply(x: int, m: int, shift: int) -> int:
    if m == 0:
        return 0
    total = 31 - shift
    y = (x * m + (1 << (total - 1))) >> total  # Python >> floors: the C arithmetic shift
    return max(-(2**31), min(2**31 - 1, y))


def ref_requant(q: int, s_in: float, z_in: int, s_out: float, z_out: int, divisor: int = 1) -> int:
    m, shift = quantize_multiplier(f32(s_in) / (f32(s_out) * divisor))
    return max(-128, min(127, ref_multiply(q - z_in, m, shift) + z_out))


def ref_softmax(logits_q, scale, zp):
    x = np.float32(scale) * (np.asarray(logits_q, dtype=np.float32) - np.float32(zp))
    e = np.exp(x.astype(np.float64) - x.max())
    return e / e.sum()


def ref_smooth(frames: np.ndarray, mode: int, alpha: float, hist: int) -> np.ndarray:
    frames = frames.astype(np.float32)
    out = np.zeros_like(frames)
    a = np.float32(alpha)
    state = None
    for t, p in enumerate(frames):
        if mode == 0:
            state = p.copy() if state is None else (a * p + (np.float32(1) - a) * state).astype(np.float32)
        else:
            window = frames[max(0, t - hist + 1) : t + 1]
            acc = np.zeros(frames.shape[1], dtype=np.float32)
            for row in window:
                acc = (acc + row).astype(np.float32)
            state = (acc / np.float32(len(window))).astype(np.float32)
        out[t] = state
    return out


# ---------------------------------------------------------------------------- tests
def test_core_unit_tests_pass(build_dir: Path):
    result = _make("test", f"BUILD={build_dir}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.fullmatch(r"(\d+) passed, 0 failed", lines[-1])
    assert match, lines[-1]
    assert int(match.group(1)) >= 20


def test_int8_mapping_matches_python(cli: Path):
    try:  # the Python pipeline's own mapping, when importable
        from edgeser.frontend.config import FrontendConfig
        from edgeser.frontend.features import to_int8
    except ImportError:
        FrontendConfig = to_int8 = None

    rng = np.random.default_rng(0)
    configs = [(256, 666, -128), (256, 1420, -128), (1, 1, 0), (3, 7, 5), (1000, 13, -100), (17, 65535, 127)]
    raws = np.concatenate([[0, 1, 332, 333, 665, 666, 667, 65534, 65535], rng.integers(0, 65536, 400)]).astype(np.uint16)
    lines = [f"map {n} {d} {o} " + " ".join(str(int(r)) for r in raws) for n, d, o in configs]
    out = run_cli(cli, lines)
    for (num, den, off), line in zip(configs, out):
        got = [int(v) for v in line.split()]
        assert got == [ref_int8(int(r), num, den, off) for r in raws], (num, den, off)
        if to_int8 is not None:
            config = FrontendConfig(int8_scale_num=num, int8_scale_den=den, int8_offset=off)
            assert got == to_int8(raws, config).astype(int).tolist(), (num, den, off)


def test_requantisation_matches_python(cli: Path):
    rng = np.random.default_rng(1)
    cases = [(0.0235, -128, 0.0190, -120), (1.0, 0, 0.5, -1), (0.5, 3, 0.5, 3), (0.003, -3, 0.05, 10)]
    cases += [(float(rng.uniform(1e-3, 2.0)), int(rng.integers(-128, 128)), float(rng.uniform(1e-3, 2.0)),
               int(rng.integers(-128, 128))) for _ in range(8)]
    qs = list(range(-128, 128))
    lines = [f"requant {f32(a)!r} {b} {f32(c)!r} {d} " + " ".join(map(str, qs)) for a, b, c, d in cases]
    lines += [f"qm {r!r}" for r in (0.5, 1.0, 0.25, 3.0, 1e-12, 0.0123456, 1.9999999)]
    out = run_cli(cli, lines)
    for (s_in, z_in, s_out, z_out), line in zip(cases, out):
        assert [int(v) for v in line.split()] == [ref_requant(q, s_in, z_in, s_out, z_out) for q in qs]
    for real, line in zip((0.5, 1.0, 0.25, 3.0, 1e-12, 0.0123456, 1.9999999), out[len(cases):]):
        assert tuple(int(v) for v in line.split()) == quantize_multiplier(real), real


def test_pooling_matches_python(cli: Path):
    rng = np.random.default_rng(2)
    cases, lines = [], []
    for _ in range(60):
        k, d = int(rng.integers(1, 7)), int(rng.integers(1, 17))
        s_in, s_out = f32(rng.uniform(1e-3, 0.2)), f32(rng.uniform(1e-3, 0.2))
        z_in, z_out = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
        emb = rng.integers(-128, 128, size=(k, d))
        cases.append((k, d, s_in, z_in, s_out, z_out, emb))
        lines.append(f"pool {k} {d} {s_in!r} {z_in} {s_out!r} {z_out} " + " ".join(map(str, emb.ravel())))
    out = run_cli(cli, lines)
    for (k, d, s_in, z_in, s_out, z_out, emb), line in zip(cases, out):
        m, shift = quantize_multiplier(s_in / (s_out * k))
        sums = (emb.astype(np.int64) - z_in).sum(axis=0)
        want = [max(-128, min(127, ref_multiply(int(s), m, shift) + z_out)) for s in sums]
        assert [int(v) for v in line.split()] == want
        # and the pooled value is the real mean up to one quantisation step
        real_mean = (emb - z_in).mean(axis=0) * s_in / s_out + z_out
        clipped = np.clip(real_mean, -128, 127)
        assert np.all(np.abs(np.asarray(want) - clipped) <= 0.5 + 1e-6)


def test_postprocess_matches_numpy(cli: Path):
    rng = np.random.default_rng(3)
    cases, lines = [], []
    for _ in range(100):
        n = int(rng.integers(2, 9))
        scale, zp = f32(rng.uniform(0.01, 0.5)), int(rng.integers(-20, 21))
        q = rng.integers(-128, 128, size=n)
        cases.append((scale, zp, q))
        lines.append(f"post {scale!r} {zp} " + " ".join(map(str, q)))
    out = run_cli(cli, lines)
    for (scale, zp, q), line in zip(cases, out):
        fields = line.split()
        idx, conf, probs = int(fields[0]), float(fields[1]), np.array([float(v) for v in fields[2:]])
        want = ref_softmax(q, scale, zp)
        np.testing.assert_allclose(probs, want, atol=1e-6)
        assert abs(probs.sum() - 1.0) < 1e-5
        assert conf == probs[idx]
        top = np.sort(want)[::-1]
        if top[0] - top[1] > 1e-5:
            assert idx == int(np.argmax(want))


@pytest.mark.parametrize("mode,alpha,hist", [(0, 0.4, 4), (0, 0.1, 1), (1, 0.0, 4), (1, 0.0, 7)])
def test_smoothing_matches_python(cli: Path, mode: int, alpha: float, hist: int):
    rng = np.random.default_rng(4 + mode + hist)
    c, t = 5, 300
    frames = rng.dirichlet(np.ones(c), size=t).astype(np.float32)
    line = f"smooth {mode} {f32(alpha)!r} {hist} {c} {t} " + " ".join(repr(float(v)) for v in frames.ravel())
    out = run_cli(cli, [line])
    assert len(out) == t
    want = ref_smooth(frames, mode, alpha, hist)
    for row, w in zip(out, want):
        fields = row.split()
        idx, conf, got = int(fields[0]), float(fields[1]), np.array([float(v) for v in fields[2:]])
        np.testing.assert_allclose(got, w, atol=1e-6)
        assert conf == got[idx]
        top = np.sort(w)[::-1]
        if top[0] - top[1] > 1e-5:
            assert idx == int(np.argmax(w))


def test_decision_json_lines_parse(cli: Path):
    rng = np.random.default_rng(5)
    labels = ["neutral", "happy", "sad", "angry", 'quo"te', "back\\slash", "ünïcode"]
    cases, lines = [], []
    for i in range(200):
        n = int(rng.integers(2, 8))
        probs = rng.dirichlet(np.ones(n)).astype(np.float32)
        t_ms = int(rng.integers(0, 2**40))
        label = labels[i % len(labels)]
        conf = float(probs.max())
        cases.append((t_ms, label, conf, probs))
        lines.append(f"json {t_ms} {label} {conf!r} " + " ".join(repr(float(p)) for p in probs))
    out = run_cli(cli, lines)
    for (t_ms, label, conf, probs), line in zip(cases, out):
        obj = json.loads(line)
        assert list(obj) == ["t_ms", "emotion", "confidence", "probs"]
        assert obj["t_ms"] == t_ms and obj["emotion"] == label
        assert abs(obj["confidence"] - conf) <= 0.5e-4 + 1e-9
        assert len(obj["probs"]) == len(probs)
        assert all(abs(a - float(b)) <= 0.5e-4 + 1e-9 for a, b in zip(obj["probs"], probs))
        assert re.fullmatch(r'\{"t_ms":\d+,"emotion":".*","confidence":\d\.\d{4},"probs":\[(\d\.\d{4},?)+\]\}', line)
        rec = serial_protocol.parse_line(line + "\r\n")
        assert rec["kind"] == "decision" and rec["emotion"] == label


def test_bench_lines_parse(cli: Path):
    rng = np.random.default_rng(6)
    stages = ["frontend", "keyword", "acoustic", "fusion", "postprocess", "report", "decision"]
    samples = {s: [int(v) for v in rng.integers(1, 50000, size=int(rng.integers(1, 40)))] for s in stages}
    out = run_cli(cli, [f"bench {s} " + " ".join(map(str, samples[s])) for s in stages])
    block = ["INFO edgeser firmware version=0.1.0", "BENCH begin version=1 board=coral-dev-board-micro cpu_mhz=800 "
             "arena=ocram arena_bytes=376832 decisions=20", *out, f"BENCH end stages={len(stages)} decisions=20"]
    parsed = serial_protocol.parse_bench([line + "\r\n" for line in block])
    assert list(parsed["stages"]) == stages
    for s in stages:
        v = samples[s]
        rec = parsed["stages"][s]
        assert rec == {"n": len(v), "us": (sum(v) + len(v) // 2) // len(v), "min_us": min(v), "max_us": max(v),
                       "total_us": sum(v)}
    # the latency CLI's own parser (benchmarks/board.py), when it is there
    try:
        from edgeser.benchmarks.board import parse_bench_lines
    except ImportError:
        return
    bench = parse_bench_lines(block)
    assert [st.name for st in bench.stages] == stages
    assert [st.mean_us for st in bench.stages] == [parsed["stages"][s]["us"] for s in stages]


def test_crc32_matches_zlib(cli: Path):
    rng = np.random.default_rng(7)
    blobs = [bytes(rng.integers(0, 256, size=int(n), dtype=np.uint8)) for n in (1, 2, 15, 16, 255, 4096)]
    out = run_cli(cli, [f"crc {b.hex()}" for b in blobs])
    assert [int(v) for v in out] == [zlib.crc32(b) for b in blobs]


def _copy_examples(dst: Path) -> Path:
    shutil.copytree(FIRMWARE / "generated_example", dst)
    return dst


def test_exporter_header_compiles_with_firmware(tmp_path: Path, build_dir: Path):
    """frontend_config.h as edgeser.frontend.export writes it today passes config_check.h."""
    export = pytest.importorskip("edgeser.frontend.export")
    from edgeser.frontend.config import FrontendConfig

    gen = _copy_examples(tmp_path / "gen")
    (gen / "frontend_config.h").write_text(export.render_c_header(FrontendConfig.preset("micro_speech")))
    result = _make("check-generated", f"GENERATED={gen}", f"BUILD={build_dir}")
    assert result.returncode == 0, result.stdout + result.stderr
    # noise reduction off (the coralmicro preset: 64 channels) with matching model_io.h
    (gen / "frontend_config.h").write_text(export.render_c_header(FrontendConfig.preset("coralmicro")))
    io = (gen / "model_io.h").read_text().replace("_INPUT_CHANNELS 40", "_INPUT_CHANNELS 64")
    (gen / "model_io.h").write_text(io)
    result = _make("check-generated", f"GENERATED={gen}", f"BUILD={build_dir}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_inconsistent_generated_headers_fail_the_build(tmp_path: Path, build_dir: Path):
    gen = _copy_examples(tmp_path / "gen")
    text = (gen / "model_io.h").read_text().replace("EDGESER_ACOUSTIC_INPUT_FRAMES 149", "EDGESER_ACOUSTIC_INPUT_FRAMES 150")
    (gen / "model_io.h").write_text(text)
    result = _make("check-generated", f"GENERATED={gen}", f"BUILD={build_dir}")
    assert result.returncode != 0
    assert "keyword windows must tile the acoustic window" in result.stdout + result.stderr


def test_board_build_without_sdk_explains(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "CORALMICRO_DIR"}
    result = _make("app", f"BUILD={tmp_path}", "CORALMICRO_DIR=", env=env)  # empty: no shared SDK default
    assert result.returncode != 0
    message = result.stderr
    assert "cannot build the board app" in message and "CORALMICRO_DIR is not set" in message
    assert "make firmware-test" in message
    assert not (tmp_path / "board").exists()  # stopped before CMake


def test_app_compiles_against_sdk_stubs(build_dir: Path):
    result = _make("app-check", f"BUILD={build_dir}")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("cmake") is None, reason="needs cmake")
def test_cmake_project_builds_against_fake_sdk(tmp_path: Path):
    """firmware/CMakeLists.txt configures and builds with a stand-in SDK (host compiler,
    app/host_stub headers, unresolved SDK symbols ignored at link): checks the CMake
    logic, source lists and include paths, not the real SDK."""
    fake = FIRMWARE / "app" / "host_stub" / "fake_coralmicro"
    build = tmp_path / "board"
    configure = subprocess.run(
        ["cmake", "-S", str(FIRMWARE), "-B", str(build), f"-DCORALMICRO_DIR={fake}",
         "-DEDGESER_EXTRA_DEFINES=EDGESER_SMOOTHING_MODE=1;EDGESER_SMOOTHING_HISTORY=6"],
        capture_output=True, text=True, timeout=300,
    )
    assert configure.returncode == 0, configure.stdout + configure.stderr
    compiled = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True, timeout=600)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert (build / "edgeser_app").exists()
    # a folder without the generated headers is refused at configure time
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = subprocess.run(
        ["cmake", "-S", str(FIRMWARE), "-B", str(tmp_path / "b2"), f"-DCORALMICRO_DIR={fake}",
         f"-DEDGESER_GENERATED_DIR={empty}"],
        capture_output=True, text=True, timeout=300,
    )
    assert refused.returncode != 0 and "has no frontend_config.h" in refused.stderr


def test_firmware_size_is_optional(build_dir: Path):
    result = _make("size", f"BUILD={build_dir}")
    assert result.returncode == 0, result.stdout + result.stderr
    if shutil.which("arm-none-eabi-g++") is None:
        assert "skipped" in result.stdout
    else:
        assert "(TOTALS)" in result.stdout
