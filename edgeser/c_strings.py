"""The one C string-literal writer (and its reader) for every generated header.

``c_string(text)`` is safe in any C or C++ source whatever ``text`` holds: the UTF-8
bytes outside printable ASCII, the backslash, the double quote and ``?`` (so no
``??x`` trigraph can form) are written as three-digit octal escapes or ``\\\\`` /
``\\"``. A label with a newline, a quote or ``*/`` therefore cannot end the
literal, the line or a comment early. ``parse_c_string`` reads such a literal back.
"""

from __future__ import annotations

import re

__all__ = ["c_string", "parse_c_string"]

_ESCAPE = re.compile(r"\\([0-7]{1,3}|.)", re.S)


def c_string(text: str) -> str:
    """``text`` as a double-quoted C string literal (UTF-8, see the module docstring)."""
    out = []
    for byte in str(text).encode("utf-8"):
        ch = chr(byte)
        if ch in '\\"':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F and ch != "?":
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def parse_c_string(literal: str) -> str:
    """The text of a literal that :func:`c_string` wrote (quotes included)."""
    if len(literal) < 2 or literal[0] != '"' or literal[-1] != '"':
        raise ValueError(f"not a C string literal: {literal[:40]!r}")
    body = literal[1:-1]
    data = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(body):
        data += body[pos : m.start()].encode("utf-8")
        esc = m.group(1)
        data += bytes([int(esc, 8)]) if esc[0] in "01234567" else esc.encode("utf-8")
        pos = m.end()
    data += body[pos:].encode("utf-8")
    return data.decode("utf-8")
