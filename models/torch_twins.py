"""PyTorch twins of edgeser's three device models: the same layers, laid out channels first.

    Keras (NHWC)                          twin (NCHW, PyTorch's layout)
    features      [B, T, C]               [B, C, T]        onnx2tf maps it back to [B, T, C]
    tokens        [B, T, 1, d]            [B, d, T, 1]
    conv2d image  [B, T, C, 1]            [B, 1, T, C]
    embeddings    [B, E]                  [B, E]

Every Keras layer that holds weights has a twin module under the same name in ``twin.layers``
(an ``nn.ModuleDict``), so :func:`copy_keras_weights` copies a trained Keras model into its
twin by name and :func:`copy_twin_weights` a twin trained in PyTorch back into the Keras graph
(conv kernels HWIO <-> OIHW, depthwise HWC1 <-> C1HW, dense [in, out] <-> [out, in], BatchNorm
with Keras' epsilon 1e-3). Keras "same" padding is asymmetric when a stride does not
divide the length (one more row after than before); the twins pad explicitly as Keras does, so
a copied twin gives the Keras logits to float rounding (``tests/test_torch_twins.py``: < 1e-4).

The keyword model and the fusion head also go the other way, PyTorch -> ONNX -> onnx2tf -> full
int8 (``edgeser convert``), with every op mapped. Two things do not convert with onnx2tf 1.29:

* the acoustic twin's broadcast attention (``q [B, d, T, 1] * k [B, d, 1, T]``): onnx2tf keeps the
  reshaped key in the ONNX layout and the product fails ("Dimensions must be equal"), so the
  acoustic model's int8 route stays the Keras one;
* an asymmetric "same" pad (an even length into a stride-2 kernel-3 conv): PyTorch exports
  ``F.pad`` with pad amounts computed in the graph, and onnx2tf pads the channel axis. Lengths
  with symmetric padding (odd into stride 2) export as a plain padded Conv.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from edgeser.models.acoustic import AcousticConfig, subsample_strides
from edgeser.models.fusion import FusionConfig
from edgeser.models.heads import head_blocks
from edgeser.models.kws import KwsConfig

BN_EPSILON = 1e-3  # Keras' BatchNormalization default


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """Keras/TF "same": (pad before, pad after, output length) for one axis."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2, out


class ConvSame(nn.Module):
    """Conv2d with Keras' "same" padding on an [B, Cin, H, W] input of known H, W (``hw``): the
    conv's own padding when it is symmetric, else an explicit pad (one more row after)."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int], stride: tuple[int, int], hw: tuple[int, int],
                 groups: int = 1, bias: bool = False):
        super().__init__()
        (t, b, h), (l, r, w) = (same_padding(n, k, s) for n, k, s in zip(hw, kernel, stride))
        symmetric = t == b and l == r  # the conv pads itself (one ONNX Conv, which onnx2tf reads)
        self.pad, self.out_hw = (0, 0, 0, 0) if symmetric else (l, r, t, b), (h, w)
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=(t, l) if symmetric else 0, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad) if any(self.pad) else x)


def _conv_bn(layers: nn.ModuleDict, name: str, cin: int, cout: int, kernel: int, stride: int, t: int,
             depthwise: bool = False) -> int:
    """Register ``<name>_conv`` (or ``_dw``) and ``<name>_bn`` as Keras' conv_bn / dw_bn; returns T out."""
    # depthwise: strides (s, s) as Keras' dw_bn (W is 1, so it stays 1); onnx2tf turns a depthwise
    # conv with unequal strides into a grouped CONV_2D (version 6), which the Edge TPU compiler refuses
    conv = ConvSame(cin, cout, (kernel, 1), (stride, stride if depthwise else 1), (t, 1), groups=cin if depthwise else 1)
    layers[f"{name}_dw" if depthwise else f"{name}_conv"] = conv
    layers[f"{name}_bn"] = nn.BatchNorm2d(cout, eps=BN_EPSILON)
    return conv.out_hw[0]


