"""Checks on audio before it reaches the model: a clear error, not a deep traceback or a wrong number.

Files are sized before they are read: the file's size from ``fstat``, then its header (WAV chunks, .npy
header), then the sample count against the config's limits, and only then the samples.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import numpy as np

from armstft.audio import wav
from armstft.core import bounds
from armstft.core.config import StftConfig
from armstft.core.errors import InputError
from armstft.core.npyheader import NPY_HEADER_MAX_BYTES, NpyHeaderError, read_header


def first_bad(array: np.ndarray) -> tuple[str, object] | None:
    """(index, value) of the first NaN/Inf in ``array``, or None when all values are finite."""
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return ", ".join(str(i) for i in index), array[index]


def check_audio(audio: object, config: StftConfig, where: str, field: str = "audio") -> np.ndarray:
    """Return ``audio`` as a float32 (batch, samples) array, or raise :class:`InputError` saying why not.

    Accepted: float32 arrays of rank 1 (samples), 2 (batch, samples) or 3 (batch, channels, samples),
    finite, between the STFT's minimum length and ``config.max_seconds``, at most ``bounds.MAX_BATCH`` rows
    (batch x channels). Other dtypes are refused rather
    than converted: int16 PCM silently treated as float would give a wrong number, not an error.
    """
    if not isinstance(audio, np.ndarray):
        raise InputError(where, field, "a float32 array", type(audio).__name__)
    if audio.dtype != np.float32:
        raise InputError(where, f"{field}.dtype", "float32", str(audio.dtype))
    if audio.ndim not in (1, 2, 3):
        raise InputError(
            where,
            f"{field}.shape",
            "(samples,), (batch, samples) or (batch, channels, samples)",
            str(audio.shape),
        )
    if audio.size == 0:
        raise InputError(where, f"{field}.shape", "a non-empty array", str(audio.shape))
    batch = audio.reshape(1, -1) if audio.ndim == 1 else audio
    _check_shape(batch.shape, config, where, field)
    bad = first_bad(batch)
    if bad is not None:
        raise InputError(where, f"{field}[{bad[0]}]", "finite samples", f"{bad[1]} (NaN/Inf)")
    return np.ascontiguousarray(batch)


def _check_shape(shape: tuple[int, ...], config: StftConfig, where: str, field: str) -> None:
    rows, samples = int(np.prod(shape[:-1], dtype=np.int64)), shape[-1]
    if rows > bounds.MAX_BATCH:
        raise InputError(where, f"{field}.shape", f"at most {bounds.MAX_BATCH} rows", rows)
    if samples < config.min_samples:
        raise InputError(where, f"{field}.length", f">= {config.min_samples} samples", samples)
    if samples > config.max_samples:
        raise InputError(
            where,
            f"{field}.length",
            f"<= {config.max_samples} samples ({config.max_seconds:g} s at {config.sample_rate} Hz: the "
            f"config's max_seconds, which may be raised up to {bounds.MAX_AUDIO_SECONDS:g})",
            samples,
        )
    if rows * config.n_freqs * config.frames(samples) > bounds.STFT_MAX_VALUES:
        raise InputError(where, f"{field}.shape", f"an STFT within {bounds.STFT_MAX_VALUES} values", shape)


def _read_npy(fd: int, size: int, config: StftConfig, where: str) -> np.ndarray:
    head = os.pread(fd, min(size, NPY_HEADER_MAX_BYTES + 16), 0)
    stream = io.BytesIO(head)
    try:
        shape, dtype = read_header(stream)
    except NpyHeaderError as err:
        raise InputError(where, "file", "a NumPy .npy array", f"unreadable ({err})") from None
    if dtype != np.float32:
        raise InputError(where, "audio.dtype", "float32", str(dtype))
    if len(shape) not in (1, 2) or 0 in shape:
        raise InputError(where, "audio.shape", "(samples,) or (batch, samples), non-empty", str(shape))
    _check_shape(shape, config, where, "audio")
    offset = stream.tell()
    expected = int(np.prod(shape)) * 4
    if size - offset != expected:
        raise InputError(
            where, "file", f"{expected} bytes of data for shape {shape}", f"{size - offset} bytes"
        )
    raw = os.pread(fd, size, 0)
    if len(raw) != size:
        raise InputError(where, "file", f"{size} bytes", f"{len(raw)} (the file changed)")
    data = np.load(io.BytesIO(raw), allow_pickle=False)
    return check_audio(np.ascontiguousarray(data), config, where)


def _read_wav(fd: int, size: int, config: StftConfig, where: str) -> np.ndarray:
    fmt = wav.read_format(fd, size, where)
    if fmt.sample_rate != config.sample_rate:
        raise InputError(where, "sample_rate", f"{config.sample_rate} Hz", f"{fmt.sample_rate} Hz")
    _check_shape((fmt.samples,), config, where, "audio")
    return check_audio(wav.read_samples(fd, fmt, where), config, where)


def read_audio(path: Path, config: StftConfig) -> np.ndarray:
    """Load a ``.npy`` (float32) or 16-bit PCM mono ``.wav`` at the config's sample rate, checked."""
    where = str(path)
    readers = {".npy": _read_npy, ".wav": _read_wav}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise InputError(where, "file", "an existing .npy or .wav file", "missing") from None
    except OSError as err:
        raise InputError(where, "file", "a readable .npy or .wav file", err.strerror) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(where, "file", "a regular .npy or .wav file", "not a regular file")
        if path.suffix not in readers:
            raise InputError(where, "suffix", ".npy or .wav", path.suffix or "none")
        if info.st_size > bounds.AUDIO_FILE_MAX_BYTES:
            raise InputError(
                where, "size", f"at most {bounds.mib(bounds.AUDIO_FILE_MAX_BYTES)}", f"{info.st_size} bytes"
            )
        return readers[path.suffix](fd, info.st_size, config, where)
    finally:
        os.close(fd)
