"""``acoustic.members``: a seed ensemble of acoustic models run as one graph (one int8 model on
the board): embeddings concatenated, logits averaged; one fusion head per member, merged into
one head graph whose logits are the mean of theirs."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from edgeser.models.acoustic import AcousticConfig
from edgeser.recipe import recipe_from_dict
from edgeser.settings import SettingsError, to_mapping

SMALL = AcousticConfig(num_frames=48, num_channels=16, d_model=16, num_heads=2, num_layers=1, ff_dim=16, subsample=8,
                       stem="conv2d", pooling="meanmax", num_classes=4, embedding_dim=8, input_norm="utterance")


def _codes(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (n, SMALL.num_frames, SMALL.num_channels)).astype(np.float32)


def test_the_ensemble_concatenates_embeddings_and_averages_logits():
    from edgeser.models.acoustic import build_acoustic_model, embedding_model, ensemble_of

    members = [build_acoustic_model(SMALL) for _ in range(3)]
    ensemble = ensemble_of(members)
    x = _codes(6)
    logits = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), logits, rtol=1e-5, atol=1e-5)
    emb = np.concatenate([embedding_model(m).predict(x, verbose=0) for m in members], axis=1)
    np.testing.assert_array_equal(embedding_model(ensemble).predict(x, verbose=0), emb)
    assert emb.shape == (6, 3 * SMALL.embedding_dim)
    # the builder of members: 3 makes the same graph: a run's stored weights load into it
    rebuilt = build_acoustic_model(dataclasses.replace(SMALL, members=3))
    rebuilt.set_weights(ensemble.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), ensemble.predict(x, verbose=0))
    with pytest.raises(ValueError, match="at least two members"):
        ensemble_of(members[:1])


def test_the_int8_ensemble_maps_on_the_edge_tpu_and_stays_close_to_float():
    from edgeser.evaluation.int8 import Int8Model
    from edgeser.models.acoustic import build_acoustic_model, embedding_model
    from edgeser.quantize.convert import quantize_keras_model, representative_examples
    from edgeser.quantize.edgetpu_check import check_model

    model = build_acoustic_model(dataclasses.replace(SMALL, members=2))
    x = _codes(64)
    tflite = quantize_keras_model(embedding_model(model), representative_examples([x], 0), None,
                                  pin_input_range=(-128.0, 127.0))
    report = check_model(tflite)
    assert report.ops and report.fraction_mapped == 1.0, report.first_unmapped
    ops = {op.name for op in report.ops}
    assert "CONCATENATION" in ops
    emb = Int8Model(tflite).from_features(x[:8].astype(np.int8))
    ref = embedding_model(model).predict(x[:8], verbose=0)
    assert emb.shape == ref.shape == (8, 2 * SMALL.embedding_dim)
    assert np.abs(emb - ref).max() < 0.05 * (np.abs(ref).max() + 1e-6) + 0.05


def test_members_are_checked_hash_neutral_at_one_and_sized_into_the_fusion_head():
    from edgeser.models.registry import model_configs

    one, two = recipe_from_dict({"name": "r"}), recipe_from_dict({"name": "r", "acoustic": {"members": 2}})
    assert "members" not in to_mapping(one, for_hash=True)["acoustic"] and one.sha256() != two.sha256()
    labels = {"emotions": ["a", "b", "c"], "keywords": ["_silence_", "_unknown_", "yes"]}
    acoustic, _, fusion = model_configs(two, labels)
    assert acoustic.output_dim == fusion.acoustic_dim == 2 * acoustic.embedding_dim
    assert model_configs(one, labels)[2].acoustic_dim == acoustic.embedding_dim
    for bad in (0, 9):
        with pytest.raises(SettingsError, match="acoustic.members.*1..8"):
            recipe_from_dict({"name": "r", "acoustic": {"members": bad}})
    with pytest.raises(SettingsError, match="acoustic.members.*quantize.qat: false"):
        recipe_from_dict({"name": "r", "acoustic": {"members": 2}, "quantize": {"qat": True}})


def test_member_i_is_the_single_model_trained_with_seed_plus_i():
    from edgeser.train_options import one_hot, train_acoustic

    recipe = recipe_from_dict({"name": "r", "training": {"acoustic": {"epochs": 2, "batch_size": 8}}})
    x, y = _codes(24, 1), np.arange(24) % 4
    train, val = (x[:16], one_hot(y[:16], 4)), (x[16:], y[16:])
    single = {seed: train_acoustic(recipe, SMALL, train, val, None, seed, progress=False)[0] for seed in (5, 6)}
    ensemble, history, info = train_acoustic(recipe, dataclasses.replace(SMALL, members=2), train, val, None, 5,
                                             progress=False)
    assert [m["seed"] for m in info["members"]] == [5, 6] and len(history.loss) == 2
    for i, seed in enumerate((5, 6)):
        trunk = ensemble.get_layer(f"member{i}")
        for w, v in zip(trunk.get_weights(), single[seed].get_weights()):
            np.testing.assert_array_equal(w, v)
    expected = np.mean([single[s].predict(x, verbose=0) for s in (5, 6)], axis=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_the_torch_route_trains_every_member_as_its_twin():
    pytest.importorskip("torch", reason="torch is installed by `make setup` (the PyTorch route)")
    from edgeser.train_options import one_hot, train_acoustic

    recipe = recipe_from_dict({"name": "r", "training": {"framework": "torch", "acoustic": {"epochs": 1, "batch_size": 8}}})
    x, y = _codes(24, 3), np.arange(24) % 4
    train, val = (x[:16], one_hot(y[:16], 4)), (x[16:], y[16:])
    ensemble, _, info = train_acoustic(recipe, dataclasses.replace(SMALL, members=2), train, val, None, 0, progress=False)
    single = train_acoustic(recipe, SMALL, train, val, None, 1, progress=False)[0]
    assert [m["seed"] for m in info["members"]] == [0, 1]
    for w, v in zip(ensemble.get_layer("member1").get_weights(), single.get_weights()):
        np.testing.assert_allclose(w, v, rtol=1e-5, atol=1e-6)  # member 1 = the torch-trained model of seed 1


def test_member_heads_merge_into_one_head_with_their_mean_logits():
    from edgeser.models.fusion import FusionConfig, build_fusion_model, merge_member_heads
    from edgeser.train_options import one_hot, train_fusion

    cfg = FusionConfig(acoustic_dim=2 * 6, keyword_dim=5, hidden_dim=4, num_classes=3, members=2, input_norm="speaker")
    assert cfg.member.acoustic_dim == 6 and cfg.member.members == 1
    assert build_fusion_model(cfg).get_layer("hidden").units == 8
    rng = np.random.default_rng(2)
    a, k, y = rng.normal(size=(40, 12)), rng.normal(size=(40, 5)), np.arange(40) % 3
    speakers = np.array([f"s{i % 4}" for i in range(40)])
    recipe = recipe_from_dict({"name": "r", "training": {"fusion": {"epochs": 3}}})
    train = (a[:30], k[:30], one_hot(y[:30], 3))
    val = (a[30:], k[30:], y[30:])
    merged, history, prior = train_fusion(recipe, cfg, train, val, 7, progress=False, speakers=(speakers[:30], speakers[30:]))
    heads = [train_fusion(recipe, cfg.member, (a[:30, 6 * i:6 * (i + 1)], *train[1:]), (a[30:, 6 * i:6 * (i + 1)], *val[1:]),
                          7 + i, progress=False, speakers=(speakers[:30], speakers[30:])) for i in range(2)]
    assert prior.mean.size == 17 and len(history.loss) == len(heads[0][1].loss)
    np.testing.assert_allclose(prior.mean[:6], heads[0][2].mean[:6])
    np.testing.assert_allclose(prior.var[6:12], heads[1][2].var[:6])
    np.testing.assert_allclose(prior.mean[12:], heads[1][2].mean[6:])
    z = rng.normal(size=(9, 17)).astype(np.float32)
    expected = np.mean([h.predict([z[:, 6 * i:6 * (i + 1)], z[:, 12:]], verbose=0) for i, (h, _, _) in enumerate(heads)], axis=0)
    np.testing.assert_allclose(merged.predict([z[:, :12], z[:, 12:]], verbose=0), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="3 heads for 2 members"):
        merge_member_heads([heads[0][0]] * 3, cfg)
    with pytest.raises(SettingsError, match="members.*divide"):
        FusionConfig(acoustic_dim=7, members=2)
    with pytest.raises(SettingsError, match="fusion.members.*derived"):
        recipe_from_dict({"name": "r", "fusion": {"members": 2}})


@pytest.mark.slow
def test_a_demo_run_ships_a_two_member_ensemble(tmp_path):
    """`edgeser demo` with two members and a speaker-normalised head: one int8 acoustic model
    whose embedding is both members', a fusion head and speaker prior sized for it, and the
    firmware header generated from them."""
    from conftest import tiny_variant_run

    from edgeser.evaluation.int8 import Int8Model
    from edgeser.models.speaker_norm import SpeakerPrior

    out = tiny_variant_run(tmp_path, "tiny_members", {"acoustic": {"members": 2}, "fusion": {"input_norm": "speaker"}})
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    members = stages["train_acoustic"]["summary"]["members"]
    assert [m["seed"] for m in members] == [0, 1], members
    emb = np.load(out / "embeddings_acoustic.npy")
    assert emb.shape[1] == 2 * 16
    prior = SpeakerPrior.from_json((out / "speaker_prior.json").read_text())
    assert prior.mean.size == 2 * 16 + 16
    fusion = Int8Model((out / "fusion_int8.tflite").read_bytes())
    assert sorted(int(np.prod(spec.shape)) for spec in fusion.inputs) == [16, 32]
    acoustic = Int8Model((out / "acoustic_int8.tflite").read_bytes())
    data = np.load(out / "features.npz")
    assert acoustic.from_features(data["x"][:2]).shape == (2, 32)
    header = (out / "firmware" / "model_io.h").read_text()
    assert "#define EDGESER_ACOUSTIC_OUTPUT_SIZE 32" in header and "#define EDGESER_FUSION_ACOUSTIC_SIZE 32" in header
    check = json.loads((out / "check.json").read_text())
    assert check["acoustic"]["fraction_mapped"] == 1.0 and check["acoustic"]["cpu_count"] == 0, check["acoustic"]["notes"]
