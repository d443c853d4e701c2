"""JSON as the bundle's manifest (and STFT config files) may use it: standard, finite and bounded.

Python's ``json`` accepts what the standard does not (``NaN``, ``Infinity``, duplicate keys: the last one
silently wins) and fails in ways that are not a clear error (1,000-deep nesting: RecursionError; a 5,000
digit integer: ValueError from int()). Here each of those is a :class:`JsonError` saying what was found.
"""

from __future__ import annotations

import json
import math
from typing import Any

from armstft.core import bounds


class JsonError(ValueError):
    """The text is not JSON within our bounds; ``str()`` says what was found."""


def _number_text(text: str) -> None:
    if len(text) > bounds.JSON_MAX_NUMBER_CHARS:
        raise JsonError(f"a number of {len(text)} characters (at most {bounds.JSON_MAX_NUMBER_CHARS})")


def _parse_int(text: str) -> int:
    _number_text(text)
    return int(text)


def _parse_float(text: str) -> float:
    _number_text(text)
    value = float(text)
    if not math.isfinite(value):
        raise JsonError(f"a number out of range ({text})")
    return value


def _parse_constant(text: str) -> float:
    raise JsonError(f"{text} (not standard JSON; only finite numbers are accepted)")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonError(f"the key {key!r} twice in one object")
        out[key] = value
    return out


def _depth(value: Any) -> int:
    """Nesting depth of containers, iteratively (the value is already bounded by the parser's recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(data: bytes) -> Any:
    """Parse UTF-8 JSON text; raise :class:`JsonError` for anything outside standard, finite, bounded JSON."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise JsonError(f"bytes that are not UTF-8 ({err.reason} at byte {err.start})") from None
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
            object_pairs_hook=_pairs,
        )
    except JsonError:
        raise
    except RecursionError:
        raise JsonError(f"nesting deeper than {bounds.JSON_MAX_DEPTH}") from None
    except json.JSONDecodeError as err:
        raise JsonError(f"invalid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    depth = _depth(value)
    if depth > bounds.JSON_MAX_DEPTH:
        raise JsonError(f"nesting {depth} deep (at most {bounds.JSON_MAX_DEPTH})")
    return value
