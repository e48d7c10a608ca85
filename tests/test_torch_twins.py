"""PyTorch twins of the three device models (edgeser.models.torch_twins): Keras weights copied across give
the Keras logits; the keyword model and the fusion head go PyTorch -> ONNX -> int8 with every op mapped."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is installed by `make setup` (the PyTorch route)")
pytest.importorskip("onnx2tf", reason="onnx2tf is installed by `make setup` (requirements-onnx.txt)")

import edgeser  # noqa: E402,F401  (tf-keras before TensorFlow)
from edgeser.models.acoustic import AcousticConfig, build_acoustic_model  # noqa: E402
from edgeser.models.fusion import FusionConfig, build_fusion_model  # noqa: E402
from edgeser.models.kws import KwsConfig, build_kws_model  # noqa: E402
from edgeser.models.torch_twins import (  # noqa: E402
    AcousticTwin, FusionTwin, KeywordTwin, copy_keras_weights, copy_twin_weights, same_padding,
)
from edgeser.models.training import seed_everything  # noqa: E402


def _trained_looking(model, seed: int):
    """Random BatchNorm statistics and affine terms, random attention biases: nothing left at its init."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = weights
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2.0, var.shape)])
        elif type(layer).__name__ == "HeadReduce":
            layer.set_weights([rng.normal(-2, 0.5, weights[0].shape)])
        elif layer.name == "logits":  # logits of a few units, as a trained head gives
            layer.set_weights([weights[0] * 20.0, weights[1]])
    return model


def _codes(shape, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, shape).astype(np.float32)


def test_same_padding_is_keras_same():
    assert same_padding(150, 3, 2) == (0, 1, 75)   # even length, stride 2: the extra row goes after
    assert same_padding(49, 3, 2) == (1, 1, 25)
    assert same_padding(174, 3, 2) == (0, 1, 87)
    assert same_padding(22, 1, 1) == (0, 0, 22)


ACOUSTIC = {
    "conv1d_mean": AcousticConfig(num_frames=48, num_channels=16, d_model=16, num_heads=2, num_layers=2, ff_dim=32,
                                  subsample=6, num_classes=5, embedding_dim=12),
    # the shipped RAVDESS recipe's layer graph at a smaller size (odd frame count: asymmetric "same" padding)
    "ravdess_like": AcousticConfig(num_frames=87, num_channels=20, d_model=16, num_heads=4, num_layers=1, ff_dim=32,
                                   subsample=8, pooling="meanmax", stem="conv2d", stem_channels=4,
                                   input_norm="utterance", num_classes=8, embedding_dim=16),
    "flam": AcousticConfig(num_frames=36, num_channels=8, d_model=8, num_heads=2, num_layers=1, ff_dim=16,
                           subsample=4, pooling="flam", num_classes=4, embedding_dim=8),
}


@pytest.mark.parametrize("name", sorted(ACOUSTIC))
def test_acoustic_twin_matches_keras(name):
    cfg = ACOUSTIC[name]
    seed_everything(0)
    keras_model = _trained_looking(build_acoustic_model(cfg), seed=2)
    twin = copy_keras_weights(keras_model, AcousticTwin(cfg))
    x = _codes((6, cfg.num_frames, cfg.num_channels))
    want = keras_model(x, training=False).numpy()
    with torch.no_grad():
        got = twin(torch.from_numpy(x.transpose(0, 2, 1).copy())).numpy()
    assert np.abs(want).max() > 0.1  # the comparison is not between two near-zero outputs
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_keyword_and_fusion_twins_match_keras():
    seed_everything(0)
    kcfg = KwsConfig(num_frames=49, num_channels=16, num_keywords=6, channels=(8, 8, 12, 12), strides=(1, 2, 1, 2),
                     embedding_dim=10)
    kws = _trained_looking(build_kws_model(kcfg), seed=3)
    x = _codes((6, kcfg.num_frames, kcfg.num_channels))
    with torch.no_grad():
        got = copy_keras_weights(kws, KeywordTwin(kcfg))(torch.from_numpy(x.transpose(0, 2, 1).copy())).numpy()
    np.testing.assert_allclose(got, kws(x, training=False).numpy(), rtol=0, atol=1e-4)

    fcfg = FusionConfig(acoustic_dim=12, keyword_dim=10, hidden_dim=16, num_classes=5)
    fusion = build_fusion_model(fcfg)
    a, k = np.random.default_rng(4).normal(0, 1, (6, 12)).astype(np.float32), \
        np.random.default_rng(5).normal(0, 1, (6, 10)).astype(np.float32)
    with torch.no_grad():
        got = copy_keras_weights(fusion, FusionTwin(fcfg))(torch.from_numpy(a), torch.from_numpy(k)).numpy()
    np.testing.assert_allclose(got, fusion([a, k], training=False).numpy(), rtol=0, atol=1e-5)


