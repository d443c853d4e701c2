"""A strict reader of 16-bit PCM mono WAV files: the header must describe the file exactly.

Python's ``wave`` module (3.11) trusts the header: a file declaring 10 s over 1 s of data, or a truncated
one, is read without complaint and yields fewer samples than declared; and it refuses
WAVE_FORMAT_EXTENSIBLE (65534), which many tools write for plain 16-bit PCM. Here:

- ``RIFF`` size + 8 must equal the file's real size, and every chunk must lie inside it;
- exactly one ``fmt `` chunk, before exactly one ``data`` chunk; other chunks (``LIST``, ``fact``) are
  skipped, at most :data:`armstft.core.bounds.WAV_MAX_CHUNKS` of them;
- format 1 (PCM), or 65534 (EXTENSIBLE) with the PCM sub-format GUID and 16 valid bits; 1 channel,
  16 bits, block align 2, byte rate = 2 x sample rate;
- the sample count comes from the ``data`` size and is checked against the caller's maximum before a
  single sample is read.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import numpy as np

from armstft.core import bounds
from armstft.core.errors import InputError

PCM = 1
EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM: 00000001-0000-0010-8000-00aa00389b71, as stored (little-endian fields).
PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")


@dataclass(frozen=True)
class WavFormat:
    channels: int
    sample_rate: int
    bits: int
    data_offset: int
    data_bytes: int

    @property
    def samples(self) -> int:
        return self.data_bytes // 2


def _fmt(body: bytes, where: str) -> tuple[int, int, int]:
    """(channels, sample_rate, bits) of a ``fmt `` chunk, refusing anything but 16-bit integer PCM."""
    if len(body) < 16:
        raise InputError(where, "fmt.size", ">= 16 bytes", len(body))
    tag, channels, rate, byte_rate, align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == EXTENSIBLE:
        if len(body) < 40:
            raise InputError(where, "fmt.size", ">= 40 bytes for WAVE_FORMAT_EXTENSIBLE", len(body))
        extra, valid_bits = struct.unpack_from("<HH", body, 16)
        guid = body[24:40]
        if extra < 22:
            raise InputError(where, "fmt.cbSize", ">= 22 for WAVE_FORMAT_EXTENSIBLE", extra)
        if guid != PCM_GUID:
            raise InputError(where, "fmt.SubFormat", "the PCM GUID (integer samples)", guid.hex())
        if valid_bits != 16:
            raise InputError(where, "fmt.wValidBitsPerSample", "16", valid_bits)
    elif tag != PCM:
        raise InputError(where, "fmt.format", f"PCM ({PCM}) or WAVE_FORMAT_EXTENSIBLE ({EXTENSIBLE})", tag)
    if channels != 1:
        raise InputError(where, "channels", "1 (mono)", channels)
    if bits != 16:
        raise InputError(where, "sample_width", "2 bytes (16-bit PCM)", f"{bits} bits")
    if align != 2:
        raise InputError(where, "fmt.block_align", "2 (mono 16-bit)", align)
    if rate == 0 or byte_rate != rate * 2:
        raise InputError(where, "fmt.byte_rate", f"2 x sample rate ({rate * 2})", byte_rate)
    return channels, rate, bits


def read_format(fd: int, size: int, where: str) -> WavFormat:
    """Walk the RIFF chunks of the open file ``fd`` (``size`` bytes long) without reading the samples."""

    def read_at(offset: int, count: int) -> bytes:
        data = os.pread(fd, count, offset)
        if len(data) != count:
            raise InputError(where, "file", f"{count} bytes at offset {offset}", f"{len(data)} (truncated)")
        return data

    if size < 12:
        raise InputError(where, "file", "a RIFF/WAVE file", f"{size} bytes")
    riff, riff_size, wave = struct.unpack("<4sI4s", read_at(0, 12))
    if riff != b"RIFF" or wave != b"WAVE":
        raise InputError(where, "file", "a RIFF/WAVE file", repr(riff + wave))
    if riff_size + 8 != size:
        raise InputError(
            where, "RIFF.size", f"the file's size - 8 ({size - 8})", f"{riff_size} (header and file disagree)"
        )
    offset, fmt, data = 12, None, None
    for _ in range(bounds.WAV_MAX_CHUNKS):
        if offset + 8 > size:
            break
        chunk_id, chunk_size = struct.unpack("<4sI", read_at(offset, 8))
        body = offset + 8
        name = chunk_id.decode("latin-1")
        if body + chunk_size > size:
            raise InputError(
                where,
                f"{name!r}.size",
                f"at most {size - body} (the rest of the file)",
                f"{chunk_size} (truncated)",
            )
        if chunk_id == b"fmt ":
            if fmt is not None or data is not None:
                raise InputError(where, "fmt", "one fmt chunk, before the data chunk", "another")
            fmt = _fmt(read_at(body, min(chunk_size, 64)), where)
        elif chunk_id == b"data":
            if fmt is None:
                raise InputError(where, "data", "a fmt chunk before it", "none")
            if data is not None:
                raise InputError(where, "data", "one data chunk", "another")
            if chunk_size % 2:
                raise InputError(where, "data.size", "whole 16-bit samples (an even size)", chunk_size)
            data = (body, chunk_size)
        offset = body + chunk_size + (chunk_size & 1)
    else:
        if offset + 8 <= size:
            raise InputError(where, "chunks", f"at most {bounds.WAV_MAX_CHUNKS}", "more")
    if offset not in (size, size + 1):  # the final pad byte may be missing
        raise InputError(
            where, "file", "chunks that fill the file", f"{size - offset} stray bytes at the end"
        )
    if fmt is None:
        raise InputError(where, "fmt", "a fmt chunk", "none")
    if data is None:
        raise InputError(where, "data", "a data chunk", "none")
    channels, rate, bits = fmt
    return WavFormat(channels, rate, bits, data[0], data[1])


def read_samples(fd: int, fmt: WavFormat, where: str) -> np.ndarray:
    """The ``data`` chunk as float32 in [-1, 1), read only after the caller checked ``fmt.samples``."""
    raw = os.pread(fd, fmt.data_bytes, fmt.data_offset)
    if len(raw) != fmt.data_bytes:
        raise InputError(where, "data", f"{fmt.data_bytes} bytes", f"{len(raw)} (the file changed)")
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / np.float32(32768.0)
