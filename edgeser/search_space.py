"""Search spaces for ``edgeser tune``: which recipe keys vary, and over what.

A search-space file is YAML with one mapping, ``params``, from a dotted recipe key to
exactly one distribution::

    params:
      frontend.num_channels: {choice: [32, 40, 48]}
      acoustic.num_layers: {int: [1, 4]}              # inclusive bounds
      training.acoustic.mixup: {uniform: [0.0, 0.4]}
      training.acoustic.learning_rate: {loguniform: [0.0005, 0.005]}
    start:                                            # optional: points tried first
      - {acoustic.num_layers: 1, training.acoustic.mixup: 0.3}

``start`` lists points the search tries right after the base recipe (a warm start, e.g.
the best trials of an earlier search): each names searched keys only, inside their
distributions; a key it leaves out keeps the base recipe's value (which must then be
inside the space). It is validated like a recipe: an unknown key, a malformed distribution, or a value
the recipe would refuse (every choice and both ends of every range are applied to the
base recipe and validated) is a :class:`~edgeser.settings.SettingsError` naming the key.
:data:`DEFAULT_SPACE` covers the frontend's channels and window, the acoustic model's
width, depth, heads and subsampling, augmentation and the learning rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from edgeser.settings import SettingsError

__all__ = ["Param", "SearchSpace", "DEFAULT_SPACE", "load_space", "space_from_dict", "apply_params"]

KINDS = ("choice", "int", "uniform", "loguniform")


@dataclass(frozen=True)
class Param:
    """One searched recipe key: ``kind`` in :data:`KINDS` and its ``values`` (choices, or [low, high])."""

    key: str
    kind: str
    values: tuple

    def corners(self) -> tuple:
        """The values that must all be valid: every choice, or both ends of the range."""
        return self.values

    def contains(self, value: Any) -> bool:
        """Whether ``value`` can be drawn (a choice, or within the range)."""
        if self.kind == "choice":
            return value in self.values
        low, high = self.values
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
        return ok and (self.kind != "int" or float(value).is_integer())

    def ray(self):
        """The Ray Tune distribution."""
        from ray import tune

        if self.kind == "choice":
            return tune.choice(list(self.values))
        low, high = self.values
        if self.kind == "int":
            return tune.randint(int(low), int(high) + 1)  # randint's upper bound is exclusive
        if self.kind == "uniform":
            return tune.uniform(float(low), float(high))
        return tune.loguniform(float(low), float(high))


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]
    start: tuple[dict, ...] = ()  # points tried first (searched key -> value), maybe partial

    def ray(self) -> dict[str, Any]:
        return {p.key: p.ray() for p in self.params}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"params": {p.key: {p.kind: list(p.values)} for p in self.params}}
        if self.start:
            data["start"] = [dict(point) for point in self.start]
        return data

    def first_points(self, recipe) -> list[dict[str, Any]]:
        """The points tried first, complete: the recipe's own (when inside the space), then
        each ``start`` point filled in with the recipe's values."""
        base = self.point_of(recipe)
        points = [base] if base else []
        for i, point in enumerate(self.start):
            missing = [p.key for p in self.params if p.key not in point]
            if missing and base is None:
                raise SettingsError(f"start[{i}]", f"leaves out {', '.join(missing)}, and the recipe's values "
                                    "are outside the space: give every searched key")
            full = {**(base or {}), **point}
            if full not in points:
                points.append(full)
        return points

    def point_of(self, recipe) -> dict[str, Any] | None:
        """The recipe's own values of the searched keys, when the space contains them all (else None)."""
        data = recipe.to_dict()
        point = {}
        for p in self.params:
            node = data
            for part in p.key.split("."):
                node = node[part]
            if not p.contains(node):
                return None
            point[p.key] = node
        return point


def apply_params(recipe, params: Mapping[str, Any], name: str | None = None):
    """``recipe`` with each dotted key of ``params`` set (validated as a whole recipe)."""
    from edgeser.recipe import recipe_from_dict

    data = recipe.to_dict()
    for key, value in params.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise SettingsError(key, "not a recipe key (no such section)")
            node = node[part]
        if parts[-1] not in node:
            raise SettingsError(key, "not a recipe key")
        node[parts[-1]] = value.item() if hasattr(value, "item") else value
    if name is not None:
        data["name"] = name
    return recipe_from_dict(data, "search space")


