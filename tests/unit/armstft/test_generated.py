"""Thousands of generated bad bundles and audio files against the real ``armstft verify | run | bench``.

A seeded mutator (no hypothesis: every case is reproducible from ARMSTFT_FUZZ_SEED and its index) damages
a small real bundle (two TorchScript variants, an STFT stage, golden data) and real WAV/.npy files the way
an attacker or a careless user would: misspelled and unknown keys, hostile values (NaN, 1e999, 5,000-digit
integers, 1,000-deep nesting, control characters), config edits, byte flips and truncations of golden.npz
re-hashed into the manifest, NaN/Inf, dtype and shape changes of golden arrays, lying WAV headers.

Every case has an oracle, decided by the mutator, not by looking at the result:

- ``fail``: the mutation changes something verify/run must notice: exit 1 or 2, never 0 (a silent pass);
- ``pass``: controls that change nothing that matters (key order, re-compressed golden, EXTENSIBLE WAV):
  exit 0 (and for audio, the same logits as the clean clip);
- ``any``: mutations that may be harmless (a flipped byte in a zip's timestamp, in a WAV's channel mask);
  exit 0 is accepted only if what was loaded is provably unchanged (same arrays, same logits).

For all: exit 0, 1 or 2 (never 3), stdout one standard JSON document, no traceback, and done within
CASE_TIMEOUT seconds (a hang). The test asserts 0 of each and prints the counts and its duration.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from armstft.audio.reference import stft64_config
from armstft.audio.wav import PCM_GUID
from armstft.bundle.hashing import sha256_bytes
from armstft.bundle.manifest import golden_key
from armstft.cli import main
from armstft.core.config import StftConfig
from armstft.host.export import script_frozen
from armstft.nn.frontend import make_frontend
from armstft.nn.quantize import dynamic_int8
from tests.unit.conftest import REPO, strict_json

CASES = int(os.environ.get("ARMSTFT_FUZZ_CASES", "2000"))
SEED = int(os.environ.get("ARMSTFT_FUZZ_SEED", "20261124"))
CASE_TIMEOUT = 120.0
CONFIG = StftConfig(n_fft=64, hop_length=32, win_length=64, n_mels=8, max_seconds=0.25)
LABELS = ["x", "y", "z"]


class Tiny(torch.nn.Module):
    """A small model with the shape of the real one (STFT front end, a head, a stated config), so that a
    full verify costs milliseconds."""

    def __init__(self, config: StftConfig) -> None:
        super().__init__()
        self.frontend = make_frontend(config)
        self.head = torch.nn.Linear(config.n_freqs, len(LABELS))
        self.armstft_config = config.to_json()

    @torch.jit.export
    def stft(self, audio: torch.Tensor) -> torch.Tensor:
        return self.frontend(audio)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spec = self.frontend(audio)
        return self.head(torch.log1p(spec.real * spec.real + spec.imag * spec.imag).mean(dim=-1))


def _saved(module: torch.jit.ScriptModule) -> bytes:
    stream = io.BytesIO()
    torch.jit.save(module, stream)
    return stream.getvalue()


def _npz(arrays: dict[str, np.ndarray], compressed: bool = False) -> bytes:
    stream = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(stream, **arrays)
    return stream.getvalue()


@dataclass
class Base:
    """The clean bundle and audio, in memory; each case writes a damaged copy."""

    manifest: dict[str, Any]
    models: dict[str, bytes]
    golden: dict[str, np.ndarray]
    golden_bytes: bytes
    pcm: bytes
    logits: list[list[float]] = field(default_factory=list)


def make_base() -> Base:
    torch.manual_seed(5)
    model = Tiny(CONFIG).eval()
    variants = {"fp32": script_frozen(model), "int8": script_frozen(dynamic_int8(model))}
    rng = np.random.default_rng(11)
    inputs = {
        "a": rng.standard_normal((1, 2000)).astype(np.float32),
        "b": rng.standard_normal((2, 1500)).astype(np.float32),
    }
    golden: dict[str, np.ndarray] = {}
    for case, audio in inputs.items():
        golden[golden_key(case, "input")] = audio
        golden[golden_key(case, "stft_ref")] = stft64_config(audio.astype(np.float64), CONFIG)
        for name, module in variants.items():
            with torch.inference_mode():
                golden[golden_key(case, f"out.{name}")] = module(torch.from_numpy(audio)).numpy()
    models = {f"model_{n}.pt": _saved(m) for n, m in variants.items()}
    golden_bytes = _npz(golden)
    manifest = {
        "schema": "armstft.bundle/1",
        "name": "tiny",
        "armstft": "0.1.0",
        "torch": str(torch.__version__),
        "torchaudio": "2.9.1",
        "config": CONFIG.to_dict(),
        "labels": LABELS,
        "training": {"seed": 5, "note": "random weights"},
        "models": {
            "fp32": {"file": "model_fp32.pt", "precision": "fp32", "tolerance": {"atol": 1e-4, "rtol": 1e-3}},
            "int8": {
                "file": "model_int8.pt",
                "precision": "int8",
                "quantization": "dynamic int8, Linear",
                "tolerance": {"atol": 0.01, "rtol": 0.02, "argmax_matches": "fp32"},
            },
        },
        "stft": {"models": ["fp32"], "method": "stft", "tolerance": {"peak_rel": 1e-5}},
        "golden": {"file": "golden.npz", "cases": list(inputs)},
        "files": {
            "golden.npz": sha256_bytes(golden_bytes),
            **{n: sha256_bytes(b) for n, b in models.items()},
        },
    }
    clip = np.sin(np.linspace(0, 400, 3200)).astype(np.float32) * 0.5
    pcm = (clip * 32767).astype("<i2").tobytes()
    return Base(manifest, models, golden, golden_bytes, pcm)


# --- one generated case ----------------------------------------------------------------------------------


@dataclass
class Case:
    family: str
    kind: str
    expect: str  # "fail" | "pass" | "any"
    command: str = "verify"  # or "run", "bench"
    manifest: Any = None  # a dict, or raw text
    golden: bytes | None = None
    audio: bytes | None = None
    audio_name: str = "clip.wav"
    check_pass: Callable[[dict[str, Any]], str | None] | None = None  # for exit 0 under "any"/"pass"


RAW = "@@RAW{}@@"
HOSTILE = [  # invalid wherever they go
    ("nan", float("nan")),
    ("infinity", float("inf")),
    ("-infinity", float("-inf")),
    ("1e999", RAW.format("1e999")),
    ("5000 digits", RAW.format("9" * 5000)),
    ("1000 deep", RAW.format("[" * 1000 + "]" * 1000)),
    ("newline", "line one\nline two"),
    ("escape", "\x1b[2J"),
    ("surrogate", RAW.format('"\\ud800"')),
    ("300 chars", "n" * 300),
]
MAYBE = [None, True, False, 0, 1, -1, 0.5, 1e308, "", "fp32", "x", [], {}, ["fp32"], {"a": 1}, "aten"]
CONFIG_EDITS = {
    "sample_rate": [8000, 22050, 44100],
    "n_fft": [128, 256],
    "hop_length": [16, 48, 64],
    "win_length": [32, 48],
    "window": ["hamming", "blackman", "bartlett", "rectangular"],
    "center": [False],
    "pad_mode": ["constant", "replicate", "circular"],
    "normalized": [True],
    "n_mels": [4, 7, 16],
    "f_min": [50.0, 1000.0],
    "f_max": [4000.0, 7999.0],
    "max_seconds": [0.2, 0.5, 2.0],
    "stft_backend": ["armstft"],
}
# Keys a manifest may leave out without losing a check (removing them is "any"; others must fail).
OPTIONAL = {
    ("labels",),
    ("training",),
    ("armstft",),
    ("exported_on",),
    ("models", "*", "precision"),
    ("models", "*", "stft_backend"),
    ("models", "*", "quantization"),
    ("models", "*", "tolerance", "argmax_matches"),
    ("models", "*", "tolerance", "atol"),
    ("models", "*", "tolerance", "rtol"),
    ("training", "*"),
}


def _paths(tree: Any, prefix: tuple = ()) -> list[tuple[tuple, Any]]:
    out = [(prefix, tree)]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out += _paths(value, (*prefix, i))
    return out


def _set(tree: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


def _optional(path: tuple) -> bool:
    return any(
        len(p) == len(path) and all(a in ("*", b) for a, b in zip(p, path, strict=True)) for p in OPTIONAL
    )


def _text(tree: dict[str, Any], rng: random.Random) -> str:
    text = json.dumps(tree, indent=rng.choice([None, 2]), sort_keys=rng.random() < 0.5)
    for i in range(10):
        marker = RAW.format(i)
        text = text.replace(json.dumps(marker), marker)
    return text


def _raw(value: Any) -> Any:
    return value[len("@@RAW") : -2] if isinstance(value, str) and value.startswith("@@RAW") else value


def _dump(tree: dict[str, Any], rng: random.Random) -> str:
    """JSON text of ``tree`` with RAW markers replaced by their literal text (invalid JSON on purpose)."""
    raws: list[str] = []

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and node.startswith("@@RAW") and node.endswith("@@"):
            raws.append(_raw(node))
            return RAW.format(len(raws) - 1)
        return node

    text = json.dumps(walk(tree), indent=rng.choice([None, 2]), sort_keys=rng.random() < 0.5)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(RAW.format(i)), raw)
    return text


def manifest_case(base: Base, rng: random.Random) -> Case:
    tree = copy.deepcopy(base.manifest)
    kind = rng.choice(
        [
            "rename",
            "add",
            "hostile",
            "maybe",
            "config",
            "delete",
            "digest",
            "text",
            "identity",
            "cases",
            "tolerance",
        ]
    )
    objects = [(p, v) for p, v in _paths(tree) if isinstance(v, dict) and p[:1] != ("training",)]
    values = [(p, v) for p, v in _paths(tree) if p]
    command = "bench" if rng.random() < 0.05 else "verify"
    if kind == "rename":
        path, obj = rng.choice([(p, o) for p, o in objects if o])
        key = rng.choice(list(obj))
        variants = [key[:-1], key + key[-1], key.upper(), key[1:] + key[0], key.replace("_", ""), key + "s"]
        new = rng.choice([v for v in variants if v and v != key and v not in obj] or [key + "_x"])
        obj[new] = obj.pop(key)  # in `models` or `files` too: golden members / hashes no longer match
        where = ".".join(map(str, (*path, key)))
        return Case("manifest", f"rename {where}", "fail", command, _dump(tree, rng))
    if kind == "add":
        path, obj = rng.choice(objects)
        obj[f"extra_{rng.randrange(1000)}"] = rng.choice([1, "x", None, {}, []])
        return Case(
            "manifest", f"add key to {'.'.join(map(str, path)) or 'top'}", "fail", command, _dump(tree, rng)
        )
    if kind == "hostile":
        path, _ = rng.choice(values)
        name, value = rng.choice(HOSTILE)
        _set(tree, path, value)
        return Case("manifest", f"{name} at {'.'.join(map(str, path))}", "fail", command, _dump(tree, rng))
    if kind == "maybe":
        path, _ = rng.choice(values)
        _set(tree, path, rng.choice(MAYBE))
        return Case(
            "manifest", f"maybe-valid value at {'.'.join(map(str, path))}", "any", "verify", _dump(tree, rng)
        )
    if kind == "config":
        key = rng.choice(list(CONFIG_EDITS))
        tree["config"][key] = rng.choice(CONFIG_EDITS[key])
        return Case("manifest", f"config.{key} edited", "fail", "verify", _dump(tree, rng))
    if kind == "delete":
        path, _ = rng.choice(values)
        if isinstance(path[-1], int):
            parent = tree
            for key in path[:-1]:
                parent = parent[key]
            del parent[path[-1]]
            expect = "any" if path[0] in ("labels", "training") else "fail"
        else:
            parent = tree
            for key in path[:-1]:
                parent = parent[key]
            del parent[path[-1]]
            expect = "any" if _optional(path) else "fail"
        return Case("manifest", f"delete {'.'.join(map(str, path))}", expect, "verify", _dump(tree, rng))
    if kind == "digest":
        name = rng.choice(list(tree["files"]))
        digest = tree["files"][name]
        at = rng.randrange(64)
        tree["files"][name] = (
            digest[:at] + rng.choice([c for c in "0123456789abcdef" if c != digest[at]]) + digest[at + 1 :]
        )
        return Case("manifest", f"digest of {name} changed", "fail", command, _dump(tree, rng))
    if kind == "text":
        text = json.dumps(tree)
        at = rng.randrange(len(text))
        how = rng.choice(["truncate", "insert", "replace", "duplicate key", "bom"])
        if how == "truncate":
            return Case("manifest", "text truncated", "fail", command, text[:at])
        if how == "duplicate key":
            return Case(
                "manifest",
                "duplicate key",
                "fail",
                command,
                text.replace('"name": "tiny"', '"name": "tiny", "name": "x"'),
            )
        if how == "bom":
            return Case("manifest", "byte order mark", "fail", command, "\ufeff" + text)
        char = chr(rng.choice([0, 7, 10, 27, 34, 44, 48, 57, 91, 93, 123, 125, 0x7F, 0xE9]))
        mutated = text[:at] + char + text[at + (how == "replace") :]
        return Case("manifest", f"text {how} {char!r}", "any", "verify", mutated)
    if kind == "cases":
        how = rng.choice(["shuffle", "drop", "duplicate", "unknown"])
        cases = tree["golden"]["cases"]
        if how == "shuffle":
            tree["golden"]["cases"] = list(reversed(cases))
            return Case("manifest", "cases reordered", "pass", "verify", _dump(tree, rng))
        if how == "drop":
            cases.pop(rng.randrange(len(cases)))
        elif how == "duplicate":
            cases.append(cases[0])
        else:
            cases.append(f"c{rng.randrange(100)}")
        return Case("manifest", f"cases {how}", "fail", command, _dump(tree, rng))
    if kind == "tolerance":
        variant = rng.choice(["fp32", "int8"])
        key = rng.choice(["atol", "rtol"])
        # only values no manifest may state: out of range, non-finite, or (atol 1000) accepting all-zero
        invalid = {"atol": [-1e-3, 1e7, 1000.0], "rtol": [-1e-3, 0.9, 2.0, 1e7]}[key]
        value = rng.choice([*invalid, float("nan"), float("inf")])
        tree["models"][variant]["tolerance"][key] = value
        return Case(
            "manifest", f"models.{variant}.tolerance.{key} = {value}", "fail", command, _dump(tree, rng)
        )
    return Case("manifest", "identity (reformatted)", "pass", "verify", _dump(tree, rng))


def _arrays_unchanged(base: Base, golden: bytes) -> Callable[[dict[str, Any]], str | None]:
    def check(_: dict[str, Any]) -> str | None:
        try:
            with np.load(io.BytesIO(golden), allow_pickle=False) as data:
                got = {k: data[k] for k in data.files}
        except Exception as err:
            return f"verified, but the golden file does not even load ({type(err).__name__})"
        if got.keys() != base.golden.keys():
            return "verified with different golden members"
        for key, want in base.golden.items():
            widened = want.dtype == np.float32 and got[key].dtype == np.float64  # allowed for outputs
            if (got[key].dtype != want.dtype and not widened) or not np.array_equal(got[key], want):
                return f"verified with changed {key}"
        return None

    return check


def golden_case(base: Base, rng: random.Random) -> Case:
    kind = rng.choice(
        [
            "flip",
            "truncate",
            "append",
            "nonfinite",
            "shift",
            "input",
            "ref",
            "dtype",
            "shape",
            "drop",
            "extra",
            "object",
            "header",
            "identity",
        ]
    )
    arrays = {k: v.copy() for k, v in base.golden.items()}
    key = rng.choice(list(arrays))
    command = "bench" if rng.random() < 0.05 else "verify"
    data = None
    expect = "fail"
    label = kind
    if kind == "flip":
        buffer = bytearray(base.golden_bytes)
        for _ in range(rng.randint(1, 4)):
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
        data, expect, command = bytes(buffer), "any", "verify"
    elif kind == "truncate":
        data = base.golden_bytes[: rng.randrange(len(base.golden_bytes))]
    elif kind == "append":
        data, expect, command = base.golden_bytes + rng.randbytes(rng.randint(1, 64)), "any", "verify"
    elif kind == "nonfinite":
        flat = arrays[key].reshape(-1)
        flat[rng.randrange(flat.size)] = rng.choice([np.nan, np.inf, -np.inf])
        label = f"NaN/Inf in {key}"
    elif kind == "shift":  # by more than the variant's tolerance allows at that value
        key = rng.choice([k for k in arrays if ".out." in k])
        tol = base.manifest["models"][key.rsplit(".", 1)[1]]["tolerance"]
        flat = arrays[key].reshape(-1)
        at = rng.randrange(flat.size)
        allowed = tol["atol"] + tol["rtol"] * abs(float(flat[at]))
        flat[at] += rng.choice([-1, 1]) * allowed * rng.choice([3.0, 100.0, 1e4])
        label, command = f"{key} shifted", "verify"  # bench does not compare outputs
    elif kind == "input":
        key = rng.choice([k for k in arrays if k.endswith(".input")])
        flat = arrays[key].reshape(-1)
        flat[rng.randrange(flat.size)] += rng.choice([0.01, 0.5, -1.0])
        label, command = f"{key} changed", "verify"
    elif kind == "ref":
        key = rng.choice([k for k in arrays if k.endswith(".stft_ref")])
        arrays[key] = arrays[key] * (1 + rng.choice([1e-6, 1e-3, -0.5]))
        label, command = f"{key} scaled", "verify"
    elif kind == "dtype":
        target = rng.choice([np.float16, np.float64, np.int32, np.complex64, np.bool_])
        arrays[key] = (
            arrays[key].astype(target)
            if not np.iscomplexobj(arrays[key]) or target in (np.complex64,)
            else arrays[key].real.astype(target)
        )
        label = f"{key} as {np.dtype(target).name}"
        if ".out." in key and target == np.float64:
            expect = "any"  # float64 outputs are allowed and these are the same values
    elif kind == "shape":
        how = rng.choice(["slice", "transpose", "expand", "flatten"])
        value = arrays[key]
        if how == "slice":
            arrays[key] = value[..., :-1] if value.shape[-1] > 1 else value[..., :0]
        elif how == "transpose":
            arrays[key] = value.T.copy() if value.ndim > 1 and value.shape != value.T.shape else value[None]
        elif how == "expand":
            arrays[key] = value[None]
        else:
            arrays[key] = value.reshape(-1)
        label = f"{key} {how}"
    elif kind == "drop":
        del arrays[key]
    elif kind == "extra":
        arrays[rng.choice(["bomb", "a.extra", "c.input", key + "x"])] = np.zeros(rng.randint(0, 100))
    elif kind == "object":
        arrays[key] = np.array([{"pickle": 1}], dtype=object)
    elif kind == "header":
        stream = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            stream, {"descr": "<f4", "fortran_order": False, "shape": (rng.randint(1, 10**9),)}
        )
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for name, value in arrays.items():
                member = io.BytesIO()
                np.save(member, value)
                archive.writestr(
                    f"{name}.npy", stream.getvalue() + bytes(16) if name == key else member.getvalue()
                )
        data = out.getvalue()
        label = f"lying header for {key}"
    else:
        data, expect, label = _npz(arrays, compressed=True), "pass", "re-written compressed"
    if data is None:
        data = _npz(arrays, compressed=rng.random() < 0.3)
    case = Case("golden", label, expect, command, golden=data)
    if expect != "fail":
        case.check_pass = _arrays_unchanged(base, data)
    return case


def _wav(pcm: bytes, tag: int = 1, extra: bytes = b"", mask: int = 4) -> bytes:
    fmt = struct.pack("<HHIIHH", tag, 1, 16000, 32000, 2, 16)
    if tag == 0xFFFE:
        fmt += struct.pack("<HHI", 22, 16, mask) + PCM_GUID
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + extra
        + b"data"
        + struct.pack("<I", len(pcm))
        + pcm
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def audio_case(base: Base, rng: random.Random) -> Case:
    kind = rng.choice(
        ["control", "header flip", "truncate", "append", "size lie", "fmt field", "data flip", "npy"]
    )

    def same_logits(doc: dict[str, Any]) -> str | None:
        return (
            None if doc.get("logits") == base.logits else f"classified with other logits: {doc.get('logits')}"
        )

    if kind == "control":
        how = rng.choice(["pcm", "extensible", "list chunk", "odd chunk"])
        extra = {
            "list chunk": b"LIST" + struct.pack("<I", 4) + b"INFO",
            "odd chunk": b"junk" + struct.pack("<I", 3) + b"abc\0",
        }
        content = _wav(base.pcm, tag=0xFFFE if how == "extensible" else 1, extra=extra.get(how, b""))
        return Case("audio", f"valid wav ({how})", "pass", "run", audio=content, check_pass=same_logits)
    good = _wav(base.pcm, tag=rng.choice([1, 0xFFFE]))
    header_end = len(good) - len(base.pcm)
    if kind == "header flip":
        buffer = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            buffer[rng.randrange(header_end)] ^= 1 << rng.randrange(8)
        return Case("audio", "header byte flip", "any", "run", audio=bytes(buffer), check_pass=same_logits)
    if kind == "truncate":
        return Case("audio", "truncated", "fail", "run", audio=good[: rng.randrange(len(good))])
    if kind == "append":
        return Case("audio", "bytes appended", "fail", "run", audio=good + rng.randbytes(rng.randint(1, 100)))
    if kind == "size lie":
        buffer = bytearray(good)
        at = rng.choice([4, header_end - 4])
        true = int.from_bytes(buffer[at : at + 4], "little")
        lie = rng.choice([true + 2, true - 2, true * 10, 0xFFFFFFFF, 0, 36000 * 32000])
        buffer[at : at + 4] = (lie & 0xFFFFFFFF).to_bytes(4, "little")
        return Case("audio", f"size field at {at} lies", "fail", "run", audio=bytes(buffer))
    if kind == "fmt field":
        buffer = bytearray(good)
        field_at, width = rng.choice([(20, 2), (22, 2), (24, 4), (28, 4), (32, 2), (34, 2)])
        true = int.from_bytes(buffer[field_at : field_at + width], "little")
        lie = rng.choice(
            [
                v
                for v in (0, 1, 2, 3, 8, 24, 44100, 65534, true * 2, true + 1)
                if v != true and v < 1 << (8 * width)
            ]
        )
        buffer[field_at : field_at + width] = lie.to_bytes(width, "little")
        return Case("audio", f"fmt field at {field_at} = {lie}", "fail", "run", audio=bytes(buffer))
    if kind == "data flip":
        buffer = bytearray(good)
        for _ in range(rng.randint(1, 20)):
            buffer[header_end + rng.randrange(len(base.pcm))] ^= 1 << rng.randrange(8)
        return Case("audio", "sample bytes flipped", "any", "run", audio=bytes(buffer))
    # .npy
    how = rng.choice(
        ["float64", "int16", "big-endian", "nan", "rank 3", "too long", "too short", "lying header", "length"]
    )
    samples = np.frombuffer(base.pcm, "<i2").astype(np.float32) / 32768
    expect = "fail"
    if how == "float64":
        array = samples.astype(np.float64)
    elif how == "int16":
        array = np.frombuffer(base.pcm, "<i2")
    elif how == "big-endian":
        array = samples.astype(">f4")
    elif how == "nan":
        array = samples.copy()
        array[rng.randrange(array.size)] = np.nan
    elif how == "rank 3":
        array = samples.reshape(1, 1, -1)
    elif how == "too long":
        array = np.zeros(rng.randint(4001, 20000), dtype=np.float32)
    elif how == "too short":
        array = np.zeros(rng.randint(1, 32), dtype=np.float32)
    elif how == "length":
        array, expect = np.zeros(rng.randint(33, 4000), dtype=np.float32), "any"
    else:
        stream = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            stream, {"descr": "<f4", "fortran_order": False, "shape": (rng.randint(33, 4000),)}
        )
        return Case(
            "audio",
            "npy header lies",
            "fail",
            "run",
            audio=stream.getvalue() + bytes(rng.randrange(100)),
            audio_name="clip.npy",
        )
    stream = io.BytesIO()
    np.save(stream, array)
    return Case("audio", f"npy {how}", expect, "run", audio=stream.getvalue(), audio_name="clip.npy")


# --- running them ----------------------------------------------------------------------------------------


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang


def write_case(base: Base, case: Case, folder: Path) -> list[str]:
    bundle = folder / "bundle"
    bundle.mkdir(parents=True)
    golden = case.golden if case.golden is not None else base.golden_bytes
    manifest = case.manifest
    if manifest is None:
        tree = copy.deepcopy(base.manifest)
        tree["files"]["golden.npz"] = sha256_bytes(golden)
        manifest = json.dumps(tree)
    (bundle / "manifest.json").write_text(
        manifest if isinstance(manifest, str) else json.dumps(manifest),
        encoding="utf-8",
        errors="surrogatepass",
    )
    (bundle / "golden.npz").write_bytes(golden)
    for name, data in base.models.items():
        (bundle / name).write_bytes(data)
    if case.command == "run":
        audio = folder / case.audio_name
        audio.write_bytes(case.audio if case.audio is not None else _wav(base.pcm))
        return ["run", str(bundle), str(audio)]
    if case.command == "bench":
        return ["bench", str(bundle), "--out", str(folder / "bench.json"), "--quick", "--threads", "1"]
    return ["verify", str(bundle)]


def run_case(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_TIMEOUT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except Hang:
        code = -1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


def judge(case: Case, code: int, out: str, err: str) -> str | None:
    """The problem with this outcome, or None."""
    if code == -1:
        return f"hang (> {CASE_TIMEOUT:g} s)"
    if code not in (0, 1, 2):
        return f"exit {code}: {err.strip().splitlines()[-1:]}"
    try:
        doc = strict_json(out)
    except ValueError as error:
        return f"stdout is not one standard JSON document ({error})"
    if "Traceback" in err:
        return "a traceback on stderr"
    if code == 2 and not err.strip().splitlines()[-1].startswith("armstft: error: "):
        return "exit 2 without an 'armstft: error:' line"
    if case.expect == "fail" and code == 0:
        return "silent pass"
    if case.expect == "pass" and code != 0:
        return f"false alarm (exit {code}): {err.strip().splitlines()[-1:]}"
    if code == 0 and case.check_pass is not None:
        return case.check_pass(doc)
    return None


def generate(base: Base, count: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    makers = [manifest_case] * 5 + [golden_case] * 4 + [audio_case] * 3
    return [rng.choice(makers)(base, rng) for _ in range(count)]


def drive(count: int, seed: int, scratch: Path) -> dict[str, Any]:
    """Generate and run ``count`` cases; a summary with every problem found."""
    started = time.monotonic()
    base = make_base()
    code, out, err = run_case(write_case(base, Case("audio", "clean", "pass", "run"), scratch / "clean"))
    if code != 0:
        return {"problems": [f"the clean clip does not run: {err}"], "cases": 0}
    base.logits = json.loads(out)["logits"]
    code, out, err = run_case(write_case(base, Case("manifest", "clean", "pass"), scratch / "clean-verify"))
    if code != 0:
        return {"problems": [f"the clean bundle does not verify: {err}"], "cases": 0}
    problems: list[str] = []
    outcomes: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    for index, case in enumerate(generate(base, count, seed)):
        folder = scratch / f"c{index}"
        argv = write_case(base, case, folder)
        case_started = time.monotonic()
        code, out, err = run_case(argv)
        seconds[case.family] += time.monotonic() - case_started
        outcomes[f"{case.family}/{case.expect}/exit {code}"] += 1
        problem = judge(case, code, out, err)
        if problem is not None:
            problems.append(f"case {index} ({case.family}: {case.kind}, {case.command}): {problem}")
        else:
            shutil.rmtree(folder)
    return {
        "cases": count,
        "seed": seed,
        "seconds": round(time.monotonic() - started, 1),
        "seconds_per_family": {k: round(v, 1) for k, v in seconds.items()},
        "outcomes": dict(sorted(outcomes.items())),
        "problems": problems,
    }


@pytest.mark.slow
def test_generated_bad_inputs(tmp_path: Path) -> None:
    """Runs the cases in a fresh process (forking a model worker from a lean process is cheaper than
    from this test session's); `python -m tests.unit.armstft.test_generated --cases N --seed S` reproduces."""
    summary_file = tmp_path / "summary.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.unit.armstft.test_generated",
            "--cases",
            str(CASES),
            "--seed",
            str(SEED),
            "--scratch",
            str(tmp_path / "cases"),
            "--summary",
            str(summary_file),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert summary_file.exists(), proc.stderr[-2000:]
    summary = json.loads(summary_file.read_text())
    print(
        f"\n{summary['cases']} generated cases (seed {SEED}) in {summary['seconds']} s: {summary['outcomes']}"
    )
    print(f"seconds per family: {summary['seconds_per_family']}")
    assert summary["cases"] >= 2000 or "ARMSTFT_FUZZ_CASES" in os.environ
    assert not summary["problems"], f"{len(summary['problems'])} problems:\n" + "\n".join(
        summary["problems"][:40]
    )


def main_cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=CASES)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--summary", type=Path, required=True)
    args = parser.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    summary = drive(args.cases, args.seed, args.scratch)
    args.summary.write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "problems"}, indent=2))
    for problem in summary["problems"]:
        print(problem)
    return 1 if summary["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main_cli())
