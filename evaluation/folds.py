"""Speaker-independent folds: how one fold's models are made, trained and scored.

One place for what the accuracy benchmark, the recipe-options benchmark and the
cross-corpus protocol share:

* ``make_folds`` (from :mod:`edgeser.corpora.splits`) — leave-speakers-out folds, each with
  a validation pair of actors carved out of its training actors for early stopping;
* :func:`train_fold_models` — the fold's acoustic model and the fusion head on its frozen
  embeddings, through the very functions the pipeline's train stages call
  (``edgeser.train_options.train_acoustic`` with the recipe's options, ``train_fusion``), on
  the targets the caller gives (one-hot, or the corpus' label distributions);
* :func:`fold_predictor` — the :class:`~edgeser.evaluation.predictor.Predictor` of a fold's
  acoustic-only and fusion models: float (``keras``) or full int8 through the TFLite-Micro
  interpreter (``tflm``), chained as on the board (``evaluation.int8.BoardChain``);
* :func:`restrict_to` — scores on a test corpus that has fewer classes than the model.

Shapes: N clips, T frames, C channels, K keyword windows of Tk frames, E embedding size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from edgeser.corpora.splits import make_folds  # noqa: F401  (re-exported: the folds every benchmark uses)


@dataclass
class FoldModels:
    """A fold's trained float models (tf-keras), its acoustic training history and info."""

    audio: Any  # acoustic classifier [N, T, C] -> logits
    embedding: Any  # acoustic embedding model [N, T, C] -> [N, Ea]
    fusion: Any  # fusion head [emb, kw_emb] -> logits
    emb: np.ndarray  # float acoustic embeddings of every clip [N, Ea]
    history: Any  # models.training.TrainHistory of the acoustic model
    info: dict
    prior: Any = None  # speaker_norm.SpeakerPrior of a speaker-normalised fusion head, else None
    speakers: np.ndarray | None = None  # every clip's speaker [N] (from the utterances), else None
    trained_on: np.ndarray | None = None  # the clip indices the models fit on (int8 calibration takes these)


def train_fold_models(recipe, labels, x, targets, kw_emb, fold, utterances=None, teacher=None,
                      progress: bool = False) -> FoldModels:
    """One fold's acoustic model (with the recipe's literature options) and fusion head.

    ``x`` int8 [N, T, C], ``targets`` [N, K] (one-hot or the corpus' label distributions,
    ``train_options.training_targets``), ``kw_emb`` [N, Ek] cover every clip; the fold's
    train and val indices select from them (validation scores against the argmax label;
    ``training.train_on_validation`` trains on both, ``train_options.fit_parts``).
    ``info`` holds the option counts and ``acoustic_seconds``. ``fusion.input_norm: speaker``
    needs ``utterances`` (their speakers).
    """
    from edgeser.models.acoustic import embedding_model
    from edgeser.models.training import logits_of
    from edgeser.models.registry import model_configs
    from edgeser.models.teacher import EGEMAPS
    from edgeser.train_options import fit_parts, train_acoustic, train_fusion

    start = time.perf_counter()
    acoustic_cfg, _, fusion_cfg = model_configs(recipe, labels)
    tr, va = fit_parts(recipe, fold.train, fold.val)
    y = np.asarray(targets).argmax(axis=1)
    train_utts = [utterances[i] for i in tr] if utterances is not None else None
    if teacher is None and recipe.training.teacher == EGEMAPS and train_utts is not None:
        from edgeser.evaluation.egemaps import teacher_logits

        teacher = teacher_logits(train_utts, y[tr], targets.shape[1], recipe.seed)
    speakers = np.array([u.speaker for u in utterances]) if utterances is not None else None
    audio, history, info = train_acoustic(recipe, acoustic_cfg, (x[tr], targets[tr]), (x[va], y[va]), train_utts,
                                          recipe.seed, description=f"{fold.name} acoustic", progress=progress,
                                          teacher=teacher,
                                          speakers=None if speakers is None else (speakers[tr], speakers[va]))
    info["acoustic_seconds"] = time.perf_counter() - start
    embedding = embedding_model(audio)
    emb = logits_of(embedding, x.astype(np.float32))
    fusion, _, prior = train_fusion(recipe, fusion_cfg, (emb[tr], kw_emb[tr], targets[tr]),
                                    (emb[va], kw_emb[va], y[va]), recipe.seed, description=f"{fold.name} fusion",
                                    progress=progress, speakers=None if speakers is None else (speakers[tr], speakers[va]))
    return FoldModels(audio, embedding, fusion, emb, history, info, prior, speakers, tr)


