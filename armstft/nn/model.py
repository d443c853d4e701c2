"""The small audio classifier: STFT front end → log-mel (torchaudio MelScale) → small CNN → logits.

Written the way a user would write one, so that what we verify and benchmark on the board is the ATen STFT
path real models take. The module keeps ``stft`` as its own exported method: verify and bench reach the
model's actual STFT stage through it, not through a copy.  The front end (``armstft.nn.frontend``) computes
the log-mel features too: with the ATen backend as power → MelScale's filterbank → log, with the armstft
backend in one fused operator (``armstft::log_mel``) over the same filterbank.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

from armstft.core.config import StftConfig
from armstft.nn.frontend import make_frontend

LOG_EPS = 1e-6
# The module name these classes carry inside every bundle: TorchScript archives keep their code under
# ``code/__torch__/armstft/model/`` and torch.export records ``armstft.model.LogMelStage``. That name is part
# of the bundle's bytes (``armstft export`` reproduces models/default byte for byte), so it stays the one it
# had when this file was ``armstft/model.py``. Scripting reads the methods' source, never this name.
SERIALIZED_MODULE = "armstft.model"


class StftClassifier(nn.Module):
    """Audio (batch, samples) → class logits (batch, n_classes)."""

    __module__ = SERIALIZED_MODULE

    def __init__(self, config: StftConfig, n_classes: int) -> None:
        super().__init__()
        self.frontend = make_frontend(config)
        self.mel = torchaudio.transforms.MelScale(
            n_mels=config.n_mels,
            sample_rate=config.sample_rate,
            f_min=config.f_min,
            f_max=config.f_max,
            n_stft=config.n_freqs,
        )
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        # Linear layers are what dynamic int8 quantization converts.
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, n_classes))
        self.log_eps = LOG_EPS
        # The config this model was built with, kept through export (a TorchScript string attribute):
        # armstft.device.verify refuses a bundle whose manifest states another one.
        self.armstft_config = config.to_json()

    @torch.jit.export
    def stft(self, audio: torch.Tensor) -> torch.Tensor:
        """The STFT stage alone: complex (batch, n_freqs, frames)."""
        return self.frontend(audio)

    @torch.jit.export
    def log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-mel features (batch, n_mels, frames), normalised per clip so input gain does not matter."""
        feats = self.frontend.log_mel(audio, self.mel.fb, self.log_eps)
        return feats - feats.mean(dim=(-2, -1), keepdim=True)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        feats = self.log_mel(audio)
        return self.head(self.features(feats.unsqueeze(1)))


class LogMelStage(nn.Module):
    """The classifier's log-mel stage as a module of its own: the unit a ``.pt2`` (torch.export) holds.

    Why not the whole classifier: in torch 2.9.1 ``MaxPool2d``'s output-size rule guards on the parity of
    the frame count, so an exported classifier serves only clip lengths of one parity pattern; the front end
    (where the ``armstft::`` operators are) exports for every batch size and length.  ``forward`` is the
    classifier's own ``log_mel``, so the two cannot drift apart.
    """

    __module__ = SERIALIZED_MODULE

    def __init__(self, model: StftClassifier) -> None:
        super().__init__()
        self.frontend = model.frontend
        self.mel = model.mel
        self.log_eps = model.log_eps

    forward = StftClassifier.log_mel
