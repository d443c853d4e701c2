"""python3-torch's own task code, run the way bitbake runs it, once as the recipe is and once as it was
before issue #19 (the second run must show the fault):

- do_compile:prepend (MAX_JOBS from the memory available): the function body as bitbake stores it,
  expanded, run by /bin/sh with ``set -e`` (bitbake's shell tasks), against a stand-in /proc/meminfo.
- NumPy at configure time: the recipe's toolchain-file entries and files/armstft-require-numpy.cmake in a
  real CMake run whose project is named ``Torch`` like PyTorch's. setup.py's command-line
  ``-DPython_NumPy_INCLUDE_DIR=`` (the build host's numpy) is passed as setup.py passes it, and CMake's
  own FindPython looks for NumPy; what PyTorch 2.9.1's cmake/Dependencies.cmake does with the result
  (a warning and USE_NUMPY OFF when NumPy is not found) is modelled in three lines, since that file is
  not in the wheel. Then the recipe's do_compile:append reads the CMakeCache.txt it left.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .bbmeta import REPO, expand_with, parse, shell_function

TORCH = REPO / "recipes-ml/python3-torch/python3-torch_2.9.1.bb"
NUMPY_CHECK = TORCH.parent / "files/armstft-require-numpy.cmake"
# The job-count line of the recipe before issue #19.
OLD_BY_MEM = 'by_mem=$(expr "$mem_mb" / ${TORCH_MB_PER_JOB})'


def _compile_prepend(old: bool, meminfo: Path) -> str:
    body = shell_function(TORCH, "do_compile", "prepend")
    if old:
        lines = body.splitlines()
        at = next(i for i, ln in enumerate(lines) if ln.strip().startswith("by_mem="))
        lines[at] = "    " + OLD_BY_MEM
        body = "\n".join(lines)
    values = parse(TORCH).variables | {"PARALLEL_MAKE": "-j 8"}
    return expand_with(body, values).replace("/proc/meminfo", str(meminfo))


@pytest.mark.parametrize(
    ("old", "avail_mb", "want"),
    [
        (True, 3 * 1024, None),  # under one job's worth: expr exits 1, set -e ends the task
        (False, 3 * 1024, "1"),
        (True, 20 * 1024, "5"),
        (False, 20 * 1024, "5"),
        (False, 64 * 1024, "8"),  # capped by PARALLEL_MAKE
    ],
    ids=["old-recipe-3GB", "recipe-3GB", "old-recipe-20GB", "recipe-20GB", "recipe-64GB"],
)
def test_compile_job_count_never_ends_the_task(tmp_path: Path, old: bool, avail_mb: int, want) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal:       {avail_mb * 2048} kB\nMemAvailable:   {avail_mb * 1024} kB\n")
    script = tmp_path / "run.sh"
    script.write_text(
        'set -e\nbbnote() { echo "NOTE: $*"; }\n'
        + _compile_prepend(old, meminfo)
        + '\necho "MAX_JOBS=$MAX_JOBS"\n'
    )
    proc = subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True, timeout=30)
    if want is None:
        assert proc.returncode == 1
        assert "MAX_JOBS=" not in proc.stdout
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"MAX_JOBS={want}\n" in proc.stdout


# ---- NumPy ------------------------------------------------------------------------------------------

DEPENDENCIES_MODEL = """\
cmake_minimum_required(VERSION 3.18)
project(Torch NONE)
# as PyTorch 2.9.1's cmake/Dependencies.cmake treats NumPy: optional, a warning and USE_NUMPY OFF if absent
find_package(Python COMPONENTS Interpreter OPTIONAL_COMPONENTS Development.Module NumPy)
if(Python_NumPy_FOUND)
    set(USE_NUMPY ON CACHE BOOL "Use NumPy" FORCE)
else()
    message(WARNING "NumPy could not be found. Not building with NumPy.")
    set(USE_NUMPY OFF CACHE BOOL "Use NumPy" FORCE)
