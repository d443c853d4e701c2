"""Turn trained weights into a verified-on-the-host model bundle (a user's own model: host.userbundle).

    python -m armstft export --weights models/default-weights.pt --out models/default

Exports the fp32 model (scripted, frozen, with its ``stft`` method kept) and a dynamic-int8 variant
(``quantize_dynamic`` on Linear layers), then records golden vectors: seeded inputs, the float64 NumPy
reference of the STFT stage, and this host's outputs for every variant. Same weights in, same bytes out:
a fresh process on the same kind of host writes byte-identical files (tested), from whatever folder the
clone is in (armstft.bundle.tsfile drops TorchScript's host-path debug records). Within one process
TorchScript's name mangling counts up, so repeated in-process exports are compared on their outputs.
Every model keeps ``armstft_config`` (the config it was built with) for verify to hold the manifest to.
"""

from __future__ import annotations

import platform
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchaudio

from armstft.audio.clips import check_audio
from armstft.audio.reference import stft64_config
from armstft.audio.synth import LABELS, make_clip
from armstft.bundle import pt2file, tsfile
from armstft.bundle.manifest import golden_key, write_manifest
from armstft.core import bounds
from armstft.core.config import StftConfig
from armstft.core.errors import InputError
from armstft.core.version import __version__
from armstft.nn import quantize
from armstft.nn.model import LogMelStage, StftClassifier

# Stated tolerances (see docs/bundle.md for how they were chosen).
STFT_PEAK_REL = 1e-5
FP32_TOLERANCE = {"atol": 1e-3, "rtol": 1e-3}
INT8_TOLERANCE = {"atol": 0.6, "rtol": 0.02, "argmax_matches": "fp32"}
PRESERVED_METHODS = ["stft", "log_mel"]
# Kept through freezing beside the methods: the config the model was built with (the board's verify checks
# it).
PRESERVED_ATTRIBUTES = ["armstft_config"]
GOLDEN_SEED = 20261124


@dataclass(frozen=True)
class Weights:
    config: StftConfig
    labels: list[str]
    state_dict: dict[str, torch.Tensor]
    meta: dict[str, Any]


def load_weights(path: Path) -> Weights:
    """Weights file written by :mod:`armstft.host.train`; loaded with ``weights_only=True`` (no pickle
    code)."""
    where = str(path)
    if not path.is_file():
        raise InputError(where, "file", "a weights file from `python -m armstft.host.train`", "missing")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad archive; all mean the same to the user
        raise InputError(
            where, "file", "a torch weights archive", f"unreadable ({type(err).__name__})"
        ) from None
    if not isinstance(data, dict) or "state_dict" not in data:
        raise InputError(where, "state_dict", "present", "missing")
    for key in ("config", "labels"):
        if key not in data:
            raise InputError(where, key, "present", "missing")
    return Weights(
        config=StftConfig.from_dict(data["config"], where),
        labels=[str(x) for x in data["labels"]],
        state_dict=data["state_dict"],
        meta={k: v for k, v in data.items() if k not in ("config", "labels", "state_dict")},
    )


def build_model(weights: Weights, backend: str | None = None) -> StftClassifier:
    config = weights.config if backend is None else weights.config.replace(stft_backend=backend)
    model = StftClassifier(config, n_classes=len(weights.labels))
    model.load_state_dict(weights.state_dict)
    return model.eval()


def script_frozen(model: torch.nn.Module) -> torch.jit.ScriptModule:
    """TorchScript, frozen (weights folded in as constants), keeping the exported stage methods."""
    scripted = torch.jit.script(model.eval())
    keep = [m for m in PRESERVED_METHODS + PRESERVED_ATTRIBUTES if hasattr(scripted, m)]
    return torch.jit.freeze(scripted, preserved_attrs=keep)


def golden_inputs(config: StftConfig) -> dict[str, np.ndarray]:
    """Seeded cases: one clip per class, a batch, an odd length and a short clip."""
    rng = np.random.default_rng(GOLDEN_SEED)
    sr = config.sample_rate
    cases = {f"{label}": make_clip(label, rng, sr)[None, :] for label in LABELS}
    cases["batch4"] = np.stack([make_clip(LABELS[i % len(LABELS)], rng, sr) for i in range(4)])
    cases["odd_length"] = make_clip("chirp", rng, sr, seconds=12345 / sr)[None, :]
    cases["short"] = make_clip("tone", rng, sr, seconds=0.25)[None, :]
    return cases


def exporting_host() -> dict[str, str]:
    """What the golden outputs depend on: a re-export is bit-identical only on the same kind of host."""
    from armstft.nn import runtime

    return {
        "machine": platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "blas": runtime.blas_backend(torch.__config__.show()),
        "fft_backend": runtime.fft_backend(),
        "quantized_engine": torch.backends.quantized.engine,
    }


def run_variant(module: Any, audio: np.ndarray, engine: str | None = None) -> np.ndarray:
    with quantize.engine(engine) if engine else nullcontext(), torch.inference_mode():
        return module(torch.from_numpy(audio)).numpy()


