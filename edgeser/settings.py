"""Typed, frozen settings loaded from plain mappings (YAML/JSON).

Every settings object in edgeser is a frozen dataclass. :func:`from_mapping` builds
one from a nested ``dict`` and refuses, with the dotted path of the offending key:

* a key the dataclass does not declare (``frontend.num_chanels: unknown key``),
* a value of the wrong type (``frontend.window_ms: expected int, got str``),
* an impossible value, reported by the dataclass' own ``__post_init__`` raising
  :class:`SettingsError` (``frontend.upper_band_hz: 9000 is above Nyquist``);
  whatever the class, a float must be finite and an int within ``INT_LIMIT``.

Dataclasses validate themselves in ``__post_init__`` by calling :func:`check`,
so a settings object that exists is a valid one, whoever built it.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Mapping, TypeVar

T = TypeVar("T")
# No integer setting means anything beyond this (seeds are 32-bit; byte budgets < 4 GB).
INT_LIMIT = 2**32 - 1


class SettingsError(ValueError):
    """A setting is unknown, mistyped or impossible.

    ``path`` is the dotted key path (``"frontend.window_ms"``), ``reason`` a sentence.
    """

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)

    def under(self, prefix: str) -> "SettingsError":
        """The same error with ``prefix`` prepended to its path."""
        path = f"{prefix}.{self.path}" if self.path else prefix
        return SettingsError(path, self.reason)


def check(condition: bool, field: str, reason: str) -> None:
    """Raise :class:`SettingsError` for ``field`` when ``condition`` is false."""
    if not condition:
        raise SettingsError(field, reason)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, path: str) -> Any:
    """Convert a YAML value to ``tp``, or raise SettingsError naming ``path``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, path)
            except SettingsError as exc:
                errors.append(exc.reason)
        raise SettingsError(path, "; ".join(errors))
    if origin is typing.Literal:
        if value not in args:
            raise SettingsError(path, f"must be one of {list(args)}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise SettingsError(path, f"expected a list, got {type(value).__name__}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise SettingsError(path, f"expected {len(args)} items, got {len(value)}")
            return tuple(_convert(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        return tuple(_convert(v, item, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise SettingsError(path, f"expected a mapping, got {type(value).__name__}")
        kt, vt = args or (Any, Any)
        return {_convert(k, kt, path): _convert(v, vt, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise SettingsError(path, f"expected a mapping for {tp.__name__}, got {type(value).__name__}")
        return from_mapping(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise SettingsError(path, f"expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)  # 1.0e6 bytes, written in exponent form
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(path, f"expected int, got {type(value).__name__} {value!r}")
        if abs(value) > INT_LIMIT:
            raise SettingsError(path, f"{value} is out of range (|value| <= {INT_LIMIT})")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(path, f"expected a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(float(value)):
            raise SettingsError(path, f"must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise SettingsError(path, f"expected a string, got {type(value).__name__} {value!r}")
        return value
    raise SettingsError(path, f"unsupported settings type {_type_name(tp)}")


def from_mapping(cls: type[T], data: Mapping[str, Any], path: str = "") -> T:
    """Build the frozen dataclass ``cls`` from ``data``; see the module docstring."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SettingsError(path, f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{path}.{unknown[0]}" if path else str(unknown[0])
        raise SettingsError(where, f"unknown key (known keys: {', '.join(sorted(fields))})")
    missing = [n for n, f in fields.items() if n not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        where = f"{path}.{missing[0]}" if path else missing[0]
        raise SettingsError(where, f"required key is missing (required: {', '.join(missing)})")
    kwargs = {}
    for name, value in data.items():
        sub = f"{path}.{name}" if path else name
        kwargs[name] = _convert(value, hints[name], sub)
    try:
        return cls(**kwargs)
    except SettingsError as exc:
        raise exc.under(path) if path else exc
    except (TypeError, ValueError) as exc:  # a missing field, or a class that validates with ValueError
        raise SettingsError(path, str(exc)) from None


def added(default: Any) -> Any:
    """A field added after run folders were made with its class: ``x: str = added("none")``.

    While it holds this default it is left out of :func:`to_mapping` ``(for_hash=True)``, so
    adding an option that is off changes no recipe hash and invalidates no run folder.
    """
    return dataclasses.field(default=default, metadata={"added": True})


def to_mapping(obj: Any, for_hash: bool = False) -> Any:
    """The plain (YAML/JSON-ready) form of a settings object, tuples as lists; ``for_hash``
    leaves out the :func:`added` fields that hold their default."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_mapping(getattr(obj, f.name), for_hash) for f in dataclasses.fields(obj)
                if not (for_hash and f.metadata.get("added") and getattr(obj, f.name) == f.default)}
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v, for_hash) for v in obj]
    if isinstance(obj, dict):
        return {k: to_mapping(v, for_hash) for k, v in obj.items()}
    return obj
