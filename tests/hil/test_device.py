"""On-device correctness: ``armstft info`` and ``armstft verify`` as the board runs them.

The corrupted-bundle test is what proves the verify check can fail at all: a passing verify means little if a
flipped byte in the weights would pass too.  The bundle verified is the one pushed from the host (checked by
hash on arrival; ours or a user's); the image's own installed bundle is verified too where the board names
one, each judged against its own manifest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from armstft.bundle.manifest import load_manifest
from harness.steps.device import parse_stdout_json

pytestmark = pytest.mark.stage("verifying")


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


def test_info_fft_backend_is_pocketfft(info):
    # ATen's CPU FFT is MKL or pocketfft (armstft.nn.runtime); there is no MKL for ARM, so an ARM board
    # must say so
    assert info["fft_backend"] == "pocketfft", info["fft_backend"]


def test_info_engine_loaded_and_accelerating(info):
    # the image turns acceleration on for every session (ARMSTFT_ACCELERATE=1): unmodified torch.stft and
    # torch.fft calls reach armstft's engine, which must have loaded with its NEON path
    fast = info["faststft"]
    assert fast["available"] is True and fast["error"] is None, fast
    assert fast["simd"] == "neon", fast
    assert fast["accelerated"] is True, fast


@pytest.fixture(scope="module")
def installed_manifest_dir(board, board_facts, tmp_path_factory) -> Path:
    """The image's installed bundle's manifest, copied from the board (its variants are what verify ran)."""
    if not board_facts.installed_bundle:
        pytest.skip("this board names no installed bundle (env option armstft_bundle)")
    local = tmp_path_factory.mktemp("installed")
    board.get(f"{board_facts.installed_bundle}/manifest.json", local / "manifest.json", stage="verifying")
    return local


def _assert_verified(step, bundle_dir):
    doc = parse_stdout_json(step)
    assert isinstance(doc, dict), (
        f"no JSON from verify: rc={step['returncode']} stderr={step['stderr'][-300:]}"
    )
    assert doc["schema"] == "armstft.verify/1"
    failed = [c for c in doc["cases"] if not c["ok"]]
    assert not failed, failed
    assert doc["ok"] is True and doc["error"] is None
    assert step["returncode"] == 0
    # every variant the bundle carries ran on the board: fp32, dynamic and static int8, the .pt2 program
    want = set(load_manifest(Path(bundle_dir)).variants)
    assert {c["variant"] for c in doc["cases"] if c["stage"] == "model"} == want


def test_verify_pushed_bundle_passes(device_steps, host_bundle):
    _assert_verified(device_steps["verify"], host_bundle)


def test_verify_installed_bundle_passes(device_steps, installed_manifest_dir):
    # judged against the installed bundle's own manifest, whichever bundle the run pushed
    _assert_verified(device_steps["verify-installed"], installed_manifest_dir)


def test_verify_corrupted_bundle_fails_clearly(device_steps):
    step = device_steps["verify-corrupt"]
    assert step["returncode"] in (1, 2), f"corrupted bundle gave exit {step['returncode']}"
    lines = [ln for ln in step["stderr"].splitlines() if ln.strip()]
    assert "Traceback" not in step["stderr"], step["stderr"][-500:]
    assert len(lines) == 1, lines
    assert lines[0].startswith("armstft: error:"), lines[0]
    assert step["corrupted_file"] in lines[0], f"error does not name {step['corrupted_file']}: {lines[0]}"
