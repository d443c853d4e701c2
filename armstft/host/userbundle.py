"""``armstft bundle MODEL.pt --inputs inputs.npz --out DIR``: a user's own TorchScript model and named
float32 inputs made into a bundle, its golden outputs this host's.

Why apart from export: export builds *our* model from weights; this takes any model as it is, so it reads
the user's inputs with golden.npz's bounds and holds the config a model states against the one given.

The rules (docs/own-model.md):

- the model file is written into the bundle *before* any input runs, and every case runs on a model loaded
  afresh from those bytes (``call.state: fresh_load_per_case``): a model that keeps state between calls
  gives the same golden numbers verify will get;
- a model whose outputs differ between two fresh loads of the same bytes is refused (verify could never
  agree with its golden file);
- everything is written into a temporary sibling of ``--out`` and checked with the same code verify runs
  first (armstft.bundle.checked: manifest, sizes, hashes, golden arrays); only then is it renamed to
  ``--out``. A refused bundle leaves no folder behind.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchaudio

from armstft.audio.reference import stft64_config
from armstft.bundle import asbuilt, calling, tsfile
from armstft.bundle.checked import check_bundle
from armstft.bundle.declared import declared_config
from armstft.bundle.manifest import MANIFEST, golden_key, write_manifest
from armstft.core import bounds
from armstft.core.config import StftConfig
from armstft.core.errors import ArmstftError, BundleError, InputError
from armstft.core.version import __version__
from armstft.host.export import FP32_TOLERANCE, STFT_PEAK_REL
from armstft.host.userinputs import UserInputs, check_names, read_inputs, run_case


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


def _stated_config(module: Any, model_path: Path, config: StftConfig | None) -> StftConfig | None:
    """A model that states the config it was built with (``armstft_config``) must state the one given; with
    none given, the model's statement is the config."""
    if not isinstance(getattr(module, "armstft_config", None), str):
        return config
    declared = declared_config(module.armstft_config, str(model_path))
    if config is None or declared is None:
        return declared or config
    if declared.replace(stft_backend="aten") != config.replace(stft_backend="aten"):
        raise InputError(
            str(model_path),
            "armstft_config",
            f"the config given ({config.to_json()})",
            declared.to_json(),
        )
    return config


def _load(model_path: Path) -> tuple[bytes, Any]:
    """The model file's bytes (within the size a bundle's model may have) and the module loaded from them."""
    where = str(model_path)
    try:
        size = os.stat(model_path).st_size
        if size > bounds.MODEL_FILE_CEILING_BYTES:
            ceiling = bounds.mib(bounds.MODEL_FILE_CEILING_BYTES)
            raise InputError(where, "size", f"at most {ceiling}", f"{size} bytes")
        data = model_path.read_bytes()
    except OSError as err:
        raise InputError(
            where,
            "file",
            "a TorchScript model (torch.jit.script or trace, then torch.jit.save)",
            err.strerror,
        ) from None
    try:
        return data, torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as err:
        raise BundleError(
            where,
            "file",
            "a TorchScript model (torch.jit.script or trace, then torch.jit.save)",
            type(err).__name__,
        ) from None


