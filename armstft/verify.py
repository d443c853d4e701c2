"""``armstft verify BUNDLE``: does this device compute what the host recorded, within stated tolerances?

Order matters: hashes first (nothing unverified is loaded), then the manifest's versions (warn only), then
the models (TorchScript only: no arbitrary pickle), then every golden case for every variant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchaudio

from armstft.audio import check_audio
from armstft.bundle import Manifest, Tolerance, check_files, golden_key, load_manifest, version_warnings
from armstft.config import StftConfig
from armstft.errors import BundleError
from armstft.reference import peak_relative_error


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


def load_model(path: Path, where: str) -> torch.jit.ScriptModule:
    """TorchScript only: ``torch.jit.load`` rebuilds code from the archive's TorchScript source and never
    runs arbitrary pickled Python. Models whose front end calls ``armstft::stft`` need the operator
    registered first, hence the import (it falls back to torch.stft if the native engine is absent)."""
    import armstft.faststft  # noqa: F401

    try:
        return torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # the message from deep inside torch is not actionable; the file is.
        raise BundleError(
            where, "file", "a TorchScript archive", f"unloadable ({type(err).__name__})"
        ) from None


def load_golden(manifest: Manifest) -> dict[str, np.ndarray]:
    path = manifest.root / manifest.golden_file
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as err:
        raise BundleError(str(path), "file", "a NumPy .npz archive", f"unreadable ({err})") from None


def compare_outputs(got: np.ndarray, want: np.ndarray, tol: Tolerance) -> tuple[float, float, str | None]:
    """(max_abs, max_rel, problem): allclose-style check that also refuses NaN/Inf and shape changes."""
    if got.shape != want.shape:
        return float("nan"), float("nan"), f"shape {got.shape}, expected {want.shape}"
    if not np.all(np.isfinite(got)):
        return float("nan"), float("nan"), "output has NaN/Inf"
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = np.maximum(np.abs(want.astype(np.float64)), 1e-12)
    max_rel = float((diff / scale).max()) if diff.size else 0.0
    over = diff > tol.atol + tol.rtol * np.abs(want)
    problem = f"{int(over.sum())} of {over.size} values out of tolerance" if over.any() else None
    return max_abs, max_rel, problem


def _check_case_input(golden: dict[str, np.ndarray], manifest: Manifest, case: str) -> np.ndarray:
    key = golden_key(case, "input")
    where = str(manifest.root / manifest.golden_file)
    if key not in golden:
        raise BundleError(where, key, "an input array", "missing")
    return check_audio(golden[key], manifest.config or StftConfig(), where, field=key)


def verify_bundle(bundle: Path, report: VerifyReport) -> VerifyReport:
    """Fill ``report`` case by case (so a caller that dies midway still has what was checked)."""
    manifest = load_manifest(bundle)
    check_files(manifest)
    report.warnings.extend(version_warnings(manifest, torch.__version__, torchaudio.__version__))
    models = {
        name: load_model(manifest.root / v.file, str(manifest.root / v.file))
        for name, v in manifest.variants.items()
    }
    golden = load_golden(manifest)
    golden_path = str(manifest.root / manifest.golden_file)
    outputs: dict[tuple[str, str], np.ndarray] = {}
    for case in manifest.cases:
        audio = torch.from_numpy(_check_case_input(golden, manifest, case))
        if manifest.stft is not None:
            for model in manifest.stft.models:
                report.cases.append(
                    _verify_stft(models[model], model, manifest, golden, case, audio, golden_path)
                )
        for name, variant in manifest.variants.items():
            key = golden_key(case, f"out.{name}")
            tol = variant.tolerance
            if key not in golden:
                raise BundleError(golden_path, key, f"golden outputs for variant {name}", "missing")
            with torch.inference_mode():
                got = models[name](audio).numpy()
            outputs[(case, name)] = got
            max_abs, max_rel, problem = compare_outputs(got, golden[key], tol)
            if problem is None and tol.argmax_matches is not None:
                ref = golden[golden_key(case, f"out.{tol.argmax_matches}")]
                if not np.array_equal(got.argmax(axis=-1), ref.argmax(axis=-1)):
                    problem = f"predicted class differs from {tol.argmax_matches}"
            report.cases.append(
                CaseResult(
                    case, name, "model", max_abs, max_rel, tol.atol, tol.rtol, problem is None, problem
                )
            )
    report.ok = bool(report.cases) and all(c.ok for c in report.cases)
    return report


def _verify_stft(
    module: torch.jit.ScriptModule,
    variant: str,
    manifest: Manifest,
    golden: dict[str, np.ndarray],
    case: str,
    audio: torch.Tensor,
    golden_path: str,
) -> CaseResult:
    assert manifest.stft is not None
    stage = manifest.stft
    key = golden_key(case, "stft_ref")
    if key not in golden:
        raise BundleError(golden_path, key, "the float64 STFT reference", "missing")
    if not hasattr(module, stage.method):
        where = str(manifest.root / manifest.variants[variant].file)
        raise BundleError(where, f"method {stage.method}", "an exported STFT stage method", "missing")
    with torch.inference_mode():
        got = getattr(module, stage.method)(audio).numpy()
    want = golden[key]
    tol = stage.tolerance
    if got.shape != want.shape:
        return CaseResult(case, variant, "stft", None, None, 0.0, tol.peak_rel, False, f"shape {got.shape}")
    if not np.all(np.isfinite(got)):
        return CaseResult(case, variant, "stft", None, None, 0.0, tol.peak_rel, False, "output has NaN/Inf")
    rel = peak_relative_error(got, want)
    max_abs = float(np.max(np.abs(got.astype(np.complex128) - want)))
    ok = rel <= tol.peak_rel
    problem = None if ok else f"peak-relative error {rel:.2e} > {tol.peak_rel:.0e}"
    return CaseResult(case, variant, "stft", max_abs, rel, 0.0, tol.peak_rel, ok, problem)
