"""The model bundle on disk: manifest schema, validation and hashes.

A bundle is the only thing the board trusts, and only after every file's sha256 matches the manifest.
Layout::

    manifest.json   schema, config, versions, tolerances, sha256 of every other file
    model_*.pt      TorchScript (frozen) models, one per variant (fp32, int8, ...)
    golden.npz      per case: input, float64 reference of the STFT stage, host outputs per variant
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from armstft.config import BACKENDS, StftConfig
from armstft.errors import BundleError, describe

SCHEMA = "armstft.bundle/1"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Tolerance:
    """|got - want| <= atol + rtol * |want| elementwise, for model outputs; ``peak_rel`` for the STFT stage
    (error relative to the spectrum peak)."""

    atol: float = 0.0
    rtol: float = 0.0
    peak_rel: float = 0.0
    argmax_matches: str | None = None


@dataclass(frozen=True)
class Variant:
    """One exported model: its numeric precision and which STFT implementation its front end calls."""

    name: str
    file: str
    tolerance: Tolerance
    precision: str = "fp32"
    stft_backend: str = "aten"


@dataclass(frozen=True)
class StftStage:
    """Where the STFT stage lives: an exported method of some of the variant models."""

    models: list[str]
    method: str
    tolerance: Tolerance


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    torch_version: str
    torchaudio_version: str
    config: StftConfig | None
    labels: list[str]
    variants: dict[str, Variant]
    stft: StftStage | None
    golden_file: str
    cases: list[str]
    files: dict[str, str]
    raw: dict[str, Any]

    @property
    def root(self) -> Path:
        return self.path.parent


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def golden_key(case: str, what: str) -> str:
    """Name of an array in golden.npz: ``<case>.input``, ``<case>.stft_ref``, ``<case>.out.<variant>``."""
    return f"{case}.{what}"


class _Fields:
    """Typed access to a JSON object that reports the full dotted field name on error."""

    def __init__(self, where: str, data: object, prefix: str = "") -> None:
        self.where = where
        self.prefix = prefix
        if not isinstance(data, dict):
            raise BundleError(where, prefix.rstrip(".") or "document", "a JSON object", type(data).__name__)
        self.data: dict[str, Any] = data

    def get(self, key: str, kind: type | tuple[type, ...], expected: str, optional: bool = False) -> Any:
        name = self.prefix + key
        if key not in self.data:
            if optional:
                return None
            raise BundleError(self.where, name, expected, "missing")
        value = self.data[key]
        if value is None and optional:
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise BundleError(self.where, name, expected, describe(value))
        return value

    def sub(self, key: str, optional: bool = False) -> _Fields | None:
        value = self.get(key, dict, "a JSON object", optional=optional)
        return None if value is None else _Fields(self.where, value, f"{self.prefix}{key}.")


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _tolerance(fields: _Fields) -> Tolerance:
    number = (int, float)
    values = {k: fields.get(k, number, "a number >= 0", optional=True) for k in ("atol", "rtol", "peak_rel")}
    for key, value in values.items():
        if value is not None and value < 0:
            raise BundleError(fields.where, fields.prefix + key, "a number >= 0", describe(value))
    if not any(values.values()):
        raise BundleError(fields.where, fields.prefix.rstrip("."), "atol, rtol or peak_rel > 0", "none")
    return Tolerance(
        atol=float(values["atol"] or 0.0),
        rtol=float(values["rtol"] or 0.0),
        peak_rel=float(values["peak_rel"] or 0.0),
        argmax_matches=fields.get("argmax_matches", str, "a variant name", optional=True),
    )


def load_manifest(bundle: Path) -> Manifest:
    """Read and validate ``bundle/manifest.json``; every problem names the file and the field."""
    path = Path(bundle) / MANIFEST
    if not Path(bundle).is_dir():
        raise BundleError(str(bundle), "bundle", "a bundle directory", "no such directory")
    if not path.is_file():
        raise BundleError(str(path), "file", "present", "missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(str(path), "document", "valid JSON", f"{type(err).__name__} ({err})") from None
    where = str(path)
    top = _Fields(where, data)
    schema = top.get("schema", str, f'"{SCHEMA}"')
    if schema != SCHEMA:
        raise BundleError(where, "schema", f'"{SCHEMA}"', describe(schema))
    config_data = top.get("config", dict, "a JSON object", optional=True)
    config = StftConfig.from_dict(config_data, where) if config_data is not None else None

    variants: dict[str, Variant] = {}
    models = top.sub("models")
    assert models is not None
    if not models.data:
        raise BundleError(where, "models", "at least one variant", "none")
    for name in models.data:
        entry = models.sub(name)
        assert entry is not None
        tol = entry.sub("tolerance")
        assert tol is not None
        precision = entry.get("precision", str, "fp32 or int8", optional=True) or name
        backend = entry.get("stft_backend", str, "aten or armstft", optional=True) or "aten"
        if backend not in BACKENDS:
            raise BundleError(where, f"models.{name}.stft_backend", f"one of {', '.join(BACKENDS)}", backend)
        variants[name] = Variant(
            name, entry.get("file", str, "a file name"), _tolerance(tol), precision, backend
        )
    for variant in variants.values():
        ref = variant.tolerance.argmax_matches
        if ref is not None and ref not in variants:
            raise BundleError(where, f"models.{variant.name}.tolerance.argmax_matches", "a variant", ref)

    stft = None
    stft_fields = top.sub("stft", optional=True)
    if stft_fields is not None:
        stft_models = stft_fields.get("models", list, "a non-empty list of variant names")
        for model in stft_models or [None]:
            if model not in variants:
                raise BundleError(where, "stft.models", f"variants among {sorted(variants)}", describe(model))
        stft_tol = stft_fields.sub("tolerance")
        assert stft_tol is not None
        stft = StftStage(
            list(stft_models), stft_fields.get("method", str, "a method name"), _tolerance(stft_tol)
        )
        if config is None:
            raise BundleError(where, "config", "present when stft is", "missing")

    golden = top.sub("golden")
    assert golden is not None
    cases = golden.get("cases", list, "a non-empty list of case names")
    if not cases or not all(isinstance(c, str) and c for c in cases):
        raise BundleError(where, "golden.cases", "a non-empty list of case names", describe(cases))
    files = top.get("files", dict, "an object of file name -> sha256")
    for name, digest in files.items():
        if not (
            isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
        ):
            raise BundleError(where, f"files.{name}", "a sha256 hex digest", describe(digest))
        if "/" in name or name.startswith("."):
            raise BundleError(where, f"files.{name}", "a plain file name inside the bundle", describe(name))
    golden_file = golden.get("file", str, "a file name")
    for needed in [golden_file, *(v.file for v in variants.values())]:
        if needed not in files:
            raise BundleError(
                where, "files", f"an entry for {needed}", "none (unhashed files are not trusted)"
            )
    labels = top.get("labels", list, "a list of class names", optional=True) or []
    return Manifest(
        path=path,
        name=top.get("name", str, "a bundle name"),
        torch_version=top.get("torch", str, "a torch version string"),
        torchaudio_version=top.get("torchaudio", str, "a torchaudio version string"),
        config=config,
        labels=[str(x) for x in labels],
        variants=variants,
        stft=stft,
        golden_file=golden_file,
        cases=list(cases),
        files=dict(files),
        raw=data,
    )


def check_files(manifest: Manifest) -> None:
    """Every listed file exists and its sha256 matches; raises on the first that does not."""
    for name, digest in manifest.files.items():
        path = manifest.root / name
        if not path.is_file():
            raise BundleError(str(path), "file", f"present (listed in {MANIFEST})", "missing")
        actual = sha256_file(path)
        if actual != digest:
            raise BundleError(str(path), "sha256", digest[:16] + "…", actual[:16] + "… (file changed)")


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


def write_manifest(bundle: Path, manifest: dict[str, Any]) -> Path:
    """Fill in the sha256 of every file the manifest names and write it (keys sorted: stable bytes)."""
    names = {manifest["golden"]["file"], *(v["file"] for v in manifest["models"].values())}
    manifest = dict(manifest, schema=SCHEMA, files={n: sha256_file(bundle / n) for n in sorted(names)})
    path = bundle / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
