"""The permanent bad-input suite: every command on broken and odd input.

Inputs are generated here (no binary fixtures): audio (empty, text, truncated, NaN,
out of range, one sample, silence, 0.05 s, a folder named .wav), recipes (empty,
non-UTF-8, duplicate keys, inf, huge numbers, zero heads, wrong types, exponent
numbers), models (empty, text, truncated, float, an op TFLite-Micro lacks), run folders
(not a folder, corrupt or foreign manifest, edited recipe, tampered outputs, a second
writer) and corpora (a file for a folder, hostile labels, paths outside the folder).

Each case runs the real command (typer's runner, in process) and fails on a traceback,
an exit code other than the one expected (README: 0 success, 1 bad input or failed
check, 2 usage error or missing optional tool), an error message that does not name
the input, or a temporary / empty file left behind. Generated C headers with hostile
labels must compile. The lock and tamper tests run a second process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    name: str
    code: int  # the exit code the convention asks for
    says: str = ""  # a fragment the output must contain (names the input or the problem)


# ---------------------------------------------------------------- generated inputs
def _wav(path: Path, samples: np.ndarray, rate: int = 16000, subtype: str = "PCM_16") -> Path:
    sf.write(str(path), samples, rate, subtype=subtype)
    return path


def make_audio(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    speech_like = (0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000) * rng.uniform(0.5, 1, 16000))
    files = {
        "empty": folder / "empty.wav",
        "text": folder / "text.wav",
        "folder": folder / "folder.wav",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not audio\n")
    files["folder"].mkdir()
    good = _wav(folder / "good.wav", speech_like)
    files["good"] = good
    truncated = folder / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[: 44 + 1000])
    files["truncated"] = truncated
    files["one_sample"] = _wav(folder / "one_sample.wav", np.array([0.1]))
    files["nan"] = _wav(folder / "nan.wav", np.full(16000, np.nan), subtype="FLOAT")
    files["loud_float"] = _wav(folder / "loud_float.wav", 5.0 * speech_like, subtype="FLOAT")
    files["silence"] = _wav(folder / "silence.wav", np.zeros(16000))
    files["short"] = _wav(folder / "short.wav", speech_like[:800])
    files["stereo_44k"] = _wav(folder / "stereo_44k.wav", np.stack([speech_like, speech_like], 1), rate=44100)
    return files


RECIPES = {
    "empty": b"",
    "non_utf8": b"name: x\n\xff\xfe\n",
    "duplicate": b"name: x\nseed: 1\nseed: 2\n",
    "inf_clip": b"name: x\ndata:\n  clip_seconds: .inf\n",
    "nan_lr": b"name: x\ntraining:\n  acoustic:\n    learning_rate: .nan\n",
    "huge_seed": b"name: x\nseed: 99999999999\n",
    "zero_heads": b"name: x\nacoustic:\n  num_heads: 0\n",
    "many_channels": b"name: x\nfrontend:\n  num_channels: 100000\n",
    "unknown_key": b"name: x\nfrontend:\n  num_chanels: 40\n",
    "wrong_type": b"name: x\nseed: twelve\n",
    "list": b"- name: x\n",
    "no_name": b"seed: 3\n",
    "slash_name": b"name: a/b\n",
    "bad_yaml": b"name: [x\n",
    "huge_clip": b"name: x\ndata:\n  clip_seconds: 3600\n",
    "zero_subsample": b"name: x\nacoustic:\n  subsample: 0\n",
}


def make_recipes(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, data in RECIPES.items():
        out[name] = folder / f"{name}.yaml"
        out[name].write_bytes(data)
    out["exponent"] = folder / "exponent.yaml"
    out["exponent"].write_text("name: x\nbudget:\n  memory_bytes: 1.5e6\ntraining:\n  acoustic:\n    learning_rate: 2e-4\n")
    return out


def make_models(folder: Path, tiny_run: Path) -> dict[str, Path]:
    import flatbuffers

    import edgeser  # noqa: F401  (tf-keras before TensorFlow)
    import tensorflow as tf
    from edgeser.quantize.edgetpu_check import load_model

    folder.mkdir(parents=True, exist_ok=True)
    good = tiny_run / "fusion_int8.tflite"
    out = {"empty": folder / "empty.tflite", "text": folder / "text.tflite", "truncated": folder / "truncated.tflite",
           "folder": folder / "folder.tflite", "float": folder / "float.tflite", "custom_op": folder / "custom.tflite"}
    out["empty"].write_bytes(b"")
    out["text"].write_text("TFL3 is in here but this is text\n")
    out["truncated"].write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    out["folder"].mkdir()
    keras = tf.keras.Sequential([tf.keras.Input((8,)), tf.keras.layers.Dense(4)])
    out["float"].write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras).convert())
    model, _ = load_model(good)  # an int8 model whose first op is one TFLite-Micro has no kernel for
    code = model.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = 32  # CUSTOM
    code.customCode = b"edgetpu-custom-op"
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    out["custom_op"].write_bytes(bytes(builder.Output()))
    return out


def make_corpora(folder: Path, audio: dict[str, Path]) -> dict[str, Path]:
    out = {}
    hostile = folder / "hostile"
    hostile.mkdir(parents=True)
    shutil.copy(audio["good"], hostile / "a.wav")
    shutil.copy(audio["good"], hostile / "b.wav")
    (hostile / "labels.csv").write_text(
        'path,label,speaker\na.wav,"ha\nppy",s1\nb.wav,"x""q",s1\na.wav,"??=",s2\n../outside.wav,sad,s2\n'
        "b.wav,neutral,s2\na.wav,sad,s3\n"
    )
    shutil.copy(audio["good"], folder / "outside.wav")
    out["hostile"] = hostile
    out["file"] = audio["good"]
    nan_corpus = folder / "nan_corpus"
    nan_corpus.mkdir()
    shutil.copy(audio["nan"], nan_corpus / "n.wav")
    shutil.copy(audio["good"], nan_corpus / "g.wav")
    (nan_corpus / "labels.csv").write_text("path,label,speaker\nn.wav,sad,s1\ng.wav,happy,s2\n")
    out["nan_corpus"] = nan_corpus
    return out


# ---------------------------------------------------------------- the runner
@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tiny_run):
    root = tmp_path_factory.mktemp("bad")
    audio = make_audio(root / "audio")
    run_copy = root / "run"
    shutil.copytree(tiny_run, run_copy)
    return {
        "root": root,
        "audio": audio,
        "recipes": make_recipes(root / "recipes"),
        "models": make_models(root / "models", tiny_run),
        "corpora": make_corpora(root / "corpora", audio),
        "run": run_copy,
    }


def _invoke(args: list[str]):
    from edgeser.cli import app

    return CliRunner().invoke(app, args, catch_exceptions=True)


def _leftovers(folder: Path) -> list[str]:
    """Temporary files and empty outputs under ``folder`` (partial writes)."""
    bad = []
    for p in folder.rglob("*"):
        if p.is_file() and (p.name.endswith(".tmp") or (p.stat().st_size == 0 and p.suffix in (".npy", ".json", ".h"))):
            bad.append(str(p))
    return bad


def _check(case: Case, args: list[str], out_dir: Path | None = None):
    result = _invoke(args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case.name}: traceback\n{result.output}\n{result.exception!r}"
    )
    assert result.exit_code == case.code, f"{case.name}: exit {result.exit_code}, wanted {case.code}\n{result.output}"
    assert result.exit_code in (0, 1, 2)
    if case.says:
        assert case.says in " ".join(result.output.split()), f"{case.name}: output does not say {case.says!r}\n{result.output}"
    if out_dir is not None and out_dir.exists():
        assert not _leftovers(out_dir), f"{case.name}: partial files {_leftovers(out_dir)}"
    return result


# ---------------------------------------------------------------- recipes
RECIPE_CASES = [
    ("empty", 2, "the recipe is empty"),
    ("non_utf8", 2, "not UTF-8 text"),
    ("duplicate", 2, "duplicate key (lines 2 and 3)"),
    ("inf_clip", 2, "data.clip_seconds: must be a finite number"),
    ("nan_lr", 2, "learning_rate: must be a finite number"),
    ("huge_seed", 2, "seed: 99999999999 is out of range"),
    ("zero_heads", 2, "num_heads: must be positive"),
    ("many_channels", 2, "num_channels: 100000"),
    ("unknown_key", 2, "frontend.num_chanels: unknown key"),
    ("wrong_type", 2, "seed: expected int"),
    ("list", 2, "must be a mapping"),
    ("no_name", 2, "name: required key is missing"),
    ("slash_name", 2, "name: must be a non-empty folder name"),
    ("bad_yaml", 2, "not valid YAML"),
    ("huge_clip", 2, "clip_seconds: must be in (0, 60]"),
    ("zero_subsample", 2, "subsample"),
    ("exponent", 0, "memory_bytes: 1500000"),
]


@pytest.mark.parametrize("name,code,says", RECIPE_CASES, ids=[c[0] for c in RECIPE_CASES])
def test_recipe_check(inputs, name, code, says):
    path = inputs["recipes"][name]
    _check(Case(name, code, says), ["recipe", "check", str(path)])


def test_recipe_given_as_a_folder_or_missing(inputs, tmp_path):
    _check(Case("folder", 2, "is a folder, not a recipe file"), ["recipe", "check", str(tmp_path)])
    _check(Case("missing", 2, "recipe file not found"), ["recipe", "check", str(tmp_path / "nope.yaml")])
    out = tmp_path / "run"
    _check(Case("train", 2, "duplicate key"),
           ["train", "--recipe", str(inputs["recipes"]["duplicate"]), "--out", str(out)])
    assert not out.exists()  # refused before anything was made


# ---------------------------------------------------------------- audio -> features
AUDIO_CASES = [
    ("empty", "file is empty"), ("text", "not a readable audio file"), ("folder", None),
    ("truncated", None), ("one_sample", "shorter than one"), ("nan", "NaN or infinite"),
    ("loud_float", "outside [-1, 1]"),
]


@pytest.mark.parametrize("name,says", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_features_refuse_bad_audio(inputs, tmp_path, name, says):
    out = tmp_path / "feat"
    result = _check(Case(name, 2, "nothing was written"), ["features", str(inputs["audio"][name]),
                                                                       "--preset", "micro_speech", "--out", str(out)], out)
    if says:
        assert says in " ".join(result.output.split())
    assert not list(out.rglob("*.npy")) if out.exists() else True


def test_features_odd_but_valid_audio(inputs, tmp_path):
    out = tmp_path / "feat"
    audio = inputs["audio"]
    _check(Case("odd", 0, "4 int8 feature file(s) written"),
           ["features", str(audio["good"]), str(audio["silence"]), str(audio["short"]),
            str(audio["stereo_44k"]), "--preset", "micro_speech", "--out", str(out)], out)
    shapes = {p.stem: np.load(p).shape for p in out.glob("*.npy")}
    assert shapes["good"] == shapes["silence"] == (49, 40)  # 1 s
    assert shapes["stereo_44k"] == (17, 40) and shapes["short"] == (2, 40)  # 0.36 s resampled; 0.05 s: 2 frames


def test_features_out_is_a_file(inputs, tmp_path):
    target = tmp_path / "exists.txt"
    target.write_text("keep me")
    _check(Case("out_file", 2, "is a file; it must be a folder"),
           ["features", str(inputs["audio"]["good"]), "--preset", "micro_speech", "--out", str(target)])
    assert target.read_text() == "keep me"


# ---------------------------------------------------------------- models
MODEL_CASES = [
    ("empty", "cannot be read" ), ("text", "not a TensorFlow Lite model"), ("truncated", "truncated or corrupt"),
    ("folder", "is a folder, not a .tflite model file"), ("float", "not a full-int8 model"), ("custom_op", "TFLite-Micro cannot run this model"),
]


@pytest.mark.parametrize("name,says", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_memory_refuses_bad_models(inputs, name, says):
    path = inputs["models"][name]
    expected = {"empty": "not a TensorFlow Lite model"}.get(name, says)
    _check(Case(name, 2, expected), ["memory", str(path)])


@pytest.mark.parametrize("name", ["empty", "text", "truncated", "folder"])
def test_check_refuses_bad_models(inputs, name):
    _check(Case(name, 2, inputs["models"][name].name), ["check", str(inputs["models"][name])])


# ---------------------------------------------------------------- corpora
def test_data_stats_on_a_file_and_on_bad_clips(inputs):
    corpora = inputs["corpora"]
    _check(Case("file", 2, "is a file, not a folder"),
           ["data", "stats", str(corpora["file"]), "--corpus", "generic"])
    result = _check(Case("nan", 0, "NaN or infinite"),
                    ["data", "stats", str(corpora["nan_corpus"]), "--corpus", "generic"])
    assert "n.wav" in result.output


def test_generic_reader_skips_hostile_labels_and_outside_paths(inputs):
    from edgeser.corpora import read_corpus

    read = read_corpus("generic", inputs["corpora"]["hostile"])
    assert sorted(u.label for u in read.utterances) == ["neutral", "sad"]
    reasons = " ".join(r for _, r in read.problems)
    assert reasons.count("has characters outside letters") == 3 and "points outside the corpus folder" in reasons


def test_hostile_labels_make_headers_that_compile(tmp_path):
    """Every label a user could bring, written into labels.h and a *_io.h, compiles and reads back."""
    from edgeser.c_strings import parse_c_string
    from edgeser.quantize.c_export import TensorQuant, io_header
    from edgeser.quantize.firmware_export import render_labels_h

    if shutil.which("g++") is None:
        pytest.skip("needs the host g++ to compile the generated headers")
    labels = ["ha\nppy", 'q"uote', "back\\slash", "??=trigraph??/", "*/ end comment", "/* open", "tab\there",
              "Ärger", "nul\x00byte", "#define X 1", "\\", "?"]
    labels_h = render_labels_h(labels)
    io_h = io_header("edgeser_fusion_model", [TensorQuant("x", "int8", 0.5, 1, (1, 4))],
                     [TensorQuant("y", "int8", 0.1, -3, (1, 12))], labels)
    (tmp_path / "labels.h").write_text(labels_h)
    (tmp_path / "io.h").write_text(io_h)
    main = tmp_path / "main.cc"
    main.write_text('#include <cstdio>\n#include "labels.h"\n#include "io.h"\n'
                    "static const char* const kLabels[] = EDGESER_EMOTION_LABELS;\n"
                    "int main() {\n  for (const char* l : kLabels) std::printf(\"%s\\x1f\", l);\n"
                    "  for (const char* l : edgeser_fusion_model_labels) std::printf(\"%s\\x1e\", l);\n  return 0;\n}\n")
    exe = tmp_path / "main"
    build = subprocess.run(["g++", "-std=c++17", "-Wall", "-Werror", "-Wno-trigraphs", "-trigraphs", str(main), "-o",
                            str(exe)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    out = subprocess.run([str(exe)], capture_output=True).stdout.decode("utf-8")
    want = [label.split("\x00")[0] for label in labels]  # a C string ends at NUL
    assert out.split("\x1e")[0].split("\x1f")[:-1] == want
    assert out.split("\x1f")[-1].split("\x1e")[:-1] == want
    literal = labels_h.split("EDGESER_EMOTION_LABELS {")[1].split("}")[0]
    assert parse_c_string(literal.split(", ")[0]) == labels[0]


# ---------------------------------------------------------------- run folders
def test_run_folder_bad_shapes(inputs, tmp_path):
    run = inputs["run"]
    _check(Case("not_a_folder", 2, "not a run folder"), ["quantize", str(tmp_path / "nope")])
    empty = tmp_path / "empty"
    empty.mkdir()
    _check(Case("empty", 2, "not a run folder"), ["quantize", str(empty)])
    for name, manifest in (("corrupt", "{garbage"), ("foreign", "[1, 2, 3]")):
        bad = tmp_path / name
        shutil.copytree(run, bad)
        (bad / "manifest.json").write_text(manifest)
        for cmd in (["quantize", str(bad)], ["evaluate", str(bad), "--corpus", "demo", "--data", str(bad / "corpus")],
                    ["memory", "--link-map", str(bad / "manifest.json")]):
            says = "mv " if cmd[0] != "memory" else "not a GNU ld link map"
            _check(Case(f"{name}:{cmd[0]}", 2, says), cmd)
    edited = tmp_path / "edited"
    shutil.copytree(run, edited)
    text = (edited / "recipe.yaml").read_text().replace("seed: 0", "seed: 7")
    (edited / "recipe.yaml").write_text(text)
    _check(Case("edited", 2, "recipe.yaml changed after training"), ["quantize", str(edited)])
    broken = tmp_path / "broken_recipe"
    shutil.copytree(run, broken)
    (broken / "recipe.yaml").write_text("name: x\nseed: 1\nseed: 2\n")
    _check(Case("broken_recipe", 2, "is not a valid recipe"), ["quantize", str(broken)])


def test_tampered_output_is_named_and_redone(inputs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(inputs["run"], run)
    (run / "labels.json").write_text((run / "labels.json").read_text() + " ")
    _check(Case("tampered_training", 2, "labels.json changed since the stage wrote it"),
           ["quantize", str(run)])
    run2 = tmp_path / "run2"
    shutil.copytree(inputs["run"], run2)
    (run2 / "check.json").write_text("{}\n")
    _check(Case("tampered_check", 0, "check: redone because check.json changed"), ["quantize", str(run2)])
    assert json.loads((run2 / "check.json").read_text())  # rewritten by the stage


def test_a_second_writer_is_refused(inputs, tmp_path):
    """While this process holds the run's lock, another edgeser process may not write there."""
    from edgeser.rundir import RunDir

    run = RunDir.open(inputs["run"])
    before = (inputs["run"] / "manifest.json").read_bytes()
    with run.locked():
        other = subprocess.run([sys.executable, "-m", "edgeser.cli", "quantize", str(inputs["run"])],
                               capture_output=True, text=True, timeout=300, cwd=REPO)
    assert other.returncode == 1, other.stdout + other.stderr
    assert "another edgeser command is writing into this run folder (pid" in " ".join(other.stderr.split())
    assert "Traceback" not in other.stderr
    assert (inputs["run"] / "manifest.json").read_bytes() == before
    assert not (inputs["run"] / ".lock").read_text().strip()  # released: empty again


