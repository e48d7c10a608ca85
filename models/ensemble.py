"""Uncertainty-aware ensemble of fusion heads (after MATER, Jon et al.).

Several fusion heads (same architecture, different seeds) each give logits; their
softmax outputs are averaged with per-example weights that favour the heads that are
confident on *that* example. Exact formula (:func:`entropy_weights`), for example n,
head h with probabilities p_{n,h} = softmax(z_{n,h}) over K classes:

    H_{n,h} = -sum_k p_{n,h,k} ln p_{n,h,k}          (predictive entropy, nats, 0 … ln K)
    w_{n,h} = exp(-H_{n,h} / T) / sum_h' exp(-H_{n,h'} / T)     (T = temperature, default 1)

and :func:`combine` returns sum_h w_{n,h} p_{n,h} [N, K] (rows sum to 1). Equal
entropies give the plain mean; with T = 1 a one-hot head against a uniform one over
K classes gets K times its weight.

On the board each head is its own int8 model run one after the other (the heads share
no weights); the weighting is a few dozen float operations on the dequantised logits.
``edgeser.benchmarks.measure.ensemble_cost`` measures what H heads cost against one:
flash of the int8 models, their TFLite-Micro arenas, and TFLite-Micro latency.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

import edgeser  # noqa: F401  (tf-keras before TensorFlow)


# --- weighting -----------------------------------------------------------------------------------------
def _stack(logits_list: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Sequence of H arrays [N, K] (or one [H, N, K] array) -> float64 [H, N, K]."""
    arrays = [np.asarray(z, dtype=np.float64) for z in logits_list]
    if not arrays:
        raise ValueError("no heads: pass the logits of at least one head")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 2:
        raise ValueError(f"every head's logits must be [N, K] of one shape, got {sorted(shapes)}")
    z = np.stack(arrays)
    if not np.isfinite(z).all():
        raise ValueError("logits hold NaN or infinite values")
    return z


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def predictive_entropy(logits: np.ndarray) -> np.ndarray:
    """Entropy in nats of softmax(logits) along the last axis: [..., K] -> [...] (0 … ln K)."""
    z = np.asarray(logits, dtype=np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -(np.exp(log_p) * log_p).sum(axis=-1)


def entropy_weights(logits_list: Sequence[np.ndarray] | np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Per-example head weights [N, H]: w ∝ exp(-entropy / temperature), rows sum to 1."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    h = predictive_entropy(_stack(logits_list))  # [H, N]
    return softmax(-h.T / temperature, axis=1)


def combine(logits_list: Sequence[np.ndarray] | np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Entropy-weighted mean of the heads' softmax probabilities: H × [N, K] logits -> [N, K]."""
    z = _stack(logits_list)
    w = entropy_weights(z, temperature)  # [N, H]
    return np.einsum("nh,hnk->nk", w, softmax(z))


# --- training -----------------------------------------------------------------------------------------
def train_heads(
    build: Callable[[], Any],
    train: tuple[Any, np.ndarray],
    val: tuple[Any, np.ndarray],
    num_classes: int,
    settings: Any,
    seeds: Sequence[int],
    progress: bool = False,
) -> list[Any]:
    """One head per seed: ``build()`` a fresh model after seeding, then train it.

    ``build``: no-argument callable returning a logits model (e.g.
    ``lambda: build_fusion_model(cfg)``); it is called after
    :func:`edgeser.models.training.seed_everything(seed)`, so the initial weights differ
    by seed and are reproducible. ``train``/``val``/``num_classes``/``settings``
    (a :class:`~edgeser.models.training.TrainSettings`) go to
    :func:`~edgeser.models.training.train_classifier` unchanged, with the same seed
    (shuffling, dropout). Returns the trained heads in ``seeds`` order.
    """
    from edgeser.models.training import seed_everything, train_classifier

    seeds = list(seeds)
    if not seeds:
        raise ValueError("train_heads: pass at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"train_heads: seeds must differ, got {seeds}")
    heads = []
    for k, seed in enumerate(seeds):
        seed_everything(seed)
        head = build()
        train_classifier(
            head, train, val, num_classes, settings, seed, description=f"head {k + 1}/{len(seeds)}", progress=progress
        )
        heads.append(head)
    return heads


def predict_logits(heads: Iterable[Any], x: Any) -> list[np.ndarray]:
    """Float logits [N, K] of every head on the same inputs (an array or a list for multi-input heads)."""
    from edgeser.models.training import logits_of

    return [logits_of(h, x) for h in heads]
