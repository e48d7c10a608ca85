"""`edgeser features`: files and folders in, one .npy per file out, bad files reported."""

from __future__ import annotations

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from edgeser.corpora.audio import write_wav
from edgeser.frontend.batch import extract_to_dir
from edgeser.frontend.cli import features
from edgeser.frontend.config import PRESETS
from edgeser.frontend.features import compute_features
from edgeser.frontend.microfrontend import compute_raw


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("features")(features)

    @app.command("noop")
    def noop() -> None:  # a second command keeps "features" a sub-command, as in the main CLI
        pass

    return app


def _clip(seed: int, seconds: float = 0.4, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (4000 * np.sin(2 * np.pi * (300 + 50 * seed) * t) + rng.normal(0, 200, t.size)).astype(np.int16)


@pytest.fixture()
def inputs(tmp_path):
    single = tmp_path / "one.wav"
    write_wav(single, _clip(1))
    folder = tmp_path / "corpus"
    write_wav(folder / "a" / "x.wav", _clip(2))
    write_wav(folder / "b" / "x.wav", _clip(3))  # same stem, different sub-folder
    (folder / "notes.txt").write_text("not audio")
    broken = folder / "b" / "broken.wav"
    broken.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    return {"single": single, "folder": folder, "broken": broken, "empty": empty}


def test_features_int8_by_default(tmp_path, inputs):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        _app(),
        ["features", str(inputs["single"]), str(inputs["folder"]), str(inputs["empty"]),
         "--preset", "micro_speech", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy"))
    assert written == ["a/x.npy", "b/x.npy", "one.npy"]
    for rel in written:
        arr = np.load(out / rel)
        assert arr.dtype == np.int8 and arr.shape[1] == 40
    expected = compute_features(_clip(1), PRESETS["micro_speech"])
    assert np.array_equal(np.load(out / "one.npy"), expected)
    # the bad files are reported, with reasons
    assert "broken.wav" in result.output and "empty.wav" in result.output
    assert "skipped" in result.output


def test_features_raw_uint16_with_recipe(tmp_path, inputs):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: t\nfrontend:\n  preset: coralmicro\n  num_channels: 32\n")
    out = tmp_path / "raw"
    result = CliRunner().invoke(
        _app(), ["features", str(inputs["single"]), "--recipe", str(recipe), "--out", str(out), "--raw"]
    )
    assert result.exit_code == 0, result.output
    arr = np.load(out / "one.npy")
    assert arr.dtype == np.uint16 and arr.shape[1] == 32
    config = PRESETS["coralmicro"].replace(num_channels=32)
    assert np.array_equal(arr, compute_raw(_clip(1), config))


def test_nothing_written_is_bad_input(tmp_path, inputs):
    result = CliRunner().invoke(
        _app(),
        ["features", str(inputs["broken"]), str(inputs["empty"]), "--preset", "micro_speech",
         "--out", str(tmp_path / "none")],
    )
    assert result.exit_code == 2
    assert "broken.wav" in result.output and "empty.wav" in result.output


def test_exactly_one_of_recipe_or_preset(tmp_path, inputs):
    runner = CliRunner()
    neither = runner.invoke(_app(), ["features", str(inputs["single"]), "--out", str(tmp_path / "o")])
    assert neither.exit_code != 0
    recipe = tmp_path / "r.yaml"
    recipe.write_text("frontend:\n  preset: micro_speech\n")
    both = runner.invoke(
        _app(),
        ["features", str(inputs["single"]), "--preset", "micro_speech", "--recipe", str(recipe),
         "--out", str(tmp_path / "o")],
    )
    assert both.exit_code != 0
    unknown = runner.invoke(_app(), ["features", str(inputs["single"]), "--preset", "nope", "--out", str(tmp_path / "o")])
    assert unknown.exit_code != 0


def test_extract_to_dir_report(tmp_path, inputs):
    report = extract_to_dir(
        [inputs["single"], inputs["folder"], inputs["empty"], tmp_path / "missing.wav"],
        PRESETS["micro_speech"],
        tmp_path / "o",
        raw=True,
        progress=False,
    )
    assert sorted(p.name for p in report.written) == ["one.npy", "x.npy", "x.npy"]
    reasons = {p.name: r for p, r in report.skipped}
    assert set(reasons) == {"broken.wav", "empty.wav", "missing.wav"}
    assert "empty" in reasons["empty.wav"]
    assert "does not exist" in reasons["missing.wav"]
    assert all(np.load(p).dtype == np.uint16 for p in report.written)
    assert not list((tmp_path / "o").rglob("*.tmp"))


def test_mltk_comparison_says_how_to_get_mltk():
    """silabs-mltk cannot share edgeser's environment (protobuf < 4): the MLTK benchmark says how to
    give it its own, and exits 2 (a missing optional tool), where it is not importable."""
    import importlib.util

    from edgeser.cli import app

    if importlib.util.find_spec("mltk") is not None:
        pytest.skip("silabs-mltk is importable here: this environment runs the comparison itself")
    result = CliRunner().invoke(app, ["benchmark", "mltk-frontend"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "silabs-mltk is not importable" in text and "pip install silabs-mltk==0.20.0" in text
    assert "edgeser benchmark mltk-frontend" in text
