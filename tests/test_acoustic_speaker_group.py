"""``training.acoustic_speaker_group``: the acoustic classifier trained on the embedding
centred over groups of one speaker's examples, as the fusion head reads it with the speaker taken out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeser.models.acoustic import AcousticConfig
from edgeser.recipe import recipe_from_dict
from edgeser.settings import SettingsError

LEVEL = AcousticConfig(num_frames=48, num_channels=16, d_model=16, num_heads=2, num_layers=1, ff_dim=16, subsample=8,
                       stem="conv2d", pooling="meanmax", num_classes=4, embedding_dim=8, input_norm="none")


def _relative_levels(speakers: list[str], per_speaker: int, seed: int):
    """Clips whose class is their level relative to their speaker's (class k: + 12 k codes),
    while the speakers' own levels spread over 120 codes: separable only per speaker."""
    rng = np.random.default_rng(seed)
    x, y, s = [], [], []
    for name in speakers:
        base = rng.uniform(-60, 60)
        for i in range(per_speaker):
            x.append(np.clip(base + 12 * (i % 4) + rng.normal(0, 6, (48, 16)), -128, 127))
            y.append(i % 4)
            s.append(name)
    return np.asarray(x, np.float32), np.asarray(y), np.asarray(s)


def test_batches_are_groups_of_one_speaker_covering_every_example():
    from edgeser.models.speaker_training import group_partners, speaker_batches

    groups = np.array(["a"] * 10 + ["b"] * 7 + ["c"] * 4)
    batches = speaker_batches(groups, 4, 8, np.random.default_rng(0))
    rows = np.concatenate(batches)
    assert set(rows) == set(range(21))
    assert len(rows) == 12 + 8 + 4  # a's and b's last groups filled up from their own examples
    assert all(len(b) == 8 for b in batches[:-1]) and len(batches[-1]) in (4, 8)
    for batch in batches:
        for group in batch.reshape(-1, 4):
            assert len(set(groups[group])) == 1 and len(set(group)) == 4
    partners = group_partners(10, 4, np.random.default_rng(1))
    assert sorted(partners[:4]) == [0, 1, 2, 3] and sorted(partners[4:8]) == [4, 5, 6, 7] and sorted(partners[8:]) == [8, 9]
    with pytest.raises(ValueError, match="divide the batch"):
        speaker_batches(groups, 3, 8, np.random.default_rng(0))
    small = speaker_batches(groups, 8, 8, np.random.default_rng(0))  # c's 4 examples fill its group twice each
    c_group = [b for b in small if groups[b[0]] == "c"][0]
    assert sorted(c_group) == [17, 17, 18, 18, 19, 19, 20, 20]


def test_the_training_net_centres_each_group_and_the_fold_keeps_the_graph_and_kernel():
    from edgeser.models.acoustic import build_acoustic_model, embedding_model
    from edgeser.models.speaker_norm import speaker_centre
    from edgeser.models.speaker_training import fold_typical_speaker, group_centred_net, typical_speaker_mean

    model = build_acoustic_model(LEVEL)
    x = np.random.default_rng(0).integers(-128, 128, (8, 48, 16)).astype(np.float32)
    emb = embedding_model(model).predict(x, verbose=0)
    kernel, bias = model.get_layer("logits").get_weights()
    grouped = emb.reshape(2, 4, -1)
    centred = (grouped - grouped.mean(axis=1, keepdims=True)).reshape(8, -1)
    net = group_centred_net(model, 4)
    np.testing.assert_allclose(net.predict(x, verbose=0), centred @ kernel + bias, rtol=1e-4, atol=1e-4)
    assert net.count_params() == model.count_params()  # the model's own layers, nothing added

    speakers = np.array(["a"] * 3 + ["b"] * 5)
    by_speaker = speaker_centre(emb, speakers)
    np.testing.assert_allclose(by_speaker[:3], emb[:3] - emb[:3].mean(0), rtol=1e-5, atol=1e-6)
    mean = typical_speaker_mean(emb, speakers)
    np.testing.assert_allclose(mean, (emb[:3].mean(0) + emb[3:].mean(0)) / 2, rtol=1e-5, atol=1e-6)
    layers_before = [layer.name for layer in model.layers]
    fold_typical_speaker(model, emb, speakers)
    assert [layer.name for layer in model.layers] == layers_before
    np.testing.assert_array_equal(model.get_layer("logits").get_weights()[0], kernel)  # only the bias moves
    np.testing.assert_allclose(model.predict(x, verbose=0), (emb - mean) @ kernel + bias, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="3 speakers for 8 embeddings"):
        speaker_centre(emb, speakers[:3])


