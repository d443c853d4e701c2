"""Whether this runtime's torch and torchaudio are the ones a bundle was made with: warnings, not errors.

Why apart from the manifest's schema: the schema only reads the bundle; this compares it with the running
process, which verify and bench ask about (run does not: one clip's class is not a measurement).
"""

from __future__ import annotations

from armstft.bundle.manifest import Manifest


def base_version(version: str) -> str:
    """'2.9.1+cu128' → '2.9.1': local build tags (CUDA, CPU) do not change results for us."""
    return version.split("+", 1)[0]


def version_warnings(manifest: Manifest, torch_version: str, torchaudio_version: str) -> list[str]:
    """Warnings (not errors) when this runtime differs from the one that made the bundle."""
    out = []
    for name, made, here in (
        ("torch", manifest.torch_version, torch_version),
        ("torchaudio", manifest.torchaudio_version, torchaudio_version),
    ):
        if base_version(made) != base_version(here):
            out.append(
                f"{manifest.path}: {name}: bundle made with {made}, running {here}; results may differ"
            )
    return out
