"""``training.train_on_validation``: the validation speakers train the acoustic model and the
fusion head too, every epoch runs and the last one is kept (the keyword model keeps its split)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeser.recipe import recipe_from_dict
from edgeser.settings import SettingsError, to_mapping
from edgeser.train_options import fit_parts


def test_fit_parts_merge_the_validation_clips_into_training_only_when_asked():
    off, on = recipe_from_dict({"name": "r"}), recipe_from_dict({"name": "r", "training": {"train_on_validation": True}})
    tr, va = fit_parts(off, (4, 1, 7), (2, 9))
    assert tr.tolist() == [4, 1, 7] and va.tolist() == [2, 9]
    tr, va = fit_parts(on, (4, 1, 7), (2, 9))
    assert tr.tolist() == [4, 1, 7, 2, 9] and va.shape == (0,) and va.dtype == np.int64


def test_the_option_is_hash_neutral_off_and_refused_with_the_vad_head():
    off, on = recipe_from_dict({"name": "r"}), recipe_from_dict({"name": "r", "training": {"train_on_validation": True}})
    assert "train_on_validation" not in to_mapping(off, for_hash=True)["training"]
    assert to_mapping(on, for_hash=True)["training"]["train_on_validation"] is True and on.sha256() != off.sha256()
    with pytest.raises(SettingsError, match="train_on_validation.*validation CCC"):
        recipe_from_dict({"name": "r", "training": {"train_on_validation": True, "vad": {"enabled": True}}})


@pytest.mark.slow
def test_a_demo_run_trains_on_the_validation_speakers(tmp_path):
    """`edgeser demo` with the option and a speaker-normalised head: both models run all their
    epochs, and the head's prior is the mean of the training *and* validation clips' embeddings."""
    from conftest import tiny_variant_run

    from edgeser.models.speaker_norm import SpeakerPrior

    out = tiny_variant_run(tmp_path, "tiny_train_on_val", {
        "fusion": {"input_norm": "speaker"},
        "training": {"train_on_validation": True, "acoustic": {"epochs": 3, "patience": 1},
                     "fusion": {"epochs": 3, "patience": 1}},
    })
    data = np.load(out / "features.npz")
    tr, va = data["split_train"], data["split_val"]
    assert len(va) > 0  # the split still names them (the report says who they are)
    e = np.concatenate([np.load(out / "embeddings_acoustic.npy"), np.load(out / "embeddings_keyword.npy")], axis=1)
    prior = SpeakerPrior.from_json((out / "speaker_prior.json").read_text())
    np.testing.assert_allclose(prior.mean, e[np.concatenate([tr, va])].mean(axis=0), rtol=1e-6, atol=1e-6)
    assert not np.allclose(prior.mean, e[tr].mean(axis=0), rtol=1e-6, atol=1e-6)
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    acoustic, fusion = stages["train_acoustic"]["summary"], stages["train_fusion"]["summary"]
    assert acoustic["epochs"] == 3 and acoustic["best_val_ua"] is None, acoustic  # patience 1 never stops it
    assert fusion["fusion_best_val_ua"] is None, fusion
    assert (out / "acoustic_int8.tflite").is_file() and (out / "fusion_int8.tflite").is_file()
