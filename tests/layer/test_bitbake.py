"""The real-bitbake check (scripts/check-bitbake.sh) against a checkout named by the environment.

ARMSTFT_BITBAKE_CHECKOUT: directory with bitbake/, openembedded-core/, meta-openembedded/ at the
revisions kas.yml pins. As root, ARMSTFT_BITBAKE_USER names the user bitbake runs as. A cold parse
takes several minutes, so this is marked slow and skipped without a checkout.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from .bbmeta import REPO

SCRIPT = REPO / "scripts/check-bitbake.sh"


def test_script_skips_cleanly_without_a_checkout() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARMSTFT_BITBAKE_CHECKOUT"}
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0
    assert "SKIP" in proc.stdout


def test_script_rejects_a_wrong_checkout(tmp_path) -> None:
    proc = subprocess.run(["bash", str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "bitbake/bin: expected a directory" in proc.stderr


def test_script_rejects_a_missing_overlay(tmp_path) -> None:
    for d in (
        "bitbake/bin",
        "openembedded-core/meta",
        "meta-openembedded/meta-oe",
        "meta-openembedded/meta-python",
    ):
        (tmp_path / d).mkdir(parents=True)
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path), "qemuarm64", "kas/no-such-overlay.yml"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "no-such-overlay.yml: expected a kas overlay file" in proc.stderr


@pytest.mark.slow
def test_real_bitbake_parses_and_resolves_the_image() -> None:
    checkout = os.environ.get("ARMSTFT_BITBAKE_CHECKOUT")
    if not checkout:
        pytest.skip(
            "set ARMSTFT_BITBAKE_CHECKOUT to a bitbake + openembedded-core + meta-openembedded checkout"
        )
    proc = subprocess.run(
        ["bash", str(SCRIPT), checkout, os.environ.get("ARMSTFT_BITBAKE_MACHINE", "qemuarm64")],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RESULT: PASS" in proc.stdout