def _param(key: str, spec: Any) -> Param:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise SettingsError(key, f"expected one of {{{', '.join(k + ': ...' for k in KINDS)}}}, got {spec!r}")
    kind, values = next(iter(spec.items()))
    if kind not in KINDS:
        raise SettingsError(key, f"unknown distribution {kind!r} (known: {', '.join(KINDS)})")
    if not isinstance(values, (list, tuple)) or not values:
        raise SettingsError(key, f"{kind} needs a non-empty list, got {values!r}")
    if kind == "choice":
        if len(set(map(repr, values))) != len(values):
            raise SettingsError(key, f"choice has duplicates: {values}")
        return Param(key, kind, tuple(values))
    if len(values) != 2:
        raise SettingsError(key, f"{kind} needs [low, high], got {values!r}")
    low, high = values
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    if not numbers or low > high:
        raise SettingsError(key, f"{kind} needs finite numbers low <= high, got {values!r}")
    if kind == "int" and not all(isinstance(v, int) for v in values):
        raise SettingsError(key, f"int needs integer bounds, got {values!r}")
    if kind == "loguniform" and low <= 0:
        raise SettingsError(key, f"loguniform needs 0 < low, got {values!r}")
    return Param(key, kind, (low, high))


def space_from_dict(data: Any, base_recipe, source: str = "search space") -> SearchSpace:
    """Validate a parsed search-space file against ``base_recipe``."""
    if not isinstance(data, Mapping) or "params" not in data or not isinstance(data["params"], Mapping):
        raise SettingsError("", f"{source}: expected a mapping `params:` of recipe key -> distribution")
    unknown = sorted(set(map(str, data)) - {"params", "start"})
    if unknown:
        raise SettingsError(unknown[0], f"{source}: unknown section (known: params, start)")
    if not data["params"]:
        raise SettingsError("params", f"{source}: no parameter to search")
    params = tuple(_param(str(k), v) for k, v in data["params"].items())
    for p in params:
        for value in p.corners():
            try:
                apply_params(base_recipe, {p.key: value})
            except SettingsError as exc:
                raise SettingsError(p.key, f"{value!r} is not valid for the recipe ({exc.reason})") from None
    space = SearchSpace(params, _start_points(data.get("start", []), params))
    space.first_points(base_recipe)  # a partial point needs the recipe's values inside the space
    return space


def _start_points(data: Any, params: tuple[Param, ...]) -> tuple[dict, ...]:
    """The validated ``start`` list: each a mapping of searched keys to values they can take."""
    if not isinstance(data, list):
        raise SettingsError("start", f"expected a list of points, got {data!r}")
    by_key = {p.key: p for p in params}
    points = []
    for i, point in enumerate(data):
        if not isinstance(point, Mapping) or not point:
            raise SettingsError(f"start[{i}]", f"expected a mapping of searched key -> value, got {point!r}")
        for key, value in point.items():
            if key not in by_key:
                raise SettingsError(f"start[{i}].{key}", "not a searched key (it has no distribution in params)")
            if not by_key[key].contains(value):
                raise SettingsError(f"start[{i}].{key}", f"{value!r} is outside {by_key[key].kind} {list(by_key[key].values)}")
        points.append({str(k): v for k, v in point.items()})
    return tuple(points)


def load_space(path: str | Path | None, base_recipe) -> SearchSpace:
    """The search space of ``path`` (strict YAML, as recipes), or :data:`DEFAULT_SPACE`."""
    from edgeser.strict_yaml import read_yaml_file

    if path is None:
        return space_from_dict(DEFAULT_SPACE, base_recipe, "the default search space")
    return space_from_dict(read_yaml_file(path, "search-space file"), base_recipe, str(path))


DEFAULT_SPACE: dict[str, Any] = {
    "params": {
        "frontend.num_channels": {"choice": [32, 40, 48]},
        "frontend.window_ms": {"choice": [25, 30]},
        "acoustic.d_model": {"choice": [48, 64, 96]},
        "acoustic.num_heads": {"choice": [2, 4]},
        "acoustic.num_layers": {"int": [1, 4]},
        "acoustic.subsample": {"choice": [4, 8]},
        "training.acoustic.mixup": {"uniform": [0.0, 0.4]},
        "training.acoustic.time_mask": {"uniform": [0.0, 0.2]},
        "training.acoustic.learning_rate": {"loguniform": [0.0005, 0.005]},
    }
}
