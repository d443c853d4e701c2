"""The armstft operators defined with torch's own ops, for a process where the native library is absent.

Why: a bundle's scripted model calls ``armstft::stft`` / ``armstft::log_mel``; on a machine whose armstft
was built without its native part (or with ``ARMSTFT_FASTSTFT=off``) that model must still load and give
the same answers, only at torch's speed.  Same schemas as the C++ library (src/ops/register.cpp;
tests/unit/faststft/test_faststft_schemas.py holds the two equal), kernels registered as
CompositeImplicitAutograd so they stay differentiable and traceable.
"""

from __future__ import annotations

import torch

SCHEMAS = {
    "stft": (
        "stft(Tensor self, int n_fft, int? hop_length=None, int? win_length=None, Tensor? window=None, "
        'bool center=True, str pad_mode="reflect", bool normalized=False, bool? onesided=None, '
        "bool? return_complex=None, bool? align_to_window=None) -> Tensor"
    ),
    "istft": (
        "istft(Tensor self, int n_fft, int? hop_length=None, int? win_length=None, Tensor? window=None, "
        "bool center=True, bool normalized=False, bool? onesided=None, int? length=None, "
        "bool return_complex=False) -> Tensor"
    ),
    "log_mel": (
        "log_mel(Tensor self, Tensor fb, int n_fft, int? hop_length=None, int? win_length=None, "
        'Tensor? window=None, bool center=True, str pad_mode="reflect", bool normalized=False, '
        "float power=2.0, float eps=1e-6) -> Tensor"
    ),
}

_lib: torch.library.Library | None = None


def _stft(*args: object) -> torch.Tensor:
    """The dispatcher passes the schema's arguments in order: torch.stft's own order."""
    return torch.stft(*args)


def _istft(*args: object) -> torch.Tensor:
    return torch.istft(*args)


def log_mel_reference(
    x: torch.Tensor,
    fb: torch.Tensor,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    normalized: bool = False,
    power: float = 2.0,
    eps: float = 1e-6,
) -> torch.Tensor:
    """log(fb^T |stft|^power + eps), composed as torchaudio's MelSpectrogram composes it.

    The defaults are the schema's: the dispatcher hands a Python kernel only the arguments before the
    trailing ones left at their defaults (a scripted model's ``log_mel(x, fb, 512, 256, 512, w)``)."""
    spec = torch.stft(x, n_fft, hop_length, win_length, window, center, pad_mode, normalized, True, True)
    mag = spec.abs()
    if power != 1.0:
        mag = mag.pow(power)
    return torch.log(torch.matmul(mag.transpose(-1, -2), fb).transpose(-1, -2) + eps)


def define() -> None:
    """Define the operators once per process, unless the native library already did."""
    global _lib
    if _lib is not None or hasattr(torch.ops.armstft, "_simd"):
        return
    lib = torch.library.Library("armstft", "DEF")
    for schema in SCHEMAS.values():
        lib.define(schema)
    lib.impl("stft", _stft, "CompositeImplicitAutograd")
    lib.impl("istft", _istft, "CompositeImplicitAutograd")
    lib.impl("log_mel", log_mel_reference, "CompositeImplicitAutograd")
    _lib = lib
