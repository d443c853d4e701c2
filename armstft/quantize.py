"""int8 variants of the classifier: dynamic (Linear only) and static (the convolutions too).

Why static: dynamic int8 quantizes only the Linear head, ~1 % of the model's work; the convolutions are
~70 % of it on the board (issue 12's counts).  Static quantization converts them to int8 kernels
(QNNPACK/XNNPACK on ARM) with activation scales fixed from calibration clips.  FX graph mode does it on
the CNN and head only: the front end (STFT, log-mel) stays float, on torch's or armstft's kernels, and the
int8 part starts with one quantize of the log-mel features and ends with one dequantize of the logits.
The result is an ordinary module that scripts and freezes like the float model.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from armstft.config import StftConfig
from armstft.model import StftClassifier
from armstft.synth import LABELS, make_clip

# The int8 kernels the board runs (torch's ARM builds); its observers keep activations in 0..127 (qnnpack's
# reduced range is not needed) and weights per tensor.
ENGINE = "qnnpack"
CALIBRATION_SEED = 20240611
CALIBRATION_CLIPS_PER_CLASS = 8
# Static int8 logits against fp32, |d| <= atol + rtol |fp32| and the same class: measured on the golden
# cases up to 2.05 (tests/unit/test_quantize.py), the int8 log-mel input scale being the coarse step.
STATIC_INT8_TOLERANCE = {"atol": 2.5, "rtol": 0.05, "argmax_matches": "fp32"}


def dynamic_int8(model: nn.Module) -> nn.Module:
    """Dynamic int8 on the Linear layers (weights int8, activations quantized per call)."""
    return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def calibration_clips(config: StftConfig, per_class: int = CALIBRATION_CLIPS_PER_CLASS) -> list[torch.Tensor]:
    """Seeded synthetic clips of every class (armstft.synth), separate from the golden and training seeds."""
    rng = np.random.default_rng(CALIBRATION_SEED)
    clips = [make_clip(label, rng, config.sample_rate) for label in LABELS for _ in range(per_class)]
    return [torch.from_numpy(np.stack(clips[i : i + 8]).astype(np.float32)) for i in range(0, len(clips), 8)]


class _Backbone(nn.Module):
    """The CNN and the head, on log-mel features: the part that becomes int8."""

    def __init__(self, model: StftClassifier) -> None:
        super().__init__()
        self.features = model.features
        self.head = model.head

    # no annotations: FX copies them into its generated code as names TorchScript cannot resolve
    def forward(self, feats):  # type: ignore[no-untyped-def]
        return self.head(self.features(feats.unsqueeze(1)))


class StaticInt8Classifier(nn.Module):
    """The float front end (the model's own ``stft`` and ``log_mel``) followed by the int8 backbone."""

    def __init__(self, model: StftClassifier, backbone: nn.Module) -> None:
        super().__init__()
        self.frontend = model.frontend
        self.mel = model.mel
        self.log_eps = model.log_eps
        self.backbone = backbone

    @torch.jit.export
    def stft(self, audio: torch.Tensor) -> torch.Tensor:
        return self.frontend(audio)

    @torch.jit.export
    def log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        feats = self.frontend.log_mel(audio, self.mel.fb, self.log_eps)
        return feats - feats.mean(dim=(-2, -1), keepdim=True)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.log_mel(audio))


def static_int8(model: StftClassifier, calibration: Iterable[torch.Tensor]) -> StaticInt8Classifier:
    """Static int8 (FX graph mode, QNNPACK config) of the model's CNN and head, calibrated on the
    log-mel features of ``calibration`` clips (each a (batch, samples) float32 tensor).

    ``torch.backends.quantized.engine`` is set to QNNPACK while converting (the packed weights are made
    for it) and restored after; the scripted result repacks for whatever engine loads it.
    """
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    model = copy.deepcopy(model).eval()
    clips = list(calibration)
    if not clips:
        raise ValueError("static_int8: calibration: expected at least one clip, got none")
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = ENGINE
    try:
        backbone = _Backbone(model).eval()
        with torch.no_grad():
            feats = [model.log_mel(c) for c in clips]
            prepared = prepare_fx(backbone, get_default_qconfig_mapping(ENGINE), example_inputs=(feats[0],))
            for f in feats:
                prepared(f)
            quantized = convert_fx(prepared)
    finally:
        torch.backends.quantized.engine = previous
    return StaticInt8Classifier(model, quantized).eval()