def test_weights_trained_in_pytorch_go_back_into_the_keras_graph():
    """copy_twin_weights: a twin whose weights and BatchNorm statistics moved in PyTorch, copied into a
    fresh Keras model of the same config, gives the twin's logits (the device route stays Keras')."""
    cfg = ACOUSTIC["ravdess_like"]
    torch.manual_seed(1)
    twin = AcousticTwin(cfg)
    x = _codes((8, cfg.num_frames, cfg.num_channels), seed=3)
    xt = torch.from_numpy(x.transpose(0, 2, 1).copy())
    optimiser = torch.optim.SGD(twin.parameters(), lr=0.05)
    twin.train()
    for _ in range(3):  # a few real steps: weights and running statistics leave their init
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(twin(xt), torch.arange(8) % cfg.num_classes).backward()
        optimiser.step()
    twin.eval()
    seed_everything(0)
    keras_model = copy_twin_weights(twin, build_acoustic_model(cfg))
    with torch.no_grad():
        want = twin(xt).numpy()
    np.testing.assert_allclose(keras_model(x, training=False).numpy(), want, rtol=0, atol=1e-4)


def test_a_twin_of_another_shape_is_refused():
    seed_everything(0)
    keras_model = build_fusion_model(FusionConfig(acoustic_dim=12, keyword_dim=10))
    with pytest.raises(ValueError, match="layer 'hidden': the twin's shapes"):
        copy_keras_weights(keras_model, FusionTwin(FusionConfig(acoustic_dim=16, keyword_dim=10)))


def _export(model, inputs: tuple, path, names: list[str]):
    torch.onnx.export(model, inputs, str(path), input_names=names, output_names=["logits"], dynamo=False,
                      opset_version=13)
    return path


def test_keyword_and_fusion_twins_convert_to_mapped_int8(tmp_path):
    """PyTorch -> ONNX -> onnx2tf -> full int8: every op predicted on the Edge TPU, no TRANSPOSE, the keyword
    model's input back in edgeser's [T, C] layout, and the int8 models agree with the float PyTorch ones."""
    from edgeser.evaluation.onnx_import import convert_onnx

    torch.manual_seed(0)
    kcfg = KwsConfig(num_frames=49, num_channels=16, num_keywords=6, channels=(8, 8, 12, 12), strides=(1, 2, 1, 2),
                     embedding_dim=10)
    kws = KeywordTwin(kcfg)
    calib = _codes((64, kcfg.num_channels, kcfg.num_frames), seed=7)
    kws.train()
    with torch.no_grad():
        kws(torch.from_numpy(calib))  # BatchNorm statistics of these inputs
    kws.eval()
    np.save(tmp_path / "kws_calib.npy", calib)
    path = _export(kws, (torch.from_numpy(calib[:1]),), tmp_path / "kws.onnx", ["features"])
    doc, report = convert_onnx(path, tmp_path / "kws_calib.npy", tmp_path / "out")
    assert report.fully_mapped and "TRANSPOSE" not in {op.name for op in report.ops}, doc["check"]
    assert doc["inputs"][0]["int8_shape"] == [kcfg.num_frames, kcfg.num_channels]
    assert doc["int8_vs_float"]["argmax_agreement"] >= 0.9

    fcfg = FusionConfig(acoustic_dim=12, keyword_dim=10, hidden_dim=16, num_classes=5)
    fusion = FusionTwin(fcfg).eval()
    rng = np.random.default_rng(8)
    a, k = rng.normal(0, 1, (64, 12)).astype(np.float32), rng.normal(0, 1, (64, 10)).astype(np.float32)
    np.savez(tmp_path / "fusion_calib.npz", acoustic=a, keywords=k)
    path = _export(fusion, (torch.from_numpy(a[:1]), torch.from_numpy(k[:1])), tmp_path / "fusion.onnx",
                   ["acoustic", "keywords"])
    doc, report = convert_onnx(path, tmp_path / "fusion_calib.npz", tmp_path / "out")
    assert report.fully_mapped, doc["check"]
    assert doc["int8_vs_float"]["argmax_agreement"] >= 0.95


