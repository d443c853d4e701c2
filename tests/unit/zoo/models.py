"""The model zoo: third-party architectures from PyPI that call torch.stft / torch.istft, each built with
tiny dimensions and seeded random weights (nothing is downloaded) and wrapped as a user would for
``armstft bundle``: a TorchScript file (``torch.jit.script``, or ``torch.jit.trace`` where the package's code
does not script), a ``.npz`` of inputs and a partial ``--config`` with the fields that differ from the
defaults.

Each entry says what it exercises in the bundle format (docs/own-model.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class ZooModel:
    name: str
    package: str  # the PyPI distribution the architecture comes from
    build: Callable[[], torch.jit.ScriptModule]
    inputs: Callable[[], dict[str, np.ndarray]]
    config: dict[str, Any]  # the partial --config
    arguments: list[str] = field(default_factory=list)  # --arg NAME=VALUE
    outputs: list[str] = field(default_factory=list)  # names of a tuple/dict output, in the manifest


def _noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


# --- openai-whisper: its log-mel front end (torch.stft) and a tiny encoder on 30 s of audio -------------


class WhisperEncoder(torch.nn.Module):
    """``whisper.log_mel_spectrogram`` → a tiny Whisper's audio encoder; returns (mel, features): Whisper
    wants exactly 30 s (``N_SAMPLES``) of 16 kHz audio, so the clip is 30 s."""

    def __init__(self) -> None:
        super().__init__()
        from whisper.model import ModelDimensions, Whisper

        dims = ModelDimensions(
            n_mels=80, n_audio_ctx=1500, n_audio_state=32, n_audio_head=2, n_audio_layer=1,
            n_vocab=64, n_text_ctx=8, n_text_state=32, n_text_head=2, n_text_layer=1,
        )  # fmt: skip
        self.encoder = Whisper(dims).encoder

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import whisper

        mel = whisper.log_mel_spectrogram(audio)
        return mel, self.encoder(mel)


def whisper_encoder() -> torch.jit.ScriptModule:
    torch.manual_seed(0)
    model = WhisperEncoder().eval()
    example = torch.zeros(1, 480_000)
    # whisper's audio code takes str | ndarray | Tensor (not scriptable): traced, as its users do
    return torch.jit.trace(model, (example,), check_trace=False)


# --- vocos: mel features (torchaudio, torch.stft) → ConvNeXt backbone → ISTFT head (torch.istft) -------


class VocosWithRate(torch.nn.Module):
    """Vocos resynthesis, with the caller's sample rate as a constant argument that must match."""

    def __init__(self) -> None:
        super().__init__()
        from vocos import Vocos
        from vocos.feature_extractors import MelSpectrogramFeatures
        from vocos.heads import ISTFTHead
        from vocos.models import VocosBackbone

        features = MelSpectrogramFeatures(sample_rate=24000, n_fft=1024, hop_length=256, n_mels=100)
        backbone = VocosBackbone(input_channels=100, dim=32, intermediate_dim=64, num_layers=2)
        head = ISTFTHead(dim=32, n_fft=1024, hop_length=256, padding="center")
        self.vocos = Vocos(features, backbone, head)

    def forward(self, audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
        torch._assert(sample_rate == 24000, "vocos runs at 24 kHz")
        return self.vocos(audio)


def vocos() -> torch.jit.ScriptModule:
    torch.manual_seed(0)
    model = VocosWithRate().eval()
    # Vocos's forward takes **kwargs (not scriptable): its part is traced, the wrapper scripted around it
    traced = torch.jit.trace(model.vocos, (torch.zeros(1, 24000),), check_trace=False)
    model.vocos = traced
    return torch.jit.script(model)


# --- Open-Unmix: a stereo separator (torch.stft → LSTM mask → torch.istft) ------------------------------


def open_unmix() -> torch.jit.ScriptModule:
    from openunmix.model import OpenUnmix, Separator

    torch.manual_seed(0)
    unmix = OpenUnmix(nb_bins=1025, nb_channels=2, hidden_size=16, nb_layers=1, max_bin=64)
    separator = Separator(
        {"vocals": unmix}, niter=0, n_fft=2048, n_hop=512, nb_channels=2, sample_rate=44100.0
    )
    return torch.jit.script(separator.eval())


# --- torchaudio: Spectrogram (complex) and its inverse, a dict of outputs -------------------------------


class TorchaudioSpectral(torch.nn.Module):
    """torchaudio's complex ``Spectrogram`` and ``InverseSpectrogram`` round trip: a dict holding a complex
    spectrum and the resynthesised audio."""

    def __init__(self) -> None:
        super().__init__()
        import torchaudio

        self.spec = torchaudio.transforms.Spectrogram(n_fft=512, hop_length=128, power=None)
        self.inverse = torchaudio.transforms.InverseSpectrogram(n_fft=512, hop_length=128)
        self.gain = torch.nn.Parameter(torch.rand(257, 1))

    def forward(self, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        spectrum = self.spec(audio) * self.gain
        return {"spectrum": spectrum, "audio": self.inverse(spectrum, audio.shape[-1])}


def torchaudio_spectral() -> torch.jit.ScriptModule:
    torch.manual_seed(0)
    return torch.jit.script(TorchaudioSpectral().eval())


ZOO = [
    ZooModel(
        "whisper", "openai-whisper", whisper_encoder,
        lambda: {"speech": _noise((1, 480_000), 1)},
        {"n_fft": 400, "hop_length": 160, "win_length": 400, "n_mels": 80, "max_seconds": 30.0},
        outputs=["0", "1"],
    ),
    ZooModel(
        "vocos", "vocos", vocos,
        lambda: {"a": _noise((1, 12_000), 2), "b": _noise((2, 6_000), 3)},
        {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256, "win_length": 1024, "n_mels": 100},
        arguments=["sample_rate=24000"],
    ),
    ZooModel(
        "open_unmix", "openunmix", open_unmix,
        lambda: {"stereo": _noise((1, 2, 22_050), 4)},
        {"sample_rate": 44100, "n_fft": 2048, "hop_length": 512, "win_length": 2048, "max_seconds": 2.0},
    ),
    ZooModel(
        "torchaudio_spectral", "torchaudio", torchaudio_spectral,
        lambda: {"a": _noise((1, 8000), 5)},
        {"hop_length": 128},
        outputs=["spectrum", "audio"],
    ),
]  # fmt: skip
