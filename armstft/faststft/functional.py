"""``stft``: torch.stft's signature and results, computed by the native engine where it applies.

Why this shape: callers swap ``torch.stft`` for this function (or the registered operator) and must never
get a different answer, so every case the engine does not cover — grad, other dtypes or devices, sizes
without a plan, inputs torch itself rejects — goes to torch.stft unchanged and gets torch's own result or
torch's own error.
"""

from __future__ import annotations

import torch

from armstft.faststft import _loader

PAD_MODES = {"constant": 0, "reflect": 1, "replicate": 2, "circular": 3}
_F32 = torch.float32
_native = _loader.native()  # fixed at import: the engine is either there for the process or not

_plans: dict[int, object] = {}


def plan_for(n_fft: int) -> object | None:
    """The engine's cached plan for n_fft (made once per size), or None if the size is not covered."""
    plan = _plans.get(n_fft)
    if plan is None and n_fft not in _plans:
        plan = _native.plan(n_fft) if _native is not None else None
        _plans[n_fft] = plan
    return plan


def _fast(
    input: torch.Tensor,
    n_fft: int,
    hop_length: int | None,
    win_length: int | None,
    window: torch.Tensor | None,
    center: bool,
    pad_mode: str,
    normalized: bool,
    onesided: bool | None,
    return_complex: bool | None,
) -> torch.Tensor | None:
    """The engine's result, or None when this call is not one the engine covers.

    Written for a small core: every torch accessor costs hundreds of instructions there, so each is
    asked once, and the cheap getters (is_cpu, ndim) are preferred.
    """
    if _native is None or return_complex is None or not isinstance(input, torch.Tensor):
        return None
    if input.dtype is not _F32 or not input.is_cpu or input.ndim not in (1, 2) or input.numel() == 0:
        return None
    if torch.is_grad_enabled() and (input.requires_grad or (window is not None and window.requires_grad)):
        return None
    if n_fft.__class__ is not int:  # not isinstance: bool is an int, and 512.0 would hash like 512
        return None
    plan = _plans.get(n_fft)
    if plan is None and (plan := plan_for(n_fft)) is None:
        return None
    hop = n_fft // 4 if hop_length is None else hop_length
    wl = n_fft if win_length is None else win_length
    if hop <= 0 or wl <= 0 or wl > n_fft:
        return None
    win_ptr = 0
    if window is not None:
        if window.dtype is not _F32 or not window.is_cpu or window.shape != (wl,):
            return None
        window = window.contiguous()
        win_ptr = window.data_ptr()
    one_d = input.ndim == 1
    length = input.shape[-1]
    pad = n_fft // 2 if center else 0
    mode = PAD_MODES.get(pad_mode, -1) if center else 0
    if mode < 0 or (mode == 1 and pad >= length) or (mode == 3 and pad > length):
        return None
    if length + 2 * pad < n_fft:
        return None
    n_frames = 1 + (length + 2 * pad - n_fft) // hop
    x = input.contiguous()
    batch = 1 if one_d else x.shape[0]
    full = onesided is False
    n_freq = n_fft if full else n_fft // 2 + 1
    out = torch.empty((n_frames, n_freq) if one_d else (batch, n_frames, n_freq), dtype=torch.complex64)
    scale = n_fft**-0.5 if normalized else 1.0
    _native.stft(
        plan, x.data_ptr(), batch, length, length, win_ptr, wl, hop, pad, mode, scale, 0 if full else 1,
        out.data_ptr(), n_frames, 2 * n_frames * n_freq, 2 * n_freq,
    )  # fmt: skip
    spec = out.transpose(-1, -2)
    return spec if return_complex else torch.view_as_real(spec)


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
) -> torch.Tensor:
    """Drop-in for :func:`torch.stft` (same arguments, same result within rel. 1e-5, same layout).

    Float32 CPU input of 1 or 2 dims with a power-of-two ``n_fft`` >= 32 runs on the native engine;
    everything else is passed to torch.stft as is.
    """
    out = _fast(input, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                return_complex)  # fmt: skip
    if out is not None:
        return out
    return torch.stft(
        input, n_fft, hop_length=hop_length, win_length=win_length, window=window, center=center,
        pad_mode=pad_mode, normalized=normalized, onesided=onesided, return_complex=return_complex,
    )  # fmt: skip


def covers(n_fft: int) -> bool:
    """Whether the native engine has a plan for this frame size (else stft falls back)."""
    return plan_for(n_fft) is not None