def _golden_arrays(
    saved: bytes,
    inputs: UserInputs,
    stft_config: StftConfig | None,
    arguments: list[tuple[str, Any]],
    where: str,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per case (sorted): the input, this host's outputs from a fresh load of the saved bytes, the float64
    STFT reference when the STFT stage is checked; and the output names (none: one tensor)."""
    arrays: dict[str, np.ndarray] = {}
    names: list[str] | None = None
    for case, audio in inputs.audio.items():
        keywords = {**inputs.extras[case], **dict(arguments)}
        got_names, outputs = run_case(saved, audio, keywords, where, case)
        if names is None:
            names = got_names
            again = run_case(saved, audio, keywords, where, case)[1]
            if any(not np.array_equal(a, b, equal_nan=True) for a, b in zip(outputs, again, strict=True)):
                raise InputError(
                    where,
                    f"output({case})",
                    "the same output from two fresh loads of the saved model",
                    "different outputs (the model is not deterministic)",
                )
        elif got_names != names:
            raise InputError(where, f"output({case})", f"outputs {names or 'one tensor'}", got_names)
        arrays[golden_key(case, "input")] = audio
        arrays.update({golden_key(case, f"input.{n}"): a for n, a in inputs.extras[case].items()})
        for key, out in zip(calling.output_keys("fp32", tuple(names)), outputs, strict=True):
            arrays[golden_key(case, key)] = out
        if stft_config is not None:
            arrays[golden_key(case, "stft_ref")] = stft64_config(audio.astype(np.float64), stft_config)
    return arrays, names or []


def _fresh_folder(out: Path) -> Path:
    """A temporary sibling of ``out`` to write into; ``out`` must be new, empty or an earlier bundle."""
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / MANIFEST).is_file())):
        raise InputError(
            str(out), "--out", "a new folder, an empty one or an earlier bundle", "something else"
        )
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _manifest(
    name: str, built: asbuilt.Built, cases: list[str], outputs: list[str], call: dict[str, Any]
) -> dict:
    entry: dict[str, Any] = {
        "file": "model_fp32.pt",
        "tolerance": dict(FP32_TOLERANCE),
        # what the file is, read from its graph (armstft.bundle.asbuilt): verify checks the same reading
        "precision": built.precision,
        "stft_backend": built.stft_backend,
    }
    if outputs:
        entry["outputs"] = outputs
    return {
        "name": name,
        "armstft": __version__,
        "torch": str(torch.__version__),
        "torchaudio": str(torchaudio.__version__),
        "models": {"fp32": entry},
        "golden": {"file": "golden.npz", "cases": cases},
        "call": call,
    }


def _check_as_verify_will(tmp: Path, out: Path) -> None:
    """What verify checks before any model runs, by the same code, errors naming ``out`` (not ``tmp``)."""
    try:
        check_bundle(tmp)
    except ArmstftError as err:
        where = err.where.replace(str(tmp), str(out))
        raise type(err)(where, err.field, err.expected, err.got) from None


def bundle_user_model(
    model_path: Path,
    inputs_path: Path,
    out: Path,
    config: StftConfig | None = None,
    name: str = "user",
    arguments: list[tuple[str, Any]] | None = None,
) -> Path:
    """Bundle a user's TorchScript model with their inputs (an ``.npz`` of named float32 arrays).

    Golden outputs are this host's outputs. When the config is given (or the model states it) and the model
    exports a ``stft`` method, the STFT stage is checked against the float64 reference as well. ``arguments``
    are constants passed after the audio on every call (``forward(audio, sr)``).
    """
    saved_from, module = _load(model_path)
    config = _stated_config(module, model_path, config)
    # an exported ``stft`` method (not a submodule of that name: Open-Unmix's Separator has one)
    has_stft = config is not None and isinstance(getattr(module, "stft", None), torch.ScriptMethod)
    config = config or StftConfig()  # every user bundle states its config: its sample rate, its clip length
    inputs = read_inputs(inputs_path, config)
    check_names(module, inputs, arguments or [], str(model_path))
    built = _as_built(module, model_path, has_stft)
    if has_stft and any(a.ndim == 3 for a in inputs.audio.values()):
        where = str(inputs_path)
        raise InputError(where, "arrays", "(batch, samples) inputs for the STFT-stage check", "3-D")
    tmp = _fresh_folder(out)
    try:
        tsfile.save(module, tmp / "model_fp32.pt")  # before any input runs: no state baked in
        del saved_from, module
        saved = (tmp / "model_fp32.pt").read_bytes()
        stft_config = config if has_stft else None
        arrays, outputs = _golden_arrays(saved, inputs, stft_config, arguments or [], str(model_path))
        np.savez(tmp / "golden.npz", **arrays)
        call: dict[str, Any] = {
            "state": "fresh_load_per_case",
            "arguments": [{"name": n, "value": v} for n, v in arguments or []],
        }
        if inputs.names:
            call["inputs"] = list(inputs.names)
        manifest = _manifest(name, built, list(inputs.audio), outputs, call)
        manifest["config"] = config.to_dict()
        if has_stft:
            manifest["stft"] = {
                "models": ["fp32"],
                "method": "stft",
                "tolerance": {"peak_rel": STFT_PEAK_REL},
            }
        write_manifest(tmp, manifest)
        _check_as_verify_will(tmp, out)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / MANIFEST
