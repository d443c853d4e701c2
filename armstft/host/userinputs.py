"""The user's side of ``armstft bundle``: their inputs (.npz), their constant arguments (``--arg``), and one
case run on a freshly loaded model.

Why apart from armstft.host.userbundle: that module is the bundle's assembly (folders, manifest, checks);
this one is what the user hands in and how their model is called, with each refusal naming the file and
the field.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from armstft.audio.clips import check_audio
from armstft.bundle.golden import read_npz
from armstft.bundle.manifest import NAME
from armstft.core import bounds
from armstft.core.config import StftConfig
from armstft.core.errors import BundleError, InputError, describe
from armstft.nn.outputs import OutputStructureError, named_outputs


@dataclass(frozen=True)
class UserInputs:
    """Per case: the audio (``<case>`` in the .npz) and the tensor inputs beside it (``<case>.<name>``, by
    forward's parameter name); every case has the same names."""

    audio: dict[str, np.ndarray]
    extras: dict[str, dict[str, np.ndarray]]
    names: tuple[str, ...]


def read_inputs(path: Path, config: StftConfig) -> UserInputs:
    """The user's named input arrays, read with golden.npz's bounds, the audio checked under ``config``;
    names must be valid case (and input) names."""
    where = str(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(bounds.GOLDEN_FILE_MAX_BYTES + 1)
    except OSError as err:
        raise InputError(where, "file", "an .npz of float32 arrays", f"unreadable ({err.strerror})") from None
    if len(data) > bounds.GOLDEN_FILE_MAX_BYTES:
        raise InputError(where, "size", f"at most {bounds.mib(bounds.GOLDEN_FILE_MAX_BYTES)}", "more")
    try:
        arrays = read_npz(data, where, max_members=bounds.MAX_CASES * (1 + bounds.MAX_ARGUMENTS))
    except BundleError as err:
        raise InputError(
            err.where, err.field, "an .npz of float32 arrays: " + err.expected, err.got
        ) from None
    for key in arrays:
        parts = key.split(".", 1)
        if not all(len(p) <= bounds.NAME_MAX_CHARS and NAME.fullmatch(p) for p in parts):
            raise InputError(
                where, "arrays", f"case names (or case.input) matching {NAME.pattern}", describe(key)
            )
    audio = {k: check_audio(a, config, where, field=k) for k, a in sorted(arrays.items()) if "." not in k}
    extras: dict[str, dict[str, np.ndarray]] = {case: {} for case in audio}
    for key in sorted(k for k in arrays if "." in k):
        case, name = key.split(".", 1)
        if case not in audio:
            raise InputError(where, key, f"an input beside an audio array named {case}", "no such array")
        extras[case][name] = arrays[key]
    if not audio:
        raise InputError(where, "arrays", "at least one input array", "none")
    names = tuple(sorted(extras[next(iter(audio))]))
    for case, found in extras.items():
        if tuple(sorted(found)) != names:
            raise InputError(where, case, f"the inputs {', '.join(names) or 'audio only'}", ", ".join(found))
    return UserInputs(audio, extras, names)


def check_names(module: Any, inputs: UserInputs, arguments: list[tuple[str, Any]], where: str) -> None:
    """Tensor inputs and constants go to forward by name: each must be one of its parameters."""
    try:
        params = [a.name for a in module.forward.schema.arguments][2:]
    except (AttributeError, RuntimeError):
        return  # no schema to read (the call itself will say what is wrong)
    for name in [*inputs.names, *(n for n, _ in arguments)]:
        if name not in params:
            raise InputError(
                where, f"forward({name})", f"one of forward's parameters after the audio: {params}", name
            )


def parse_argument(text: str) -> tuple[str, Any]:
    """``--arg NAME=VALUE``: VALUE as JSON (``16000``, ``0.5``, ``true``, ``"text"``) or else a plain
    string; only scalars (the manifest's ``call.arguments``)."""
    name, sep, raw = text.partition("=")
    if not sep or not NAME.fullmatch(name) or len(name) > bounds.NAME_MAX_CHARS:
        got = "no '='" if not sep else f"the name {describe(name)}"
        raise InputError("--arg", text, "NAME=VALUE with NAME matching " + NAME.pattern, got)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if (isinstance(value, float) and not np.isfinite(value)) or not isinstance(
        value, bool | int | float | str
    ):
        raise InputError("--arg", name, "an integer, a finite number, true/false or a string", describe(raw))
    return name, value


def run_case(
    saved: bytes, audio: np.ndarray, keywords: dict[str, Any], where: str, case: str
) -> tuple[list[str], list[np.ndarray]]:
    """One case on a model loaded afresh from ``saved``: its output names (none: one tensor) and arrays. What
    the model raises, or an output a bundle cannot hold, is one line naming the case."""
    module = torch.jit.load(io.BytesIO(saved), map_location="cpu")
    try:
        with torch.inference_mode():
            tensors = {
                k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in keywords.items()
            }
            value = module(torch.from_numpy(audio), **tensors)
    except Exception as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        detail = lines[-1] if lines else type(err).__name__
        shape = "x".join(str(d) for d in audio.shape)
        raise InputError(
            where,
            f"forward({case})",
            f"to run on a float32 {shape} input"
            + (f" and {_shown(keywords)}" if keywords else " (more arguments: --arg NAME=VALUE)"),
            detail[:300],
        ) from None
    try:
        names, tensors = named_outputs(value)
    except OutputStructureError as err:
        raise InputError(where, f"forward({case}) {err.field}", err.expected, err.got) from None
    return names, [np.ascontiguousarray(t.numpy()) for t in tensors]


def _shown(keywords: dict[str, Any]) -> str:
    parts = [
        f"{k} {'x'.join(map(str, v.shape))} {v.dtype}" if isinstance(v, np.ndarray) else f"{k}={v!r}"
        for k, v in keywords.items()
    ]
    return ", ".join(parts)
