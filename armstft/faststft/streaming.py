"""``StreamingStft``: push audio as it arrives, get its STFT frames, with no allocation per push.

Why a separate object: torch.stft on a one-frame signal spends most of its time in the binding, the
dispatcher, allocation and re-planning.  Here the plan, the split window, the history buffer and the
output buffer are made once (the C++ class ``torch.classes.armstft.StreamingStft``, usable from
TorchScript and C++ too); each push copies the new samples in and writes the finished frames' spectra
into the preallocated output.  The frames equal ``torch.stft(all_samples, n_fft, hop, window=window,
center=False, return_complex=True)`` column for column; :meth:`StreamingStft.flush` adds the frame
holding the last samples no frame covered yet, zero-padded.  Sizes the engine has no plan for (and a
package built without the engine) use torch.stft on a buffered tail: same results, torch's speed.
"""

from __future__ import annotations

import torch

from armstft.faststft import _loader
from armstft.faststft.functional import covers

_FastStream = None
if _loader.available():  # the shim links the library: only beside it, never beside the Python fallback
    try:  # the CPython shim's stream: push is one C call (src/fastpath.cpp)
        from armstft.faststft._fastpath import Stream as _FastStream
    except ImportError:
        pass


MAX_FRAMES = 1 << 24  # the output buffer is max_frames * (n_fft // 2 + 1) complex64 values


def _check_int(name: str, value: object, low: int) -> int:
    if type(value) is not int or value < low:
        raise ValueError(f"StreamingStft: {name}: expected an int >= {low}, got {value!r}")
    return value


class StreamingStft:
    """Streaming STFT: frames of ``n_fft`` samples every ``hop_length`` samples (center=False).

    ``push`` returns a (n_freq, frames) complex64 view into a buffer owned by this object: it is
    overwritten by the next push (clone it to keep it).  A push that completes more than ``max_frames``
    frames at once still works, but allocates.  ``hop_length`` may exceed ``n_fft`` (samples between
    frames are skipped, as torch.stft skips them).
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
        self.n_fft = _check_int("n_fft", n_fft, 1)
        self.hop_length = _check_int("hop_length", hop_length, 1)
        self.max_frames = _check_int("max_frames", max_frames, 1)
        if max_frames > MAX_FRAMES:
            raise ValueError(f"StreamingStft: max_frames: expected 1..{MAX_FRAMES}, got {max_frames}")
        if type(normalized) is not bool:
            raise ValueError(f"StreamingStft: normalized: expected true or false, got {normalized!r}")
        if window is not None:
            if not isinstance(window, torch.Tensor):
                raise ValueError(
                    f"StreamingStft: window: expected a tensor or None, got {type(window).__name__}"
                )
            if window.is_complex() or not window.is_floating_point():
                raise ValueError(
                    f"StreamingStft: window: expected a real floating-point tensor, got {window.dtype}"
                )
            if window.device.type != "cpu":
                raise ValueError(f"StreamingStft: window: expected a CPU tensor, got one on {window.device}")
            if window.dim() != 1 or not 0 < window.numel() <= n_fft:
                shape = tuple(window.shape)
                raise ValueError(
                    f"StreamingStft: window: expected 1-D with 1..{n_fft} samples, got shape {shape}"
                )
            window = window.detach().to(torch.float32)
        self.normalized = normalized
        self.n_freq = n_fft // 2 + 1
        self.window = window
        self._obj = None
        if covers(n_fft):
            make = _FastStream or torch.classes.armstft.StreamingStft
            self._obj = make(n_fft, hop_length, window, normalized, max_frames)
            # the C++ methods themselves: no Python frame between the caller and the engine
            self.push = self._obj.push
            self.flush = self._obj.flush
            self.reset = self._obj.reset
        self._empty = torch.zeros((self.n_freq, 0), dtype=torch.complex64)
        self.reset_fallback()

    def available(self) -> bool:
        """True when pushes run on the native engine (False: the torch.stft fallback, same results)."""
        return self._obj is not None

    # --- torch.stft on a buffered tail: sizes without a plan, or no engine ---------------------------------
    def reset_fallback(self) -> None:
        self._pending = torch.zeros(0, dtype=torch.float32)  # samples not yet framed
        self._covered = 0  # leading pending samples some frame already covered
        self._skip = 0  # samples still to skip before the next frame (hop > n_fft)

    def reset(self) -> None:
        """Forget every pushed sample (start of a new stream)."""
        self.reset_fallback()

    def _samples(self, samples: torch.Tensor) -> torch.Tensor:
        if not isinstance(samples, torch.Tensor):
            raise ValueError(
                f"StreamingStft.push: expected a tensor of samples, got {type(samples).__name__}"
            )
        if type(samples) not in (torch.Tensor, torch.nn.Parameter):
            raise ValueError(
                f"StreamingStft.push: expected a plain CPU tensor of samples, got a {type(samples).__name__} "
                "(a tensor subclass or FakeTensor holds no samples to stream)"
            )
        if samples.device.type != "cpu" or samples.is_complex():
            raise ValueError(
                f"StreamingStft.push: expected real CPU samples, got {samples.dtype} on {samples.device}"
            )
        return samples.detach().reshape(-1).to(torch.float32)

    def _frames(self, buf: torch.Tensor) -> torch.Tensor:
        window = torch.ones(self.n_fft) if self.window is None else self.window  # rectangular, as natively
        return torch.stft(
            buf, self.n_fft, self.hop_length, window=window, win_length=window.numel(), center=False,
            normalized=self.normalized, return_complex=True,
        ).to(torch.complex64)  # fmt: skip

    def push(self, samples: torch.Tensor) -> torch.Tensor:
        """Append samples; return the spectra of the frames they completed, shape (n_freq, frames)."""
        x = self._samples(samples)
        if self._skip:
            d = min(self._skip, x.numel())
            x, self._skip = x[d:], self._skip - d
        buf = torch.cat([self._pending, x])
        if buf.numel() < self.n_fft:
            self._pending = buf
            return self._empty
        spec = self._frames(buf)
        frames = spec.shape[1]
        nxt = frames * self.hop_length
        self._covered = max(0, (frames - 1) * self.hop_length + self.n_fft - nxt)
        self._pending = buf[nxt:].clone()
        self._skip = max(0, nxt - buf.numel())
        return spec

    def flush(self) -> torch.Tensor:
        """End of stream: the frame holding samples no frame covered yet (zero-padded), then reset."""
        out = self._empty
        if self._pending.numel() > self._covered:
            pad = torch.zeros(self.n_fft - self._pending.numel(), dtype=torch.float32)
            out = self._frames(torch.cat([self._pending, pad]))
        self.reset_fallback()
        return out
