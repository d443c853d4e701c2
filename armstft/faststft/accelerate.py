"""``accelerate()``: unmodified torch code (torch.stft, torch.istft, torch.fft.rfft, torchaudio's Spectrogram,
MelSpectrogram, InverseSpectrogram and GriffinLim) runs on the armstft engine for the calls it covers.

Why at the dispatcher: a user's model calls ``torch.stft`` or ``torch.fft.rfft``, and we may not change
that code.  The library registers its kernels for ``aten::stft``, ``aten::istft`` and ``aten::pad``
(AutogradCPU and CPU keys, which those composite ops leave free), ``aten::abs`` (CPU key, free beside its
CompositeExplicitAutograd kernel) and ``aten::_fft_r2c``/``_fft_c2r`` (BackendSelect, free for them too).
A float32 CPU call along the last dimension whose size has a plan runs on the engine; every other call is
handed to torch's own kernel unchanged (grad, float64, complex, other dims, other devices; for istft also
no window, two-sided or complex output, a ``length`` past the signal).  Two kernels serve torchaudio's
Spectrogram path and are exact, so they change no caller's result: ``F.pad(..., "reflect")`` of a
contiguous float32 (C, W) / (N, C, W) tensor (torch.stft's centre padding; a copy, torch's bits) and the
magnitude of a dense complex64 tensor (glibc's hypotf rule, torch's bits on aarch64; src/cabs.c).
Counters: ``istft`` counts the engine's inverse STFTs (``armstft.istft`` and accelerated ``torch.istft``
alike), ``complex_abs`` and ``reflect_pad`` those two kernels.  Nothing of torch's is overwritten, so
turning it off restores torch exactly.

Turned on by ``accelerate()`` or by the environment: ``ARMSTFT_ACCELERATE=1`` makes the library turn it on
when it loads — ``import armstft`` loads it then, and so does a C++ program linked against it.
"""

from __future__ import annotations

import torch

from armstft.faststft import _loader

ENV = "ARMSTFT_ACCELERATE"
COUNTERS = ("stft", "log_mel", "istft", "fft_r2c", "fft_c2r", "aten_stft", "complex_abs", "reflect_pad")


def accelerate(enable: bool = True) -> bool:
    """Turn acceleration on (or off with ``False``); returns whether it was on before.

    Without the compiled engine it stays off (and returns False): torch's own kernels answer as always.
    """
    if not _loader.available():
        return False
    return bool(torch.ops.armstft._accelerate(bool(enable)))


def accelerated() -> bool:
    """Whether torch's STFT/FFT calls currently reach the armstft engine."""
    return _loader.available() and bool(torch.ops.armstft._accelerated())


def engine_calls() -> dict[str, int]:
    """Calls the engine answered since the process started, by kind (tests and `armstft info` read these)."""
    if not _loader.available():
        return dict.fromkeys(COUNTERS, 0)
    return dict(zip(COUNTERS, torch.ops.armstft._counters(), strict=True))
