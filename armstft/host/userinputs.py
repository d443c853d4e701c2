"""The user's side of ``armstft bundle``: their inputs (.npz), their constant arguments (``--arg``), and one
case run on a freshly loaded model.

Why apart from armstft.host.userbundle: that module is the bundle's assembly (folders, manifest, checks);
this one is what the user hands in and how their model is called, with each refusal naming the file and
the field.
"""

from __future__ import annotations

import io
import json
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


def read_inputs(path: Path, config: StftConfig) -> dict[str, np.ndarray]:
    """The user's named input arrays, read with golden.npz's bounds and checked as audio under ``config``;
    names must be valid case names."""
    try:
        with path.open("rb") as stream:
            data = stream.read(bounds.GOLDEN_FILE_MAX_BYTES + 1)
    except OSError as err:
        raise InputError(
            str(path), "file", "an .npz of float32 arrays", f"unreadable ({err.strerror})"
        ) from None
    if len(data) > bounds.GOLDEN_FILE_MAX_BYTES:
        raise InputError(str(path), "size", f"at most {bounds.mib(bounds.GOLDEN_FILE_MAX_BYTES)}", "more")
    try:
        inputs = read_npz(data, str(path), max_members=bounds.MAX_CASES)
    except BundleError as err:
        raise InputError(
            err.where, err.field, "an .npz of float32 arrays: " + err.expected, err.got
        ) from None
    if not inputs:
        raise InputError(str(path), "arrays", "at least one input array", "none")
    for name in inputs:
        if len(name) > bounds.NAME_MAX_CHARS or not NAME.fullmatch(name):
            raise InputError(str(path), "arrays", f"case names matching {NAME.pattern}", describe(name))
    return {case: check_audio(inputs[case], config, str(path), field=case) for case in sorted(inputs)}


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
    saved: bytes, audio: np.ndarray, arguments: list[Any], where: str, case: str
) -> tuple[list[str], list[np.ndarray]]:
    """One case on a model loaded afresh from ``saved``: its output names (none: one tensor) and arrays. What
    the model raises, or an output a bundle cannot hold, is one line naming the case."""
    module = torch.jit.load(io.BytesIO(saved), map_location="cpu")
    try:
        with torch.inference_mode():
            value = module(torch.from_numpy(audio), *arguments)
    except Exception as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        detail = lines[-1] if lines else type(err).__name__
        shape = "x".join(str(d) for d in audio.shape)
        raise InputError(
            where,
            f"forward({case})",
            f"to run on a float32 {shape} input"
            + (f" and arguments {arguments}" if arguments else " (more arguments: --arg NAME=VALUE)"),
            detail[:300],
        ) from None
    try:
        names, tensors = named_outputs(value)
    except OutputStructureError as err:
        raise InputError(where, f"forward({case}) {err.field}", err.expected, err.got) from None
    return names, [np.ascontiguousarray(t.numpy()) for t in tensors]
