"""The python3-torch recipe against what PyTorch 2.9.1's build really does, as far as it runs here.

PyTorch's source cannot be fetched here, so the build cannot run; each test runs the real tool of one
build step on the real 2.9.1 input it reads (a file from PyPI's 2.9.1 wheel, an excerpt of the source in
fixtures/, or the pinned third-party source), once with the recipe as it is and once as it was before
the fix (issue #13, P1-P4), and the second run must fail the way the build would:

- P1 do_compile: build's dependency check (``pyproject-build --no-isolation``) against 2.9.1's
  ``[build-system]`` table, with the recipe's native sysroot as PyPI distributions at wrynose's versions.
- P2 do_configure: CMake on the wheel's own ``cmake/public/protobuf.cmake`` with a protobuf installed as
  meta-oe's recipe installs it, and the recipe's toolchain-file entries.
- P3 do_compile: XNNPACK's NEON f16/s8/u8 kernels at 2.9.1's submodule commit with the recipe's C flags,
  GCC 15's incompatible-pointer-types error enabled explicitly (Debian's cross GCC is 12).
- P4 do_install + do_package_qa: the recipe's install fix-ups on the installed 2.9.1 wheel, then a scan
  for the build directory; and CMake's configure_file on the (patched) macros.h.in excerpt.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from . import nativepy, sources
from .bbmeta import REPO, expand_with, parse, shell_function

TORCH = REPO / "recipes-ml/python3-torch/python3-torch_2.9.1.bb"
PATCHES = TORCH.parent / "files"
FIXTURES = Path(__file__).with_name("fixtures") / "torch-2.9.1"
# The recipe before the fixes of issue #13 lacked exactly these (see git history of the recipe).
P1_ADDED_DEPENDS = (
    "python3-cmake-native",
    "python3-ninja-native",
    "python3-requests-native",
    "python3-six-native",
)
# The build directory of PyPI's 2.9.1 wheels (setup.py ran in /pytorch): what ${S} is for the wheel's files.
WHEEL_S = "/pytorch"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def _apply(patch: Path, tree: Path) -> None:
    """Apply a recipe patch the way OE's patch step must: no fuzz allowed."""
    proc = _run(["patch", "-p1", "--fuzz=0", "--batch", "-d", str(tree), "-i", str(patch)])
    assert proc.returncode == 0, (
        f"{patch.name} does not apply to the 2.9.1 excerpt:\n{proc.stdout}{proc.stderr}"
    )


# ---- P1 ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def native_site(tmp_path_factory) -> dict[str, Path]:
    """One pip --target folder per recipe of the torch recipe's Python native sysroot (at wrynose's PVs)."""
    checkout = sources.checkout()
    meta = parse(TORCH)
    depends = meta.words("DEPENDS") + nativepy.class_depends(checkout, meta.inherits)
    root = tmp_path_factory.mktemp("native-site")
    dirs = {}
    for rec in nativepy.sysroot(checkout, depends):
        dirs[rec.name] = sources.pip_target(root / rec.name, ["--no-deps", f"{rec.dist}=={rec.version}"])
    return dirs


