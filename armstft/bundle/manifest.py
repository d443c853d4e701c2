"""The model bundle on disk: the manifest's strict schema, and reading + hashing every file once.

A bundle is the only thing the board trusts, and only after every file's sha256 matches the manifest.
Layout::

    manifest.json   schema, config, versions, tolerances, sha256 of every other file
    model_*.pt      TorchScript (frozen) models, one per variant (fp32, int8, ...)
    *.pt2           torch.export programs (ExportedProgram archives, armstft.bundle.pt2file), optional
    golden.npz      per case: input, float64 reference of the STFT stage, host outputs per variant

The manifest schema is closed: an unknown or misspelled key anywhere is an error (a typo must never
silently turn a check off), every value has a type and a range, every count and string is bounded
(armstft.core.bounds). :func:`open_bundle` then reads each listed file once (armstft.bundle.files),
hashes those bytes and hands back the same bytes for loading.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armstft.bundle import calling, fields
from armstft.bundle.files import BundleDir, check_total
from armstft.bundle.hashing import digest_difference, sha256_bytes, sha256_file
from armstft.core import bounds, strictjson
from armstft.core.config import BACKENDS, StftConfig
from armstft.core.errors import ArmstftError, BundleError, describe

MANIFEST = "manifest.json"
PRECISIONS = ("fp32", "int8")
# torch.backends.quantized engines a variant may ask to be loaded and run with (static int8 needs its own).
QUANTIZED_ENGINES = ("qnnpack", "x86", "fbgemm", "onednn")
# What a variant's forward returns: class logits (run, argmax checks) or the log-mel features alone.
STAGES = ("logits", "log_mel")
# A variant's file format, from its name's suffix (one fact: the name says what loads it).
FORMATS = {".pt": "torchscript", ".pt2": "exported_program"}
# Names end up in golden keys (<case>.out.<variant>) and in output lines: no dots, no spaces, no controls.
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
METHOD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
SHA256 = re.compile(r"[0-9a-f]{64}")


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
    quantized_engine: str | None = None
    stage: str = "logits"
    outputs: tuple[str, ...] = ()  # names of a tuple's/dict's tensors (armstft.bundle.calling)

    @property
    def format(self) -> str:
        """``torchscript`` (``.pt``) or ``exported_program`` (``.pt2``)."""
        return FORMATS[Path(self.file).suffix]


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
    call: calling.Call = field(default_factory=calling.Call)
    sizes: dict[str, int] | None = None  # each file's size as declared (schema /2): its read limit

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def input_config(self) -> StftConfig:
        """The config inputs are sized and checked with: the manifest's, or the defaults for a bundle that
        states none (a user's own model bundled without ``--config``)."""
        return self.config or StftConfig()

    def golden_members(self) -> list[str]:
        """Every array golden.npz must hold, and nothing else."""
        out = []
        for case in self.cases:
            out.append(golden_key(case, "input"))
            out.extend(golden_key(case, f"input.{name}") for name in self.call.inputs)
            if self.stft is not None:
                out.append(golden_key(case, "stft_ref"))
            for name, variant in self.variants.items():
                out.extend(golden_key(case, what) for what in calling.output_keys(name, variant.outputs))
        return out


@dataclass
class Bundle:
    """A bundle whose files were read once and whose bytes match the manifest's sha256."""

    manifest: Manifest
    data: dict[str, bytes] = field(repr=False)

    def where(self, name: str) -> str:
        return str(self.manifest.root / name)


def golden_key(case: str, what: str) -> str:
    """Name of an array in golden.npz: ``<case>.input``, ``<case>.stft_ref``, ``<case>.out.<variant>``."""
    return f"{case}.{what}"


# --- the schema (field parsers: armstft.bundle.fields) ----------------------------------------------

_name = fields.pattern(NAME, bounds.NAME_MAX_CHARS, "a name")
_file_name = fields.pattern(FILE_NAME, bounds.FILE_NAME_MAX_CHARS, "a plain file name inside the bundle")
_method = fields.pattern(METHOD, bounds.NAME_MAX_CHARS, "a method name")


def _tolerance(obj: fields.Object, stage: str) -> Tolerance:
    if stage == "stft":
        peak = obj.take("peak_rel", fields.number(0.0, bounds.TOL_MAX_PEAK_REL))
        obj.done()
        if peak <= 0:
            raise BundleError(obj.where, obj.field("peak_rel"), "a number > 0", describe(peak))
        return Tolerance(peak_rel=peak)
    atol = obj.take("atol", fields.number(0.0, bounds.TOL_MAX_ATOL), required=False) or 0.0
    rtol = obj.take("rtol", fields.number(0.0, bounds.TOL_MAX_RTOL), required=False) or 0.0
    argmax = obj.take("argmax_matches", _name, required=False)
    obj.done()
    if atol <= 0 and rtol <= 0:
        raise BundleError(obj.where, obj.name, "atol or rtol > 0", "neither")
    return Tolerance(atol=atol, rtol=rtol, argmax_matches=argmax)


def _variant(name: str, obj: fields.Object, default_backend: str, schema: str) -> Variant:
    """One ``models`` entry; its STFT backend defaults to the config's (so the config's is checked too)."""
    file = obj.take("file", _file_name)
    tolerance = _tolerance(obj.sub("tolerance"), "model")  # type: ignore[arg-type]
    precision = obj.take("precision", fields.choice(PRECISIONS), required=False) or "fp32"
    backend = obj.take("stft_backend", fields.choice(BACKENDS), required=False) or default_backend
    obj.take("quantization", fields.text(), required=False)  # a note for people; no check reads it
    engine = obj.take("quantized_engine", fields.choice(QUANTIZED_ENGINES), required=False)
    stage = obj.take("stage", fields.choice(STAGES), required=False) or "logits"
    outputs = calling.parse_outputs(obj, schema, _name)
    obj.done()
    if Path(file).suffix not in FORMATS:
        raise BundleError(obj.where, obj.field("file"), f"a name ending in {' or '.join(FORMATS)}", file)
    if stage != "logits" and tolerance.argmax_matches is not None:
        raise BundleError(
            obj.where, obj.field("tolerance.argmax_matches"), "none for a non-logits stage", "set"
        )
    if outputs and stage != "logits":
        raise BundleError(obj.where, obj.field("outputs"), "none for a non-logits stage", "set")
    return Variant(name, file, tolerance, precision, backend, engine, stage, outputs)


def _config(top: fields.Object, where: str) -> StftConfig | None:
    """The optional ``config``: a user's model may come without one (then nothing checks the STFT stage)."""
    config_obj = top.sub("config", required=False)
    if config_obj is None:
        return None
    try:
        return StftConfig.from_dict(config_obj.data, where)
    except ArmstftError as err:
        raise BundleError(err.where, err.field, err.expected, err.got) from None


def _variants(top: fields.Object, where: str, config: StftConfig | None, schema: str) -> dict[str, Variant]:
    """``models``: every variant, and each ``argmax_matches`` naming another of them."""
    models = top.sub("models")
    assert models is not None
    if not 1 <= len(models.data) <= bounds.MAX_VARIANTS:
        raise BundleError(where, "models", f"1..{bounds.MAX_VARIANTS} variants", f"{len(models.data)}")
    variants: dict[str, Variant] = {}
    for variant_name in list(models.data):
        _name(where, f"models key {variant_name!r}", variant_name)
        entry = models.sub(variant_name)
        assert entry is not None
        backend = config.stft_backend if config else "aten"
        variants[variant_name] = _variant(variant_name, entry, backend, schema)
    for variant in variants.values():
        ref = variant.tolerance.argmax_matches
        if ref is not None and (ref not in variants or ref == variant.name):
            raise BundleError(
                where, f"models.{variant.name}.tolerance.argmax_matches", "another variant", describe(ref)
            )
    return variants


def _stft(
    top: fields.Object, where: str, variants: dict[str, Variant], config: StftConfig | None
) -> StftStage | None:
    """The optional ``stft`` stage: which variants expose it, by which method, within which tolerance."""
    stft = None
    stft_obj = top.sub("stft", required=False)
    if stft_obj is not None:
        stft_models = stft_obj.take("models", fields.list_of(_name, 1, bounds.MAX_VARIANTS, "variant names"))
        fields.unique(where, "stft.models", stft_models)
        for i, model in enumerate(stft_models):
            if model not in variants:
                raise BundleError(where, f"stft.models[{i}]", f"one of {', '.join(variants)}", model)
        method = stft_obj.take("method", _method)
        tolerance = _tolerance(stft_obj.sub("tolerance"), "stft")  # type: ignore[arg-type]
        stft_obj.done()
        stft = StftStage(stft_models, method, tolerance)
        if config is None:
            raise BundleError(where, "config", "present when stft is", "missing")
    return stft


def _golden(
    top: fields.Object, where: str, variants: dict[str, Variant], stft: StftStage | None
) -> tuple[str, list[str]]:
    """``golden``: its file and case names, the checks they make bounded (cases x models)."""
    golden = top.sub("golden")
    assert golden is not None
    golden_file = golden.take("file", _file_name)
    cases = golden.take("cases", fields.list_of(_name, 1, bounds.MAX_CASES, "case names"))
    golden.done()
    fields.unique(where, "golden.cases", cases)
    checks = len(cases) * (len(variants) + (len(stft.models) if stft else 0))
    if checks > bounds.MAX_CHECKS:
        raise BundleError(
            where, "golden.cases", f"at most {bounds.MAX_CHECKS} checks (cases x models)", f"{checks}"
        )
    return golden_file, cases


def _files(top: fields.Object, where: str, variants: dict[str, Variant], golden_file: str) -> dict[str, str]:
    """``files``: a sha256 for exactly the files the manifest uses, none for the manifest itself."""
    needed = {golden_file: "golden.file"}
    for variant in variants.values():
        used_by = f"models.{variant.name}.file"
        if variant.file in (golden_file, MANIFEST):
            raise BundleError(
                where, used_by, "a model file (not golden.file, not the manifest)", variant.file
            )
        needed.setdefault(variant.file, used_by)
    if golden_file == MANIFEST:
        raise BundleError(where, "golden.file", "a file other than the manifest", golden_file)
    files_obj = top.sub("files")
    assert files_obj is not None
    files: dict[str, str] = {}
    for file in files_obj.data:
        if file not in needed:
            raise BundleError(
                where, f"files.{file}", "only files the manifest uses (models.*.file, golden.file)", "unused"
            )
    for file, used_by in needed.items():
        if file not in files_obj.data:
            raise BundleError(
                where, "files", f"an entry for {file} ({used_by})", "none (unhashed files are not trusted)"
            )
        files[file] = files_obj.take(file, fields.pattern(SHA256, 64, "a sha256 hex digest"))
    files_obj.done()
    return files


def parse_manifest(data: object, path: Path) -> Manifest:
    """Validate a parsed manifest against the closed schema; every problem names the file and the field."""
    where = str(path)
    top = fields.Object(where, data, "")
    schema = top.take("schema", fields.text())
    if schema not in calling.SCHEMAS:
        raise BundleError(where, "schema", " or ".join(f'"{s}"' for s in calling.SCHEMAS), describe(schema))
    name = top.take("name", fields.text(bounds.NAME_MAX_CHARS))
    top.take("armstft", fields.text(bounds.NAME_MAX_CHARS), required=False)
    torch_version = top.take("torch", fields.text(bounds.NAME_MAX_CHARS))
    torchaudio_version = top.take("torchaudio", fields.text(bounds.NAME_MAX_CHARS))
    config = _config(top, where)
    labels = top.take(
        "labels", fields.list_of(fields.text(bounds.NAME_MAX_CHARS), 0, bounds.MAX_LABELS, "labels"), False
    )
    fields.provenance(top.sub("training", required=False), _name)
    fields.exported_on(top.sub("exported_on", required=False))

    call = calling.parse_call(top, schema, _name)
    variants = _variants(top, where, config, schema)
    stft = _stft(top, where, variants, config)
    golden_file, cases = _golden(top, where, variants, stft)
    files = _files(top, where, variants, golden_file)
    sizes = calling.parse_sizes(top, schema, files, golden_file)
    top.done()
    return Manifest(
        path=path,
        name=name,
        torch_version=torch_version,
        torchaudio_version=torchaudio_version,
        config=config,
        labels=list(labels or []),
        variants=variants,
        stft=stft,
        golden_file=golden_file,
        cases=list(cases),
        files=files,
        raw=data,  # type: ignore[arg-type]
        call=call,
        sizes=sizes,
    )


def read_manifest(bundle: BundleDir) -> Manifest:
    """Read ``manifest.json`` (bounded, a regular file, no links) and validate it."""
    where = bundle.where(MANIFEST)
    raw = bundle.read(MANIFEST, bounds.MANIFEST_MAX_BYTES)
    try:
        data = strictjson.loads(raw)
    except strictjson.JsonError as err:
        raise BundleError(where, err.field, "standard JSON within the manifest's bounds", str(err)) from None
    return parse_manifest(data, bundle.path / MANIFEST)


def load_manifest(path: Path) -> Manifest:
    """The validated manifest of the bundle at ``path`` (no other file is read)."""
    with BundleDir.open(Path(path)) as bundle:
        return read_manifest(bundle)


def open_bundle(path: Path) -> Bundle:
    """Manifest, then every listed file read once (sizes checked first) and its sha256 compared.

    Raises on the first file that is missing, not a regular file inside the bundle, over its limit, or
    whose bytes do not match; the returned bytes are the hashed ones and the only ones ever loaded.
    """
    with BundleDir.open(Path(path)) as bundle:
        manifest = read_manifest(bundle)
        if manifest.sizes is None:  # schema /1: the fixed limits
            check_total(bundle, [(name, MANIFEST) for name in manifest.files])
        data: dict[str, bytes] = {}
        for name, want in manifest.files.items():
            limit = calling.size_limit(manifest.sizes, name, name == manifest.golden_file)
            content = bundle.read(name, limit, listed_in=MANIFEST)
            got = sha256_bytes(content)
            if got != want:
                raise BundleError(bundle.where(name), "sha256", want, digest_difference(want, got))
            data[name] = content
    return Bundle(manifest, data)


def write_manifest(bundle: Path, manifest: dict[str, Any]) -> Path:
    """Fill in the sha256 of every file the manifest names and write it (keys sorted: stable bytes)."""
    names = {manifest["golden"]["file"], *(v["file"] for v in manifest["models"].values())}
    schema = calling.schema_for(manifest)
    manifest = dict(manifest, schema=schema, files={n: sha256_file(bundle / n) for n in sorted(names)})
    if schema == calling.SCHEMA_V2:
        manifest["sizes"] = {n: (bundle / n).stat().st_size for n in sorted(names)}
    path = bundle / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    parse_manifest(json.loads(path.read_text(encoding="utf-8")), path)  # what we write, we accept
    return path
