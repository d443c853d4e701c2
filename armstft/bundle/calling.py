"""How a bundle's models are called and what they return: the parts of schema ``armstft.bundle/2``.

- ``call.arguments``: constant non-tensor arguments passed after the audio on every call
  (``forward(audio, sr)``), each ``{"name": ..., "value": int | float | bool | str}``;
- ``call.inputs``: more tensor inputs beside the audio (``forward(audio, tokens)``), by forward's parameter
  name; golden holds ``<case>.input.<name>`` for each (numeric, finite, at most ``INPUT_MAX_VALUES``
  values). Constants and these are passed by name (keyword arguments), the audio first by position;
- ``call.state``: ``fresh_load_per_case`` (every golden case runs on a model loaded afresh from its hashed
  bytes, so a model that keeps state between calls gives the same numbers on every device) or ``shared``
  (one load for all cases: what ``armstft export`` bundles, whose models keep no state);
- ``sizes``: each file's size in bytes. A file is read only if it has exactly its declared size, so the
  memory a bundle takes is what it declares, under hard ceilings (armstft.core.bounds:
  ``MODEL_FILE_CEILING_BYTES`` per model, ``GOLDEN_FILE_MAX_BYTES`` for golden.npz,
  ``BUNDLE_CEILING_BYTES`` together). ``armstft bundle`` writes them and checks its bundle with this code;
  a /1 manifest keeps the fixed limits (``MODEL_FILE_MAX_BYTES``, ``BUNDLE_MAX_BYTES``);
- ``models.<variant>.outputs``: the names of a tuple's (``0``, ``1``, ...) or dict's tensors; golden holds
  ``<case>.out.<variant>.<name>`` for each. Absent: the model returns one tensor (``<case>.out.<variant>``).

A manifest using none of them is written as ``armstft.bundle/1``, byte for byte what it was (the default
bundle); one using any of them as ``armstft.bundle/2``, which a ``/1`` reader refuses by its schema line
instead of misreading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from armstft.bundle import fields
from armstft.core import bounds
from armstft.core.errors import BundleError, describe

SCHEMA_V1 = "armstft.bundle/1"
SCHEMA_V2 = "armstft.bundle/2"
SCHEMAS = (SCHEMA_V1, SCHEMA_V2)
STATES = ("fresh_load_per_case", "shared")
V2_KEYS = ("call", "sizes")  # top-level keys only schema /2 has (and models.<variant>.outputs)


@dataclass(frozen=True)
class Call:
    """Constant arguments after the audio, more tensor inputs, whether each case gets a fresh load."""

    arguments: tuple[tuple[str, Any], ...] = ()
    state: str = "shared"
    inputs: tuple[str, ...] = ()  # more tensor inputs, by forward's parameter name: <case>.input.<name>

    @property
    def keywords(self) -> dict[str, Any]:
        """The constants as forward's keyword arguments."""
        return dict(self.arguments)

    @property
    def fresh_load(self) -> bool:
        return self.state == "fresh_load_per_case"


def schema_for(manifest: dict[str, Any]) -> str:
    """The oldest schema that can say what ``manifest`` says."""
    uses_v2 = any(k in manifest for k in V2_KEYS) or any(
        "outputs" in entry for entry in manifest.get("models", {}).values()
    )
    return SCHEMA_V2 if uses_v2 else SCHEMA_V1


def _value(where: str, name: str, value: Any) -> Any:
    expected = "an integer, a finite number, true/false or a short string"
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) >= 1 << 63:
            raise BundleError(where, name, expected + " (64-bit)", describe(value))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BundleError(where, name, expected, describe(value))
        return value
    if isinstance(value, str):
        return fields.text(bounds.NAME_MAX_CHARS)(where, name, value)
    raise BundleError(where, name, expected, fields.kind(value))


def parse_call(top: fields.Object, schema: str, name_field: Any) -> Call:
    """``call`` (schema /2 only); a /1 manifest has the shared-load, no-argument default."""
    obj = top.sub("call", required=False)
    if obj is None:
        return Call()
    if schema != SCHEMA_V2:
        raise BundleError(obj.where, "schema", f'"{SCHEMA_V2}" (the manifest has call)', describe(schema))
    state = obj.take("state", fields.choice(STATES))
    raw = obj.take("arguments", fields.list_of(_argument(name_field), 0, bounds.MAX_ARGUMENTS, "arguments"))
    names = fields.list_of(name_field, 0, bounds.MAX_ARGUMENTS, "tensor input names")
    inputs = obj.take("inputs", names, required=False) or []
    obj.done()
    fields.unique(obj.where, "call.arguments", [n for n, _ in raw])
    fields.unique(obj.where, "call.inputs", [*inputs, *(n for n, _ in raw)])
    return Call(tuple(raw), state, tuple(inputs))


def _argument(name_field: Any) -> Any:
    def parse(where: str, field: str, value: Any) -> tuple[str, Any]:
        arg = fields.Object(where, value, field)
        name = arg.take("name", name_field)
        got = arg.take("value", _value)
        arg.done()
        return name, got

    return parse


def parse_outputs(obj: fields.Object, schema: str, name_field: Any) -> tuple[str, ...]:
    """``models.<variant>.outputs`` (schema /2 only): names of a tuple's or dict's tensors."""
    if "outputs" not in obj.data:
        obj.known.append("outputs")
        return ()
    if schema != SCHEMA_V2:
        raise BundleError(obj.where, "schema", f'"{SCHEMA_V2}" ({obj.field("outputs")} is set)', schema)
    names = obj.take("outputs", fields.list_of(name_field, 1, bounds.MAX_OUTPUTS, "output names"))
    fields.unique(obj.where, obj.field("outputs"), names)
    return tuple(names)


def output_keys(variant: str, outputs: tuple[str, ...]) -> list[str]:
    """The golden ``what`` of each output: ``out.<variant>`` or ``out.<variant>.<name>``."""
    if not outputs:
        return [f"out.{variant}"]
    return [f"out.{variant}.{name}" for name in outputs]


def parse_sizes(
    top: fields.Object, schema: str, files: dict[str, str], golden_file: str
) -> dict[str, int] | None:
    """``sizes`` (schema /2): a size for exactly the files ``files`` names, each and all within the
    ceilings."""
    obj = top.sub("sizes", required=False)
    if obj is None:
        return None
    if schema != SCHEMA_V2:
        raise BundleError(obj.where, "schema", f'"{SCHEMA_V2}" (the manifest has sizes)', describe(schema))
    sizes: dict[str, int] = {}
    for name in files:
        ceiling = bounds.GOLDEN_FILE_MAX_BYTES if name == golden_file else bounds.MODEL_FILE_CEILING_BYTES
        size = obj.take(name, lambda where, field, value: value)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= ceiling:
            want = f"a whole number of bytes in 1..{ceiling} ({bounds.mib(ceiling)})"
            raise BundleError(obj.where, obj.field(name), want, describe(size))
        sizes[name] = size
    obj.done()
    total = sum(sizes.values())
    if total > bounds.BUNDLE_CEILING_BYTES:
        where, want = obj.where, f"at most {bounds.mib(bounds.BUNDLE_CEILING_BYTES)} together"
        raise BundleError(where, "sizes", want, f"{total} bytes")
    return sizes


def size_limit(sizes: dict[str, int] | None, name: str, golden: bool) -> int:
    """How many bytes of ``name`` may be read: its declared size (/2), else the fixed limit (/1)."""
    if sizes is not None:
        return sizes[name]
    return bounds.GOLDEN_FILE_MAX_BYTES if golden else bounds.MODEL_FILE_MAX_BYTES
