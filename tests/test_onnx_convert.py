"""`edgeser convert`: a small PyTorch model through ONNX (torch.onnx.export, dynamo=False) and onnx2tf
to full int8, its Edge TPU check, and the int8 model's agreement with the float ONNX model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is installed by `make setup` (the PyTorch route)")
pytest.importorskip("onnx2tf", reason="onnx2tf is installed by `make setup` (requirements-onnx.txt)")

from typer.testing import CliRunner  # noqa: E402

from edgeser.cli import app  # noqa: E402


def unwrapped(text: str) -> str:
    """CLI output without whitespace: the terminal wraps it at spaces or inside long paths,
    wherever the temporary folder's length puts the line end."""
    return "".join(text.split())


T, C = 150, 40


class SmallSer(torch.nn.Module):
    """Conv1d SER classifier on [B, C, T] int8 feature codes (PyTorch's channels-first layout)."""

    def __init__(self, width: int = 32, classes: int = 4):
        super().__init__()
        nn = torch.nn
        self.body = nn.Sequential(
            nn.Conv1d(C, width, 3, stride=2, padding=1), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Conv1d(width, width, 3, stride=3, padding=1), nn.BatchNorm1d(width), nn.ReLU(),
        )
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.body(x / 128.0).mean(dim=2))


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory) -> tuple[Path, Path]:
    """(model.onnx, calibration.npy [32, C, T]) of a SmallSer with trained-looking BN statistics."""
    folder = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    model = SmallSer()
    rng = np.random.default_rng(0)
    calib = rng.integers(-128, 128, (32, C, T)).astype(np.float32)
    model.train()
    with torch.no_grad():
        for _ in range(3):  # move the BN running statistics off their defaults
            model(torch.from_numpy(calib))
    model.eval()
    path = folder / "small_ser.onnx"
    torch.onnx.export(model, (torch.from_numpy(calib[:1]),), str(path), input_names=["features"],
                      output_names=["logits"], dynamo=False, opset_version=13)
    np.save(folder / "calib.npy", calib)
    return path, folder / "calib.npy"


def test_convert_maps_every_op_and_agrees_with_float(small_onnx, tmp_path):
    model, calib = small_onnx
    res = CliRunner().invoke(app, ["convert", str(model), "--calibration", str(calib), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert unwrapped("all 11 ops predicted to map") in unwrapped(res.output)
    doc = json.loads((tmp_path / "small_ser_check.json").read_text())
    assert doc["check"]["cpu_count"] == 0 and doc["check"]["fraction_mapped"] == 1.0
    assert "TRANSPOSE" not in {op["name"] for op in doc["check"]["ops"]}
    assert doc["inputs"] == [{"name": "features", "onnx_shape": [1, C, T], "int8_shape": [T, C]}]
    assert doc["calibration"]["examples"] == 32
    assert doc["int8_vs_float"]["argmax_agreement"] >= 0.9
    assert doc["int8_vs_float"]["mean_abs_error"] < 0.05 * doc["int8_vs_float"]["max_abs_float_output"]
    data = (tmp_path / "small_ser_int8.tflite").read_bytes()
    assert data[4:8] == b"TFL3" and len(data) == doc["tflite_bytes"]


def test_keep_layout_puts_a_transpose_on_the_cpu(small_onnx, tmp_path):
    """Keeping PyTorch's [C, T] input makes onnx2tf transpose inside the model: the check names it, exit 1."""
    model, calib = small_onnx
    res = CliRunner().invoke(app, ["convert", str(model), "--calibration", str(calib), "--out", str(tmp_path),
                                   "--keep-layout", "--name", "kept"])
    assert res.exit_code == 1, res.output
    doc = json.loads((tmp_path / "kept_check.json").read_text())
    assert doc["inputs"][0]["int8_shape"] == [C, T]
    assert doc["check"]["first_unmapped"]["name"] == "TRANSPOSE"


def test_bad_model_and_calibration_are_named_and_write_nothing(small_onnx, tmp_path):
    model, calib = small_onnx
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["convert", str(junk), "--calibration", str(calib), "--out", str(out)])
    assert res.exit_code == 2 and unwrapped("junk.onnx: not a valid ONNX model") in unwrapped(res.output)
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((4, T, C), np.float32))  # time-major: not the model's [C, T]
    res = CliRunner().invoke(app, ["convert", str(model), "--calibration", str(wrong), "--out", str(out)])
    text = unwrapped(res.output)
    assert res.exit_code == 2 and unwrapped("wrong.npy: input 'features' takes 1x40x150") in text
    assert unwrapped("(4, 150, 40)") in text
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((2, C, T), np.nan, np.float32))
    res = CliRunner().invoke(app, ["convert", str(model), "--calibration", str(nan), "--out", str(out)])
    assert res.exit_code == 2 and "NaN" in res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    for source, says in ((empty, "no .npy files in the calibration folder"),
                         (tmp_path / "missing.npy", "no such calibration file or folder")):
        res = CliRunner().invoke(app, ["convert", str(model), "--calibration", str(source), "--out", str(out)])
        assert res.exit_code == 2 and unwrapped(says) in unwrapped(res.output), res.output
    assert not out.exists()
    out.write_text("a file")
    res = CliRunner().invoke(app, ["convert", str(model), "--calibration", str(calib), "--out", str(out)])
    assert res.exit_code == 2 and unwrapped("is a file; it must be a folder") in unwrapped(res.output)


def test_an_op_without_an_onnx2tf_converter_is_named(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from edgeser.quantize.onnx_convert import OnnxConvertError, load_onnx, to_keras, unconvertible_ops

    graph = helper.make_graph(
        [helper.make_node("CastLike", ["x", "x"], ["y"])], "castlike",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "castlike.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]), str(path))
    model = load_onnx(path)
    assert unconvertible_ops(model) == ["CastLike"]
    with pytest.raises(OnnxConvertError, match="castlike.onnx: onnx2tf has no converter for op\\(s\\) CastLike"):
        to_keras(model)


def test_a_graph_onnx2tf_cannot_lay_out_names_the_node(tmp_path):
    """edgeser's broadcast attention written channels-first (q [B, d, T, 1] * k [B, d, 1, T]) is beyond
    onnx2tf's layout inference: the error names the ONNX node and the shapes, exit 2, nothing written."""
    t, d = 5, 8

    class BroadcastAttention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k = torch.nn.Conv2d(C, d, 1), torch.nn.Conv2d(C, d, 1)

        def forward(self, x):  # [B, C, T]
            x = x.unsqueeze(-1)
            return (self.q(x) * self.k(x).reshape(1, d, 1, t)).mean(dim=(2, 3))

    path = tmp_path / "attention.onnx"
    torch.onnx.export(BroadcastAttention().eval(), (torch.zeros(1, C, t),), str(path), input_names=["features"],
                      dynamo=False, opset_version=13)
    np.save(tmp_path / "calib.npy", np.ones((2, C, t), np.float32))
    res = CliRunner().invoke(app, ["convert", str(path), "--calibration", str(tmp_path / "calib.npy"),
                                   "--out", str(tmp_path / "out")])
    text = unwrapped(res.output)
    assert res.exit_code == 2, res.output
    assert unwrapped("attention.onnx: onnx2tf could not convert the graph (at node '/Mul' (Mul):") in text
    assert unwrapped("Dimensions must be equal") in text and not (tmp_path / "out").exists()
