"""Turn trained weights (or a user's TorchScript model) into a verified-on-the-host model bundle.

    python -m armstft export --weights models/default-weights.pt --out models/default

Exports the fp32 model (scripted, frozen, with its ``stft`` method kept) and a dynamic-int8 variant
(``quantize_dynamic`` on Linear layers), then records golden vectors: seeded inputs, the float64 NumPy
reference of the STFT stage, and this host's outputs for every variant. Same weights in, same bytes out:
a fresh process on the same kind of host writes byte-identical files (tested), from whatever folder the
clone is in (armstft.tsfile drops TorchScript's host-path debug records). Within one process
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

import armstft
from armstft import asbuilt, limits, pt2file, quantize, tsfile
from armstft.audio import check_audio
from armstft.bundle import NAME, golden_key, write_manifest
from armstft.config import StftConfig
from armstft.errors import BundleError, InputError, describe
from armstft.golden import read_npz
from armstft.model import LogMelStage, StftClassifier
from armstft.reference import stft64_config
from armstft.synth import LABELS, make_clip
from armstft.verify import declared_config

# Stated tolerances (see docs/bundle.md for how they were chosen).
STFT_PEAK_REL = 1e-5
FP32_TOLERANCE = {"atol": 1e-3, "rtol": 1e-3}
INT8_TOLERANCE = {"atol": 0.6, "rtol": 0.02, "argmax_matches": "fp32"}
PRESERVED_METHODS = ["stft", "log_mel"]
# Kept through freezing beside the methods: the config the model was built with (armstft.verify checks it).
PRESERVED_ATTRIBUTES = ["armstft_config"]
GOLDEN_SEED = 20261124


@dataclass(frozen=True)
class Weights:
    config: StftConfig
    labels: list[str]
    state_dict: dict[str, torch.Tensor]
    meta: dict[str, Any]


def load_weights(path: Path) -> Weights:
    """Weights file written by :mod:`armstft.train`; loaded with ``weights_only=True`` (no pickle code)."""
    where = str(path)
    if not path.is_file():
        raise InputError(where, "file", "a weights file from `python -m armstft.train`", "missing")
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
    from armstft import info

    return {
        "machine": platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "blas": info.blas_backend(torch.__config__.show()),
        "fft_backend": info.fft_backend(),
        "quantized_engine": torch.backends.quantized.engine,
    }


def run_variant(module: Any, audio: np.ndarray, engine: str | None = None) -> np.ndarray:
    with quantize.engine(engine) if engine else nullcontext(), torch.inference_mode():
        return module(torch.from_numpy(audio)).numpy()


def export_log_mel(model: StftClassifier, config: StftConfig) -> torch.export.ExportedProgram:
    """The log-mel stage as a torch.export program for every batch size and clip length the input checks
    (armstft.audio) let through."""
    dims = {
        0: torch.export.Dim("batch", min=1, max=limits.MAX_BATCH),
        1: torch.export.Dim("samples", min=max(config.min_samples, 2), max=config.max_samples),
    }
    example = torch.zeros(2, max(config.min_samples, 2 * config.n_fft))
    stage = LogMelStage(model).eval()
    return torch.export.export(stage, (example,), dynamic_shapes={"audio": dims}, strict=False)


def export_bundle(weights_path: Path, out: Path, name: str = "default") -> Path:
    """Write a complete bundle for the weights to ``out`` and return the manifest path."""
    weights = load_weights(weights_path)
    torch.manual_seed(0)
    model = build_model(weights)
    fast = build_model(weights, backend="armstft")
    out.mkdir(parents=True, exist_ok=True)
    static = quantize.static_int8(fast, quantize.calibration_clips(weights.config))
    scripted = {
        "fp32": script_frozen(model),
        "int8": script_frozen(quantize.dynamic_int8(model)),
        # the same weights with the front end on armstft's own operators (see armstft.faststft)
        "fp32_armstft": script_frozen(fast),
        # convolutions and head int8 too, on the armstft front end (armstft.quantize; loads with QNNPACK)
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
    arrays: dict[str, np.ndarray] = {}
    cases = golden_inputs(weights.config)
    for case, audio in cases.items():
        check_audio(audio, weights.config, f"golden case {case}")
        arrays[golden_key(case, "input")] = audio
        arrays[golden_key(case, "stft_ref")] = stft64_config(audio.astype(np.float64), weights.config)
        for variant, (module, engine) in loaded.items():
            arrays[golden_key(case, f"out.{variant}")] = run_variant(module, audio, engine)
    np.savez(out / "golden.npz", **arrays)
    manifest = {
        "name": name,
        "armstft": armstft.__version__,
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
                "tolerance": quantize.static_int8_tolerance(static),
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
        "golden": {"file": "golden.npz", "cases": list(cases)},
    }
    return write_manifest(out, manifest)


def _read_inputs(path: Path) -> dict[str, np.ndarray]:
    """The user's named input arrays, read with golden.npz's bounds; names must be valid case names."""
    try:
        with path.open("rb") as stream:
            data = stream.read(limits.GOLDEN_FILE_MAX_BYTES + 1)
    except OSError as err:
        raise InputError(
            str(path), "file", "an .npz of float32 arrays", f"unreadable ({err.strerror})"
        ) from None
    if len(data) > limits.GOLDEN_FILE_MAX_BYTES:
        raise InputError(str(path), "size", f"at most {limits.mib(limits.GOLDEN_FILE_MAX_BYTES)}", "more")
    try:
        inputs = read_npz(data, str(path), max_members=limits.MAX_CASES)
    except BundleError as err:
        raise InputError(
            err.where, err.field, "an .npz of float32 arrays: " + err.expected, err.got
        ) from None
    for name in inputs:
        if len(name) > limits.NAME_MAX_CHARS or not NAME.fullmatch(name):
            raise InputError(str(path), "arrays", f"case names matching {NAME.pattern}", describe(name))
    return inputs


def bundle_user_model(
    model_path: Path,
    inputs_path: Path,
    out: Path,
    config: StftConfig | None = None,
    name: str = "user",
    atol: float = FP32_TOLERANCE["atol"],
    rtol: float = FP32_TOLERANCE["rtol"],
) -> Path:
    """Bundle a user's TorchScript model with their inputs (an ``.npz`` of named float32 arrays).

    Golden outputs are this host's outputs. When the user gives the STFT config and the model exports a
    ``stft`` method, the STFT stage is checked against the float64 reference as well.
    """
    try:
        module = torch.jit.load(str(model_path), map_location="cpu")
    except Exception as err:
        raise BundleError(
            str(model_path), "file", "a TorchScript model (torch.jit.save)", type(err).__name__
        ) from None
    inputs = _read_inputs(inputs_path)
    has_stft = config is not None and hasattr(module, "stft")
    built = asbuilt.Built.read(asbuilt.graph_operators(module, ["stft"] if has_stft else []))
    if built.static_int8:
        raise InputError(
            str(model_path),
            "quantized_engine",
            "a float or dynamic int8 model (`armstft bundle` cannot tell which engine static int8 weights "
            "were packed for)",
            f"static int8 ({built.evidence})",
        )
    if config is not None and isinstance(getattr(module, "armstft_config", None), str):
        declared = declared_config(module.armstft_config, str(model_path))
        if declared is not None and declared.replace(stft_backend="aten") != config.replace(
            stft_backend="aten"
        ):
            raise InputError(
                str(model_path),
                "armstft_config",
                f"the config given ({config.to_json()})",
                declared.to_json(),
            )
    bounds = config or StftConfig()
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    cases = sorted(inputs)
    if not cases:
        raise InputError(str(inputs_path), "arrays", "at least one input array", "none")
    for case in cases:
        audio = check_audio(inputs[case], bounds, str(inputs_path), field=case)
        arrays[golden_key(case, "input")] = audio
        arrays[golden_key(case, "out.fp32")] = run_variant(module, audio)
        if has_stft:
            assert config is not None
            arrays[golden_key(case, "stft_ref")] = stft64_config(audio.astype(np.float64), config)
    tsfile.save(module, out / "model_fp32.pt")
    np.savez(out / "golden.npz", **arrays)
    manifest: dict[str, Any] = {
        "name": name,
        "armstft": armstft.__version__,
        "torch": str(torch.__version__),
        "torchaudio": str(torchaudio.__version__),
        "models": {
            "fp32": {
                "file": "model_fp32.pt",
                "tolerance": {"atol": atol, "rtol": rtol},
                # what the file is, read from its graph (armstft.asbuilt): verify checks the same reading
                "precision": built.precision,
                "stft_backend": built.stft_backend,
            }
        },
        "golden": {"file": "golden.npz", "cases": cases},
    }
    if config is not None:
        manifest["config"] = config.to_dict()
    if has_stft:
        manifest["stft"] = {"models": ["fp32"], "method": "stft", "tolerance": {"peak_rel": STFT_PEAK_REL}}
    return write_manifest(out, manifest)
