"""edgeser.models: shapes, dtypes, configs, the fixed attention pieces, determinism (no conversion here)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeser.models import (
    AcousticConfig, FusionConfig, KwsConfig, build_acoustic_model, build_fusion_model,
    build_kws_embedding_model, build_kws_model, embedding_model, pool_keyword_embeddings,
)
from edgeser.models.acoustic import subsample_strides
from edgeser.models.layers import HeadExpand, HeadReduce
from edgeser.models.synthetic import tone_dataset

import tensorflow as tf  # noqa: E402  (after edgeser.models sets TF_USE_LEGACY_KERAS)

SMALL = AcousticConfig(num_frames=50, d_model=32, num_heads=2, num_layers=1, ff_dim=64, subsample=2, embedding_dim=16)


@pytest.mark.parametrize("pooling", ["mean", "flam"])
def test_acoustic_shapes_and_embedding(pooling: str) -> None:
    cfg = AcousticConfig(**{**SMALL.__dict__, "pooling": pooling, "num_classes": 5})
    model = build_acoustic_model(cfg)
    x, _ = tone_dataset(1, 2, cfg.num_frames)
    assert model.input_shape == (None, 50, 40)
    logits = model(x, training=False)
    assert logits.shape == (2, 5) and logits.dtype == tf.float32
    emb = embedding_model(model)
    assert emb(x).shape == (2, cfg.embedding_dim)
    assert model.get_layer("embedding").output.shape[-1] == cfg.embedding_dim
    assert cfg.num_tokens == 25


def test_default_acoustic_sizes() -> None:
    cfg = AcousticConfig()
    assert (cfg.num_frames, cfg.num_channels, cfg.num_tokens) == (150, 40, 25)
    assert build_acoustic_model(cfg).count_params() < 300_000


def test_conv2d_stem_utterance_norm_and_meanmax_pooling() -> None:
    """The 2-D stem halves time and mel twice; "utterance" norm removes the clip's mean per channel,
    so a constant offset added to every frame of a channel cannot change the logits."""
    cfg = AcousticConfig(**{**SMALL.__dict__, "stem": "conv2d", "subsample": 8, "stem_channels": 4,
                            "input_norm": "utterance", "pooling": "meanmax", "num_classes": 3})
    assert cfg.strides == [2, 2, 2] and cfg.num_tokens == 7  # 50 -> 25 -> 13 -> 7
    tf.keras.utils.set_random_seed(0)
    model = build_acoustic_model(cfg)
    assert model.get_layer("to_tokens2d").output.shape[1:] == (13, 1, 10 * 8)  # [T/4, 1, C/4 * 2s]
    assert model.get_layer("pool_out").output.shape[-1] == 2 * cfg.d_model
    x, _ = tone_dataset(1, 2, cfg.num_frames)
    shift = np.zeros((1, 1, 40), np.float32)
    shift[..., 5:20] = 17.0
    np.testing.assert_allclose(model(x + shift, training=False), model(x, training=False), atol=1e-4)
    with pytest.raises(ValueError, match="multiple of 4"):
        AcousticConfig(stem="conv2d", subsample=6)
    with pytest.raises(ValueError, match="input_norm"):
        AcousticConfig(input_norm="speaker")


def test_kws_and_fusion_shapes() -> None:
    cfg = KwsConfig(num_keywords=8)
    model = build_kws_model(cfg)
    x, _ = tone_dataset(1, 3, cfg.num_frames)
    assert model(x).shape == (3, 10) and cfg.num_classes == 10
    assert build_kws_embedding_model(model)(x).shape == (3, cfg.embedding_dim)
    fusion = build_fusion_model(FusionConfig(acoustic_dim=16, keyword_dim=8, num_classes=3))
    out = fusion([np.zeros((2, 16), np.float32), np.zeros((2, 8), np.float32)])
    assert out.shape == (2, 3) and out.dtype == tf.float32
    pooled = pool_keyword_embeddings(np.arange(6, dtype=np.float32).reshape(3, 2))
    np.testing.assert_allclose(pooled, [2.0, 3.0])


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="pooling"):
        AcousticConfig(pooling="max")
    with pytest.raises(ValueError, match="divisible"):
        AcousticConfig(d_model=30, num_heads=4)
    with pytest.raises(ValueError, match="subsample"):
        AcousticConfig(subsample=5)
    assert subsample_strides(6) == [2, 3] and subsample_strides(8) == [2, 2, 2] and subsample_strides(1) == [1]
    with pytest.raises(ValueError):
        KwsConfig(channels=(32, 32), strides=(1,))


def test_head_reduce_and_expand_match_numpy() -> None:
    """HeadReduce = per-head channel sum / sqrt(dh) + bias; HeadExpand copies a head's value to its channels."""
    rng = np.random.default_rng(0)
    p = rng.normal(size=(1, 3, 4, 8)).astype(np.float32)
    s = HeadReduce(2, init_bias=-math.log(4))(p).numpy()
    ref = p.reshape(1, 3, 4, 2, 4).sum(-1) / 2.0 - math.log(4)
    np.testing.assert_allclose(s, ref, rtol=1e-5, atol=1e-5)
    e = HeadExpand(8)(s).numpy()
    np.testing.assert_allclose(e, np.repeat(s, 4, axis=-1), rtol=1e-6)


