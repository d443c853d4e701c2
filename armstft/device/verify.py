"""``armstft verify BUNDLE``: does this device compute what the host recorded, within stated tolerances?

Order matters, and each step only trusts what the one before it checked:

1. the manifest, against its closed schema (armstft.bundle);
2. every file: read once, sizes first, hashed; these bytes are the only ones ever loaded;
3. golden.npz from those bytes: exactly the named arrays, dtypes and shapes the config implies, finite
   (armstft.bundle.golden), and each STFT reference recomputed from the manifest's config;
4. the models, in a worker process with a watchdog (armstft.sandbox): TorchScript only, loaded from the
   hashed bytes; a model that states the config it was built with must agree with the manifest;
5. every golden case for every variant. A NaN or Inf output is a failed case, never within tolerance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from armstft.audio.reference import peak_relative_error
from armstft.bundle import calling
from armstft.bundle.checked import Checked, check_bundle
from armstft.bundle.manifest import Bundle, Tolerance, golden_key
from armstft.bundle.versions import version_warnings
from armstft.core import bounds
from armstft.sandbox.parent import Worker, WorkerError
from armstft.sandbox.variants import call_model, has_programs, load_models, run_model


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
    output: str | None = None  # which tensor of a tuple/dict output (manifest models.<variant>.outputs)


@dataclass
class VerifyReport:
    bundle: str
    ok: bool = False
    cases: list[CaseResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"schema": "armstft.verify/1", **asdict(self)}


def compare_outputs(
    got: np.ndarray, want: np.ndarray, tol: Tolerance
) -> tuple[float | None, float | None, str | None]:
    """(max_abs, max_rel, problem): allclose-style, and refuses NaN/Inf, complex values and shape changes."""
    if got.shape != want.shape:
        return None, None, f"shape {got.shape}, expected {want.shape}"
    if np.iscomplexobj(got) != np.iscomplexobj(want):
        kind = "complex" if np.iscomplexobj(want) else "real"
        return None, None, f"dtype {got.dtype}, expected {kind} values"
    if np.iscomplexobj(want):  # real and imaginary parts, each held to the tolerance
        got, want = np.stack([got.real, got.imag], -1), np.stack([want.real, want.imag], -1)
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


def _model_results(
    worker: Worker, checked: Checked, name: str, case: str, audio: np.ndarray
) -> list[CaseResult]:
    """Every output of one variant on one case, each against its golden array and the variant's tolerance
    (a tuple/dict output: one result per named tensor, ``<variant>.<name>``)."""
    manifest, golden = checked.manifest, checked.golden
    variant = manifest.variants[name]
    tol = variant.tolerance
    keys = calling.output_keys(name, variant.outputs)
    labels = list(variant.outputs) or [None]
    try:
        names, arrays = call_model(
            worker,
            checked.bundle,
            name,
            "forward",
            audio,
            case,
            manifest.call.arguments,
            checked.extras[case],
        )
        failure = None
        if names != list(variant.outputs):
            failure = f"outputs {names or 'one tensor'}, expected {list(variant.outputs) or 'one tensor'}"
    except WorkerError as err:
        names, arrays = [], []
        failure = f"unusable output: {err.detail}" if err.kind == "output" else f"the model raised {err}"
    results = []
    for i, (key, label) in enumerate(zip(keys, labels, strict=True)):
        want = golden[golden_key(case, key)]
        if failure is not None:
            max_abs, max_rel, problem = None, None, failure
        else:
            max_abs, max_rel, problem = compare_outputs(arrays[i], want, tol)
        if problem is None and tol.argmax_matches is not None:
            ref = golden[golden_key(case, f"out.{tol.argmax_matches}")]
            if arrays[i].ndim < 1 or not np.array_equal(arrays[i].argmax(axis=-1), ref.argmax(axis=-1)):
                problem = f"predicted class differs from {tol.argmax_matches}"
        results.append(
            CaseResult(
                case, name, "model", max_abs, max_rel, tol.atol, tol.rtol, problem is None, problem, label
            )
        )
    return results


def verify_bundle(path: Any, report: VerifyReport, case_seconds: float = bounds.CASE_SECONDS) -> VerifyReport:
    """Fill ``report`` case by case (so a caller that dies midway still has what was checked). A manifest
    whose ``call.state`` is ``fresh_load_per_case`` gets every model loaded afresh before each case."""
    checked = check_bundle(path)
    manifest, bundle, golden = checked.manifest, checked.bundle, checked.golden
    with Worker("fork", case_seconds=case_seconds, preload_export=has_programs(manifest)) as worker:
        report.warnings.extend(
            version_warnings(manifest, worker.versions["torch"], worker.versions["torchaudio"])
        )
        load_models(worker, manifest, bundle, report.warnings)
        for index, (case, audio) in enumerate(checked.inputs.items()):
            if index and manifest.call.fresh_load:
                load_models(worker, manifest, bundle, None)
            if manifest.stft is not None:
                for model in manifest.stft.models:
                    got, failure = _call(worker, bundle, model, manifest.stft.method, audio, case)
                    want = golden[golden_key(case, "stft_ref")]
                    report.cases.append(
                        _verify_stft(got, failure, want, manifest.stft.tolerance, case, model)
                    )
            for name in manifest.variants:
                report.cases.extend(_model_results(worker, checked, name, case, audio))
    report.ok = bool(report.cases) and all(c.ok for c in report.cases)
    return report
