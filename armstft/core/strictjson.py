"""JSON as the bundle's manifest (and STFT config files) may use it: standard, finite and bounded.

Python's ``json`` accepts what the standard does not (``NaN``, ``Infinity``, duplicate keys: the last one
silently wins) and fails in ways that are not a clear error (deep nesting: a RecursionError only where the
interpreter's stack happens to end; a 5,000 digit integer: ValueError from int()). Here each of those is a
:class:`JsonError` saying what was found, and where: a value outside the bounds names its key path
(``models.int8.tolerance.atol``), so the user can find it.

Nesting is bounded by a linear scan of the text *before* it is parsed, so the bound is ours, not the
interpreter's: the same document is refused with the same message on every Python and every stack size.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from armstft.core import bounds

# A JSON string (escapes included) or one bracket: strings are skipped, their brackets don't count.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JsonError(ValueError):
    """The text is not JSON within our bounds; ``str()`` says what was found, ``path`` where (if known)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    @property
    def field(self) -> str:
        """The key path of the offending value, or ``document`` when the text as a whole is at fault."""
        return self.path or "document"


class _Refused:
    """A number parsed but not accepted; kept in place so its key path can be named after the parse."""

    def __init__(self, message: str) -> None:
        self.message = message


def _number_text(text: str) -> _Refused | None:
    if len(text) > bounds.JSON_MAX_NUMBER_CHARS:
        return _Refused(f"a number of {len(text)} characters (at most {bounds.JSON_MAX_NUMBER_CHARS})")
    return None


def _parse_int(text: str) -> int | _Refused:
    return _number_text(text) or int(text)


def _parse_float(text: str) -> float | _Refused:
    refused = _number_text(text)
    if refused is not None:
        return refused
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"a number out of range ({text})")
    return value


def _parse_constant(text: str) -> _Refused:
    return _Refused(f"{text} (not standard JSON; only finite numbers are accepted)")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonError(f"the key {key!r} twice in one object")
        out[key] = value
    return out


def nesting(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (strings skipped), without parsing or recursion."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def _first_refused(value: Any) -> tuple[str, _Refused] | None:
    """The key path and reason of the first refused number, iteratively (depth is already bounded)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _Refused):
            return path or "document", item
        if isinstance(item, dict):
            children = [(f"{path}.{k}" if path else str(k), v) for k, v in item.items()]
        elif isinstance(item, list):
            children = [(f"{path}[{i}]", v) for i, v in enumerate(item)]
        else:
            continue
        stack.extend(reversed(children))
    return None


def loads(data: bytes) -> Any:
    """Parse UTF-8 JSON text; raise :class:`JsonError` for anything outside standard, finite, bounded JSON."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise JsonError(f"bytes that are not UTF-8 ({err.reason} at byte {err.start})") from None
    depth = nesting(text)
    if depth > bounds.JSON_MAX_DEPTH:
        raise JsonError(f"nesting {depth} deep (at most {bounds.JSON_MAX_DEPTH})")
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
    except json.JSONDecodeError as err:
        raise JsonError(f"invalid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    refused = _first_refused(value)
    if refused is not None:
        path, why = refused
        raise JsonError(why.message, path)
    return value
