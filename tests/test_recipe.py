"""Recipes load into typed, frozen settings; bad keys are refused with their path."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from edgeser.frontend.config import PRESETS, FrontendConfig
from edgeser.recipe import DERIVED, Recipe, load_recipe, recipe_from_dict
from edgeser.settings import SettingsError


@pytest.mark.parametrize("name", ["demo", "paper"])
def test_shipped_recipes_load(repo_root, name):
    recipe = load_recipe(repo_root / "configs" / f"{name}.yaml")
    assert recipe.name == name
    assert isinstance(recipe.frontend, FrontendConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.seed = 3  # type: ignore[misc]


def test_every_recipe_and_search_space_in_configs_is_valid(repo_root):
    """Experiment recipes and search spaces are checked like the shipped ones (no stale key)."""
    from edgeser.search_space import load_space

    recipes = sorted((repo_root / "configs").rglob("*.yaml"))
    spaces = [p for p in recipes if p.parent.name == "search"]
    recipes = [p for p in recipes if p not in spaces]
    assert len(recipes) >= 5 and len(spaces) >= 2
    for path in recipes:
        assert load_recipe(path).name, path
    ravdess = load_recipe(repo_root / "configs/ravdess.yaml")
    for path in spaces:
        assert load_space(path, ravdess).params, path


def test_demo_uses_micro_speech_and_paper_coralmicro(repo_root):
    assert load_recipe(repo_root / "configs/demo.yaml").frontend == PRESETS["micro_speech"]
    paper = load_recipe(repo_root / "configs/paper.yaml").frontend
    assert paper == PRESETS["coralmicro"]
    assert (paper.window_ms, paper.stride_ms, paper.num_channels) == (25, 10, 64)
    assert not paper.noise_reduction and not paper.pcan


def test_presets_match_micro_speech_values():
    fe = PRESETS["micro_speech"]
    assert (fe.sample_rate, fe.window_ms, fe.stride_ms, fe.num_channels) == (16000, 30, 20, 40)
    assert (fe.lower_band_hz, fe.upper_band_hz) == (125.0, 7500.0)
    assert (fe.smoothing_bits, fe.even_smoothing, fe.odd_smoothing, fe.min_signal_remaining) == (10, 0.025, 0.06, 0.05)
    assert (fe.pcan_strength, fe.pcan_offset, fe.gain_bits, fe.log_shift) == (0.95, 80.0, 21, 6)
    assert (fe.window_samples, fe.stride_samples, fe.fft_size) == (480, 320, 512)
    assert fe.num_frames(16000) == 49 and fe.num_frames(479) == 0


@pytest.mark.parametrize(
    "patch, path, words",
    [
        ({"frontend": {"num_chanels": 40}}, "frontend.num_chanels", "unknown key"),
        ({"colour": "red"}, "colour", "unknown key"),
        ({"frontend": {"window_ms": "30"}}, "frontend.window_ms", "expected int"),
        ({"frontend": {"stride_ms": -10}}, "frontend.stride_ms", "must be positive"),
        ({"frontend": {"upper_band_hz": 9000}}, "frontend.upper_band_hz", "above Nyquist"),
        ({"frontend": {"preset": "nope"}}, "frontend.preset", "unknown preset"),
        ({"frontend": {"noise_reduction": "yes"}}, "frontend.noise_reduction", "true/false"),
        ({"data": {"clip_seconds": 0}}, "data.clip_seconds", "must be in (0, 60] s"),
        ({"budget": {"memory_goal_bytes": 2_000_000}}, "budget.memory_goal_bytes", "at most memory_bytes"),
        ({"seed": 1.5}, "seed", "expected int"),
    ],
)
def test_bad_values_are_refused_with_their_path(patch, path, words):
    data = {"name": "t", **patch}
    with pytest.raises(SettingsError) as info:
        recipe_from_dict(data)
    assert info.value.path == path
    assert words in info.value.reason


def test_preset_with_override_and_file_error_names_file(tmp_path):
    recipe = recipe_from_dict({"name": "x", "frontend": {"preset": "coralmicro", "num_channels": 32}})
    assert recipe.frontend.num_channels == 32 and recipe.frontend.window_ms == 25
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "frontend": {"window_ms": 0}}))
    with pytest.raises(SettingsError) as info:
        load_recipe(bad)
    assert str(bad) in str(info.value) and "frontend.window_ms" in str(info.value)
    with pytest.raises(SettingsError, match="not found"):
        load_recipe(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_recipe(broken)


def test_hash_is_stable_and_roundtrips_through_yaml(tmp_path):
    recipe = recipe_from_dict({"name": "x", "seed": 3})
    again = tmp_path / "r.yaml"
    again.write_text(recipe.to_yaml())
    assert load_recipe(again) == recipe
    assert load_recipe(again).sha256() == recipe.sha256()
    assert recipe_from_dict({"name": "x", "seed": 4}).sha256() != recipe.sha256()
    assert isinstance(recipe, Recipe)


def test_frontend_json_roundtrip():
    config = PRESETS["coralmicro"].replace(num_channels=48)
    assert FrontendConfig.from_json(config.to_json()) == config
    assert config.sha256() != PRESETS["coralmicro"].sha256()


def test_unknown_corpus_names_are_refused():
    for key in ("corpus", "keyword_corpus"):
        with pytest.raises(SettingsError) as info:
            recipe_from_dict({"name": "t", "data": {key: "ravdes"}})
        assert info.value.path == f"data.{key}" and "unknown corpus 'ravdes'" in info.value.reason
    assert recipe_from_dict({"name": "t", "data": {"corpus": "crema-d"}}).data.corpus == "crema-d"


@pytest.mark.parametrize("section,key", [(s, k) for s, keys in DERIVED.items() for k in keys])
def test_derived_model_fields_are_refused(section, key):
    """Input sizes and class counts come from the features: a recipe that sets one is refused by path."""
    with pytest.raises(SettingsError) as info:
        recipe_from_dict({"name": "t", section: {key: 8}})
    assert info.value.path == f"{section}.{key}" and "derived from" in str(info.value)


def test_recipe_files_leave_out_derived_fields_and_keep_their_hash(repo_root, tmp_path):
    from edgeser.rundir import RunDir

    recipe = load_recipe(repo_root / "configs/ravdess.yaml")
    # the hash every run folder of this recipe is made with
    assert recipe.sha256().startswith("60688c8833cc")
    import dataclasses

    from edgeser.settings import to_mapping

    # an added field at its default is left out of the hash: the fusion head on raw embeddings
    # hashes as a recipe from before fusion.input_norm / speaker_prior_weight existed
    raw = dataclasses.replace(recipe, fusion=dataclasses.replace(recipe.fusion, input_norm="none"))
    assert not {"input_norm", "speaker_prior_weight"} & set(to_mapping(raw, for_hash=True)["fusion"])
    assert to_mapping(recipe, for_hash=True)["fusion"]["input_norm"] == "speaker" and raw.sha256() != recipe.sha256()
    data = recipe.to_dict()
    assert all(key not in data[section] for section, keys in DERIVED.items() for key in keys)
    assert recipe_from_dict(data) == recipe
    # a run folder written by an older edgeser holds the derived fields: it still opens, same hash
    run = RunDir.create(tmp_path / "run", recipe)
    old = yaml.safe_load((run.path / "recipe.yaml").read_text())
    old["acoustic"].update(num_frames=150, num_channels=40, num_classes=4)
    (run.path / "recipe.yaml").write_text(yaml.safe_dump(old))
    reopened = RunDir.open(run.path)
    assert reopened.recipe == recipe and reopened.recipe_changed is None
