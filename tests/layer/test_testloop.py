"""Yocto's own test loop in the layer: the oeqa runtime module, its use by the dev image's testimage, the
ptest of python3-armstft, and patch headers as oe-core's QA reads them.

The module itself runs against the emulated board with oe-core's runner in harness/oeqa.py (boots
the board; minutes): these checks are the fast part that CI can run with a checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from . import sources
from .bbmeta import LAYER, REPO, parse

CASES = LAYER / "lib/oeqa/runtime/cases"
DEV_IMAGE = REPO / "images/armstft-image-dev.bb"
ARMSTFT = REPO / "recipes-ml/python3-armstft/python3-armstft_0.1.0.bb"


def test_dev_image_runs_the_module_in_testimage() -> None:
    image = parse(DEV_IMAGE)
    assert "testimage" in image.words("IMAGE_CLASSES")
    suites = image.words("TEST_SUITES")
    assert "armstft" in suites and (CASES / "armstft.py").is_file()
    assert {"ssh", "ptest"} <= set(suites)  # the module depends on ssh; ptest runs run-ptest
    packages = image.words("IMAGE_INSTALL")
    assert {"python3-armstft-ptest", "ptest-runner"} <= set(packages)
    production = parse(REPO / "images/armstft-image.bb")
    assert "testimage" not in production.words("IMAGE_CLASSES")


def test_oe_test_lists_the_module(tmp_path: Path) -> None:
    """oe-test loads the module next to oe-core's cases and resolves its dependencies (ssh -> ping)."""
    checkout = sources.checkout()
    oe_test = checkout / "openembedded-core/scripts/oe-test"
    (tmp_path / "manifest").write_text("python3-armstft aarch64 0.1.0\n")
    (tmp_path / "testdata.json").write_text('{"MLPREFIX": ""}\n')
    env = {"PATH": f"{checkout / 'bitbake/bin'}:/usr/bin:/bin", "PYTHONPATH": str(checkout / "bitbake/lib")}
    cmd = [sys.executable, str(oe_test), "runtime", "--packages-manifest", str(tmp_path / "manifest"),
           "--test-data-file", str(tmp_path / "testdata.json"), "--list-tests", "name", "--",
           str(checkout / "openembedded-core/meta/lib/oeqa/runtime/cases"), str(CASES)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for name in ("armstft.ArmstftTest.test_armstft_info", "armstft.ArmstftTest.test_armstft_verify"):
        assert name in out, out[-3000:]


def test_ptest_script_and_recipe() -> None:
    meta = parse(ARMSTFT)
    assert "ptest" in meta.inherits
    assert "file://run-ptest" in meta.words("SRC_URI")
    assert "armstft-model" in meta.words("RDEPENDS_${PN}-ptest")
    script = ARMSTFT.parent / "files/run-ptest"
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert "PASS: " in text and "FAIL: " in text and "armstft verify" in text


def test_every_patch_passes_oe_cores_upstream_status_check() -> None:
    """yocto-check-layer runs this check on meta-armstft only; recipes-ml/ lies beside it."""
    checkout = sources.checkout()
    sys.path.insert(0, str(checkout / "openembedded-core/meta/lib"))
    try:
        import oe.qa
    finally:
        sys.path.pop(0)
    patches = sorted([*LAYER.rglob("*.patch"), *(REPO / "recipes-ml").rglob("*.patch")])
    assert patches, "no patches found: the check would pass vacuously"
    bad = [str(p) for p in patches if oe.qa.check_upstream_status(str(p))]
    assert bad == [], bad


def test_upstream_status_check_can_fail(tmp_path: Path) -> None:
    checkout = sources.checkout()
    sys.path.insert(0, str(checkout / "openembedded-core/meta/lib"))
    try:
        import oe.qa
    finally:
        sys.path.pop(0)
    patch = tmp_path / "x.patch"
    patch.write_text("Subject: x\n\n---\ndiff --git a/f b/f\n")
    assert oe.qa.check_upstream_status(str(patch))
