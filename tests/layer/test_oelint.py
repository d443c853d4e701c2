"""oelint-adv over every recipe, class and config file of the layer: zero findings.

Run with the wrynose rule set. Suppressed for the whole run, and why:
- oelint.vars.srcurinetwork, oelint.vars.homepageping: they judge URLs by reaching them over the
  network; CI is offline, and reachability is not a property of the recipe.
Every other suppression is inline (``# nooelint: <rule> - <reason>``) next to what it excuses, and
this test insists that each one gives a reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .bbmeta import LAYER, RECIPE_DIRS

CONSTANTS = Path(__file__).with_name("oelint-constants.json")
NETWORK_RULES = ("oelint.vars.srcurinetwork", "oelint.vars.homepageping")


def lint_targets() -> list[Path]:
    files = [
        p for d in RECIPE_DIRS for pat in ("*.bb", "*.bbappend", "*.bbclass", "*.inc") for p in d.rglob(pat)
    ]
    files += list((LAYER / "conf").rglob("*.conf"))
    return sorted(files)


def oelint_command() -> list[str]:
    exe = shutil.which("oelint-adv") or str(Path(sys.executable).with_name("oelint-adv"))
    if not Path(exe).exists():
        pytest.skip("oelint-adv is not installed (pip extra 'dev')")
    cmd = [exe, "--release", "wrynose", "--quiet", "--constantmods", f"+{CONSTANTS}"]
    for rule in NETWORK_RULES:
        cmd += ["--suppress", rule]
    return cmd


def test_oelint_has_no_findings() -> None:
    proc = subprocess.run(
        oelint_command() + [str(p) for p in lint_targets()], capture_output=True, text=True, timeout=300
    )
    findings = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert findings == [], "\n".join(findings)
    assert proc.returncode == 0


def test_oelint_really_lints(tmp_path: Path) -> None:
    """A recipe with known problems must produce findings, or the zero above means nothing."""
    bad = tmp_path / "probe_1.0.bb"
    bad.write_text('SRC_URI = "http://example.org/x.tar.gz"\nDEPENDS += " b a"\n')
    proc = subprocess.run([*oelint_command(), str(bad)], capture_output=True, text=True, timeout=120)
    assert "oelint.var.mandatoryvar.LICENSE" in proc.stdout + proc.stderr


def test_inline_suppressions_are_justified() -> None:
    for path in lint_targets():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "nooelint:" in line:
                assert re.search(r"nooelint:\s*[\w.,\s-]+?\s+-\s+\S.{10,}", line), (
                    f"{path}:{n}: no reason given"
                )
