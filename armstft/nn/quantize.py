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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from armstft.audio.synth import LABELS, make_clip
from armstft.core.config import StftConfig
from armstft.nn.model import StftClassifier

# The int8 kernels the static variant is made for and must be *loaded* with (packed weights are made for
# the engine current at torch.jit.load).  torch 2.9.1's aarch64 wheel defaults to "onednn", under which this
# model's quantized convolutions corrupt the heap (seen under qemu-aarch64: malloc aborts); QNNPACK runs it.
ENGINE = "qnnpack"
CALIBRATION_SEED = 20240611
CALIBRATION_CLIPS_PER_CLASS = 8
# The static int8 tolerance, in the model's own logit steps (output_step: every int8 logit is a whole number
# of them). Error model, docs/bundle.md "Static int8": half a step of final rounding, plus the quantization
# noise the earlier layers carry to the logits (measured by bench/tolerances.py: at most 1.18 steps against
# fp32, over every golden case, both front ends, the qconfigs of all four engines torch 2.9.1 has and every
# forced ISA path), plus one step for a rounding flip of the last layer where another CPU's fp32 front end
# differs in the last bits. Rounded up: 3 steps. Before, a fixed 2.5 + 0.05|ref| was 1.3 steps of this
# model, fitted on one CPU: one extra flip anywhere failed it.
STATIC_INT8_STEPS = 3


@contextmanager
def engine(name: str = ENGINE) -> Iterator[None]:
    """torch.backends.quantized.engine set to ``name`` inside the block (load a static int8 model in it)."""
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine = previous


def dynamic_int8(model: nn.Module) -> nn.Module:
    """Dynamic int8 on the Linear layers (weights int8, activations quantized per call)."""
    return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def calibration_clips(config: StftConfig, per_class: int = CALIBRATION_CLIPS_PER_CLASS) -> list[torch.Tensor]:
    """Seeded synthetic clips of every class (armstft.audio.synth), separate from the golden and training
    seeds."""
    rng = np.random.default_rng(CALIBRATION_SEED)
    clips = [make_clip(label, rng, config.sample_rate) for label in LABELS for _ in range(per_class)]
    return [torch.from_numpy(np.stack(clips[i : i + 8]).astype(np.float32)) for i in range(0, len(clips), 8)]


def static_int8(
    model: StftClassifier, calibration: Iterable[torch.Tensor], engine_name: str = ENGINE
) -> StftClassifier:
    """A copy of the model whose CNN and head are static int8 (FX graph mode, QNNPACK config), calibrated
    on the log-mel features of ``calibration`` clips (each a (batch, samples) float32 tensor).

    The copy keeps the model's float front end and its ``stft``/``log_mel`` methods: ``features`` becomes
    the int8 CNN-and-head (one quantize in, one dequantize out) and ``head`` an identity.  Load the scripted
    result inside :func:`engine` (QNNPACK: packed weights are made for the engine current at load).
    """
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    model = copy.deepcopy(model).eval()
    clips = list(calibration)
    if not clips:
        raise ValueError("static_int8: calibration: expected at least one clip, got none")
    with engine(engine_name), torch.no_grad():
        backbone = nn.Sequential(model.features, model.head).eval()
        images = [model.log_mel(c).unsqueeze(1) for c in clips]  # what forward feeds the CNN
        mapping = get_default_qconfig_mapping(engine_name)
        prepared = prepare_fx(backbone, mapping, example_inputs=(images[0],))
        for image in images:
            prepared(image)
        model.features = convert_fx(prepared)
    model.head = nn.Identity()
    return model.eval()


def output_step(model: StftClassifier) -> float:
    """The static int8 model's logit step: the scale of the quantized layer whose output is dequantized
    into the logits (every int8 logit is a whole number of these steps from its zero point)."""
    graph = model.features.graph
    (returned,) = [node.args[0] for node in graph.nodes if node.op == "output"]
    if returned.op == "call_method" and returned.target == "dequantize":
        layer = returned.args[0]
        if layer.op == "call_module":
            return float(model.features.get_submodule(layer.target).scale)
    raise ValueError(f"output_step: expected logits dequantized from a quantized layer, got {returned}")


def static_int8_tolerance(model: StftClassifier) -> dict[str, Any]:
    """The manifest tolerance of a static int8 model: ``STATIC_INT8_STEPS`` of its logit step, absolute
    (a rounding flip moves a logit by one step whatever its size), and fp32's class on every case."""
    return {"atol": round(STATIC_INT8_STEPS * output_step(model), 4), "rtol": 0.0, "argmax_matches": "fp32"}