def _dependency_check(checkout: Path, src: Path, site: list[Path], out: Path) -> tuple[int, list[str]]:
    """python_pep517_do_compile's command line, as wrynose's class has it, on ``src``; returns its exit
    status and the requirements build reports missing."""
    cls = (checkout / "openembedded-core/meta/classes-recipe/python_pep517.bbclass").read_text()
    line = re.search(r"^\s*(pyproject-build .*)$", cls, re.M).group(1)
    opts = parse(TORCH).get("PEP517_BUILD_OPTS")
    line = expand_with(
        line, {"PEP517_WHEEL_PATH": str(out), "PEP517_SOURCE_PATH": str(src), "PEP517_BUILD_OPTS": opts}
    )
    argv = line.split()
    assert argv[:2] == ["pyproject-build", "--no-isolation"], argv
    # pyproject-build is build's console script (build.__main__:entrypoint);
    # -S: no site-packages, only the sysroot's distributions (PYTHONPATH)
    cmd = [sys.executable, "-S", "-m", "build", *argv[1:]]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(map(str, site)), "HOME": str(out)}
    proc = _run(cmd, env=env, cwd=src)
    text = proc.stdout + proc.stderr
    missing = []
    if "Missing dependencies:" in text:
        # one requirement a line; a requirement's own missing requirement follows it, indented deeper
        lines = [ln for ln in text.split("Missing dependencies:", 1)[1].splitlines() if ln.strip()]
        indent = min(len(ln) - len(ln.lstrip()) for ln in lines)
        missing = [ln.strip() for ln in lines if len(ln) - len(ln.lstrip()) == indent]
    return proc.returncode, missing


@pytest.mark.parametrize(
    ("patched", "drop", "expect"),
    [
        (False, P1_ADDED_DEPENDS, {"setuptools", "cmake", "ninja", "requests", "six"}),  # the old recipe
        (False, (), {"setuptools"}),  # the new DEPENDS alone: setuptools 82 is still above <80.0
        (True, P1_ADDED_DEPENDS, {"cmake", "ninja", "requests", "six"}),  # the patch alone
        (True, (), set()),  # the recipe as it is
    ],
    ids=["old-recipe", "depends-only", "patch-only", "recipe"],
)
def test_p1_pyproject_build_dependency_check(native_site, tmp_path, patched, drop, expect) -> None:
    checkout = sources.checkout()
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FIXTURES / "pyproject.toml", src / "pyproject.toml")
    if patched:
        _apply(PATCHES / "0001-pyproject.toml-accept-the-distribution-s-setuptools.patch", src)
    meta = parse(TORCH)
    depends = [d for d in meta.words("DEPENDS") if d not in drop] + nativepy.class_depends(
        checkout, meta.inherits
    )
    # the sysroot of that DEPENDS: a dropped recipe is still staged if another one RDEPENDS on it
    site = [native_site[r.name] for r in nativepy.sysroot(checkout, depends)]
    rc, missing = _dependency_check(checkout, src, site, tmp_path / "dist")
    top = {re.split(r"[<>=!~;\s\[]", m, maxsplit=1)[0].lower() for m in missing}
    if expect:
        assert rc != 0, "pyproject-build went on despite missing build dependencies"
        assert top == expect, f"missing reported: {missing}"
    else:
        assert missing == [], f"pyproject-build --no-isolation still stops: {missing}"


# ---- P2 ------------------------------------------------------------------------------------------


def _meta_oe_recipe(glob: str) -> Path:
    found = sorted((sources.checkout() / "meta-openembedded/meta-oe/recipes-devtools").glob(glob))
    assert len(found) == 1, found
    return found[0]


