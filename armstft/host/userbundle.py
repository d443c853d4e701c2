"""``armstft bundle MODEL.pt --inputs inputs.npz --out DIR``: a user's own TorchScript model and named
float32 inputs made into a bundle, its golden outputs this host's.

Why apart from export: export builds *our* model from weights; this takes any model as it is, so it reads
the user's inputs with golden.npz's bounds and holds the config a model states against the one given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchaudio

from armstft.audio.clips import check_audio
from armstft.audio.reference import stft64_config
from armstft.bundle import asbuilt, tsfile
from armstft.bundle.declared import declared_config
from armstft.bundle.golden import read_npz
from armstft.bundle.manifest import NAME, golden_key, write_manifest
from armstft.core import bounds
from armstft.core.config import StftConfig
from armstft.core.errors import BundleError, InputError, describe
from armstft.core.version import __version__
from armstft.host.export import FP32_TOLERANCE, STFT_PEAK_REL, run_variant


def _read_inputs(path: Path) -> dict[str, np.ndarray]:
    """The user's named input arrays, read with golden.npz's bounds; names must be valid case names."""
    try:
        with path.open("rb") as stream:
            data = stream.read(bounds.GOLDEN_FILE_MAX_BYTES + 1)
    except OSError as err:
        raise InputError(
            str(path), "file", "an .npz of float32 arrays", f"unreadable ({err.strerror})"
        ) from None
    if len(data) > bounds.GOLDEN_FILE_MAX_BYTES:
        raise InputError(str(path), "size", f"at most {bounds.mib(bounds.GOLDEN_FILE_MAX_BYTES)}", "more")
    try:
        inputs = read_npz(data, str(path), max_members=bounds.MAX_CASES)
    except BundleError as err:
        raise InputError(
            err.where, err.field, "an .npz of float32 arrays: " + err.expected, err.got
        ) from None
    for name in inputs:
        if len(name) > bounds.NAME_MAX_CHARS or not NAME.fullmatch(name):
            raise InputError(str(path), "arrays", f"case names matching {NAME.pattern}", describe(name))
    return inputs


def _as_built(module: Any, model_path: Path, has_stft: bool) -> asbuilt.Built:
    """What the model is, read from its graph (the manifest records it; verify reads it again); a static
    int8 model is refused: nothing tells which engine its weights were packed for."""
    built = asbuilt.Built.read(asbuilt.graph_operators(module, ["stft"] if has_stft else []))
    if built.static_int8:
        raise InputError(
            str(model_path),
            "quantized_engine",
            "a float or dynamic int8 model (`armstft bundle` cannot tell which engine static int8 weights "
            "were packed for)",
            f"static int8 ({built.evidence})",
        )
    return built


def _check_stated_config(module: Any, model_path: Path, config: StftConfig) -> None:
    """A model that states the config it was built with (``armstft_config``) must state the one given."""
    if not isinstance(getattr(module, "armstft_config", None), str):
        return
    declared = declared_config(module.armstft_config, str(model_path))
    if declared is not None and declared.replace(stft_backend="aten") != config.replace(stft_backend="aten"):
        raise InputError(
            str(model_path),
            "armstft_config",
            f"the config given ({config.to_json()})",
            declared.to_json(),
        )


def _golden_arrays(
    module: Any,
    inputs: dict[str, np.ndarray],
    where: str,
    stft_config: StftConfig | None,
    config: StftConfig | None,
) -> dict[str, np.ndarray]:
    """Per case (sorted): the input checked against the config given (else the defaults), this host's
    output, and the float64 STFT reference when the STFT stage is checked (``stft_config``)."""
    checked_as = config or StftConfig()
    arrays: dict[str, np.ndarray] = {}
    for case in sorted(inputs):
        audio = check_audio(inputs[case], checked_as, where, field=case)
        arrays[golden_key(case, "input")] = audio
        arrays[golden_key(case, "out.fp32")] = run_variant(module, audio)
        if stft_config is not None:
            arrays[golden_key(case, "stft_ref")] = stft64_config(audio.astype(np.float64), stft_config)
    return arrays


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
    built = _as_built(module, model_path, has_stft)
    if config is not None:
        _check_stated_config(module, model_path, config)
    out.mkdir(parents=True, exist_ok=True)
    cases = sorted(inputs)
    if not cases:
        raise InputError(str(inputs_path), "arrays", "at least one input array", "none")
    arrays = _golden_arrays(module, inputs, str(inputs_path), config if has_stft else None, config)
    tsfile.save(module, out / "model_fp32.pt")
    np.savez(out / "golden.npz", **arrays)
    manifest: dict[str, Any] = {
        "name": name,
        "armstft": __version__,
        "torch": str(torch.__version__),
        "torchaudio": str(torchaudio.__version__),
        "models": {
            "fp32": {
                "file": "model_fp32.pt",
                "tolerance": {"atol": atol, "rtol": rtol},
                # what the file is, read from its graph (armstft.bundle.asbuilt): verify checks the same
                # reading
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