endif()
"""


def _toolchain(values: dict[str, str], old: bool) -> str:
    body = shell_function(TORCH, "do_generate_toolchain_file", "append")
    text = body.split("<<EOF_TORCH", 1)[1].split("\nEOF_TORCH", 1)[0]
    lines = text.strip().splitlines()
    if old:
        # before issue #19: one plain cache entry, no FORCE, no check
        lines = [
            ln for ln in lines if not re.match(r"set\((ARMSTFT_TARGET_NUMPY|Python_NumPy|CMAKE_PROJECT_)", ln)
        ]
        lines.append('set(Python_NumPy_INCLUDE_DIR "${TORCH_TARGET_NUMPY_INCDIR}" CACHE PATH "")')
    text, values = "\n".join(lines), parse(TORCH).variables | values
    for _ in range(4):  # nested references, e.g. TORCH_TARGET_NUMPY_INCDIR -> STAGING_DIR_HOST
        text = expand_with(text, values)
    return text + "\n"


def _host_numpy_include() -> Path:
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a dependency of the project
        pytest.skip("numpy is not importable by the test interpreter")
    return Path(numpy.get_include())


@pytest.mark.parametrize(
    ("old", "target_has_numpy"),
    [(True, True), (False, True), (True, False), (False, False)],
    ids=["old-recipe", "recipe", "old-recipe-no-target-numpy", "recipe-no-target-numpy"],
)
def test_numpy_is_the_targets_or_configure_stops(tmp_path: Path, old: bool, target_has_numpy: bool) -> None:
    if not shutil.which("cmake"):
        pytest.skip("cmake is not installed")
    host_inc = _host_numpy_include()
    sysroot = tmp_path / "recipe-sysroot"
    site = "/usr/lib/python3.14/site-packages"
    target_inc = sysroot / site.lstrip("/") / "numpy/_core/include"
    target_inc.mkdir(parents=True)
    if target_has_numpy:
        # the target's headers: a copy, in the place python3-numpy's sysroot has them
        shutil.copytree(host_inc / "numpy", target_inc / "numpy")
    unpackdir = tmp_path / "sources"
    unpackdir.mkdir()
    shutil.copy(NUMPY_CHECK, unpackdir / NUMPY_CHECK.name)
    values = {
        "STAGING_DIR_HOST": str(sysroot),
        "PYTHON_SITEPACKAGES_DIR": site,
        "UNPACKDIR": str(unpackdir),
        "STAGING_INCDIR": f"{sysroot}/usr/include",
        "STAGING_LIBDIR": f"{sysroot}/usr/lib",
        "STAGING_BINDIR_NATIVE": "/usr/bin",
        "TORCH_TUNE_CCARGS": "-mcpu=cortex-a72",
        "TARGET_PREFIX": "aarch64-armstft-linux-",
    }
    toolchain = tmp_path / "toolchain.cmake"
    toolchain.write_text(_toolchain(values, old))
    src = tmp_path / "pytorch"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(DEPENDENCIES_MODEL)
    build = src / "build"
    proc = subprocess.run(
        [
            "cmake",
            "-S",
            str(src),
            "-B",
            str(build),
            f"-DCMAKE_TOOLCHAIN_FILE={toolchain}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-DPython_NumPy_INCLUDE_DIR={host_inc}",  # what setup.py adds from the build host's numpy
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    cache = (build / "CMakeCache.txt").read_text() if (build / "CMakeCache.txt").exists() else ""
    if old:
        # configures either way: the host's headers win, or torch silently loses NumPy
        assert proc.returncode == 0, out[-3000:]
        assert f"Python_NumPy_INCLUDE_DIR:PATH={host_inc}" in cache
        assert "USE_NUMPY:BOOL=ON" in cache  # found - but the build host's
    elif target_has_numpy:
        assert proc.returncode == 0, out[-3000:]
        assert f"Python_NumPy_INCLUDE_DIR:PATH={target_inc}" in cache
        assert f"USE_NUMPY=ON with the target's NumPy headers {target_inc}" in out
    else:
        assert proc.returncode != 0
        assert "numpy/arrayobject.h: expected the target's NumPy header" in " ".join(out.split())

    # do_compile:append on what configure left
    check = expand_with(shell_function(TORCH, "do_compile", "append"), {"PEP517_SOURCE_PATH": str(src)})
    script = tmp_path / "check.sh"
    script.write_text('set -e\nbbfatal() { echo "ERROR: $*" >&2; exit 1; }\n' + check + "\n")
    chk = subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True, timeout=30)
    if not old and target_has_numpy:
        assert chk.returncode == 0, chk.stderr
    else:
        assert chk.returncode == 1