def test_acoustic_twin_attention_is_beyond_onnx2tf(tmp_path):
    """The known limit (module docstring): onnx2tf stops at the attention's broadcast Mul, and says so."""
    from edgeser.quantize.onnx_convert import OnnxConvertError, load_onnx, to_keras

    cfg = AcousticConfig(num_frames=49, num_channels=16, d_model=16, num_heads=2, num_layers=1, ff_dim=32,
                         subsample=6, num_classes=5, embedding_dim=12)  # 49 -> 25 -> 9 frames: symmetric padding
    path = _export(AcousticTwin(cfg).eval(), (torch.zeros(1, cfg.num_channels, cfg.num_frames),),
                   tmp_path / "acoustic.onnx", ["features"])
    with pytest.raises(OnnxConvertError, match=r"acoustic\.onnx: onnx2tf could not convert the graph \(at node .*Mul"):
        to_keras(load_onnx(path))


def test_train_classifier_on_the_torch_twin():
    """framework="torch": the same loop trains the twin from the Keras model's weights and copies the best
    weights back; the Keras model then gives the twin's logits, learns the task, and a rerun is identical."""
    from edgeser.models.training import TrainSettings, train_classifier

    cfg = KwsConfig(num_frames=9, num_channels=8, num_keywords=1, channels=(8, 8), strides=(1, 2), embedding_dim=8)
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    x = rng.normal(0, 20, (90, 9, 8)).astype(np.float32)
    x[:, :, :3] += 60.0 * (y[:, None, None] == np.arange(3)[None, None, :])  # class k: channel k is loud
    settings = TrainSettings(epochs=12, batch_size=16, learning_rate=5e-3, patience=12, time_mask=0.1, mixup=0.2,
                             lr_schedule="cosine", bn_momentum=0.9)
    logits = []
    for _ in range(2):
        seed_everything(0)
        model = build_kws_model(cfg)
        history = train_classifier(model, (x[:60], y[:60]), (x[60:], y[60:]), 3, settings, seed=0,
                                   progress=False, framework="torch", twin_config=cfg)
        logits.append(model(x[60:], training=False).numpy())
    assert history.best_val_ua >= 0.9 and len(history.loss) == 12
    assert (logits[0].argmax(1) == y[60:]).mean() == history.best_val_ua  # the restored best epoch's weights
    np.testing.assert_array_equal(logits[0], logits[1])  # seeded: the same run twice


def test_the_torch_route_refuses_tensorflow_only_losses():
    from edgeser.models.training import LossSettings, TrainSettings, train_classifier

    cfg = FusionConfig(acoustic_dim=4, keyword_dim=4, hidden_dim=8, num_classes=2)
    seed_everything(0)
    a = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match="train: training.framework torch trains the cross-entropy loss only; loss.focal"):
        train_classifier(build_fusion_model(cfg), ([a, a], np.array([0, 1, 0, 1])), ([a, a], np.array([0, 1, 0, 1])),
                         2, TrainSettings(loss=LossSettings(focal=1.0)), 0, progress=False, framework="torch",
                         twin_config=cfg)
