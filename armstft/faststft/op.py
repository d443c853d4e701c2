"""Registers ``torch.ops.armstft.stft`` so TorchScript code can call the fast STFT.

Why an operator: a scripted model cannot call a Python function, but it can call any operator in the
dispatcher.  The kernel is registered as CompositeImplicitAutograd, so it runs above autograd: inputs
that need grad (and other devices, meta tensors, tracing) reach torch.stft through :func:`stft`'s
fallback and stay differentiable.  The operator always returns a complex tensor.  A scripted model that
uses it needs ``import armstft.faststft`` before ``torch.jit.load``.
"""

from __future__ import annotations

import torch

from armstft.faststft.functional import stft

SCHEMA = (
    "stft(Tensor self, int n_fft, int? hop_length=None, int? win_length=None, Tensor? window=None, "
    'bool center=True, str pad_mode="reflect", bool normalized=False, bool onesided=True) -> Tensor'
)

_lib: torch.library.Library | None = None


def _kernel(
    x: torch.Tensor,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    normalized: bool = False,
    onesided: bool = True,
) -> torch.Tensor:
    return stft(x, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided, True)


def register() -> None:
    """Define the operator once per process (a second import or reload is a no-op)."""
    global _lib
    if _lib is not None:
        return
    try:
        lib = torch.library.Library("armstft", "DEF")
        lib.define(SCHEMA)
    except RuntimeError as exc:  # already defined by an earlier copy of this module
        if "already" not in str(exc):
            raise
        return
    lib.impl("stft", _kernel, "CompositeImplicitAutograd")
    _lib = lib


register()
