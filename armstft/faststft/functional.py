"""``stft``, ``istft``, ``log_mel``: torch.stft's / torch.istft's signatures over the armstft operators.

Why thin: the operators (src/ops/) decide per call between the engine and torch's own ops, check the
arguments and warn as torch does, so every caller — this function, TorchScript, torch.export, a C++
program — gets the same answer.  Python adds only what an operator cannot see:

- ``__torch_function__`` subclasses and TorchFunctionMode get *this* function (as torch.stft gets
  torch.stft), not an operator overload;
- an argument of a type torch.stft would reject (``hop_length=True``, ``onesided=0``, ``n_fft=512.0``)
  or convert (a numpy integer) goes to torch.stft itself, so the error — or the result — is torch's;
- so do calls for which torch warns (no window; ``return_complex=False``): warnings raised inside an
  operator called from Python reach stderr, not Python's ``warnings``, so torch is left to raise them.

TorchScript compiles a call to these functions into the operator call (they are registered as its
builtins), and torch.compile/torch.export record the operator, never a graph break.

A plain eager call (exact tensors on the CPU, no tracing, modes or transforms) first tries the CPython
shim ``_fastpath``, which runs the same kernel without the generic operator binding's cost; it answers
None for anything else, and the operator path below takes over.
"""

from __future__ import annotations

import sys

import torch
from torch.overrides import handle_torch_function, has_torch_function

from armstft.faststft import _loader

_fast_stft = _fast_log_mel = None
if _loader.available():  # the shim links the library: never load it beside the Python-defined fallback
    try:  # the CPython shim for plain eager calls (src/fastpath.cpp); absent in a build without it
        from armstft.faststft._fastpath import log_mel as _fast_log_mel
        from armstft.faststft._fastpath import stft as _fast_stft
    except ImportError:
        pass

_is_compiling = torch.compiler.is_compiling
_modules = sys.modules  # torch.compile cannot be tracing while torch._dynamo is not even imported
_stft_op = torch.ops.armstft.stft.default
_istft_op = torch.ops.armstft.istft.default
_log_mel_op = torch.ops.armstft.log_mel.default
_has_tf_unary = torch._C._has_torch_function_unary
_OPT_INT = (int, type(None))
_OPT_BOOL = (bool, type(None))


def _plain_ints(*values: object) -> bool:
    """Every value an int (not a bool, not a numpy or symbolic int) or None: what the fast path takes."""
    for v in values:
        if type(v) not in _OPT_INT:
            return False
    return True


def _plain_bools(*values: object) -> bool:
    for v in values:
        if type(v) not in _OPT_BOOL:
            return False
    return True


def stft(
    input: torch.Tensor,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    normalized: bool = False,
    onesided: bool | None = None,
    return_complex: bool | None = None,
    align_to_window: bool | None = None,
) -> torch.Tensor:
    """Drop-in for :func:`torch.stft` (same arguments, warnings, errors; results within rel. 1e-5).

    Float32 CPU input of 1 or 2 dims, without grad, with a float32 window (or none) and an ``n_fft``
    the engine has a plan for (:func:`covers`), runs on the engine; every other call is torch's own.
    """
    if _fast_stft is not None and ("torch._dynamo" not in _modules or not _is_compiling()):
        out = _fast_stft(input, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                         return_complex, align_to_window)  # fmt: skip
        if out is not None:
            return out
    if _has_tf_unary(input) if window is None else has_torch_function((input, window)):
        return handle_torch_function(
            stft, (input, window), input, n_fft, hop_length=hop_length, win_length=win_length, window=window,
            center=center, pad_mode=pad_mode, normalized=normalized, onesided=onesided,
            return_complex=return_complex, align_to_window=align_to_window,
        )  # fmt: skip
    if (
        window is None  # torch.stft's own rectangular-window warning (a Python warning from there)
        or return_complex is not True  # None: torch's error; False: torch's deprecation warning
        or type(n_fft) is not int
        or not _plain_ints(hop_length, win_length)
        or type(center) is not bool
        or type(normalized) is not bool
        or type(pad_mode) is not str
        or not _plain_bools(onesided, return_complex, align_to_window)
    ):
        return torch.stft(
            input, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
            return_complex, align_to_window,
        )  # fmt: skip
    return _stft_op(input, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                    return_complex, align_to_window)  # fmt: skip


def istft(
    input: torch.Tensor,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    center: bool = True,
    normalized: bool = False,
    onesided: bool | None = None,
    length: int | None = None,
    return_complex: bool = False,
) -> torch.Tensor:
    """Drop-in for :func:`torch.istft` (same arguments, warnings and errors)."""
    if _has_tf_unary(input) if window is None else has_torch_function((input, window)):
        return handle_torch_function(
            istft, (input, window), input, n_fft, hop_length=hop_length, win_length=win_length,
            window=window, center=center, normalized=normalized, onesided=onesided, length=length,
            return_complex=return_complex,
        )  # fmt: skip
    if (
        window is None  # torch.istft's own rectangular-window warning
        or type(n_fft) is not int
        or not _plain_ints(hop_length, win_length, length)
        or type(center) is not bool
        or type(normalized) is not bool
        or type(return_complex) is not bool
        or not _plain_bools(onesided)
    ):
        return torch.istft(input, n_fft, hop_length, win_length, window, center, normalized, onesided, length,
                           return_complex)  # fmt: skip
    return _istft_op(input, n_fft, hop_length, win_length, window, center, normalized, onesided, length,
                     return_complex)  # fmt: skip


def log_mel(
    input: torch.Tensor,
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
    """``log(fb^T |stft(input)|^power + eps)``: shape (..., n_mels, frames), in one pass over each frame.

    ``fb`` is a (n_fft // 2 + 1, n_mels) filterbank as torchaudio builds it
    (``torchaudio.functional.melscale_fbanks``, ``MelScale.fb``); ``power`` 2 is torchaudio's
    MelSpectrogram default, 1 the magnitude.  The STFT arguments are torch.stft's (onesided, complex).
    The engine keeps only each band's nonzero run of bins (a sparse filterbank).
    """
    if _fast_log_mel is not None and ("torch._dynamo" not in _modules or not _is_compiling()):
        out = _fast_log_mel(input, fb, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
                            power, eps)  # fmt: skip
        if out is not None:
            return out
    relevant = (input, fb) if window is None else (input, fb, window)
    if has_torch_function(relevant):
        return handle_torch_function(
            log_mel, relevant, input, fb, n_fft, hop_length=hop_length, win_length=win_length, window=window,
            center=center, pad_mode=pad_mode, normalized=normalized, power=power, eps=eps,
        )  # fmt: skip
    return _log_mel_op(input, fb, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
                       float(power), float(eps))  # fmt: skip


def covers(n_fft: int) -> bool:
    """Whether the engine has a plan for this frame size (else every call with it is torch's own)."""
    return _loader.available() and type(n_fft) is int and torch.ops.armstft._covers(n_fft)


# TorchScript: a scripted call to these functions is the operator call.
torch.jit._builtins._register_builtin(stft, "armstft::stft")
torch.jit._builtins._register_builtin(istft, "armstft::istft")
torch.jit._builtins._register_builtin(log_mel, "armstft::log_mel")