def test_build_is_deterministic_with_seed() -> None:
    x, _ = tone_dataset(1, 2, SMALL.num_frames)
    outs = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(7)
        outs.append(build_acoustic_model(SMALL)(x, training=False).numpy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_save_and_load_roundtrip(tmp_path) -> None:
    from edgeser.models import CUSTOM_OBJECTS

    model = build_acoustic_model(AcousticConfig(**{**SMALL.__dict__, "pooling": "flam"}))
    x, _ = tone_dataset(1, 2, SMALL.num_frames)
    model.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras", custom_objects=CUSTOM_OBJECTS)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


def test_configs_load_from_recipe_mappings() -> None:
    from edgeser.settings import SettingsError, from_mapping

    assert from_mapping(KwsConfig, {"channels": [32, 32], "strides": [1, 2]}).channels == (32, 32)
    assert from_mapping(AcousticConfig, {"pooling": "flam"}).pooling == "flam"
    with pytest.raises(SettingsError, match="subsample"):
        from_mapping(AcousticConfig, {"subsample": 5})


def test_fusion_input_standardisation_folds_into_the_hidden_layer():
    """fusion.input_norm: standard — a head trained on (x - mean) / std, folded, gives the same
    logits on raw x with the very same graph (so the int8 model and the firmware are unchanged)."""
    import numpy as np

    from edgeser.models.fusion import FusionConfig, build_fusion_model, fold_input_standardisation
    from edgeser.models.training import logits_of

    cfg = FusionConfig(acoustic_dim=6, keyword_dim=4, hidden_dim=8, num_classes=3, input_norm="standard")
    rng = np.random.default_rng(0)
    trained = build_fusion_model(cfg)
    trained.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in trained.get_weights()])
    a, k = rng.normal(3.0, 5.0, (20, 6)).astype(np.float32), rng.normal(-1.0, 0.2, (20, 4)).astype(np.float32)
    mean = np.concatenate([a.mean(0), k.mean(0)])
    std = np.concatenate([a.std(0), k.std(0)])
    folded = fold_input_standardisation(trained, cfg, mean, std)
    want = logits_of(trained, [(a - mean[:6]) / std[:6], (k - mean[6:]) / std[6:]])
    np.testing.assert_allclose(logits_of(folded, [a, k]), want, rtol=1e-4, atol=1e-4)
    assert [layer.name for layer in folded.layers] == [layer.name for layer in trained.layers]
    with pytest.raises(Exception, match="input_norm"):
        FusionConfig(input_norm="per_speaker")
    with pytest.raises(Exception, match="speaker_prior_weight"):
        FusionConfig(input_norm="speaker", speaker_prior_weight=0.0)
