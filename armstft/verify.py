"""``armstft verify BUNDLE``: does this device compute what the host recorded, within stated tolerances?

Order matters, and each step only trusts what the one before it checked:

1. the manifest, against its closed schema (armstft.bundle);
2. every file: read once, sizes first, hashed; these bytes are the only ones ever loaded;
3. golden.npz from those bytes: exactly the named arrays, dtypes and shapes the config implies, finite
   (armstft.golden), and each STFT reference recomputed from the manifest's config;
4. the models, in a worker process with a watchdog (armstft.sandbox): TorchScript only, loaded from the
   hashed bytes; a model that states the config it was built with must agree with the manifest;
5. every golden case for every variant. A NaN or Inf output is a failed case, never within tolerance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from armstft import asbuilt, limits, pt2file, strictjson
from armstft.bundle import Bundle, Manifest, Tolerance, golden_key, open_bundle, version_warnings
from armstft.config import StftConfig
from armstft.errors import ArmstftError, BundleError, describe
from armstft.golden import check_golden, check_reference, read_npz
from armstft.reference import peak_relative_error
from armstft.sandbox import Worker, WorkerError, WorkerStopped

# Fields of StftConfig that only a model's own statement can confirm (the STFT ones are also confirmed by
# the STFT stage against references recomputed from the manifest's config).
DECLARED_ONLY = ("sample_rate", "n_mels", "f_min", "f_max", "max_seconds")
CONFIG_ATTRIBUTE = "armstft_config"
CONFIG_ATTRIBUTE_MAX_BYTES = 4096


@dataclass
class CaseResult:
    name: str
    variant: str
    stage: str
    max_abs: float | None
    max_rel: float | None
    atol: float
    rtol: float
    ok: bool
    problem: str | None = None


@dataclass
class VerifyReport:
    bundle: str
    ok: bool = False
    cases: list[CaseResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"schema": "armstft.verify/1", **asdict(self)}


@dataclass
class Checked:
    """A bundle whose files, golden arrays and references passed every check that needs no model."""

    bundle: Bundle
    golden: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray]

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
    return Checked(bundle, golden, inputs)


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


def has_programs(manifest: Manifest, names: list[str] | None = None) -> bool:
    """Whether any (named) variant is a torch.export program: its worker preloads the deserializer."""
    wanted = manifest.variants if names is None else {n: manifest.variants[n] for n in names}
    return any(v.format == "exported_program" for v in wanted.values())


def load_model(worker: Worker, bundle: Bundle, name: str, methods: list[str]) -> dict[str, Any]:
    """Send one variant's hashed bytes to the worker, in its format and under its quantized engine; a
    ``.pt2`` is first checked to hold nothing ``torch.export.load`` would unpickle (armstft.pt2file).
    The loaded graph's operators must match the variant's description (armstft.asbuilt)."""
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


def load_models(worker: Worker, manifest: Manifest, bundle: Bundle, report: VerifyReport | None) -> None:
    """Load every variant in the worker; check what each model states about itself."""
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
    if report is not None and manifest.config is not None and not declaring:
        report.warnings.append(
            f"{manifest.path}: config: no model states the config it was built with; "
            f"{', '.join(DECLARED_ONLY)} are not checked (the STFT stage checks the rest)"
        )


def run_model(
    worker: Worker, bundle: Bundle, variant: str, method: str, audio: np.ndarray, case: str
) -> np.ndarray:
    """One call in the worker; a watchdog stop or a dead worker is a :class:`BundleError` naming the case."""
    where = bundle.where(bundle.manifest.variants[variant].file)
    header = {"op": "call", "model": variant, "method": method, "max_bytes": limits.WORKER_OUTPUT_MAX_BYTES}
    try:
        _, arrays = worker.request(header, [audio])
    except WorkerStopped as err:
        raise BundleError(
            where,
            f"{method}({case})",
            f"to finish within {worker.case_seconds:g} s (--case-seconds)",
            str(err),
        ) from None
    out = arrays[0]
    assert isinstance(out, np.ndarray)
    return out


def compare_outputs(
    got: np.ndarray, want: np.ndarray, tol: Tolerance
) -> tuple[float | None, float | None, str | None]:
    """(max_abs, max_rel, problem): allclose-style, and refuses NaN/Inf, complex values and shape changes."""
    if got.shape != want.shape:
        return None, None, f"shape {got.shape}, expected {want.shape}"
    if np.iscomplexobj(got):
        return None, None, f"dtype {got.dtype}, expected real values"
    bad = ~np.isfinite(got)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        return None, None, f"output has NaN/Inf (first at {list(index)}: {got[index]})"
    got64, want64 = got.astype(np.float64), want.astype(np.float64)
    diff = np.abs(got64 - want64)
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = np.maximum(np.abs(want64), 1e-12)
    max_rel = float((diff / scale).max()) if diff.size else 0.0
    over = diff > tol.atol + tol.rtol * np.abs(want64)
    problem = f"{int(over.sum())} of {over.size} values out of tolerance" if over.any() else None
    return max_abs, max_rel, problem


def _verify_stft(
    got: np.ndarray | None, failure: str | None, want: np.ndarray, tol: Tolerance, case: str, variant: str
) -> CaseResult:
    def failed(problem: str, max_abs: float | None = None, rel: float | None = None) -> CaseResult:
        return CaseResult(case, variant, "stft", max_abs, rel, 0.0, tol.peak_rel, False, problem)

    if failure is not None or got is None:
        return failed(failure or "no output")
    if got.shape != want.shape:
        return failed(f"shape {got.shape}, expected {want.shape}")
    if not np.all(np.isfinite(got)):
        return failed("output has NaN/Inf")
    rel = peak_relative_error(got, want)
    max_abs = float(np.max(np.abs(got.astype(np.complex128) - want)))
    if not rel <= tol.peak_rel:
        return failed(f"peak-relative error {rel:.2e} > {tol.peak_rel:.0e}", max_abs, rel)
    return CaseResult(case, variant, "stft", max_abs, rel, 0.0, tol.peak_rel, True, None)


def _call(
    worker: Worker, bundle: Bundle, variant: str, method: str, audio: np.ndarray, case: str
) -> tuple[np.ndarray | None, str | None]:
    """(output, None), or (None, what the model raised): a model that raises on the device fails the case."""
    try:
        return run_model(worker, bundle, variant, method, audio, case), None
    except WorkerError as err:
        if err.kind == "output":
            return None, f"unusable output: {err.detail}"
        return None, f"the model raised {err}"


def verify_bundle(path: Any, report: VerifyReport, case_seconds: float = limits.CASE_SECONDS) -> VerifyReport:
    """Fill ``report`` case by case (so a caller that dies midway still has what was checked)."""
    checked = check_bundle(path)
    manifest, bundle, golden = checked.manifest, checked.bundle, checked.golden
    with Worker("fork", case_seconds=case_seconds, preload_export=has_programs(manifest)) as worker:
        report.warnings.extend(
            version_warnings(manifest, worker.versions["torch"], worker.versions["torchaudio"])
        )
        load_models(worker, manifest, bundle, report)
        for case, audio in checked.inputs.items():
            if manifest.stft is not None:
                for model in manifest.stft.models:
                    got, failure = _call(worker, bundle, model, manifest.stft.method, audio, case)
                    want = golden[golden_key(case, "stft_ref")]
                    report.cases.append(
                        _verify_stft(got, failure, want, manifest.stft.tolerance, case, model)
                    )
            for name, variant in manifest.variants.items():
                tol = variant.tolerance
                got, failure = _call(worker, bundle, name, "forward", audio, case)
                want = golden[golden_key(case, f"out.{name}")]
                if got is None:
                    max_abs, max_rel, problem = None, None, failure
                else:
                    max_abs, max_rel, problem = compare_outputs(got, want, tol)
                if problem is None and got is not None and tol.argmax_matches is not None:
                    ref = golden[golden_key(case, f"out.{tol.argmax_matches}")]
                    if got.ndim < 1 or not np.array_equal(got.argmax(axis=-1), ref.argmax(axis=-1)):
                        problem = f"predicted class differs from {tol.argmax_matches}"
                report.cases.append(
                    CaseResult(
                        case, name, "model", max_abs, max_rel, tol.atol, tol.rtol, problem is None, problem
                    )
                )
    report.ok = bool(report.cases) and all(c.ok for c in report.cases)
    return report