def test_stale_results_are_not_shown(inputs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(inputs["run"], run)
    _check(Case("evaluate", 0, ""), ["evaluate", str(run), "--corpus", "demo", "--data", str(run / "corpus")])
    result = next(run.glob("evaluate_*/evaluate_keras.json"))
    manifest = json.loads((run / "manifest.json").read_text())
    rel = result.relative_to(run).as_posix()
    assert "fusion.weights.npz" in manifest["files"][rel]["sources"]
    # a retrain replaces a model: its manifest hash changes
    manifest["files"]["fusion.weights.npz"]["sha256"] = "0" * 64
    (run / "manifest.json").write_text(json.dumps(manifest))
    from edgeser.report import build_report
    from edgeser.rundir import stale_reason

    assert stale_reason(manifest, rel) == f"{rel} was made from an earlier fusion.weights.npz"
    _, md = build_report(run)  # the report's sections refuse stale results (here the latency of bench.json)
    assert "Stale, not shown: bench.json was made from an earlier fusion.weights.npz" in md.read_text()


def test_outputs_follow_the_umask(tmp_path):
    from edgeser import atomic

    old = os.umask(0o022)
    try:
        path = atomic.write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o644


def test_explain_refuses_silence_and_warns_on_short_clips(inputs, tmp_path):
    audio, run = inputs["audio"], inputs["run"]
    _check(Case("silence", 2, "silent (RMS"), ["explain", str(audio["silence"]), "--run", str(run),
                                                            "--out", str(tmp_path / "e1")])
    _check(Case("short", 0, "the clip is 0.05 s long"),
           ["explain", str(audio["short"]), "--run", str(run), "--out", str(tmp_path / "e2")])
    assert json.loads((tmp_path / "e2" / "explain.json").read_text())["warnings"]
    _check(Case("text", 2, "text.wav"), ["explain", str(audio["text"]), "--run", str(run),
                                                      "--out", str(tmp_path / "e3")])


def test_a_waiting_writer_gets_its_turn(tmp_path):
    """``locked(wait=True)`` (the benchmark's shared base run): the second process waits, then goes."""
    from edgeser.recipe import load_recipe
    from edgeser.rundir import RunDir

    recipe = REPO / "tests/data/tiny.yaml"
    run = RunDir(tmp_path / "shared", load_recipe(recipe))
    child = ("import sys, time\nfrom edgeser.recipe import load_recipe\nfrom edgeser.rundir import RunDir\n"
             "run = RunDir(sys.argv[1], load_recipe(sys.argv[2]))\nprint('ready', flush=True)\nt = time.time()\n"
             "with run.locked(wait=True):\n    print(round(time.time() - t, 2), flush=True)\n")
    with run.locked():
        proc = subprocess.Popen([sys.executable, "-c", child, str(run.path), str(recipe)], stdout=subprocess.PIPE,
                                text=True, cwd=REPO)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.5)
        assert proc.poll() is None  # still waiting for the lock
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and float(out.strip()) >= 1.0
