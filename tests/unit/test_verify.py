"""``armstft verify``: passes on the committed bundle; every kind of bad bundle fails with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.unit.conftest import DEFAULT_BUNDLE, rewrite_manifest


def test_default_bundle_verifies(run_cli) -> None:
    code, doc, err = run_cli("verify", str(DEFAULT_BUNDLE))
    assert code == 0, err
    assert doc["schema"] == "armstft.verify/1" and doc["ok"] is True and doc["error"] is None
    stages = {(c["stage"], c["variant"]) for c in doc["cases"]}
    assert stages == {
        ("stft", "fp32"),
        ("stft", "fp32_armstft"),
        ("model", "fp32"),
        ("model", "int8"),
        ("model", "fp32_armstft"),
    }
    for case in doc["cases"]:
        assert case["ok"] and case["max_abs"] is not None
    stft = [c for c in doc["cases"] if c["stage"] == "stft"]
    assert max(c["max_rel"] for c in stft) <= 1e-5


def test_tampered_model_fails_naming_the_file(run_cli, bundle_copy: Path) -> None:
    model = bundle_copy / "model_fp32.pt"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2
    assert doc["ok"] is False and "model_fp32.pt: sha256: expected" in doc["error"]
    assert err.strip().splitlines()[-1].startswith("armstft: error: ")
    assert "model_fp32.pt" in err and "Traceback" not in err


def test_missing_file(run_cli, bundle_copy: Path) -> None:
    (bundle_copy / "golden.npz").unlink()
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["ok"] is False
    assert "golden.npz: file: expected present (listed in manifest.json), got missing" in err


def test_corrupt_file_with_matching_hash_is_refused_at_load(run_cli, bundle_copy: Path) -> None:
    """A file replaced *and* re-hashed (e.g. a broken copy step that also rewrote the manifest)."""
    from armstft.bundle import sha256_file

    model = bundle_copy / "model_int8.pt"
    model.write_bytes(b"this is not a TorchScript archive")
    rewrite_manifest(bundle_copy, lambda m: m["files"].update({"model_int8.pt": sha256_file(model)}))
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["error"] is not None
    assert "model_int8.pt: file: expected a TorchScript archive, got unloadable" in err


def test_golden_with_pickled_objects_is_refused(run_cli, bundle_copy: Path) -> None:
    from armstft.bundle import sha256_file

    golden = bundle_copy / "golden.npz"
    np.savez(golden, **{"tone.input": np.array([object()], dtype=object)})
    rewrite_manifest(bundle_copy, lambda m: m["files"].update({"golden.npz": sha256_file(golden)}))
    code, _, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and "golden.npz: file: expected a NumPy .npz archive" in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m.pop("files"),
            "manifest.json: files: expected an object of file name -> sha256, got missing",
        ),
        (lambda m: m.update(schema="other/9"), 'manifest.json: schema: expected "armstft.bundle/1", got'),
        (lambda m: m["config"].update(n_fft="512"), "manifest.json: config.n_fft: expected an integer >= 4"),
        (
            lambda m: m["config"].pop("hop_length"),
            "manifest.json: config.hop_length: expected present, got missing",
        ),
        (lambda m: m["config"].update(window="kaiser"), "config.window: expected one of hann"),
        (
            lambda m: m["models"]["int8"]["tolerance"].update(atol=-1),
            "models.int8.tolerance.atol: expected a number",
        ),
        (lambda m: m["models"]["fp32"].pop("file"), "models.fp32.file: expected a file name, got missing"),
        (lambda m: m["golden"].update(cases=[]), "golden.cases: expected a non-empty list of case names"),
        (
            lambda m: m["files"].update({"golden.npz": "abc"}),
            "files.golden.npz: expected a sha256 hex digest",
        ),
        (lambda m: m["files"].pop("model_int8.pt"), "files: expected an entry for model_int8.pt"),
        (lambda m: m["stft"].update(models=["fp16"]), "stft.models: expected variants among ['fp32', "),
        (
            lambda m: m["models"]["fp32"].update(stft_backend="cufft"),
            "fp32.stft_backend: expected one of aten",
        ),
    ],
)
def test_bad_manifest_fields(run_cli, bundle_copy: Path, change, message: str) -> None:
    rewrite_manifest(bundle_copy, change)
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and message in doc["error"]
    assert message in err, err
    assert len(err.strip().splitlines()) == 1


def test_manifest_not_json(run_cli, bundle_copy: Path) -> None:
    (bundle_copy / "manifest.json").write_text("{ not json")
    code, _, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and "manifest.json: document: expected valid JSON" in err


def test_missing_golden_case(run_cli, bundle_copy: Path) -> None:
    rewrite_manifest(bundle_copy, lambda m: m["golden"]["cases"].append("no_such_case"))
    code, _, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and "golden.npz: no_such_case.input: expected an input array, got missing" in err


def test_other_torch_version_warns_but_still_runs(run_cli, bundle_copy: Path) -> None:
    rewrite_manifest(bundle_copy, lambda m: m.update(torch="2.7.0"))
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 0 and doc["ok"]
    assert any("torch: bundle made with 2.7.0" in w for w in doc["warnings"])
    assert "warning:" in err


def test_out_of_tolerance_output_is_a_mismatch(run_cli, bundle_copy: Path) -> None:
    """Shift one golden logit: verify must report exit 1 and name the case (proves the check can fail)."""
    from armstft.bundle import sha256_file

    golden = bundle_copy / "golden.npz"
    with np.load(golden) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["chirp.out.fp32"] = arrays["chirp.out.fp32"] + np.float32(0.01)
    np.savez(golden, **arrays)
    rewrite_manifest(bundle_copy, lambda m: m["files"].update({"golden.npz": sha256_file(golden)}))
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 1 and doc["ok"] is False
    failed = [c for c in doc["cases"] if not c["ok"]]
    assert [(c["name"], c["variant"]) for c in failed] == [("chirp", "fp32")]
    assert "MISMATCH" in err


def test_nan_output_fails(run_cli, bundle_copy: Path) -> None:
    from armstft.bundle import sha256_file

    golden = bundle_copy / "golden.npz"
    with np.load(golden) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["tone.input"] = arrays["tone.input"].copy()
    arrays["tone.input"][0, 5] = np.nan
    np.savez(golden, **arrays)
    rewrite_manifest(bundle_copy, lambda m: m["files"].update({"golden.npz": sha256_file(golden)}))
    code, _, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and "tone.input[0, 5]: expected finite samples, got nan" in err


def test_no_bundle_directory(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("verify", str(tmp_path / "nope"))
    assert code == 2 and "nope: bundle: expected a bundle directory, got no such directory" in err


def test_python_dash_m_reports_one_line_without_traceback(bundle_copy: Path) -> None:
    (bundle_copy / "model_fp32.pt").write_bytes(b"x")
    proc = subprocess.run(
        [sys.executable, "-m", "armstft", "verify", str(bundle_copy)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "Traceback" not in proc.stderr and "model_fp32.pt: sha256" in proc.stderr
