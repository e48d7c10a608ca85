"""The PyTorch side of :func:`edgeser.models.training.fit` (recipe ``training.framework: torch``).

:class:`TorchLearner` trains a Keras model's twin (:mod:`edgeser.models.torch_twins`) under the
same loop as TensorFlow: the same data, seeded shuffle, augmentation, mixup, class weights,
label smoothing, early stopping and best-weights restore (all in :func:`~edgeser.models.training.fit`).
The twin starts from the Keras model's weights; :meth:`TorchLearner.copy_back` copies the
trained weights into the Keras model, so the device model goes on through edgeser's Keras
int8 route (the acoustic twin's attention does not convert through onnx2tf: see torch_twins).

Settings mirror Keras': Adam (epsilon 1e-7), constant or cosine learning rate per step, BatchNorm
momentum ``1 - bn_momentum`` (PyTorch counts the other way; Keras' default 0.99 when unset).
The loss is the cross-entropy term only; a recipe that asks the torch route for another loss
term is refused, naming it. Inputs: the pipeline's ``[N, T, C]`` features reach the twin as
``[N, C, T]``; the fusion head's two embeddings as they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from edgeser.models.acoustic import AcousticConfig
from edgeser.models.fusion import FusionConfig
from edgeser.models.kws import KwsConfig
from edgeser.models.torch_twins import AcousticTwin, FusionTwin, KeywordTwin, copy_keras_weights, copy_twin_weights

KERAS_BN_MOMENTUM = 0.99
KERAS_ADAM_EPSILON = 1e-7


def make_twin(config: Any) -> torch.nn.Module:
    """The twin for a model config (``AcousticConfig``, ``KwsConfig`` or ``FusionConfig``)."""
    for kind, twin in ((AcousticConfig, AcousticTwin), (KwsConfig, KeywordTwin), (FusionConfig, FusionTwin)):
        if isinstance(config, kind):
            return twin(config)
    raise ValueError(f"training.framework torch: no PyTorch twin for {type(config).__name__}")


class TorchLearner:
    """One twin, its Adam optimiser and learning-rate schedule; ``step``/``logits``/``snapshot``/``restore``
    as :func:`edgeser.models.training.fit` calls them."""

    def __init__(self, keras_model, twin_config, settings: Any, data: Any, seed: int):
        """``settings``: the model's ``TrainSettings`` (loss: cross-entropy only, checked by the caller);
        ``data``: the ``TrainingData`` that :func:`~edgeser.models.training.fit` trains on."""
        torch.manual_seed(seed)
        self.keras_model = keras_model
        self.twin = copy_keras_weights(keras_model, make_twin(twin_config))
        momentum = 1.0 - (settings.bn_momentum or KERAS_BN_MOMENTUM)
        for module in self.twin.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.momentum = momentum
        params = [p for p in self.twin.parameters() if p.requires_grad]
        self.optimiser = torch.optim.Adam(params, lr=settings.learning_rate, eps=KERAS_ADAM_EPSILON)
        steps = settings.epochs * math.ceil(len(data.targets) / settings.batch_size)
        cosine = settings.lr_schedule == "cosine"
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimiser, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps)) if cosine else 1.0)

    @staticmethod
    def _tensors(xs: list[np.ndarray]) -> list[torch.Tensor]:
        """Pipeline arrays -> twin inputs: features [N, T, C] -> [N, C, T]; embeddings as they are."""
        return [torch.from_numpy(np.ascontiguousarray(a.transpose(0, 2, 1) if a.ndim == 3 else a, np.float32))
                for a in xs]

    def step(self, xs: list[np.ndarray], targets: np.ndarray, weights: np.ndarray, teacher: np.ndarray) -> float:
        """One Adam step on ``sum(ce_i * w_i) / B``; returns the summed weighted loss of the batch."""
        self.twin.train()
        self.optimiser.zero_grad()
        logits = self.twin(*self._tensors(xs))
        per_example = -(torch.from_numpy(targets) * torch.log_softmax(logits, dim=-1)).sum(dim=-1)
        total = (per_example * torch.from_numpy(weights)).sum()
        (total / len(targets)).backward()
        self.optimiser.step()
        self.schedule.step()
        return float(total.detach())

    def logits(self, xs: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
        if len(xs[0]) == 0:
            return np.zeros((0, self.keras_model.output_shape[-1]), np.float32)
        self.twin.eval()
        with torch.no_grad():
            return np.concatenate([self.twin(*self._tensors([a[i:i + batch_size] for a in xs])).numpy()
                                   for i in range(0, len(xs[0]), batch_size)])

    def snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.twin.state_dict().items()}

    def restore(self, state: dict[str, torch.Tensor]) -> None:
        self.twin.load_state_dict(state)

    def copy_back(self) -> None:
        """The (restored, best) twin's weights into the Keras model."""
        copy_twin_weights(self.twin.eval(), self.keras_model)
