"""``StreamingStft``: push audio as it arrives, get its STFT frames, with no allocation per push.

Why a separate object: torch.stft on a one-frame signal spends most of its time in the binding, the
dispatcher, allocation and re-planning.  Here the plan, the window, the history buffer and the output
buffer are made once; each push copies the new samples in and writes the finished frames' spectra into
the preallocated output.  The frames equal ``torch.stft(all_samples, n_fft, hop, window=window,
center=False, return_complex=True)`` column for column.
"""

from __future__ import annotations

import torch

from armstft.faststft import _loader

_F32 = torch.float32


class StreamingStft:
    """Streaming STFT: frames of ``n_fft`` samples every ``hop_length`` samples (center=False).

    ``push`` returns a (n_freq, frames) complex64 view into a buffer owned by this object: it is
    overwritten by the next push (clone it to keep it).  Pushes that complete more than ``max_frames``
    frames at once still work, but allocate.
    """

    def __init__(
        self,
        n_fft: int,
        hop_length: int,
        window: torch.Tensor | None = None,
        *,
        normalized: bool = False,
        max_frames: int = 64,
    ) -> None:
        if not isinstance(n_fft, int) or n_fft <= 0:
            raise ValueError(f"n_fft: expected a positive int, got {n_fft!r}")
        if not isinstance(hop_length, int) or not 0 < hop_length <= n_fft:
            raise ValueError(f"hop_length: expected an int in 1..{n_fft}, got {hop_length!r}")
        if window is None:
            window = torch.ones(n_fft)
        if window.dim() != 1 or window.numel() > n_fft or window.numel() == 0:
            raise ValueError(f"window: expected 1-D with 1..{n_fft} samples, got shape {tuple(window.shape)}")
        if max_frames <= 0:
            raise ValueError(f"max_frames: expected > 0, got {max_frames}")
        self.n_fft, self.hop_length, self.normalized = n_fft, hop_length, normalized
        self.n_freq = n_fft // 2 + 1
        left = (n_fft - window.numel()) // 2
        padded = torch.zeros(n_fft, dtype=torch.float32)
        padded[left : left + window.numel()] = window.detach().to(torch.float32)
        self.window = padded
        self._scale = n_fft**-0.5 if normalized else 1.0
        self._out = torch.empty((max_frames, self.n_freq), dtype=torch.complex64)
        self._out_ptr = self._out.data_ptr()
        self._views = [self._out[:k].transpose(0, 1) for k in range(max_frames + 1)]
        native = _loader.native()
        self._state = None
        if native is not None:
            ptr = padded.data_ptr()
            self._state = native.stream_new(n_fft, hop_length, ptr, n_fft, self._scale, max_frames)
        self._push_native = native.stream_push if self._state is not None else None
        self._pending = torch.zeros(0, dtype=torch.float32)  # fallback only: samples not yet framed

    def available(self) -> bool:
        """True when pushes run on the native engine (False: the torch.stft fallback, same results)."""
        return self._state is not None

    def reset(self) -> None:
        """Forget every pushed sample (start of a new stream)."""
        if self._state is not None:
            _loader.native().stream_reset(self._state)
        self._pending = torch.zeros(0, dtype=torch.float32)

    def push(self, samples: torch.Tensor) -> torch.Tensor:
        """Append samples; return the spectra of the frames they completed, shape (n_freq, frames).

        Every push checks dtype, rank and contiguity (a wrong buffer is never read as floats); the checks
        are written with the cheapest torch accessors because on a small core they cost as much as the FFT.
        """
        x = samples
        if x.dtype is not _F32 or x.ndim != 1 or not x.is_contiguous():
            x = torch.as_tensor(x).detach().reshape(-1).to(torch.float32).contiguous()
        if self._push_native is None:
            return self._push_fallback(x)
        r = self._push_native(self._state, x.data_ptr(), x.numel(), self._out_ptr)
        if r.__class__ is int:
            return self._views[r]
        parts = []
        while r.__class__ is not int:  # output buffer filled: keep what we have, go on with the rest
            frames, consumed = r
            parts.append(self._views[frames].clone())
            x = x[consumed:]
            r = self._push_native(self._state, x.data_ptr(), x.numel(), self._out_ptr)
        parts.append(self._views[r].clone())
        return torch.cat(parts, dim=1)

    def _push_fallback(self, x: torch.Tensor) -> torch.Tensor:
        """torch.stft over the buffered samples; keeps the tail that later frames still need."""
        buf = torch.cat([self._pending, x])
        if buf.numel() < self.n_fft:
            self._pending = buf
            return self._views[0]
        spec = torch.stft(
            buf, self.n_fft, self.hop_length, window=self.window, center=False,
            normalized=self.normalized, return_complex=True,
        )  # fmt: skip
        self._pending = buf[spec.shape[1] * self.hop_length :].clone()
        return spec.to(torch.complex64)
