"""edgeser bench on the host backends, with tiny full-int8 models built here.

Timings are only checked for sanity (positive, ordered, counted right), never for
absolute values: the machine is shared.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from edgeser.benchmarks.cli import bench
from edgeser.benchmarks.latency import BenchError, read_model, single_op_model

RUNS = 12
WARMUP = 2


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    from edgeser.benchmarks.synthetic import tiny_float_tflite, tiny_int8_tflite

    d = tmp_path_factory.mktemp("bench_models")
    out = {"small": d / "small.tflite", "large": d / "large.tflite", "float": d / "float.tflite"}
    out["small"].write_bytes(tiny_int8_tflite(filters=4))
    out["large"].write_bytes(tiny_int8_tflite(filters=24))
    out["float"].write_bytes(tiny_float_tflite(filters=4))
    # A model that claims to be compiled for the Edge TPU (edgetpu-custom-op present).
    from ai_edge_litert import schema_py_generated as schema
    import flatbuffers

    m = schema.ModelT.InitFromPackedBuf(out["small"].read_bytes(), 0)
    code = schema.OperatorCodeT()
    code.builtinCode = schema.BuiltinOperator.CUSTOM
    code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "edgetpu-custom-op"
    code.version = 1
    m.operatorCodes.append(code)
    m.subgraphs[0].operators[0].opcodeIndex = len(m.operatorCodes) - 1
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    out["compiled"] = d / "small_edgetpu.tflite"
    out["compiled"].write_bytes(bytes(b.Output()))
    out["notmodel"] = d / "notes.tflite"
    out["notmodel"].write_text("this is not a model\n")
    return out


@pytest.fixture()
def cli():
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(bench)

    @app.callback()
    def _main() -> None:  # keeps "bench" a sub-command, as in the main CLI
        pass

    return app


def _ordered(s: dict) -> None:
    assert s["min_ms"] > 0
    assert s["min_ms"] <= s["median_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["max_ms"]
    assert s["min_ms"] <= s["mean_ms"] <= s["max_ms"]


@pytest.mark.parametrize("backend,variant", [("litert", "builtin"), ("litert", "reference"), ("tflm", "")])
def test_host_backends_report_real_timings(models, backend, variant):
    from edgeser.benchmarks.measure import Timing, benchmark_model

    r = benchmark_model(read_model(models["small"]), backend, variant, Timing(WARMUP, RUNS))
    assert r["stats"]["n"] == RUNS == len(r["samples_ms"])
    _ordered(r["stats"])
    assert r["label"] == (f"{backend}/{variant}" if variant else backend)
    assert r["input_shapes"] == [[1, 49, 40, 1]]
    assert "deterministic random" in r["inputs"]


def test_features_file_fills_the_input(models, tmp_path):
    from edgeser.benchmarks.latency import input_specs, make_inputs

    mf = read_model(models["small"])
    feats = np.arange(120 * 40, dtype=np.int64).reshape(120, 40) % 256 - 128  # [frames, C], longer than the window
    np.save(tmp_path / "f.npy", feats.astype(np.int8))
    arrays, how = make_inputs(input_specs(mf), np.load(tmp_path / "f.npy"), "f.npy")
    assert arrays[0].shape == (1, 49, 40, 1) and arrays[0].dtype == np.int8
    assert np.array_equal(arrays[0].reshape(49, 40), feats[:49].astype(np.int8))
    assert "f.npy" in how
    with pytest.raises(BenchError, match="does not fit"):
        make_inputs(input_specs(mf), np.zeros((3, 7), np.int8), "bad.npy")


def test_per_op_breakdown_covers_every_op(models):
    from edgeser.benchmarks.measure import Timing, benchmark_model

    mf = read_model(models["small"])
    r = benchmark_model(mf, "tflm", "", Timing(1, 5), per_op=True, per_op_runs=5)
    assert [o["op"] for o in r["ops"]] == mf.op_names
    assert all(o["median_ms"] is not None and o["median_ms"] > 0 for o in r["ops"])
    assert r["ops"][0]["macs"] > 0 and r["ops_sum_ms"] > 0
    # a one-op model is a valid model with that single op
    sub = single_op_model(mf.data, 0)
    assert read_model_bytes(sub) == ["CONV_2D"]


def read_model_bytes(data: bytes) -> list[str]:
    from edgeser.tflite_file import read

    return read(data).op_names


def test_vs_reports_ratio_of_medians(models):
    from edgeser.benchmarks.measure import Timing, compare_models

    c = compare_models(read_model(models["small"]), read_model(models["large"]), "litert", "reference", Timing(WARMUP, RUNS))
    a, b = c["a"]["stats"], c["b"]["stats"]
    assert a["n"] == b["n"] == RUNS
    _ordered(a)
    _ordered(b)
    assert c["ratio_of_medians"] == pytest.approx(a["median_ms"] / b["median_ms"])
    assert c["ratio_of_medians"] > 0


def test_cli_json_and_out(models, cli, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        ["bench", str(models["small"]), "--backend", "litert", "--runs", str(RUNS), "--warmup", "1",
         "--vs", str(models["large"]), "--json", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["schema"] == "edgeser.bench/1"
    assert [r["label"] for r in doc["results"]] == ["litert/builtin", "litert/reference"]
    for r in doc["results"]:
        _ordered(r["stats"])
        assert r["stats"]["n"] == RUNS
    assert len(doc["comparisons"]) == 2 and all(c["ratio_of_medians"] > 0 for c in doc["comparisons"])
    preds = {Path(p["model"]).name: p for p in doc["predictions"]}
    assert set(preds) == {"small.tflite", "large.tflite"}
    assert all(p["label"].startswith("predicted") for p in preds.values())
    assert json.loads((out / "bench.json").read_text())["results"][0]["stats"] == doc["results"][0]["stats"]
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == 2 and all((out / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert not list(out.glob(".*.tmp"))


def test_cli_table_on_tflm(models, cli):
    res = CliRunner().invoke(cli, ["bench", str(models["small"]), "-b", "tflm", "--runs", "5", "--warmup", "1", "--no-predict"])
    assert res.exit_code == 0, res.output
    assert "small.tflite" in res.stdout and "tflm" in res.stdout and "median" in res.stdout


@pytest.mark.parametrize(
    "case,args,needle",
    [
        ("notmodel", ["{notmodel}"], "{notmodel} is not a TensorFlow Lite model"),
        ("missing", ["{dir}/nope.tflite"], "nope.tflite does not exist"),
        ("float", ["{float}", "-b", "edgetpu"], "{float} is a float model"),
        ("uncompiled", ["{small}", "-b", "edgetpu"], "{small} is not compiled for the Edge TPU"),
        ("device", ["-b", "board", "--port", "/dev/ttyEDGESER_NONE"], "cannot open serial device /dev/ttyEDGESER_NONE"),
        ("silent", ["-b", "board", "--port", "loop://", "--board-timeout", "0.3"], "serial device loop:// sent no BENCH block"),
    ],
)
def test_bad_inputs_one_sentence_nonzero_nothing_written(models, cli, tmp_path, case, args, needle):
    subs = {k: str(v) for k, v in models.items()} | {"dir": str(tmp_path)}
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["bench", *[a.format(**subs) for a in args], "--out", str(out)])
    assert res.exit_code == 2
    err = res.stderr.strip()
    assert err.startswith("error: ") and needle.format(**subs) in err
    assert err.count("\n") == 0 and err.endswith(".")
    assert not out.exists()


def test_edgetpu_runtime_absent_is_one_sentence(models, cli, tmp_path):
    from edgeser.benchmarks.backends import edgetpu_available

    ok, _ = edgetpu_available()
    if ok:
        pytest.skip("an Edge TPU is attached here; the absent-runtime message cannot be shown")
    res = CliRunner().invoke(cli, ["bench", str(models["compiled"]), "-b", "edgetpu", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "edgetpu backend cannot run here" in res.stderr and "libedgetpu.so.1" in res.stderr
    assert res.stderr.strip().count("\n") == 0
    assert not (tmp_path / "o").exists()


def test_pipeline_counts_windows(models, tmp_path):
    from edgeser.benchmarks.measure import find_pipeline_models, keyword_windows, pipeline_latency

    run = tmp_path / "run"
    run.mkdir()
    for name, src in (("kws.tflite", "small"), ("acoustic.tflite", "large"), ("fusion.tflite", "small")):
        (run / name).write_bytes(models[src].read_bytes())
    found = find_pipeline_models(run)
    p = pipeline_latency(found["keyword"], found["acoustic"], found["fusion"], audio_seconds=2.0, backend="litert", runs=3, warmup=1)
    # 2 s at 30 ms window / 20 ms stride = 99 frames; 49-frame windows every 25 frames -> 3
    assert p["frames"] == 99 and p["keyword_windows"] == 3 == keyword_windows(99, 49, 25)
    for s in p["stages"].values():
        assert s["n"] == 3
        _ordered(s)
    assert p["stages"]["total"]["min_ms"] >= p["stages"]["frontend"]["min_ms"]
    with pytest.raises(BenchError, match="fewer than the keyword model's window"):
        pipeline_latency(found["keyword"], found["acoustic"], found["fusion"], audio_seconds=0.5, runs=1)


def test_prediction_deterministic_and_grows_with_macs(models):
    from edgeser.benchmarks.predict import predict_model

    a1, a2 = predict_model(models["small"]).to_dict(), predict_model(models["small"]).to_dict()
    assert a1 == a2
    big = predict_model(models["large"])
    assert big.macs_total > a1["macs_total"]
    assert big.total_ms > a1["total_ms"] and big.cpu_only_ms > a1["cpu_only_ms"]
    with pytest.raises(BenchError, match="already compiled"):
        predict_model(models["compiled"])
