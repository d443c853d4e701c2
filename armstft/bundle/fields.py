"""Field parsers for the manifest's closed schema: each takes (where, field name, value) and returns the
value or raises :class:`BundleError` with the message the user sees.

Why apart from the manifest: these are a small validation library (typed fields, closed objects, bounded
strings, numbers and lists); the manifest module then reads as the schema itself. Why not jsonschema or
fastjsonschema: docs/bundle.md, "Why our own field parsers" (messages, cross-field rules, import time on
the board, measured by bench/schema_libraries.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from armstft.core import bounds
from armstft.core.errors import BundleError, describe


class Object:
    """One JSON object of the manifest: typed fields taken one by one, then :meth:`done` rejects the rest."""

    def __init__(self, where: str, data: object, name: str) -> None:
        self.where = where
        self.name = name
        if not isinstance(data, dict):
            raise BundleError(where, name or "document", "a JSON object", kind(data))
        self.data: dict[str, Any] = data
        self.known: list[str] = []

    def field(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def take(self, key: str, parse: Callable[[str, str, Any], Any], required: bool = True) -> Any:
        self.known.append(key)
        if key not in self.data:
            if required:
                raise BundleError(self.where, self.field(key), "present", "missing")
            return None
        return parse(self.where, self.field(key), self.data[key])

    def sub(self, key: str, required: bool = True) -> Object | None:
        self.known.append(key)
        if key not in self.data:
            if required:
                raise BundleError(self.where, self.field(key), "present", "missing")
            return None
        return Object(self.where, self.data[key], self.field(key))

    def done(self) -> None:
        unknown = [key for key in self.data if key not in self.known]
        if unknown:
            raise BundleError(
                self.where, self.field(unknown[0]), f"one of the keys {', '.join(self.known)}", "unknown key"
            )


def kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {describe(value)}"
    return names.get(type(value), type(value).__name__) + (
        f" {describe(value)}" if isinstance(value, str) else ""
    )


def text(max_chars: int = bounds.TEXT_MAX_CHARS) -> Callable[[str, str, Any], str]:
    def parse(where: str, name: str, value: Any) -> str:
        expected = f"a printable string of 1..{max_chars} characters"
        if not isinstance(value, str):
            raise BundleError(where, name, expected, kind(value))
        if not value or len(value) > max_chars or not value.isprintable():
            raise BundleError(where, name, expected, describe(value))
        return value

    return parse


def pattern(regex: re.Pattern[str], max_chars: int, what: str) -> Callable[[str, str, Any], str]:
    def parse(where: str, name: str, value: Any) -> str:
        expected = f"{what} ({regex.pattern}, at most {max_chars} characters)"
        if not isinstance(value, str):
            raise BundleError(where, name, expected, kind(value))
        if len(value) > max_chars or not regex.fullmatch(value):
            raise BundleError(where, name, expected, describe(value))
        return value

    return parse


def choice(options: tuple[str, ...]) -> Callable[[str, str, Any], str]:
    def parse(where: str, name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise BundleError(where, name, f"one of {', '.join(options)}", kind(value))
        return value

    return parse


def number(low: float, high: float) -> Callable[[str, str, Any], float]:
    def parse(where: str, name: str, value: Any) -> float:
        expected = f"a number in [{low:g}, {high:g}]"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BundleError(where, name, expected, kind(value))
        if not low <= value <= high:
            raise BundleError(where, name, expected, describe(value))
        return float(value)

    return parse


def list_of(
    item: Callable[[str, str, Any], Any], low: int, high: int, what: str
) -> Callable[[str, str, Any], list[Any]]:
    def parse(where: str, name: str, value: Any) -> list[Any]:
        expected = f"a list of {low}..{high} {what}"
        if not isinstance(value, list):
            raise BundleError(where, name, expected, kind(value))
        if not low <= len(value) <= high:
            raise BundleError(where, name, expected, f"{len(value)} entries")
        out = [item(where, f"{name}[{i}]", v) for i, v in enumerate(value)]
        return out

    return parse


def unique(where: str, name: str, values: list[str]) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise BundleError(where, f"{name}[{i}]", "names that appear once", f"{value} again")
        seen.add(value)


def scalar(where: str, name: str, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value
    return text()(where, name, value)


def provenance(obj: Object | None, name: Callable[[str, str, Any], str]) -> None:
    """Free-form provenance (``training``): never read by any check, so any keys, but scalars only."""
    if obj is None:
        return
    if len(obj.data) > bounds.MAX_PROVENANCE_KEYS:
        raise BundleError(
            obj.where, obj.name, f"at most {bounds.MAX_PROVENANCE_KEYS} entries", f"{len(obj.data)}"
        )
    for key in obj.data:
        name(obj.where, f"{obj.name} key", key)
        obj.take(key, scalar)


def exported_on(obj: Object | None) -> None:
    """``exported_on``: the exporting host's facts, short texts, all optional."""
    if obj is None:
        return
    for key in ("machine", "cpu_capability", "blas", "fft_backend", "quantized_engine"):
        obj.take(key, text(bounds.NAME_MAX_CHARS), required=False)
    obj.done()
