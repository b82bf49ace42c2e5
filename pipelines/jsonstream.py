"""JSON decoding that never holds the interpreter for long: a server's other threads (its event loop
answering ``/health``) keep running while a large request body is decoded.

``json.loads`` is one C call: on a 20 MB body it holds the GIL for half a second or more. Here the
outer levels of the document (the request object, its table, the table's rows) are walked in Python
and every element below them is decoded by the same C scanner ``json.loads`` uses, so the GIL can
change hands between elements. The result is exactly what ``json.loads`` gives (NaN and Infinity
accepted, the last of two equal keys kept); malformed input raises ``json.JSONDecodeError``, too deep
nesting ``RecursionError``.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re

_SCAN = json.scanner.make_scanner(json.JSONDecoder())
_STRING = json.decoder.scanstring
_WS = re.compile(r"[ \t\n\r]*")
SMALL = 256 * 1024  # bodies below this are decoded in one C call: quicker, and short enough


def loads(text: str):
    """The value of the JSON document ``text`` (see the module's note)."""
    if len(text) < SMALL:
        return json.loads(text)
    value, end = _value(text, _skip(text, 0), 0)
    end = _skip(text, end)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()


def _value(text: str, i: int, depth: int):
    """Objects at the two outer levels and lists of rows or records at the three outer levels are
    walked here; anything else (a record, a row, a column of values) is one C call."""
    ch = text[i:i + 1]
    if ch == "{" and depth < 2:
        return _object(text, i + 1, depth + 1)
    if ch == "[" and depth < 3 and text[_skip(text, i + 1):_skip(text, i + 1) + 1] in ("[", "{"):
        return _array(text, i + 1, depth + 1)
    try:
        return _SCAN(text, i)
    except StopIteration as stop:
        raise json.JSONDecodeError("Expecting value", text, stop.value) from None


def _array(text: str, i: int, depth: int):
    out: list = []
    i = _skip(text, i)
    while True:
        value, i = _value(text, i, depth)
        out.append(value)
        i = _skip(text, i)
        ch = text[i:i + 1]
        if ch == "]":
            return out, i + 1
        if ch != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
        i = _skip(text, i + 1)


def _object(text: str, i: int, depth: int):
    out: dict = {}
    i = _skip(text, i)
    if text[i:i + 1] == "}":
        return out, i + 1
    while True:
        if text[i:i + 1] != '"':
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, i)
        key, i = _STRING(text, i + 1)
        i = _skip(text, i)
        if text[i:i + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
        value, i = _value(text, _skip(text, i + 1), depth)
        out[key] = value
        i = _skip(text, i)
        ch = text[i:i + 1]
        if ch == "}":
            return out, i + 1
        if ch != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
        i = _skip(text, i + 1)


def dumps_list(items: list, chunk: int = 2_000) -> str:
    """``json.dumps(items)`` for a long list, encoded a slice at a time (the GIL changes hands between
    slices). Text is kept as characters, not escaped."""
    if len(items) <= chunk:
        return json.dumps(items, ensure_ascii=False)
    parts = [json.dumps(items[k:k + chunk], ensure_ascii=False)[1:-1] for k in range(0, len(items), chunk)]
    return "[" + ", ".join(p for p in parts if p) + "]"
