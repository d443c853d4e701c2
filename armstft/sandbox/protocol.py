"""The wire protocol between the sandbox's parent (armstft.sandbox.parent) and its child
(armstft.sandbox.child): one message is a length-prefixed JSON header, then raw blobs.

Why a module of its own: both sides speak it, so it lives below both; the parent and the child then import
this module and never each other.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

import numpy as np

LENGTH = struct.Struct(">I")
HEADER_MAX_BYTES = 1 << 20
OUTPUT_DTYPES = ("<f4", "<f8", "<c8", "<c16")


def encode(header: dict[str, Any], blobs: list[bytes | np.ndarray] = ()) -> bytes:  # type: ignore[assignment]
    """One message: length-prefixed JSON header, then raw blobs (bytes, or arrays described in the header)."""
    specs, raws = [], []
    for blob in blobs:
        if isinstance(blob, np.ndarray):
            array = np.ascontiguousarray(blob)
            specs.append({"dtype": array.dtype.str, "shape": list(array.shape), "bytes": array.nbytes})
            raws.append(array.tobytes())
        else:
            specs.append({"dtype": None, "shape": None, "bytes": len(blob)})
            raws.append(bytes(blob))
    text = json.dumps({**header, "blobs": specs}, allow_nan=False).encode()
    return b"".join([LENGTH.pack(len(text)), text, *raws])


def decode_blobs(header: dict[str, Any], raws: list[bytes]) -> list[bytes | np.ndarray]:
    out: list[bytes | np.ndarray] = []
    for spec, raw in zip(header["blobs"], raws, strict=True):
        if spec["dtype"] is None:
            out.append(raw)
        else:
            out.append(np.frombuffer(raw, dtype=np.dtype(spec["dtype"])).reshape(spec["shape"]))
    return out


def read_exact(fd: int, count: int) -> bytes | None:
    """Blocking read of exactly ``count`` bytes (the worker's side); None on end of file."""
    parts, left = [], count
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def receive_blocking(fd: int) -> tuple[dict[str, Any], list[bytes | np.ndarray]] | None:
    head = read_exact(fd, LENGTH.size)
    if head is None:
        return None
    text = read_exact(fd, LENGTH.unpack(head)[0])
    if text is None:
        return None
    header = json.loads(text)
    raws = []
    for spec in header["blobs"]:
        raw = read_exact(fd, spec["bytes"])
        if raw is None:
            return None
        raws.append(raw)
    return header, decode_blobs(header, raws)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