def fold_predictor(models: FoldModels, kw_run, train_x: np.ndarray, train_windows: np.ndarray | None,
                   train_kw_emb: np.ndarray, backend: str, seed: int = 0, train_speakers=None):
    """A :class:`~edgeser.evaluation.predictor.Predictor` of a fold's acoustic-only and fusion models.

    ``keras``: the float models (the caller passes the mean keyword embeddings ``kw_emb``).
    ``tflm`` / ``litert``: the fold's models converted to full int8
    (``quantize.convert.quantize_keras_model``, calibrated on ``train_x`` [N, T, C] and
    ``train_windows`` [N, K, Tk, C], the fold's training clips; feature inputs pinned to scale 1,
    zero point 0 as the board feeds them), with the keyword embedding model of ``kw_run``,
    chained as on the board. ``predictor.tflite`` holds the int8 flatbuffers by model name.
    A speaker-normalised head (``models.prior``) is calibrated on the training clips
    standardised per speaker (``train_speakers``) and carries the prior in its metadata.
    """
    from edgeser.evaluation.predictor import Predictor

    if backend == "keras":
        return Predictor("keras", float_models={"acoustic": models.audio, "fusion": models.fusion},
                         speaker_prior=models.prior, seed=seed)
    from edgeser.models.kws import build_kws_embedding_model
    from edgeser.models.registry import load
    from edgeser.models.training import logits_of
    from edgeser.quantize.convert import quantize_keras_model, representative_examples

    if train_windows is None:
        raise ValueError("an int8 fold predictor needs the training clips' keyword windows (calibration)")
    pin = (-128.0, 127.0)  # feature inputs: scale 1, zero point 0, as the board feeds them
    windows = train_windows.reshape(-1, *train_windows.shape[2:])
    emb = logits_of(models.embedding, train_x.astype(np.float32))
    metadata = {"fusion": {}}
    if models.prior is not None:
        from edgeser.models.speaker_norm import METADATA_KEY, standardise_pair

        if train_speakers is None:
            raise ValueError("a speaker-normalised fusion head needs the training clips' speakers (calibration)")
        emb, train_kw_emb = standardise_pair(emb, train_kw_emb, train_speakers)
        metadata["fusion"] = {METADATA_KEY: models.prior.to_json()}
    plan = {
        "keyword": (build_kws_embedding_model(load(kw_run, "keyword")), [windows], pin),
        "acoustic": (models.embedding, [train_x], pin),
        "fusion": (models.fusion, [emb, train_kw_emb], None),
        "audio_only": (models.audio, [train_x], pin),
    }
    tflite = {name: quantize_keras_model(model, representative_examples(arrays, seed), metadata.get(name),
                                         pin_input_range=p)
              for name, (model, arrays, p) in plan.items()}
    return Predictor(backend, int8=tflite, seed=seed)


def restrict_to(logits: np.ndarray, model_labels: Sequence[str], test_labels: Sequence[str]) -> np.ndarray:
    """Class probabilities [N, len(test_labels)] of a model with more classes than the test corpus.

    The rule: softmax over all the model's classes; a class the test corpus lacks is added to
    the class the shared label sets fold it into (``corpora.labels.LabelMapping``: calm ->
    neutral, excited -> happy) or dropped; the argmax is
    taken among the test corpus' classes only. So a class absent from the test set can neither
    be predicted nor drag UA or macro-F1 down, which then average over the test corpus' classes.
    """
    from edgeser.corpora.labels import LabelMapping

    model_labels, test_labels = list(model_labels), list(test_labels)
    missing = [t for t in test_labels if t not in model_labels]
    if missing:
        raise ValueError(f"the test labels {missing} are not among the model's classes {model_labels}")
    z = np.asarray(logits, np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    mapping = LabelMapping(labels=tuple(test_labels))
    out = np.zeros((len(p), len(test_labels)))
    for k, label in enumerate(model_labels):
        target = mapping.map(label)
        if target is not None:
            out[:, test_labels.index(target)] += p[:, k]
    return out
