"""The models of a run: which builder makes each, with what sizes, and how to rebuild them.

Every place that needs a run's model (the pipeline's stages, evaluate, explain, the noise and
cross-corpus protocols, the accuracy folds, a teacher given as a run folder) goes through
this module, so a model is built one way:

* :func:`plan_of` — the recipe's frame counts (clip, keyword window, hop);
* :func:`model_configs` — the recipe's model sizes with input sizes and class counts filled
  in from the features (``labels.json``);
* :data:`MODELS` — name -> builder. Adding a model is its own file in ``models/`` plus one
  line here; :func:`build` and :func:`load` then know it;
* :func:`load` — a run's model rebuilt from the recipe with its trained weights
  (``<name>.weights.npz``, the weights in ``get_weights()`` order; builders are deterministic);
* :func:`keyword_embeddings` — the mean keyword embedding of each clip's windows, what the
  device pools before the fusion head.

Shapes: N clips, K keyword windows of Tk frames, C channels, Ek keyword embedding size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from edgeser.datasets import WindowPlan

DEVICE_MODELS = ("keyword", "acoustic", "fusion")  # what the board runs, in order


def plan_of(recipe) -> WindowPlan:
    """Frame counts of the recipe's clip and keyword windows."""
    d = recipe.data
    return WindowPlan.from_seconds(recipe.frontend, d.clip_seconds, d.keyword_window_seconds, d.keyword_hop_seconds)


def model_configs(recipe, labels: dict[str, list[str]]):
    """(acoustic, keyword, fusion) configs: the recipe's sizes, input sizes and class counts filled in."""
    plan = plan_of(recipe)
    channels = recipe.frontend.num_channels
    classes = len(labels["emotions"])
    acoustic = dataclasses.replace(recipe.acoustic, num_frames=plan.clip_frames, num_channels=channels,
                                   num_classes=classes)
    keyword = dataclasses.replace(recipe.keyword, num_frames=plan.keyword_frames, num_channels=channels,
                                  num_keywords=len(labels["keywords"]) - 2)
    fusion = dataclasses.replace(recipe.fusion, acoustic_dim=acoustic.output_dim, keyword_dim=keyword.embedding_dim,
                                 num_classes=classes, members=acoustic.members)
    return acoustic, keyword, fusion


@dataclass(frozen=True)
class Configs:
    """What a builder gets: the recipe and the filled-in configs of the three roles."""

    recipe: Any
    acoustic: Any
    keyword: Any
    fusion: Any


def _acoustic(c: Configs):
    from edgeser.models.acoustic import build_acoustic_model

    return build_acoustic_model(c.acoustic)


def _keyword(c: Configs):
    from edgeser.models.kws import build_kws_model

    return build_kws_model(c.keyword)


def _fusion(c: Configs):
    from edgeser.models.fusion import build_fusion_model

    return build_fusion_model(c.fusion)


def _keyword_only(c: Configs):
    from edgeser.models.fusion import keyword_only_head

    return keyword_only_head(c.keyword.embedding_dim, c.fusion)


def _vad(c: Configs):
    from edgeser.models.vad import build_vad_head, num_regions

    vad = c.recipe.training.vad
    return build_vad_head(c.acoustic.output_dim, vad.hidden_dim, num_regions(vad.radius_bins))


# name -> builder; a run stores each trained model as <name>.weights.npz
MODELS: dict[str, Callable[[Configs], Any]] = {
    "acoustic": _acoustic,  # Edge-TPU transformer, [N, T, C] int8-valued features -> emotion logits
    "keyword": _keyword,  # DSResNet-SE keyword spotter, [N, Tk, C] -> keyword logits
    "fusion": _fusion,  # late fusion, [acoustic embedding, mean keyword embedding] -> emotion logits
    "keyword_only": _keyword_only,  # the unimodal keyword reference head
    "vad": _vad,  # valence/arousal/dominance head on the acoustic embedding
}


def build(recipe, labels: dict[str, list[str]], which: str):
    """A fresh (untrained) Keras model ``which`` of :data:`MODELS` for this recipe and label set."""
    if which not in MODELS:
        raise KeyError(f"unknown model {which!r} (known: {', '.join(MODELS)})")
    return MODELS[which](Configs(recipe, *model_configs(recipe, labels)))


def load(run, which: str, trained: bool = True):
    """A run's model ``which`` rebuilt from its recipe, with its trained weights unless ``trained=False``."""
    model = build(run.recipe, run.labels(), which)
    if trained:
        with np.load(run.path / f"{which}.weights.npz") as stored:
            model.set_weights([stored[f"w{i}"] for i in range(len(stored.files))])
    return model


SPEAKER_PRIOR_FILE = "speaker_prior.json"  # fusion.input_norm: speaker (models.speaker_norm.SpeakerPrior)


def speaker_prior(run):
    """The run's :class:`~edgeser.models.speaker_norm.SpeakerPrior` (``fusion.input_norm:
    speaker``; written by the train_fusion stage), or None for a head on raw embeddings."""
    from edgeser.models.speaker_norm import SpeakerPrior

    if run.recipe.fusion.input_norm != "speaker":
        return None
    path = run.path / SPEAKER_PRIOR_FILE
    if not path.is_file():
        raise ValueError(f"{path}: missing; the train_fusion stage writes it (rerun from train_fusion)")
    return SpeakerPrior.from_json(path.read_text(), str(path))


def mean_keyword_embedding(embedding_model, windows: np.ndarray) -> np.ndarray:
    """Mean float embedding [N, Ek] of each clip's keyword windows [N, K, Tk, C] under a keyword
    embedding model ([M, Tk, C] -> [M, Ek]): what the board pools before the fusion head."""
    from edgeser.models.training import logits_of

    n, k = windows.shape[:2]
    flat = windows.reshape(n * k, *windows.shape[2:]).astype(np.float32)
    return logits_of(embedding_model, flat).reshape(n, k, -1).mean(axis=1)


def keyword_embeddings(run, windows: np.ndarray) -> np.ndarray:
    """:func:`mean_keyword_embedding` under the run's trained keyword model."""
    from edgeser.models.kws import build_kws_embedding_model

    return mean_keyword_embedding(build_kws_embedding_model(load(run, "keyword")), windows)
