"""Steps 1-3 of opening a bundle, the ones that need no model: manifest, hashes, golden arrays and the
float64 STFT references recomputed from the manifest's config.

Why here: ``verify`` and ``bench`` (board commands) both start with these steps, and they only read the
bundle format, so they live in the format's layer rather than in one of the commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from armstft.bundle.golden import check_golden, check_reference, extra_inputs, read_npz
from armstft.bundle.manifest import Bundle, Manifest, open_bundle


@dataclass
class Checked:
    """A bundle whose files, golden arrays and references passed every check that needs no model."""

    bundle: Bundle
    golden: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray]
    extras: dict[str, dict[str, np.ndarray]]  # per case, tensor inputs beside the audio (call.inputs)

    @property
    def manifest(self) -> Manifest:
        return self.bundle.manifest


def check_bundle(path: Any) -> Checked:
    """Steps 1-3: manifest, hashes, golden arrays and references (shared by verify and bench)."""
    bundle = open_bundle(path)
    manifest = bundle.manifest
    where = bundle.where(manifest.golden_file)
    golden = read_npz(bundle.data.pop(manifest.golden_file), where, expected=manifest.golden_members())
    inputs = check_golden(manifest, golden)
    check_reference(manifest, golden, inputs)
    return Checked(bundle, golden, inputs, extra_inputs(manifest, golden))