def test_speaker_groups_learn_what_only_the_speaker_relative_level_tells():
    """Class = level relative to the speaker's own: a plain model stays near chance on new
    speakers, the speaker-group model (scored per speaker, as the fusion head reads it) does not."""
    from edgeser.train_options import one_hot, train_acoustic

    x, y, s = _relative_levels([f"train{i}" for i in range(8)], 24, 0)
    vx, vy, vs = _relative_levels([f"val{i}" for i in range(3)], 24, 1)
    best = {}
    for group in (0, 8):
        recipe = recipe_from_dict({"name": "r", "training": {
            "acoustic_speaker_group": group,
            "acoustic": {"epochs": 12, "batch_size": 16, "patience": 12, "learning_rate": 0.003}}})
        _, history, _ = train_acoustic(recipe, LEVEL, (x, one_hot(y, 4)), (vx, vy), None, 0, progress=False,
                                       speakers=(s, vs) if group else None)
        best[group] = history.best_val_ua
    assert best[0] < 0.40 and best[8] > 0.45 and best[8] - best[0] > 0.15, best


def test_bad_settings_are_refused_with_the_key_named():
    from edgeser.train_options import one_hot, train_acoustic

    for bad in (1, 3):
        with pytest.raises(SettingsError, match="training.acoustic_speaker_group.*divide"):
            recipe_from_dict({"name": "r", "training": {"acoustic_speaker_group": bad, "acoustic": {"batch_size": 8}}})
    for extra, message in (({"framework": "torch"}, "TensorFlow only"),
                           ({"eam": {"enabled": True}}, "EAM and CO-VADA"),
                           ({"acoustic": {"batch_size": 8, "loss": {"supcon": 0.1}}}, "center and supcon")):
        with pytest.raises(SettingsError, match=f"acoustic_speaker_group.*{message}"):
            recipe_from_dict({"name": "r", "training": {"acoustic_speaker_group": 4, **extra}})
    recipe = recipe_from_dict({"name": "r", "training": {"acoustic_speaker_group": 4, "acoustic": {"epochs": 1}}})
    x, y, s = _relative_levels(["a", "b"], 8, 0)
    with pytest.raises(ValueError, match="needs the training and validation clips' speakers"):
        train_acoustic(recipe, LEVEL, (x, one_hot(y, 4)), (x[:4], y[:4]), None, 0, progress=False)
    with pytest.raises(ValueError, match="3 \\+ 4 speakers for 16 training and 4 validation clips"):
        train_acoustic(recipe, LEVEL, (x, one_hot(y, 4)), (x[:4], y[:4]), None, 0, progress=False,
                       speakers=(s[:3], s[:4]))


@pytest.mark.slow
def test_a_demo_run_trains_the_acoustic_model_in_speaker_groups(tmp_path):
    """`edgeser demo` with speaker groups: the same acoustic graph and ops (all mapped), its
    validation UA scored per speaker, and the random crops grouped with their clips' speakers."""
    from conftest import tiny_variant_run

    out = tiny_variant_run(tmp_path, "tiny_speaker_groups", {"training": {"acoustic_speaker_group": 4, "random_crops": 1}})
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    summary = stages["train_acoustic"]["summary"]
    assert summary["random_crops"] > 0 and 0 <= summary["best_val_ua"] <= 1
    check = json.loads((out / "check.json").read_text())
    assert check["acoustic"]["fraction_mapped"] == 1.0 and check["acoustic"]["cpu_count"] == 0, check["acoustic"]["notes"]