def _cmake_install_layout(src: Path, build: Path, dest: Path, args: list[str]) -> None:
    """Configure ``src`` with CMake as the recipe does and run its install step into ``dest``, with the
    compiled outputs as empty files: only CMake package files matter for the check, and those are the
    real generated ones. (Building protobuf and abseil would take much longer and change nothing here.)"""
    proc = _run(
        [
            "cmake",
            "-S",
            str(src),
            "-B",
            str(build),
            "-DCMAKE_INSTALL_PREFIX=/usr",
            "-DCMAKE_INSTALL_LIBDIR=lib",
            "-DCMAKE_SKIP_RPATH=ON",
            *args,
        ]
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    scripts = list(build.rglob("cmake_install.cmake"))
    outputs = set()
    for script in scripts:
        outputs |= set(re.findall(r'"(' + re.escape(str(build)) + r'/[^"]+)"', script.read_text()))
    for out in outputs:
        path = Path(out)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    proc = _run(["cmake", "--install", str(build)], env={**os.environ, "DESTDIR": str(dest)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def protobuf_sysroot(tmp_path_factory) -> Path:
    """abseil-cpp and protobuf installed as meta-oe's recipes install them for the target."""
    pb_recipe = _meta_oe_recipe("protobuf/protobuf_*.bb")
    absl_recipe = _meta_oe_recipe("abseil-cpp/abseil-cpp_*.bb")
    pb_text, absl_text = pb_recipe.read_text(), absl_recipe.read_text()
    srcrev = re.search(r'^SRCREV = "([0-9a-f]{40})"', pb_text, re.M).group(1)
    absl_pv = absl_recipe.name[: -len(".bb")].rsplit("_", 1)[1]
    protobuf = sources.source_tree("protobuf", commit=srcrev)
    abseil = sources.source_tree("abseil-cpp", tag=absl_pv)
    # the options the recipes pass; PACKAGECONFIG is "" for the target, so no protoc is built
    absl_args = [
        "-DBUILD_SHARED_LIBS=ON",
        "-DBUILD_TESTING=OFF",
        "-DABSL_ENABLE_INSTALL=ON",
        "-DCMAKE_CXX_STANDARD=17",
    ]
    pb_args = [
        "-Dprotobuf_BUILD_SHARED_LIBS=ON",
        "-Dprotobuf_BUILD_LIBPROTOC=ON",
        "-Dprotobuf_BUILD_TESTS=OFF",
        "-Dprotobuf_BUILD_EXAMPLES=OFF",
        "-Dprotobuf_ABSL_PROVIDER=package",
        "-Dprotobuf_JSONCPP_PROVIDER=package",
    ]
    for arg in absl_args:
        assert arg.removeprefix("-D") in absl_text, f"{absl_recipe.name} no longer passes {arg}"
    for arg in pb_args:
        assert arg.removeprefix("-D").replace('"', "") in pb_text.replace('"', ""), f"{pb_recipe.name}: {arg}"
    assert (
        re.search(r'^PACKAGECONFIG \?\?= ""', pb_text, re.M)
        and "protobuf_BUILD_PROTOC_BINARIES=OFF" in pb_text
    )
    root = tmp_path_factory.mktemp("protobuf-sysroot")
    sysroot = root / "recipe-sysroot"
    _cmake_install_layout(abseil, root / "absl-build", sysroot, absl_args)
    _cmake_install_layout(
        protobuf,
        root / "pb-build",
        sysroot,
        [*pb_args, "-Dprotobuf_BUILD_PROTOC_BINARIES=OFF", f"-DCMAKE_PREFIX_PATH={sysroot}/usr"],
    )
    assert (sysroot / "usr/lib/cmake/protobuf/protobuf-targets.cmake").is_file()
    assert "protobuf::protoc" not in (sysroot / "usr/lib/cmake/protobuf/protobuf-targets.cmake").read_text()
    return sysroot


def _toolchain_entries(values: dict[str, str], old: bool) -> str:
    """The CMake cache entries the recipe appends to cmake.bbclass's toolchain file, expanded; ``old``:
    without the two protobuf lines the fix added (the recipe before issue #13)."""
    body = shell_function(TORCH, "do_generate_toolchain_file", "append")
    text = body.split("<<EOF_TORCH", 1)[1].split("\nEOF_TORCH", 1)[0]
    lines = [
        ln
        for ln in text.strip().splitlines()
        if not (old and re.match(r"set\((protobuf_MODULE_COMPATIBLE|Protobuf_PROTOC_EXECUTABLE) ", ln))
    ]
    return expand_with("\n".join(lines), parse(TORCH).variables | values) + "\n"


@pytest.mark.parametrize("old", [True, False], ids=["old-recipe", "recipe"])
def test_p2_protobuf_cmake_finds_targets(
    wheel_tree: Path, protobuf_sysroot: Path, tmp_path: Path, old: bool
) -> None:
    protobuf_cmake = wheel_tree / "torch/share/cmake/Caffe2/public/protobuf.cmake"
    native = tmp_path / "recipe-sysroot-native"
    (native / "usr/bin").mkdir(parents=True)
    protoc = native / "usr/bin/protoc"
    protoc.write_text("#!/bin/sh\nexit 0\n")  # the host protoc's path is what CMake records; it is never run
    protoc.chmod(0o755)
    values = {
        "STAGING_INCDIR": f"{protobuf_sysroot}/usr/include",
        "STAGING_LIBDIR": f"{protobuf_sysroot}/usr/lib",
        "STAGING_BINDIR_NATIVE": f"{native}/usr/bin",
        "STAGING_DIR_HOST": str(protobuf_sysroot),
        "PYTHON_SITEPACKAGES_DIR": "/usr/lib/python3.14/site-packages",
        "TORCH_TUNE_CCARGS": "-mcpu=cortex-a72",
        "TARGET_PREFIX": "aarch64-armstft-linux-",
    }
    toolchain = tmp_path / "toolchain.cmake"
    # what cmake.bbclass writes first: find packages and libraries in the target sysroot only
    toolchain.write_text(
        f"set(CMAKE_FIND_ROOT_PATH {protobuf_sysroot} {native})\n"
        "set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)\nset(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n"
        "set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)\n" + _toolchain_entries(values, old)
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\nproject(torch_protobuf_check CXX)\n"
        f'include("{protobuf_cmake}")\n'
        "get_target_property(loc protobuf::protoc IMPORTED_LOCATION)\n"
        'message(STATUS "protobuf::protoc=${loc}")\n'
    )
    proc = _run(
        ["cmake", "-S", str(project), "-B", str(tmp_path / "b"), f"-DCMAKE_TOOLCHAIN_FILE={toolchain}"]
    )
    out = proc.stdout + proc.stderr
    if old:
        assert proc.returncode != 0
        assert "Found protobuf with old style targets, but could not find targets" in out
    else:
        assert proc.returncode == 0, out[-4000:]
        assert "Caffe2: Found protobuf with" in out
        assert f"protobuf::protoc={protoc}" in out


# ---- P3 ------------------------------------------------------------------------------------------

# XNNPACK and pthreadpool as PyTorch 2.9.1 pins them (third_party submodules of v2.9.1).
XNNPACK_COMMIT = "51a0103656eff6fc9bfd39a4597923c4b542c883"
PTHREADPOOL_COMMIT = "4fe0e1e183925bf8cfa6aae24237e724a96479b8"
# The kernel families GCC 15 rejects (pytorch#149828); "neon*" sources, built for ARMv8.2-A + FP16.
P3_FAMILIES = (
    "f16-avgpool",
    "f16-maxpool",
    "f16-pavgpool",
    "f16-conv-hwc2chw",
    "s8-maxpool",
    "u8-maxpool",
    "s8-vclamp",
    "u8-vclamp",
    "f16-rsum/gen",
    "f16-qs8-vcvt/gen",
    "f16-raddstoreexpminusmax/gen",
    "qs8-vlrelu/gen",
    "qu8-vlrelu/gen",
)
# GCC >= 14 makes this an error by default; Debian's aarch64 GCC 12 needs it spelled out.
GCC15_DEFAULT = "-Werror=incompatible-pointer-types"


def _compile(cc: str, xnnpack: Path, include: Path, src: Path, flags: list[str]) -> tuple[Path, str]:
    cmd = [
        cc,
        "-std=c99",
        "-O1",
        "-march=armv8.2-a+fp16",
        f"-I{xnnpack}/include",
        f"-I{xnnpack}/src",
        f"-I{include}",
        GCC15_DEFAULT,
        *flags,
        "-c",
        str(src),
        "-o",
        os.devnull,
    ]
    proc = _run(cmd)
    return src, "" if proc.returncode == 0 else proc.stderr


@pytest.mark.parametrize("old", [True, False], ids=["old-recipe", "recipe"])
def test_p3_xnnpack_neon_kernels_compile_with_gcc15_rules(tmp_path: Path, old: bool) -> None:
    cc = shutil.which("aarch64-linux-gnu-gcc")
    if not cc:
        pytest.skip("aarch64-linux-gnu-gcc not installed (scripts/deps/apt.txt: gcc-aarch64-linux-gnu)")
    xnnpack = sources.source_tree("XNNPACK", commit=XNNPACK_COMMIT)
    pthreadpool = sources.source_tree("pthreadpool", commit=PTHREADPOOL_COMMIT)
    meta = parse(TORCH)
    assert (
        "${TORCH_C_COMPAT_FLAGS}" in meta.get("OECMAKE_C_FLAGS").split()
        or "${TORCH_C_COMPAT_FLAGS}" in meta.variables["OECMAKE_C_FLAGS"]
    )
    flags = [] if old else meta.words("TORCH_C_COMPAT_FLAGS")
    files = sorted(f for fam in P3_FAMILIES for f in (xnnpack / "src" / fam).glob("*neon*.c"))
    assert len(files) >= 40, f"expected the kernel families in {xnnpack}, found {len(files)} files"
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda f: _compile(cc, xnnpack, pthreadpool / "include", f, flags), files))
    failed = {src.relative_to(xnnpack): err for src, err in results if err}
    if old:
        assert len(failed) == len(files), f"{len(files) - len(failed)} files compiled without the fix"
        assert all("incompatible-pointer-types" in err for err in failed.values())
    else:
        assert failed == {}, "\n".join(f"{k}: {v[:400]}" for k, v in failed.items())


# ---- P4 ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel_tree(tmp_path_factory) -> Path:
    """PyPI's aarch64 2.9.1 wheel, unpacked (its files as setup.py in /pytorch produced them)."""
    import zipfile

    wheel = sources.bin_wheel(sources.TORCH_BIN)
    tree = tmp_path_factory.mktemp("torch-wheel")
    with zipfile.ZipFile(wheel) as whl:
        whl.extractall(
            tree, [n for n in whl.namelist() if not n.startswith(("torch/lib/", "torch.libs/", "torch/bin/"))]
        )
    return tree


def _is_elf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def build_path_hits(root: Path, build_dir: str) -> dict[str, int]:
    """Non-ELF files under ``root`` naming ``build_dir`` as a path (what package QA "buildpaths" reports
    for the real TMPDIR). ELF files are left to the compiler's -ffile-prefix-map (checked with bitbake -e)."""
    pat = re.compile(rb"(?:^|(?<=[\s\"'=:;(,]))" + re.escape(build_dir.encode()) + rb"/")
    hits = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and not _is_elf(path):
            n = len(pat.findall(path.read_bytes()))
            if n:
                hits[str(path.relative_to(root))] = n
    return hits


@pytest.mark.parametrize("old", [True, False], ids=["old-recipe", "recipe"])
def test_p4_install_fixups_leave_no_build_paths(wheel_tree: Path, tmp_path: Path, old: bool) -> None:
    site = "/usr/lib/python3.14/site-packages"
    dest = tmp_path / "image"
    shutil.copytree(wheel_tree, dest / site.lstrip("/"), symlinks=True)
    before = build_path_hits(dest, WHEEL_S)
    assert before, "the wheel carries no build path: the check could not fail"
    if not old:
        body = shell_function(TORCH, "do_install", "append")
        script = expand_with(
            body, {"D": str(dest), "PYTHON_SITEPACKAGES_DIR": site, "S": WHEEL_S, "PV": "2.9.1"}
        )
        proc = _run(["sh", "-e", "-c", script])
        assert proc.returncode == 0, proc.stderr
    after = build_path_hits(dest, WHEEL_S)
    if old:
        assert any(k.endswith("dist-info/licenses/LICENSE") for k in after), after
        assert any(k.endswith("ATen/ATenConfig.cmake") for k in after), after
    else:
        assert after == {}, after
        aten = (dest / site.lstrip("/") / "torch/share/cmake/ATen/ATenConfig.cmake").read_text()
        inc = re.search(r'set\(ATEN_INCLUDE_DIR "([^"]+)"\)', aten).group(1)
        cmake_dir = (dest / site.lstrip("/") / "torch/share/cmake/ATen").resolve()
        resolved = Path(os.path.normpath(inc.replace("${CMAKE_CURRENT_LIST_DIR}", str(cmake_dir))))
        assert (resolved / "ATen/ATen.h").is_file(), f"ATEN_INCLUDE_DIR {inc} -> {resolved}: no ATen/ATen.h"


@pytest.mark.parametrize("old", [True, False], ids=["old-recipe", "recipe"])
def test_p4_recorded_build_strings_name_no_build_path(tmp_path: Path, old: bool) -> None:
    tree = tmp_path / "src"
    (tree / "caffe2/core").mkdir(parents=True)
    shutil.copy(FIXTURES / "macros.h.in", tree / "caffe2/core/macros.h.in")
    if not old:
        _apply(PATCHES / "0002-macros.h.in-record-compiler-and-flags-given-by-the-bu.patch", tree)
    tmpdir = "/home/builder/build/tmp"
    work = f"{tmpdir}/work/cortexa72-armstft-linux/python3-torch/2.9.1"
    # what CMake holds in a cross build: the compiler from the native sysroot, the flags with --sysroot
    # and the prefix maps (values of that shape; the recorded ones come from the recipe)
    meta = parse(TORCH)
    recorded = {
        v: expand_with(
            meta.get(v), {"TUNE_CCARGS": "-mcpu=cortex-a72", "TARGET_PREFIX": "aarch64-armstft-linux-"}
        )
        for v in ("TORCH_RECORDED_CXX_COMPILER", "TORCH_RECORDED_CXX_FLAGS")
    }
    script = tmp_path / "configure.cmake"
    compiler = f"{work}/recipe-sysroot-native/usr/bin/aarch64-armstft-linux/aarch64-armstft-linux-g++"
    flags = (
        f"-mcpu=cortex-a72 --sysroot={work}/recipe-sysroot -O2 -ffile-prefix-map={work}/src=/usr/src/debug"
    )
    script.write_text(
        f'set(CMAKE_CXX_COMPILER "{compiler}")\nset(CMAKE_CXX_FLAGS "{flags}")\n'
        'set(TORCH_VERSION "2.9.1")\nset(CMAKE_BUILD_TYPE "Release")\n'
        + "".join(f'set({k} "{v}")\n' for k, v in recorded.items())
        + f'configure_file("{tree}/caffe2/core/macros.h.in" "{tmp_path}/macros.h")\n'
    )
    proc = _run(["cmake", "-P", str(script)])
    assert proc.returncode == 0, proc.stderr
    header = (tmp_path / "macros.h").read_text()
    if old:
        assert tmpdir in header
    else:
        assert tmpdir not in header, header
        assert '{"CXX_COMPILER", "aarch64-armstft-linux-g++"}' in header
        assert '{"CXX_FLAGS", "-mcpu=cortex-a72"}' in header


def test_build_path_scan_can_fail(tmp_path: Path) -> None:
    """The scan finds a path as a path, not the word in URLs or names (~/pytorch, github.com/pytorch/...)."""
    (tmp_path / "a.txt").write_text(
        'x "/pytorch/third_party/x"\nhttps://github.com/pytorch/pytorch/\ncd ~/pytorch/y\n'
    )
    assert build_path_hits(tmp_path, "/pytorch") == {"a.txt": 1}
