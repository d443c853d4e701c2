"""The prebuilt provider (kas/prebuilt-torch.yml): PyPI's aarch64 2.9.1 wheels installed by the PEP 517
class's install step, for real, into a temporary root, and the image layout that results.

python_pep517_do_install runs pypa/installer (wrynose: 0.7.0) with the class's options, then deletes
the wheels' RECORD files. The install step is taken from the checkout's class when
ARMSTFT_BITBAKE_CHECKOUT is set; the wheel is the one the recipe pins (file name and sha256 read from it).
The host's installer lays out site-packages for the interpreter running it, so the check finds
site-packages by pattern: on the target it is python3.14 (wrynose's CPython, the wheels' cp314 tag).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from . import sources
from .bbmeta import expand_with, parse


@pytest.fixture(scope="module")
def installer_site(tmp_path_factory) -> Path:
    """pypa/installer at wrynose's version with oe-core's patches applied (they add --interpreter)."""
    recipes = sources.checkout() / "openembedded-core/meta/recipes-devtools/python"
    (recipe,) = recipes.glob("python3-installer_*.bb")
    version = recipe.name[: -len(".bb")].rsplit("_", 1)[1]
    site = sources.pip_target(tmp_path_factory.mktemp("installer"), ["--no-deps", f"installer=={version}"])
    for name in re.findall(r"file://([^\s;\"]+\.patch)", recipe.read_text()):
        patch = recipes / "python3-installer" / name
        # the patches are against the source tree (src/installer/...); --target holds installer/...
        proc = subprocess.run(
            ["patch", "-p2", "--fuzz=0", "--batch", "-d", str(site), "-i", str(patch)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, f"{patch.name}: {proc.stdout}{proc.stderr}"
    return site


def _install_step(wheel: Path, dest: Path) -> list[str]:
    """python_pep517_do_install's installer command and RECORD cleanup, as the checkout's class has them."""
    cls = (sources.checkout() / "openembedded-core/meta/classes-recipe/python_pep517.bbclass").read_text()
    body = cls.split("python_pep517_do_install () {", 1)[1].split("\n}", 1)[0]
    values = {
        "INSTALL_WHEEL_COMPILE_BYTECODE": "--compile-bytecode=0",
        "USRBINPATH": "/usr/bin",
        "PEP517_INSTALL_PYTHON": "python3",
        "prefix": "/usr",
        "D": str(dest),
        "PEP517_WHEEL_PATH": str(wheel.parent),
    }
    lines = [expand_with(ln.strip(), values) for ln in body.splitlines()]
    install = next(ln for ln in lines if ln.startswith("nativepython3 -m installer"))
    cleanup = next(ln for ln in lines if ln.startswith("find ${D}") or ln.startswith(f"find {dest}"))
    return [install.replace("nativepython3", sys.executable, 1), cleanup]


@pytest.mark.parametrize("recipe", [sources.TORCH_BIN, sources.TORCHAUDIO_BIN], ids=lambda p: p.parent.name)
def test_bin_wheel_installs_into_the_image_layout(recipe: Path, installer_site: Path, tmp_path: Path) -> None:
    meta = parse(recipe)
    wheel_file = sources.bin_wheel(recipe)
    dist = wheel_file.name.split("-")[0]
    # python_pep517_do_install expects exactly one wheel in PEP517_WHEEL_PATH (do_compile puts it there)
    wheel = tmp_path / "dist" / wheel_file.name
    wheel.parent.mkdir()
    wheel.symlink_to(wheel_file)
    dest = tmp_path / "image"
    install, cleanup = _install_step(wheel, dest)
    env = {"PYTHONPATH": str(installer_site), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        ["sh", "-e", "-c", f"{install}\n{cleanup}"], capture_output=True, text=True, env=env, timeout=900
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sites = list(dest.glob("usr/lib/python3.*/site-packages"))
    assert len(sites) == 1, sorted(str(p) for p in dest.rglob("site-packages"))
    site = sites[0]
    assert (site / dist / "__init__.py").is_file()
    distinfo = site / f"{dist}-2.9.1.dist-info"
    assert (distinfo / "METADATA").is_file()
    assert not list(dest.rglob("RECORD")), "the class deletes RECORD"
    # the licence files the recipe checksums are where LIC_FILES_CHKSUM expects them (relative to S)
    for lic in meta.words("ARMSTFT_WHEEL_LICENSES"):
        assert (site / lic.replace("${PV}", "2.9.1")).is_file(), lic
    if dist == "torch":
        assert (site / "torch/lib/libtorch_cpu.so").is_file()
        assert list((site / "torch.libs").glob("libopenblasp-*.so")), "auditwheel's bundled OpenBLAS"
        scripts = sorted(p.name for p in (dest / "usr/bin").iterdir())
        assert scripts == ["torchfrtrace", "torchrun"], scripts
        assert (dest / "usr/bin/torchrun").read_text().splitlines()[0] == "#!/usr/bin/env python3"
    else:
        assert (site / "torchaudio/lib/libtorchaudio.so").is_file()
    # nothing outside /usr, nothing named after the build host
    assert sorted(p.name for p in dest.iterdir()) == ["usr"]
    assert not [p for p in dest.rglob("*") if re.search(r"x86_64|/root/|/home/", str(p.relative_to(dest)))]
