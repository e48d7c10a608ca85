"""`training.framework: torch` end to end: the tiny recipe's three models train as PyTorch twins, then go through
the same int8, Edge TPU check, memory, export and evaluation stages as the TensorFlow route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytest.importorskip("torch", reason="torch is installed by `make setup` (the PyTorch route)")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory) -> Path:
    from conftest import tiny_variant_run

    return tiny_variant_run(tmp_path_factory.mktemp("torch_route"), "tiny_torch", {"training": {"framework": "torch"}})


def test_torch_trained_models_reach_the_device_route(torch_run):
    saved = yaml.safe_load((torch_run / "recipe.yaml").read_text())
    assert saved["training"]["framework"] == "torch"
    check = json.loads((torch_run / "check.json").read_text())
    assert set(check) == {"keyword", "acoustic", "fusion"}
    assert all(c["cpu_count"] == 0 and c["mapped_count"] > 0 for c in check.values())
    report = json.loads((torch_run / "quantize_report.json").read_text())
    # int8 (TFLite-Micro) against the float model on the 24 test clips: logits within a few hundredths; the
    # two-epoch tiny models sit near ties, so a few argmaxes may flip (the demo recipe's figures: docs)
    for name, agreement in (("audio_only", 0.8), ("fusion", 0.9)):
        models = report["models"][name]
        assert models["argmax_agreement"] >= agreement and models["mean_abs_logit_error"] < 0.05, (name, models)
    memory = json.loads((torch_run / "memory.json").read_text())
    assert not memory["over_budget"]
    for name in ("keyword", "acoustic", "fusion"):
        assert (torch_run / f"{name}_int8.tflite").is_file() and (torch_run / f"curves_{name}.png").is_file()


def test_a_torch_recipe_with_a_tensorflow_only_loss_is_refused():
    from edgeser.recipe import recipe_from_dict
    from edgeser.settings import SettingsError

    recipe = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    recipe["training"]["framework"] = "torch"
    recipe["training"]["acoustic"]["loss"] = {"focal": 1.0}
    with pytest.raises(SettingsError, match="torch trains the cross-entropy loss only; training.acoustic.loss.focal"):
        recipe_from_dict(recipe)
    recipe["training"]["framework"] = "jax"
    with pytest.raises(SettingsError, match="must be 'tensorflow' or 'torch'"):
        recipe_from_dict(recipe)