def _apply_conv_bn(layers: nn.ModuleDict, name: str, x: torch.Tensor, relu: bool = False, depthwise: bool = False):
    x = layers[f"{name}_bn"](layers[f"{name}_dw" if depthwise else f"{name}_conv"](x))
    return torch.relu(x) if relu else x


class AcousticTwin(nn.Module):
    """The acoustic transformer (``models/acoustic.py``): [B, C, T] int8 codes -> logits [B, K]."""

    def __init__(self, cfg: AcousticConfig):
        super().__init__()
        self.cfg, L = cfg, nn.ModuleDict()
        t, c, d = cfg.num_frames, cfg.num_channels, cfg.d_model
        if cfg.stem == "conv2d":
            hw, cin = (t, c), 1
            for i, f in enumerate((cfg.stem_channels, 2 * cfg.stem_channels)):
                L[f"stem{i}_conv"] = ConvSame(cin, f, (3, 3), (2, 2), hw)
                L[f"stem{i}_bn"] = nn.BatchNorm2d(f, eps=BN_EPSILON)
                hw, cin = L[f"stem{i}_conv"].out_hw, f
            rest = cfg.subsample // 4
            t = _conv_bn(L, "proj", hw[1] * cin, d, 3 if rest > 1 else 1, rest, hw[0])
        else:
            cin = c
            for i, s in enumerate(subsample_strides(cfg.subsample)):
                t, cin = _conv_bn(L, f"sub{i}", cin, d, 3, s, t), d
        self.tokens = t
        for b in range(cfg.num_layers):
            a = f"block{b}_attn"
            for part in ("q", "k", "v", "out"):
                _conv_bn(L, f"{a}_{part}", d, d, 1, 1, t)
            L[f"{a}_scores"] = nn.Conv2d(d, cfg.num_heads, 1)  # weights fixed (head blocks), bias trained
            L[f"{a}_scores"].weight.data = torch.from_numpy(head_blocks(d, cfg.num_heads).T[:, :, None, None]
                                                            / math.sqrt(d // cfg.num_heads))
            L[f"{a}_scores"].weight.requires_grad_(False)
            L[f"{a}_scores"].bias.data.fill_(-math.log(t))
            f = f"block{b}_ff"
            _conv_bn(L, f"{f}_up", d, cfg.ff_dim, 1, 1, t)
            _conv_bn(L, f"{f}_mix", cfg.ff_dim, cfg.ff_dim, 3, 1, t, depthwise=True)
            _conv_bn(L, f"{f}_down", cfg.ff_dim, d, 1, 1, t)
        self.register_buffer("expand", torch.from_numpy(head_blocks(d, cfg.num_heads)[:, :, None, None]))
        if cfg.pooling == "flam":
            L["pool_hidden"], L["pool_score"] = nn.Conv2d(d, d, 1), nn.Conv2d(d, 1, 1)
        pooled = 2 * d if cfg.pooling == "meanmax" else d
        L["embedding"], L["logits"] = nn.Linear(pooled, cfg.embedding_dim), nn.Linear(cfg.embedding_dim, cfg.num_classes)
        self.layers = L

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> the "embedding" layer's output [B, embedding_dim]."""
        cfg, L = self.cfg, self.layers
        x = (x * (1.0 / 128.0)).unsqueeze(-1)                                        # [B, C, T, 1]
        if cfg.input_norm == "utterance":
            x = x - x.mean(dim=2, keepdim=True)
        if cfg.stem == "conv2d":
            x = x.permute(0, 3, 2, 1)                                                # [B, 1, T, C] image
            for i in range(2):
                x = torch.relu(L[f"stem{i}_bn"](L[f"stem{i}_conv"](x)))             # [B, f, t, c]
            b, f, t, c = x.shape
            x = x.permute(0, 3, 1, 2).reshape(b, c * f, t, 1)                        # Keras' (c, f) order
            x = _apply_conv_bn(L, "proj", x, relu=True)
        else:
            for i in range(len(subsample_strides(cfg.subsample))):
                x = _apply_conv_bn(L, f"sub{i}", x, relu=True)
        for b in range(cfg.num_layers):
            x = x + self._attention(x, f"block{b}_attn")
            f = f"block{b}_ff"
            h = _apply_conv_bn(L, f"{f}_mix", _apply_conv_bn(L, f"{f}_up", x, relu=True), relu=True, depthwise=True)
            x = x + _apply_conv_bn(L, f"{f}_down", h)
        if cfg.pooling == "meanmax":
            pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        elif cfg.pooling == "flam":
            e = L["pool_score"](torch.tanh(L["pool_hidden"](x)))                     # [B, 1, T, 1]
            pooled = (x * torch.softmax(e, dim=2)).mean(dim=(2, 3))
        else:
            pooled = x.mean(dim=(2, 3))
        return torch.relu(L["embedding"](pooled))

    def _attention(self, x: torch.Tensor, a: str) -> torch.Tensor:
        L, d, t = self.layers, self.cfg.d_model, self.tokens  # python ints: constant shapes in ONNX
        q = _apply_conv_bn(L, f"{a}_q", x)                                           # [B, d, T, 1]
        k = _apply_conv_bn(L, f"{a}_k", x).reshape(-1, d, 1, t)                      # [B, d, 1, T]
        v = _apply_conv_bn(L, f"{a}_v", x).reshape(-1, d, 1, t)
        weights = F.conv2d(torch.sigmoid(L[f"{a}_scores"](q * k)), self.expand)    # [B, d, T, T]
        return _apply_conv_bn(L, f"{a}_out", (weights * v).mean(dim=3, keepdim=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers["logits"](self.embed(x))


class KeywordTwin(nn.Module):
    """The DSResNet-SE keyword model (``models/kws.py``): [B, C, T_kw] -> logits [B, keywords + 2]."""

    def __init__(self, cfg: KwsConfig):
        super().__init__()
        self.cfg, L = cfg, nn.ModuleDict()
        t = _conv_bn(L, "stem", cfg.num_channels, cfg.channels[0], 3, 1, cfg.num_frames)
        cin = cfg.channels[0]
        self.projected = []
        for i, (c, s) in enumerate(zip(cfg.channels, cfg.strides)):
            n = f"block{i}"
            t_out = _conv_bn(L, f"{n}_dw", cin, cin, 3, s, t, depthwise=True)
            _conv_bn(L, f"{n}_pw", cin, c, 1, 1, t_out)
            L[f"{n}_se_reduce"], L[f"{n}_se_expand"] = nn.Conv2d(c, max(c // cfg.se_ratio, 1), 1), \
                nn.Conv2d(max(c // cfg.se_ratio, 1), c, 1)
            self.projected.append(s != 1 or cin != c)
            if self.projected[-1]:
                _conv_bn(L, f"{n}_proj", cin, c, 1, s, t)
            t, cin = t_out, c
        L["embedding"] = nn.Linear(cfg.channels[-1], cfg.embedding_dim)
        L["logits"] = nn.Linear(cfg.embedding_dim, cfg.num_classes)
        self.layers = L

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        L = self.layers
        x = _apply_conv_bn(L, "stem", (x * (1.0 / 128.0)).unsqueeze(-1), relu=True)
        for i, projected in enumerate(self.projected):
            n = f"block{i}"
            h = _apply_conv_bn(L, f"{n}_pw", _apply_conv_bn(L, f"{n}_dw", x, relu=True, depthwise=True))
            g = torch.relu(L[f"{n}_se_reduce"](h.mean(dim=2, keepdim=True)))
            h = h * torch.sigmoid(L[f"{n}_se_expand"](g))
            x = torch.relu((_apply_conv_bn(L, f"{n}_proj", x) if projected else x) + h)
        return torch.relu(L["embedding"](x.mean(dim=(2, 3))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers["logits"](self.embed(x))


class FusionTwin(nn.Module):
    """The late-fusion head (``models/fusion.py``): (acoustic [B, Ea], keywords [B, Ek]) -> logits."""

    def __init__(self, cfg: FusionConfig):
        super().__init__()
        self.layers = nn.ModuleDict({"hidden": nn.Linear(cfg.acoustic_dim + cfg.keyword_dim, cfg.hidden_dim),
                                     "logits": nn.Linear(cfg.hidden_dim, cfg.num_classes)})

    def forward(self, acoustic: torch.Tensor, keywords: torch.Tensor) -> torch.Tensor:
        return self.layers["logits"](torch.relu(self.layers["hidden"](torch.cat([acoustic, keywords], dim=1))))


def _tensors(name: str, module: nn.Module) -> list[torch.Tensor]:
    """The twin's tensors of one layer in Keras' ``get_weights`` order (BatchNorm: gamma, beta,
    moving mean, moving variance; attention scores: the bias only, the kernel is fixed)."""
    layer = module.conv if isinstance(module, ConvSame) else module
    if isinstance(layer, nn.BatchNorm2d):
        return [layer.weight, layer.bias, layer.running_mean, layer.running_var]
    if name.endswith("_scores"):
        return [layer.bias]
    return [layer.weight] + ([layer.bias] if layer.bias is not None else [])


def _keras_layout(name: str, index: int, t: np.ndarray, to_keras: bool) -> np.ndarray:
    """One tensor between PyTorch's and Keras' layout (index 0 of a conv or dense layer is the kernel)."""
    if index != 0 or t.ndim not in (2, 4) or name.endswith("_scores"):
        return t
    if t.ndim == 2:
        return t.T                                                                  # dense [out, in] <-> [in, out]
    if name.endswith("_dw"):                                                        # [C, 1, kh, kw] <-> [kh, kw, C, 1]
        return t.transpose(2, 3, 0, 1)
    return t.transpose(2, 3, 1, 0) if to_keras else t.transpose(3, 2, 0, 1)         # OIHW <-> HWIO


def _layers(keras_model: Any, twin: nn.Module):
    """(name, Keras layer, twin tensors) for every twin layer; ValueError naming a layer Keras lacks."""
    for name, module in twin.layers.items():
        try:
            layer = keras_model.get_layer(name)
        except ValueError:
            raise ValueError(f"the Keras model {keras_model.name!r} has no layer {name!r}") from None
        yield name, layer, _tensors(name, module)


def _check_shapes(name: str, keras_weights: list[np.ndarray], twin_weights: list[np.ndarray]) -> None:
    if [w.shape for w in keras_weights] != [w.shape for w in twin_weights]:
        raise ValueError(f"layer {name!r}: the twin's shapes {[w.shape for w in twin_weights]} (Keras layout) "
                         f"differ from Keras' {[w.shape for w in keras_weights]}")


def copy_keras_weights(keras_model: Any, twin: nn.Module) -> nn.Module:
    """Copy every weight of ``keras_model`` into ``twin`` by layer name; returns the twin in eval mode.

    Raises ValueError naming the first layer the twin lacks or whose shapes differ."""
    for name, layer, tensors in _layers(keras_model, twin):
        weights = layer.get_weights()
        _check_shapes(name, weights, [_keras_layout(name, i, t.detach().numpy(), True) for i, t in enumerate(tensors)])
        for i, (t, w) in enumerate(zip(tensors, weights)):
            t.data = torch.from_numpy(np.ascontiguousarray(_keras_layout(name, i, np.asarray(w, np.float32), False)))
    return twin.eval()


def copy_twin_weights(twin: nn.Module, keras_model: Any) -> Any:
    """The other way: ``twin``'s weights (trained in PyTorch) into ``keras_model`` by layer name, so the
    model goes to the device through edgeser's Keras route (``convert_int8``). Returns ``keras_model``."""
    for name, layer, tensors in _layers(keras_model, twin):
        weights = [_keras_layout(name, i, t.detach().numpy(), True) for i, t in enumerate(tensors)]
        _check_shapes(name, layer.get_weights(), weights)
        layer.set_weights(weights)
    return keras_model
