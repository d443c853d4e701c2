"""Checks on audio before it reaches the model: a clear error, not a deep traceback or a wrong number."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from armstft.config import StftConfig
from armstft.errors import InputError


def check_audio(audio: object, config: StftConfig, where: str, field: str = "audio") -> np.ndarray:
    """Return ``audio`` as a float32 (batch, samples) array, or raise :class:`InputError` saying why not.

    Accepted: float32 arrays of rank 1 (samples) or 2 (batch, samples), finite, between the STFT's minimum
    length and ``config.max_seconds``. Other dtypes are refused rather than converted: int16 PCM silently
    treated as float would give a wrong number, not an error.
    """
    if not isinstance(audio, np.ndarray):
        raise InputError(where, field, "a float32 array", type(audio).__name__)
    if audio.dtype != np.float32:
        raise InputError(where, f"{field}.dtype", "float32", str(audio.dtype))
    if audio.ndim not in (1, 2):
        raise InputError(where, f"{field}.shape", "(samples,) or (batch, samples)", str(audio.shape))
    if audio.size == 0:
        raise InputError(where, f"{field}.shape", "a non-empty array", str(audio.shape))
    batch = audio.reshape(1, -1) if audio.ndim == 1 else audio
    samples = batch.shape[-1]
    if samples < config.min_samples:
        raise InputError(where, f"{field}.length", f">= {config.min_samples} samples", samples)
    if samples > config.max_samples:
        raise InputError(
            where, f"{field}.length", f"<= {config.max_samples} samples ({config.max_seconds} s)", samples
        )
    bad = ~np.isfinite(batch)
    if bad.any():
        first = np.argwhere(bad)[0]
        raise InputError(
            where, f"{field}[{first[0]}, {first[1]}]", "finite samples", f"{batch[tuple(first)]} (NaN/Inf)"
        )
    return np.ascontiguousarray(batch)


def read_audio(path: Path, config: StftConfig) -> np.ndarray:
    """Load a ``.npy`` (float32) or 16-bit PCM mono ``.wav`` at the config's sample rate, checked."""
    where = str(path)
    if not path.is_file():
        raise InputError(where, "file", "an existing .npy or .wav file", "missing")
    if path.suffix == ".npy":
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise InputError(where, "file", "a NumPy .npy array", f"unreadable ({err})") from None
        return check_audio(data, config, where)
    if path.suffix == ".wav":
        try:
            with wave.open(str(path), "rb") as stream:
                channels, width, rate = stream.getnchannels(), stream.getsampwidth(), stream.getframerate()
                frames = stream.readframes(stream.getnframes())
        except (wave.Error, EOFError) as err:
            raise InputError(where, "file", "a PCM WAV file", f"unreadable ({err})") from None
        if channels != 1:
            raise InputError(where, "channels", "1 (mono)", channels)
        if width != 2:
            raise InputError(where, "sample_width", "2 bytes (16-bit PCM)", width)
        if rate != config.sample_rate:
            raise InputError(where, "sample_rate", f"{config.sample_rate} Hz", f"{rate} Hz")
        pcm = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
        return check_audio(pcm, config, where)
    raise InputError(where, "suffix", ".npy or .wav", path.suffix or "none")
