"""Quantisation-aware training (QAT): fine-tune a trained float model with int8 fake quantisation.

Post-training quantisation (:func:`edgeser.quantize.convert.quantize_keras_model`) picks
int8 ranges from calibration data after training; the weights never learn to live with
the rounding. QAT wraps the trained float model with TensorFlow Model Optimization's
(tfmot) fake-quant nodes — per-channel weight quantisers on every convolution and
dense kernel, moving-average (EMA) range quantisers on activations, placed where the
TFLite int8 kernels will quantise — and fine-tunes it for a few epochs with
:func:`edgeser.models.training.train_classifier`, so the weights adapt to int8 and the
activation ranges are learned on the training data. The result is still a tf-keras
model, and the same converter (``quantize_keras_model`` →
:func:`edgeser.models.convert_check.convert_int8`) turns it into a full-int8 .tflite
with the same op list as the PTQ model (int8 in/out, no QUANTIZE/DEQUANTIZE inside):
the converter takes the ranges from the fake-quant nodes and folds them away.

Why tfmot and not a home-made fake-quant wrapper. tfmot's default 8-bit scheme is the
one the TFLite converter was written against: it knows that a Conv2D + BatchNorm
(+ ReLU) becomes one CONV_2D (no quantiser between them, see its ``Conv2DBatchNorm*``
transforms), that a ReLU fuses into the op before it, that ADD/CONCATENATION outputs
are requantised, and it quantises kernels per channel like the converter. A wrapper
built from ``tf.quantization.fake_quant_with_min_max_vars`` would have to re-derive all
of that, and a quantiser in the wrong place either adds a QUANTIZE op or trains against
a rounding the device never does.

What tfmot does not know, and how it is handled (:func:`annotate_for_qat`):

* ``Multiply`` (attention products, SE gates, FLAM weights), ``Rescaling`` (the 1/128
  input scale) and the project's custom layers :class:`~edgeser.models.layers.ReduceMean`,
  :class:`~edgeser.models.layers.HeadReduce`, :class:`~edgeser.models.layers.HeadExpand`
  are not in tfmot's registry (``quantize_model`` refuses the model). They get
  :class:`OutputQuantizeConfig`: no weight quantiser, an EMA range quantiser on the
  output — which is what the int8 kernel (MUL, MEAN, CONV_2D with a constant kernel)
  does. HeadReduce/HeadExpand hold their kernel as a NumPy constant (a fixed 0/1 head
  block matrix, exactly representable per channel in int8), not a weight, so there is
  nothing to fake-quantise or train there; HeadReduce's trained per-head bias is int32
  in the int8 model.
* Activation ranges start where PTQ would put them (:func:`calibrate_ranges`), not
  at tfmot's [-6, 6]: its EMA (decay 0.999 per step) would need thousands of steps to
  shrink them, far more than a few epochs of fine-tuning on an emotion corpus.
* BatchNormalization is frozen during QAT (inference mode, moving statistics fixed,
  gamma/beta not trained) by default: the converter folds BN into the preceding
  convolution with the *moving* statistics, so training against batch statistics on
  small batches would fake-quantise a different kernel from the one that ships.

Dependency: ``tensorflow-model-optimization==0.8.0`` (+ ``dm-tree``). It is imported
lazily; :func:`tfmot_available` says whether it is installed.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)

QAT_PREFIX = "quant_"  # tfmot's QuantizeWrapper renames layer "x" to "quant_x"


def tfmot_available() -> bool:
    """True when tensorflow-model-optimization can be imported."""
    try:
        _tfmot()
    except ImportError:
        return False
    return True


def _tfmot():
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow_model_optimization as tfmot

    return tfmot


def _output_quantize_config_class():
    """:class:`OutputQuantizeConfig`, defined once tfmot is importable."""
    global _OUTPUT_CONFIG
    if _OUTPUT_CONFIG is None:
        tfmot = _tfmot()
        base = tfmot.quantization.keras.QuantizeConfig
        quantizers = tfmot.quantization.keras.quantizers

        class OutputQuantizeConfig(base):
            """Quantise only the layer's output (8-bit asymmetric, EMA range); no weights.

            For layers whose int8 kernel requantises the result (MUL, MEAN, a CONV_2D with
            a constant kernel, the input RESCALING folded into the input scale) and whose
            trained parameters, if any, are biases (int32 in the int8 model).
            """

            def get_weights_and_quantizers(self, layer):
                return []

            def get_activations_and_quantizers(self, layer):
                return []

            def set_quantize_weights(self, layer, quantize_weights):
                pass

            def set_quantize_activations(self, layer, quantize_activations):
                pass

            def get_output_quantizers(self, layer):
                return [quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)]

            def get_config(self):
                return {}

        _OUTPUT_CONFIG = OutputQuantizeConfig
    return _OUTPUT_CONFIG


_OUTPUT_CONFIG = None

# Layer classes tfmot's default registry does not support, quantised at their output only.
OUTPUT_ONLY_LAYERS = ("Multiply", "Rescaling", "ReduceMean", "HeadReduce", "HeadExpand")


def custom_objects() -> dict[str, Any]:
    """Everything needed to deserialise (clone, load) a QAT model of this project."""
    from edgeser.models.layers import CUSTOM_OBJECTS

    return {**CUSTOM_OBJECTS, "OutputQuantizeConfig": _output_quantize_config_class()}


def annotate_for_qat(model, freeze_batchnorm: bool = True):
    """Return a QAT copy of ``model`` (float weights copied over), ready to fine-tune.

    Supported layers get tfmot's default 8-bit configs, :data:`OUTPUT_ONLY_LAYERS` get
    :class:`OutputQuantizeConfig`, Conv+BN(+ReLU) patterns are fused by tfmot's
    transforms. ``model`` itself is not changed.
    """
    import tensorflow as tf

    tfmot = _tfmot()
    qk = tfmot.quantization.keras
    out_config = _output_quantize_config_class()
    registry = qk.default_8bit.Default8BitQuantizeScheme().get_quantize_registry()

    def annotate(layer):
        clone = layer.__class__.from_config(layer.get_config())
        name = type(layer).__name__
        if name == "BatchNormalization":
            if freeze_batchnorm:
                clone.trainable = False
            # Fused into the preceding convolution by tfmot's Conv2DBatchNorm transforms.
            return qk.quantize_annotate_layer(clone)
        if name in OUTPUT_ONLY_LAYERS:
            return qk.quantize_annotate_layer(clone, quantize_config=out_config())
        if registry.supports(clone):
            return qk.quantize_annotate_layer(clone)
        raise ValueError(
            f"layer {layer.name!r} ({name}) has no int8 quantisation config for QAT; "
            "add it to edgeser.quantize.qat.OUTPUT_ONLY_LAYERS or give it a QuantizeConfig"
        )

    with qk.quantize_scope(custom_objects()):
        annotated = tf.keras.models.clone_model(model, clone_function=annotate)
        annotated.set_weights(model.get_weights())
        for layer in annotated.layers:  # make sure the rebuilt BatchNormalizations are frozen
            inner = getattr(layer, "layer", layer)
            if type(inner).__name__ == "BatchNormalization" and freeze_batchnorm:
                inner.trainable = False
        qat = qk.quantize_apply(annotated)
    return qat


_RANGE_KEYS = ("output", "post_activation", "quantize_layer")  # activation range variables of tfmot's quantisers
CALIBRATION_EXAMPLES = 200  # like the pipeline's PTQ representative set
CALIBRATION_BATCH = 32


def _inputs_list(x) -> list[np.ndarray]:
    return [np.asarray(a, np.float32) for a in x] if isinstance(x, (list, tuple)) else [np.asarray(x, np.float32)]


def calibrate_ranges(qat_model, float_model, x, max_examples: int = CALIBRATION_EXAMPLES, seed: int = 0) -> int:
    """Set every activation range of ``qat_model`` to the float model's min/max on ``x``.

    tfmot starts each activation range at [-6, 6] and moves it by an EMA with decay
    0.999 per training step, so a short fine-tuning (tens to hundreds of steps) would
    keep ranges near [-6, 6]: far too wide for logits of +-0.5 or features in [-1, 1].
    This sets them where PTQ's calibration would put them (min(x, 0), max(x, 0) of each
    quantised tensor on up to ``max_examples`` training examples); the EMA then refines
    them during fine-tuning and the weights learn to live with them.

    The quantised tensor of a ``QuantizeWrapper`` is its output, i.e. the output of the
    float layer of the same name; a ``QuantizeLayer`` quantises a model input.
    Returns the number of ranges set.
    """
    import tensorflow as tf

    qat_inputs = [id(t) for t in qat_model.inputs]
    targets, tensors = [], []
    for layer in qat_model.layers:
        found = {w.name.split("/")[-1].split(":")[0]: w for w in layer.weights}
        if type(layer).__name__ == "QuantizeLayer":  # variables named after the layer: quantize_layer_1_min
            found = {k.replace(layer.name, "quantize_layer", 1): w for k, w in found.items()}
        for key in _RANGE_KEYS:
            if f"{key}_min" not in found:
                continue
            if type(layer).__name__ == "QuantizeLayer":
                tensor = float_model.inputs[qat_inputs.index(id(layer.input))]
            else:
                tensor = float_model.get_layer(layer.layer.name).output
            targets.append((found[f"{key}_min"], found[f"{key}_max"]))
            tensors.append(tensor)
    if not targets:
        return 0
    probe = tf.keras.Model(float_model.inputs, tensors)
    xs = _inputs_list(x)
    count = len(xs[0])
    pick = np.sort(np.random.default_rng(seed).choice(count, size=min(count, max_examples), replace=False))
    lo = np.zeros(len(tensors))
    hi = np.zeros(len(tensors))
    for start in range(0, len(pick), CALIBRATION_BATCH):
        rows = pick[start : start + CALIBRATION_BATCH]
        batch = [a[rows] for a in xs]
        outs = probe(batch if len(batch) > 1 else batch[0], training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for i, out in enumerate(outs):
            out = np.asarray(out)
            lo[i], hi[i] = min(lo[i], float(out.min())), max(hi[i], float(out.max()))
    for (min_var, max_var), a, b in zip(targets, lo, hi):
        if b - a < 1e-6:  # a constant tensor: keep a valid, non-empty range around it
            a, b = a - 1e-3, b + 1e-3
        min_var.assign(np.full(min_var.shape, a, np.float32))
        max_var.assign(np.full(max_var.shape, b, np.float32))
    return len(targets)


def qat_finetune(model, train, val, num_classes: int, settings, seed: int, description: str = "qat",
                 progress: bool = False, freeze_batchnorm: bool = True):
    """Wrap trained float ``model`` for QAT and fine-tune it; returns the QAT tf-keras model.

    ``train``/``val``: ``(x, y)`` as for :func:`edgeser.models.training.train_classifier`
    (which does the fine-tuning: Adam, class weights, early stopping on validation UA
    with the best weights restored). ``settings``: a
    :class:`~edgeser.models.training.TrainSettings`; QAT wants few epochs and a small
    learning rate (e.g. ``TrainSettings(epochs=5, learning_rate=2e-4)``).

    The returned model has the same inputs and outputs as ``model`` and converts with
    ``quantize_keras_model(qat, representative, pin_input_range=...)`` to the same int8
    op list as the PTQ model. Layers are renamed ``quant_<name>`` by tfmot; use
    :func:`qat_layer` / :func:`qat_embedding_model` to cut it. The history of the
    fine-tuning is in ``qat.qat_history`` (a ``TrainHistory``).
    """
    from edgeser.models.training import seed_everything, train_classifier

    seed_everything(seed)
    qat = annotate_for_qat(model, freeze_batchnorm=freeze_batchnorm)
    calibrate_ranges(qat, model, train[0], seed=seed)
    history = train_classifier(qat, train, val, num_classes, settings, seed, description=description, progress=progress)
    qat.qat_history = history
    return qat


def qat_train_settings(base, epochs: int = 5, learning_rate: float = 2e-4):
    """``base`` (a model's :class:`~edgeser.models.training.TrainSettings`) shortened for QAT.

    Same batch size, class weighting and label smoothing; ``epochs`` epochs at
    ``learning_rate`` (QAT fine-tunes a trained model: ~1/10 of the training rate),
    patience capped at ``epochs``.
    """
    import dataclasses

    return dataclasses.replace(base, epochs=int(epochs), learning_rate=float(learning_rate),
                               patience=min(base.patience, int(epochs)))


def qat_layer(qat_model, name: str):
    """The layer that was called ``name`` in the float model (``quant_<name>`` after wrapping)."""
    try:
        return qat_model.get_layer(f"{QAT_PREFIX}{name}")
    except ValueError:
        return qat_model.get_layer(name)


def qat_embedding_model(qat_model, layer: str = "embedding"):
    """The QAT model cut at its (quantised) ``layer`` output: input -> [B, embedding_dim].

    The counterpart of :func:`edgeser.models.acoustic.embedding_model` /
    :func:`edgeser.models.kws.build_kws_embedding_model` for a QAT model.
    """
    import tensorflow as tf

    return tf.keras.Model(qat_model.inputs, qat_layer(qat_model, layer).output, name=f"{qat_model.name}_embedding")


def qat_device_models(run, data):
    """A run's device models fine-tuned with fake quantisation (recipe ``quantize.qat``):
    (keyword embedding, acoustic embedding, fusion, acoustic classifier, acoustic embeddings
    [N, Ea], keyword embeddings [N, Ek] of every clip of ``data``, the run's features.npz) —
    the fusion head fine-tunes on the embeddings of the QAT (≈ int8) branches."""
    from edgeser.models.registry import load, mean_keyword_embedding

    labels = run.labels()
    q, t, seed = run.recipe.quantize, run.recipe.training, run.recipe.seed
    settings = lambda base: qat_train_settings(base, q.qat_epochs, q.qat_learning_rate)  # noqa: E731
    kw = lambda p: (data["kw_x"][data[f"kw_split_{p}"]].astype(np.float32), data["kw_y"][data[f"kw_split_{p}"]])  # noqa: E731
    part = lambda p: (data["x"][data[f"split_{p}"]].astype(np.float32), data["y"][data[f"split_{p}"]])  # noqa: E731
    classes = len(labels["emotions"])
    keyword = qat_finetune(load(run, "keyword"), kw("train"), kw("val"), len(labels["keywords"]), settings(t.keyword), seed, "qat keyword", progress=True)
    audio = qat_finetune(load(run, "acoustic"), part("train"), part("val"), classes, settings(t.acoustic), seed, "qat acoustic", progress=True)
    acoustic_emb = qat_embedding_model(audio).predict(data["x"].astype(np.float32), verbose=0)
    keyword_emb = mean_keyword_embedding(qat_embedding_model(keyword), data["kw_windows"])
    tr, va, y = data["split_train"], data["split_val"], data["y"]
    fusion = qat_finetune(
        load(run, "fusion"), ([acoustic_emb[tr], keyword_emb[tr]], y[tr]), ([acoustic_emb[va], keyword_emb[va]], y[va]),
        classes, settings(t.fusion), seed, "qat fusion", progress=True,
    )
    return qat_embedding_model(keyword), qat_embedding_model(audio), fusion, audio, acoustic_emb, keyword_emb
