"""Float64 NumPy reference of the STFT stage: what every fp32 STFT in this project is measured against.

It follows torch.stft's documented semantics (periodic windows, window zero-padded to n_fft and centred,
optional centre padding with the given pad mode, frames every hop, one-sided rfft, optional 1/sqrt(n_fft)
normalisation) but is written independently with NumPy only, so it shares no code with what it checks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from armstft.core.config import StftConfig

_NUMPY_PAD = {"reflect": "reflect", "constant": "constant", "replicate": "edge", "circular": "wrap"}


# Each window of armstft.core.config.WINDOWS in float64, written from its formula (not from torch's code):
# f(n, phase) for sample index n, phase 2*pi*n/length.
WINDOWS64: dict[str, Callable[[np.ndarray, np.ndarray, int], np.ndarray]] = {
    "hann": lambda n, phase, length: 0.5 - 0.5 * np.cos(phase),
    "hamming": lambda n, phase, length: 0.54 - 0.46 * np.cos(phase),
    "blackman": lambda n, phase, length: 0.42 - 0.5 * np.cos(phase) + 0.08 * np.cos(2.0 * phase),
    "bartlett": lambda n, phase, length: 1.0 - np.abs(2.0 * n / length - 1.0),
    "rectangular": lambda n, phase, length: np.ones(length, dtype=np.float64),
}


def window64(name: str, length: int) -> np.ndarray:
    """Periodic window of ``length`` samples in float64 (torch's default ``periodic=True``)."""
    if name not in WINDOWS64:
        raise ValueError(f"unknown window {name!r}")
    n = np.arange(length, dtype=np.float64)
    return WINDOWS64[name](n, 2.0 * np.pi * n / length, length)


def stft64(
    signal: np.ndarray,
    n_fft: int,
    hop_length: int,
    win_length: int,
    window: str = "hann",
    center: bool = True,
    pad_mode: str = "reflect",
    normalized: bool = False,
) -> np.ndarray:
    """Complex128 STFT of shape (..., n_fft // 2 + 1, frames) for a (..., samples) signal."""
    x = np.asarray(signal, dtype=np.float64)
    win = np.zeros(n_fft, dtype=np.float64)
    left = (n_fft - win_length) // 2
    win[left : left + win_length] = window64(window, win_length)
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        x = np.pad(x, pad, mode=_NUMPY_PAD[pad_mode])
    n_frames = 1 + (x.shape[-1] - n_fft) // hop_length
    starts = np.arange(n_frames) * hop_length
    frames = x[..., starts[:, None] + np.arange(n_fft)[None, :]]  # (..., frames, n_fft)
    spec = np.fft.rfft(frames * win, axis=-1)
    if normalized:
        spec = spec / np.sqrt(n_fft)
    return np.swapaxes(spec, -1, -2)


def stft64_config(signal: np.ndarray, config: StftConfig) -> np.ndarray:
    """:func:`stft64` with every parameter taken from the model's config."""
    return stft64(
        signal,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=config.window,
        center=config.center,
        pad_mode=config.pad_mode,
        normalized=config.normalized,
    )


def peak_relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    """max |got - ref| / max |ref|: error relative to the spectrum peak (per-bin relative error is
    meaningless for bins near zero)."""
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    err = float(np.max(np.abs(np.asarray(got, dtype=np.complex128) - ref))) if ref.size else 0.0
    return err / scale if scale > 0 else err
