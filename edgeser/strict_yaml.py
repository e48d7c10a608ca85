"""Settings files as strict YAML: recipes, search spaces, a recipe's frontend section.

Safe loading, plus: a duplicate key is an error naming both lines, and ``1e9`` /
``2.0e-4`` read as numbers (YAML 1.1 would read them as strings). :func:`read_yaml_file`
also names a missing path, a folder, and a file that is not UTF-8. Light: no
TensorFlow, so command lines that only need a frontend can use it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from edgeser.settings import SettingsError

__all__ = ["parse_yaml", "read_yaml_file"]


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader without duplicate keys and with exponent-form floats."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise SettingsError(str(key), f"duplicate key (lines {seen[key]} and {line})")
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$"), list("-+0123456789.")
)


def parse_yaml(text: str, source: str = "settings") -> Any:
    """The data of ``text`` (strict, see the module docstring); SettingsError naming ``source``."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise SettingsError("", f"{source}: not valid YAML ({exc})") from None


def read_yaml_file(path: str | Path, what: str = "settings file") -> Any:
    """Read ``path`` as strict YAML; a SettingsError names the file and the problem.

    Duplicate keys and invalid YAML come back with ``(in PATH)`` appended.
    """
    path = Path(path)
    if not path.is_file():
        problem = f"is a folder, not a {what}" if path.is_dir() else f"{what} not found"
        raise SettingsError("", f"{path}: {problem}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError("", f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    try:
        return parse_yaml(text, str(path))
    except SettingsError as exc:
        raise SettingsError(exc.path, f"{exc.reason} (in {path})") from None
