"""What the layer checks run on besides the recipes: the bitbake checkout, reference sources next to it,
and PyPI's aarch64 2.9.1 wheels. Each getter skips the calling test with the reason when it is missing.

ARMSTFT_BITBAKE_CHECKOUT names a directory with bitbake/, openembedded-core/, meta-openembedded/ (as for
scripts/check-bitbake.sh). The build-input checks also use source trees beside them there, each at the
revision the build would use (docs/yocto.md, "Checks of the torch recipe"): protobuf/ and abseil-cpp/ at
meta-oe's recipes, XNNPACK/ and pthreadpool/ at the commits PyTorch 2.9.1 pins as submodules.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import paths

from .bbmeta import REPO, parse

TORCH_BIN = REPO / "recipes-ml/python3-torch-bin/python3-torch-bin_2.9.1.bb"
TORCHAUDIO_BIN = REPO / "recipes-ml/python3-torchaudio-bin/python3-torchaudio-bin_2.9.1.bb"


def checkout() -> Path:
    """The bitbake checkout, or skip."""
    env = os.environ.get("ARMSTFT_BITBAKE_CHECKOUT")
    if not env:
        pytest.skip(
            "set ARMSTFT_BITBAKE_CHECKOUT to a bitbake + openembedded-core + meta-openembedded checkout"
        )
    path = Path(env)
    if not (path / "openembedded-core/meta").is_dir():
        pytest.fail(
            f"ARMSTFT_BITBAKE_CHECKOUT={path}: openembedded-core/meta: expected a directory, got none"
        )
    return path


def source_tree(name: str, commit: str | None = None, tag: str | None = None) -> Path:
    """``$ARMSTFT_BITBAKE_CHECKOUT/<name>``, a git work tree at ``commit`` (or tag ``tag``), or skip."""
    tree = checkout() / name
    if not (tree / ".git").exists():
        pytest.skip(f"{tree}: no git work tree (clone {name} there; docs/yocto.md says at which revision)")
    head = subprocess.run(
        ["git", "-C", tree, "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    want = commit
    if tag:
        want = subprocess.run(
            ["git", "-C", tree, "rev-parse", f"{tag}^{{commit}}"], capture_output=True, text=True
        ).stdout.strip()
    if want and head != want:
        pytest.fail(f"{tree}: HEAD {head}, expected {want} ({tag or commit})")
    return tree


def recipe_version(pattern: str) -> str:
    """PV of the one recipe file in the checkout matching ``pattern`` (a glob below the checkout)."""
    found = sorted(checkout().glob(pattern))
    if len(found) != 1:
        pytest.fail(f"{checkout()}/{pattern}: expected one recipe, got {[p.name for p in found]}")
    return re.sub(r"\.bb$", "", found[0].name).rsplit("_", 1)[1]


def _downloads() -> Path:
    return paths.downloads() / "wheels-layer"


def bin_wheel(recipe: Path) -> Path:
    """The wheel a -bin recipe installs, fetched with pip into the download cache and checked against the
    recipe's own sha256sum (the recipe is the one place the file name and hash are written)."""
    meta = parse(recipe)
    name = meta.get("ARMSTFT_WHEEL").replace("${PV}", "2.9.1")
    digest = meta.flags[("SRC_URI", "sha256sum")]
    dest = _downloads()
    wheel = dest / name
    if not wheel.is_file():
        dist, version, py, abi, plat = name[: -len(".whl")].split("-")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--platform",
                plat,
                "--python-version",
                py[2] + "." + py[3:],
                "--implementation",
                "cp",
                "--abi",
                abi,
                "-d",
                str(dest),
                f"{dist}=={version}",
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0 or not wheel.is_file():
            pytest.skip(f"{name}: pip download failed (PyPI unreachable?): {proc.stderr[-500:]}")
    h = hashlib.sha256()
    with wheel.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    assert h.hexdigest() == digest, f"{wheel}: sha256 {h.hexdigest()}, recipe pins {digest}"
    return wheel


def pip_target(dest: Path, requirements: list[str]) -> Path:
    """``pip install --target dest`` of exact requirements (with their dependencies); for tools the checks
    run at the versions the build would have."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(dest), *requirements],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        pytest.skip(f"pip install {' '.join(requirements)} failed (PyPI unreachable?): {proc.stderr[-800:]}")
    return dest
