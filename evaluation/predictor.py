"""One predictor for every model set: float Keras, or full int8 on an emulated interpreter.

``Predictor(...)(x, windows, kw_emb=None)`` -> ``{"acoustic", ["keyword",] "fusion"}``: logits
[N, classes] of each model on int8 features ``x`` [N, T, C] and keyword windows ``windows``
[N, K, Tk, C] (what :func:`clip_inputs` makes of audio, and what the features stage stores).

* float (``keras``): the acoustic classifier, the fusion head on the float acoustic embedding
  and the mean keyword embedding (given as ``kw_emb`` [N, Ek], or computed from ``windows``
  with the keyword embedding model), and the keyword-only reference head when there is one.
  A head with a speaker prior (``fusion.input_norm: speaker``) gets those embeddings
  standardised per speaker as the board does (``train_options.fusion_inputs``).
* int8 (``tflm`` / ``litert``): ``audio_only`` and the board chain of ``keyword``, ``acoustic``
  and ``fusion`` (:class:`edgeser.evaluation.int8.BoardChain`, the firmware's integer
  algorithm) on the TFLite-Micro or LiteRT interpreter.

Made from a run folder (:meth:`Predictor.from_run`: the evaluate stage, ``edgeser evaluate``,
``edgeser noise``, ``edgeser explain`` through :meth:`Predictor.acoustic`) or from a fold's models (:func:`edgeser.evaluation.folds.fold_predictor`:
the accuracy and recipe-options benchmarks, the cross-corpus protocol, ``edgeser tune``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

BACKENDS = ("keras", "tflm", "litert")  # float Keras, int8 on TFLite-Micro, int8 on LiteRT
INT8_MODELS = ("keyword", "acoustic", "fusion", "audio_only")  # the device chain + the unimodal reference


class PredictorError(ValueError):
    """An unknown backend, or a model set that lacks what a prediction needs."""


def clip_inputs(audio: Sequence[np.ndarray], recipe) -> tuple[np.ndarray, np.ndarray]:
    """int16 clips -> (int8 features [N, T, C], int8 keyword windows [N, K, Tk, C]) as the features stage makes them."""
    from edgeser.datasets import clip_features, keyword_windows
    from edgeser.models.registry import plan_of

    plan = plan_of(recipe)
    x = clip_features(audio, recipe.frontend, plan.clip_frames)
    return x, keyword_windows(x, plan)


class Predictor:
    """Logits of the acoustic-only and fusion models (and keyword-only, float) on any clips."""

    def __init__(self, backend: str, *, float_models: Mapping[str, Any] | None = None,
                 int8: Mapping[str, bytes] | None = None, speaker_prior=None, seed: int = 0):
        """``speaker_prior``: the float fusion head's (the int8 head carries its own in its
        metadata); ``seed``: the order in which a speaker's clips run (``speaker_norm.speaker_order``)."""
        if backend not in BACKENDS:
            raise PredictorError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        self.backend, self.speaker_prior, self.seed = backend, speaker_prior, seed
        self.tflite: dict[str, bytes] = dict(int8 or {})  # the int8 flatbuffers, by model name
        if backend == "keras":
            from edgeser.models.acoustic import embedding_model

            self.models = dict(float_models or {})
            if "acoustic" not in self.models:
                raise PredictorError("a float predictor needs the acoustic model")
            self.embedding = embedding_model(self.models["acoustic"])
            return
        from edgeser.evaluation.int8 import BoardChain, Int8Model

        if "audio_only" not in self.tflite:
            raise PredictorError("an int8 predictor needs the audio_only model")
        models = {name: Int8Model(data, backend) for name, data in self.tflite.items()}
        chained = all(n in models for n in ("keyword", "acoustic", "fusion"))
        self.chain = BoardChain(models["keyword"], models["acoustic"], models["fusion"]) if chained else None
        self.audio_only = models["audio_only"]

    @classmethod
    def from_run(cls, run, backend: str = "keras", acoustic_only: bool = False) -> "Predictor":
        """A run folder's trained models (``models.registry.load``) or its ``*_int8.tflite`` files;
        ``acoustic_only`` loads just the acoustic-only model (:meth:`acoustic`)."""
        if backend not in BACKENDS:
            raise PredictorError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        seed = run.recipe.seed
        if backend != "keras":
            names = ("audio_only",) if acoustic_only else INT8_MODELS
            return cls(backend, int8={n: (run.path / f"{n}_int8.tflite").read_bytes() for n in names}, seed=seed)
        from edgeser.models.kws import build_kws_embedding_model
        from edgeser.models.registry import load
        from edgeser.models.registry import speaker_prior

        if acoustic_only:
            return cls("keras", float_models={"acoustic": load(run, "acoustic")})
        models = {"acoustic": load(run, "acoustic"), "fusion": load(run, "fusion"),
                  "keyword": build_kws_embedding_model(load(run, "keyword"))}
        if (run.path / "keyword_only.weights.npz").is_file():
            models["keyword_only"] = load(run, "keyword_only")
        return cls("keras", float_models=models, speaker_prior=speaker_prior(run), seed=seed)

    def acoustic(self, x: np.ndarray) -> np.ndarray:
        """Acoustic-only logits [N, classes] of features ``x`` [N, T, C] (float values allowed:
        the int8 model gets them rounded and clipped to int8, as an explanation's perturbations)."""
        if self.backend == "keras":
            from edgeser.models.training import logits_of

            return logits_of(self.models["acoustic"], np.asarray(x, np.float32))
        return self.audio_only.from_features(np.clip(np.round(np.asarray(x, np.float32)), -128, 127).astype(np.int8))

    def __call__(self, x: np.ndarray, windows: np.ndarray | None = None,
                 kw_emb: np.ndarray | None = None, speakers: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """int8 ``x`` [N, T, C], ``windows`` [N, K, Tk, C] (int8 chain, or float without ``kw_emb``),
        float ``kw_emb`` [N, Ek] (float only, optional) -> logits [N, classes] per model.
        ``speakers`` [N]: who speaks each clip, for a speaker-normalised fusion head (each
        speaker's clips run as one session); without them each clip is a new speaker."""
        if self.backend != "keras":
            if windows is None or self.chain is None:
                raise PredictorError("the int8 chain needs the keyword windows and the keyword, acoustic and fusion models")
            x8, w8 = np.asarray(x, np.int8), np.asarray(windows, np.int8)
            return {"acoustic": self.audio_only.from_features(x8),
                    "fusion": self.chain.logits(x8, w8, speakers, self.seed)}
        from edgeser.models.registry import mean_keyword_embedding
        from edgeser.models.training import logits_of
        from edgeser.train_options import fusion_inputs

        if "fusion" not in self.models:
            raise PredictorError("this float predictor has no fusion head")
        if kw_emb is None:
            if windows is None or "keyword" not in self.models:
                raise PredictorError("the float fusion head needs kw_emb, or windows and the keyword model")
            kw_emb = mean_keyword_embedding(self.models["keyword"], windows)
        xf = np.asarray(x, np.float32)
        out = {"acoustic": self.acoustic(xf)}
        if "keyword_only" in self.models:
            out["keyword"] = logits_of(self.models["keyword_only"], kw_emb)
        inputs = fusion_inputs(logits_of(self.embedding, xf), kw_emb, self.speaker_prior, speakers, self.seed)
        out["fusion"] = logits_of(self.models["fusion"], inputs)
        return out
