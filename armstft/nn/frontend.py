"""The STFT front end as a TorchScript-able module: the one place the model calls an STFT.

The module only holds configuration (window buffer, sizes); the work is ``torch.stft`` (and torch's ops for
the log-mel features) or, when the config asks for ``stft_backend = "armstft"``, the armstft operators
(``armstft.stft``, and ``armstft.log_mel`` fusing power, mel filterbank and log) from :mod:`armstft.faststft`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from armstft.core.config import StftConfig

# torch's builder for each window name; the names are armstft.core.config.WINDOWS (tests/unit/
# test_one_definition.py holds the two equal, and the float64 reference's table too).
TORCH_WINDOWS: dict[str, Callable[[int], torch.Tensor]] = {
    "hann": torch.hann_window,
    "hamming": torch.hamming_window,
    "blackman": torch.blackman_window,
    "bartlett": torch.bartlett_window,
    "rectangular": torch.ones,
}


def make_window(name: str, length: int) -> torch.Tensor:
    """Periodic float32 window as torch builds it (the reference builds its own in float64)."""
    if name not in TORCH_WINDOWS:
        raise ValueError(f"unknown window {name!r}")
    return TORCH_WINDOWS[name](length)


class StftFrontend(nn.Module):
    """Float32 audio (batch, samples) or (samples,) → complex STFT (batch, n_freqs, frames), via ATen."""

    def __init__(self, config: StftConfig) -> None:
        super().__init__()
        self.n_fft = config.n_fft
        self.hop_length = config.hop_length
        self.win_length = config.win_length
        self.center = config.center
        self.pad_mode = config.pad_mode
        self.normalized = config.normalized
        self.register_buffer("window", make_window(config.window, config.win_length), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() == 1:
            audio = audio.unsqueeze(0)
        return torch.stft(
            audio,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=self.center,
            pad_mode=self.pad_mode,
            normalized=self.normalized,
            onesided=True,
            return_complex=True,
        )

    def log_mel(self, audio: torch.Tensor, fb: torch.Tensor, eps: float) -> torch.Tensor:
        """log(fb^T |STFT|^2 + eps): (batch, n_mels, frames); ``fb`` is MelScale's (n_freqs, n_mels) bank."""
        spec = self.forward(audio)
        power = spec.real * spec.real + spec.imag * spec.imag
        return torch.log(torch.matmul(power.transpose(-1, -2), fb).transpose(-1, -2) + eps)


class FastStftFrontend(StftFrontend):
    """Same contract, computed by the armstft operators (a separate class so that scripting the ATen front
    end never needs the operators to exist)."""

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() == 1:
            audio = audio.unsqueeze(0)
        return torch.ops.armstft.stft(
            audio,
            self.n_fft,
            self.hop_length,
            self.win_length,
            self.window,
            self.center,
            self.pad_mode,
            self.normalized,
            True,
            True,
        )

    def log_mel(self, audio: torch.Tensor, fb: torch.Tensor, eps: float) -> torch.Tensor:
        """The same features in one pass per frame: power, the filterbank's nonzero runs, log."""
        if audio.dim() == 1:
            audio = audio.unsqueeze(0)
        return torch.ops.armstft.log_mel(
            audio,
            fb,
            self.n_fft,
            self.hop_length,
            self.win_length,
            self.window,
            self.center,
            self.pad_mode,
            self.normalized,
            2.0,
            eps,
        )


def make_frontend(config: StftConfig) -> StftFrontend:
    """The front end the config asks for; importing :mod:`armstft.faststft` registers its operator."""
    if config.stft_backend == "armstft":
        import armstft.faststft  # noqa: F401

        return FastStftFrontend(config)
    return StftFrontend(config)
