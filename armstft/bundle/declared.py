"""The STFT config a model states it was built with (its ``armstft_config`` attribute), parsed strictly and
held against the manifest's config field by field.

Why in the bundle layer: the host's ``armstft bundle`` reads a user's model's statement before writing a
manifest and the board checks it after loading; both need the same parsing and the same error messages,
and neither may import the other's commands.
"""

from __future__ import annotations

from armstft.bundle.manifest import Manifest
from armstft.core import strictjson
from armstft.core.config import StftConfig
from armstft.core.errors import ArmstftError, BundleError, describe

# Fields of StftConfig that only a model's own statement can confirm (the STFT ones are also confirmed by
# the STFT stage against references recomputed from the manifest's config).
DECLARED_ONLY = ("sample_rate", "n_mels", "f_min", "f_max", "max_seconds")
CONFIG_ATTRIBUTE = "armstft_config"
CONFIG_ATTRIBUTE_MAX_BYTES = 4096


def declared_config(text: str | None, where: str) -> StftConfig | None:
    """The config a model states it was built with (its ``armstft_config`` attribute), strictly parsed."""
    if text is None:
        return None
    if len(text) > CONFIG_ATTRIBUTE_MAX_BYTES:
        raise BundleError(
            where, CONFIG_ATTRIBUTE, f"at most {CONFIG_ATTRIBUTE_MAX_BYTES} characters", len(text)
        )
    try:
        return StftConfig.from_dict(strictjson.loads(text.encode()), where)
    except strictjson.JsonError as err:
        field = CONFIG_ATTRIBUTE if err.path is None else f"{CONFIG_ATTRIBUTE}.{err.path}"
        raise BundleError(where, field, "a JSON STFT config", str(err)) from None
    except ArmstftError as err:
        raise BundleError(where, f"{CONFIG_ATTRIBUTE}.{err.field}", err.expected, err.got) from None


def check_declared(manifest: Manifest, variant: str, declared: StftConfig | None) -> None:
    """The manifest's config must be the one the model was built with, field by field."""
    if declared is None:
        return
    file = manifest.variants[variant].file
    if manifest.config is None:
        raise BundleError(
            str(manifest.path), "config", f"present ({file} states the config it was built with)", "missing"
        )
    want = declared.to_dict()
    got = manifest.config.replace(stft_backend=manifest.variants[variant].stft_backend).to_dict()
    stated = "stft_backend" in manifest.raw["models"][variant]
    for key, value in want.items():
        if got[key] != value:
            name = f"config.{key}"
            if key == "stft_backend":  # the variant's own, or else the config's
                name = f"models.{variant}.stft_backend" if stated else "config.stft_backend"
            raise BundleError(
                str(manifest.path), name, f"{describe(value)} (as {file} was built)", describe(got[key])
            )
