"""A bundle's variants in the sandbox: each sent as the bytes that were hashed, loaded under its format and
quantized engine, and called with a watchdog; what a model states about itself is checked on load.

Why in the sandbox layer: ``verify``, ``bench`` and ``run`` all load and call variants the same way, and
the way is the sandbox's requests; before, these lived in ``verify`` and the other commands imported it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from armstft.bundle import asbuilt, pt2file
from armstft.bundle.declared import DECLARED_ONLY, check_declared, declared_config
from armstft.bundle.manifest import Bundle, Manifest
from armstft.core import bounds
from armstft.core.errors import BundleError
from armstft.sandbox.parent import Worker, WorkerError, WorkerStopped


def has_programs(manifest: Manifest, names: list[str] | None = None) -> bool:
    """Whether any (named) variant is a torch.export program: its worker preloads the deserializer."""
    wanted = manifest.variants if names is None else {n: manifest.variants[n] for n in names}
    return any(v.format == "exported_program" for v in wanted.values())


def load_model(worker: Worker, bundle: Bundle, name: str, methods: list[str]) -> dict[str, Any]:
    """Send one variant's hashed bytes to the worker, in its format and under its quantized engine; a
    ``.pt2`` is first checked to hold nothing ``torch.export.load`` would unpickle
    (armstft.bundle.pt2file). The loaded graph's operators must match the variant's description
    (armstft.bundle.asbuilt)."""
    variant = bundle.manifest.variants[name]
    where = bundle.where(variant.file)
    data = bundle.data[variant.file]
    if variant.format == "exported_program":
        pt2file.check(data, where)
    what = "a torch.export archive" if variant.format == "exported_program" else "a TorchScript archive"
    header = {
        "op": "load",
        "model": name,
        "methods": methods,
        "format": variant.format,
        "engine": variant.quantized_engine,
    }
    try:
        reply, _ = worker.request(header, [data])
    except WorkerError as err:
        raise BundleError(where, "file", what, f"unloadable ({err.detail})") from None
    except WorkerStopped as err:
        raise BundleError(where, "load", f"to load within {worker.case_seconds:g} s", str(err)) from None
    asbuilt.check(bundle.manifest, name, reply["operators"])
    return reply


def load_models(worker: Worker, manifest: Manifest, bundle: Bundle, warnings: list[str] | None) -> None:
    """Load every variant in the worker; check what each model states about itself (what could not be
    checked is appended to ``warnings``, when given)."""
    wanted = [manifest.stft.method] if manifest.stft is not None else []
    declaring = 0
    for name, variant in manifest.variants.items():
        where = bundle.where(variant.file)
        reply = load_model(worker, bundle, name, wanted)
        if (
            manifest.stft is not None
            and name in manifest.stft.models
            and manifest.stft.method not in reply["methods"]
        ):
            raise BundleError(
                where, f"method {manifest.stft.method}", "an exported STFT stage method", "missing"
            )
        declared = declared_config(reply["armstft_config"], where)
        check_declared(manifest, name, declared)
        declaring += declared is not None
    if warnings is not None and manifest.config is not None and not declaring:
        if manifest.stft is not None:
            unchecked = f"{', '.join(DECLARED_ONLY)} are not checked (the STFT stage checks the rest)"
        else:
            unchecked = "with no STFT stage either, none of the config's fields is checked against the model"
        warnings.append(f"{manifest.path}: config: no model states the config it was built with; {unchecked}")


def call_model(
    worker: Worker,
    bundle: Bundle,
    variant: str,
    method: str,
    audio: np.ndarray,
    case: str,
    arguments: tuple[tuple[str, Any], ...] = (),
    extras: dict[str, np.ndarray] | None = None,
) -> tuple[list[str], list[np.ndarray]]:
    """One call in the worker (the audio, then ``extras`` tensors and ``arguments`` constants by name): the
    output's names (none for one tensor) and arrays; a watchdog stop or a dead worker is a
    :class:`BundleError` naming the case."""
    where = bundle.where(bundle.manifest.variants[variant].file)
    header = {
        "op": "call",
        "model": variant,
        "method": method,
        "max_bytes": bounds.WORKER_OUTPUT_MAX_BYTES,
        "arguments": [list(pair) for pair in arguments],
        "inputs": list(extras or {}),
    }
    try:
        reply, arrays = worker.request(header, [audio, *(extras or {}).values()])
    except WorkerStopped as err:
        raise BundleError(
            where,
            f"{method}({case})",
            f"to finish within {worker.case_seconds:g} s (--case-seconds)",
            str(err),
        ) from None
    assert all(isinstance(a, np.ndarray) for a in arrays)
    return list(reply.get("outputs", [])), list(arrays)  # type: ignore[arg-type]


def run_model(
    worker: Worker, bundle: Bundle, variant: str, method: str, audio: np.ndarray, case: str
) -> np.ndarray:
    """One call whose output must be a single tensor (the STFT stage, ``run``'s logits)."""
    arguments = bundle.manifest.call.arguments if method == "forward" else ()
    names, arrays = call_model(worker, bundle, variant, method, audio, case, arguments)
    if names:
        raise WorkerError("output", f"a tuple/dict of {len(names)} tensors, expected one tensor")
    return arrays[0]
