"""``armstft run BUNDLE AUDIO``: classify one clip, or say clearly why not.

The bundle is opened exactly as ``verify`` opens it (hashes first; the model loaded from the hashed bytes
in a watchdog'ed worker; its stated config must be the manifest's, so 8 kHz audio is never classified
by a model built for 16 kHz). The audio is sized and checked before it is read (armstft.audio). A model
that raises on this clip is bad input naming both files (exit 2); logits with NaN/Inf are the device's
failure (exit 1), never a predicted class. The JSON written is standard (no NaN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from armstft.audio.clips import first_bad, read_audio
from armstft.bundle.declared import check_declared, declared_config
from armstft.bundle.manifest import open_bundle
from armstft.core import bounds
from armstft.core.errors import ComputeError, InputError
from armstft.sandbox.parent import Worker, WorkerError
from armstft.sandbox.variants import has_programs, load_model, run_model


def classify(
    bundle_path: Path, audio_path: Path, variant: str, case_seconds: float = bounds.CASE_SECONDS
) -> dict[str, Any]:
    bundle = open_bundle(bundle_path)
    manifest = bundle.manifest
    if variant not in manifest.variants:
        raise InputError(
            str(manifest.path), "models", f"a variant named {variant}", sorted(manifest.variants)
        )
    audio = read_audio(audio_path, manifest.input_config)
    model_file = manifest.variants[variant].file
    where = bundle.where(model_file)
    if manifest.variants[variant].stage != "logits":
        raise InputError(
            str(manifest.path),
            f"models.{variant}.stage",
            "a variant that outputs class logits",
            manifest.variants[variant].stage,
        )
    with Worker(
        "fork", case_seconds=case_seconds, preload_export=has_programs(manifest, [variant])
    ) as worker:
        reply = load_model(worker, bundle, variant, [])
        check_declared(manifest, variant, declared_config(reply["armstft_config"], where))
        try:
            logits = run_model(worker, bundle, variant, "forward", audio, audio_path.name)
        except WorkerError as err:
            if err.kind == "output":
                raise ComputeError(where, "output", "a float tensor of logits", err.detail) from None
            raise InputError(
                str(audio_path),
                "audio",
                f"an input {model_file} accepts",
                f"{audio.shape[-1]} samples ({err})",
            ) from None
    labels = manifest.labels
    if logits.ndim != 2 or logits.shape[0] != audio.shape[0] or np.iscomplexobj(logits):
        raise ComputeError(where, "output", f"real logits of shape ({audio.shape[0]}, classes)", logits.shape)
    if labels and logits.shape[1] != len(labels):
        raise ComputeError(where, "output", f"{len(labels)} logits (one per label)", logits.shape[1])
    bad = first_bad(logits)
    if bad is not None:
        raise ComputeError(
            where, f"output[{bad[0]}]", "finite logits", f"{bad[1]} (NaN/Inf): no class predicted"
        )
    predicted = [labels[int(row.argmax())] if labels else None for row in logits]
    return {
        "schema": "armstft.run/1",
        "ok": True,
        "audio": str(audio_path),
        "variant": variant,
        "logits": logits.astype(np.float64).tolist(),
        "predicted": predicted,
    }