def export_log_mel(model: StftClassifier, config: StftConfig) -> torch.export.ExportedProgram:
    """The log-mel stage as a torch.export program for every batch size and clip length the input checks
    (armstft.audio) let through."""
    dims = {
        0: torch.export.Dim("batch", min=1, max=bounds.MAX_BATCH),
        1: torch.export.Dim("samples", min=max(config.min_samples, 2), max=config.max_samples),
    }
    example = torch.zeros(2, max(config.min_samples, 2 * config.n_fft))
    stage = LogMelStage(model).eval()
    return torch.export.export(stage, (example,), dynamic_shapes={"audio": dims}, strict=False)


def export_bundle(weights_path: Path, out: Path, name: str = "default") -> Path:
    """Write a complete bundle for the weights to ``out`` and return the manifest path."""
    weights = load_weights(weights_path)
    torch.manual_seed(0)
    loaded, engines, static_tolerance = write_variants(weights, out)
    cases = golden_inputs(weights.config)
    np.savez(out / "golden.npz", **golden_arrays(loaded, cases, weights.config))
    return write_manifest(out, default_manifest(name, weights, list(cases), engines, static_tolerance))


def write_variants(
    weights: Weights, out: Path
) -> tuple[dict[str, tuple[Any, str | None]], dict[str, str], dict[str, Any]]:
    """Write every variant's file; return each as loaded back from it (with its quantized engine, if any),
    the engines by variant, and the static int8 variant's tolerance (in its own logit steps)."""
    model = build_model(weights)
    fast = build_model(weights, backend="armstft")
    out.mkdir(parents=True, exist_ok=True)
    static = quantize.static_int8(fast, quantize.calibration_clips(weights.config))
    scripted = {
        "fp32": script_frozen(model),
        "int8": script_frozen(quantize.dynamic_int8(model)),
        # the same weights with the front end on armstft's own operators (see armstft.faststft)
        "fp32_armstft": script_frozen(fast),
        # convolutions and head int8 too, on the armstft front end (armstft.nn.quantize; loads with QNNPACK)
        "int8_static": script_frozen(static),
    }
    engines = {"int8_static": quantize.ENGINE}  # the variants loaded and run under a quantized engine
    for variant, module in scripted.items():
        tsfile.save(module, out / f"model_{variant}.pt")
    pt2file.save(export_log_mel(fast, weights.config), out / "log_mel_armstft.pt2")
    # Golden outputs come from the files just written, loaded as verify loads them (the int8 engine too).
    with quantize.engine(quantize.ENGINE):
        loaded: dict[str, tuple[Any, str | None]] = {
            v: (torch.jit.load(str(out / f"model_{v}.pt")), engines.get(v)) for v in scripted
        }
    loaded["log_mel_armstft"] = (torch.export.load(str(out / "log_mel_armstft.pt2")).module(), None)
    return loaded, engines, quantize.static_int8_tolerance(static)


def golden_arrays(
    loaded: dict[str, tuple[Any, str | None]], cases: dict[str, np.ndarray], config: StftConfig
) -> dict[str, np.ndarray]:
    """golden.npz's arrays: per case its input, the float64 STFT reference and every variant's output."""
    arrays: dict[str, np.ndarray] = {}
    for case, audio in cases.items():
        check_audio(audio, config, f"golden case {case}")
        arrays[golden_key(case, "input")] = audio
        arrays[golden_key(case, "stft_ref")] = stft64_config(audio.astype(np.float64), config)
        for variant, (module, engine) in loaded.items():
            arrays[golden_key(case, f"out.{variant}")] = run_variant(module, audio, engine)
    return arrays


def default_manifest(
    name: str, weights: Weights, cases: list[str], engines: dict[str, str], static_tolerance: dict[str, Any]
) -> dict[str, Any]:
    """The manifest of the default model's bundle, before write_manifest adds the schema and the hashes."""
    return {
        "name": name,
        "armstft": __version__,
        "torch": str(torch.__version__),
        "torchaudio": str(torchaudio.__version__),
        "config": weights.config.to_dict(),
        "labels": weights.labels,
        "training": {k: v for k, v in weights.meta.items() if isinstance(v, int | float | str)},
        "exported_on": exporting_host(),
        "models": {
            "fp32": {"file": "model_fp32.pt", "tolerance": FP32_TOLERANCE, "precision": "fp32"},
            "int8": {
                "file": "model_int8.pt",
                "tolerance": INT8_TOLERANCE,
                "precision": "int8",
                "quantization": "dynamic int8, Linear",
            },
            "fp32_armstft": {
                "file": "model_fp32_armstft.pt",
                "tolerance": FP32_TOLERANCE,
                "precision": "fp32",
                "stft_backend": "armstft",
            },
            "int8_static": {
                "file": "model_int8_static.pt",
                "tolerance": static_tolerance,
                "precision": "int8",
                "quantization": "static int8, convolutions and Linear (FX graph mode, QNNPACK)",
                "quantized_engine": engines["int8_static"],
                "stft_backend": "armstft",
            },
            "log_mel_armstft": {
                "file": "log_mel_armstft.pt2",
                "tolerance": FP32_TOLERANCE,
                "precision": "fp32",
                "stft_backend": "armstft",
                "stage": "log_mel",
            },
        },
        "stft": {
            "models": ["fp32", "fp32_armstft"],
            "method": "stft",
            "tolerance": {"peak_rel": STFT_PEAK_REL},
        },
        "golden": {"file": "golden.npz", "cases": cases},
    }
