"""On-device correctness: ``armstft info`` and ``armstft verify`` as the board runs them.

The corrupted-bundle test is what proves the verify check can fail at all: a passing verify means little if a
flipped byte in the weights would pass too.
"""

from __future__ import annotations

import pytest

from harness.hilsteps import parse_stdout_json

pytestmark = pytest.mark.stage("verifying")

KNOWN_FFT_BACKENDS = {"pocketfft", "mkl", "fftw", "cufft", "kissfft", "armstft", "vdsp"}


@pytest.fixture(scope="module")
def info(device_steps):
    step = device_steps["info"]
    assert step["returncode"] == 0, step["stderr"]
    doc = parse_stdout_json(step)
    assert isinstance(doc, dict), f"armstft info printed no JSON object: {step['stdout'][:200]!r}"
    return doc


def test_info_schema_and_machine(info):
    assert info["schema"] == "armstft.info/1"
    assert info["machine"] == "aarch64"
    assert info["torch"].startswith("2.9.1")
    assert info["torchaudio"].startswith("2.9.1")


def test_info_blas_is_openblas(info):
    assert info["blas"] == "OpenBLAS"


def test_info_cpu_has_neon_or_better(info):
    assert info["neon"] is True or str(info["cpu_capability"]).upper().startswith("SVE"), info


def test_info_fft_backend_known(info):
    assert info["fft_backend"] in KNOWN_FFT_BACKENDS, info["fft_backend"]


def test_verify_default_bundle_passes(device_steps):
    step = device_steps["verify"]
    doc = parse_stdout_json(step)
    assert isinstance(doc, dict), (
        f"no JSON from verify: rc={step['returncode']} stderr={step['stderr'][-300:]}"
    )
    assert doc["schema"] == "armstft.verify/1"
    failed = [c for c in doc["cases"] if not c["ok"]]
    assert not failed, failed
    assert doc["ok"] is True and doc["error"] is None
    assert step["returncode"] == 0
    assert {"fp32", "int8"} <= {c["variant"] for c in doc["cases"]}


def test_verify_corrupted_bundle_fails_clearly(device_steps):
    step = device_steps["verify-corrupt"]
    assert step["returncode"] in (1, 2), f"corrupted bundle gave exit {step['returncode']}"
    lines = [ln for ln in step["stderr"].splitlines() if ln.strip()]
    assert "Traceback" not in step["stderr"], step["stderr"][-500:]
    assert len(lines) == 1, lines
    assert lines[0].startswith("armstft: error:"), lines[0]
    assert step["corrupted_file"] in lines[0], f"error does not name {step['corrupted_file']}: {lines[0]}"
