"""Issue #19, minimal image: measured standard-library RDEPENDS, -dev split, and the image's closure.

Without a checkout: the recipes carry exactly the measured python3-* packages (docs/stdlib-imports.json,
written by scripts/stdlib_imports.py), never python3-modules; what no measured path imports is only
recommended; headers, CMake files and protoc go to -dev; the manifest mapping and the closure walker
behave on small inputs. With ARMSTFT_BITBAKE_CHECKOUT (and the build directory
scripts/check-bitbake.sh wrote): the manifest mapping on oe-core's real manifest, and
scripts/image_closure.py on the real parse -- the production image holds none of the removed parts.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .bbmeta import LAYER, REPO, parse

MEASURED = json.loads((REPO / "docs/stdlib-imports.json").read_text())
RUNTIME_CLASS = LAYER / "classes/armstft_torch_runtime.bbclass"
TORCH = REPO / "recipes-ml/python3-torch/python3-torch_2.9.1.bb"
TORCH_BIN = REPO / "recipes-ml/python3-torch-bin/python3-torch-bin_2.9.1.bb"
REMOVED = ("tkinter", "idle", "pydoc", "ensurepip", "sqlite3", "curses", "venv", "modules")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


stdlib_imports = _load("stdlib_imports")
image_closure = _load("image_closure")


def test_the_runtime_class_lists_exactly_the_measured_packages() -> None:
    runtime = parse(RUNTIME_CLASS)
    assert sorted(runtime.words("ARMSTFT_TORCH_STDLIB_RDEPENDS")) == MEASURED["packages"]
    for removed in REMOVED:
        assert f"python3-{removed}" not in MEASURED["packages"]
    # what the measured paths import besides torch itself: required; jinja2 and fsspec: never imported
    assert {"numpy", "sympy", "networkx", "filelock", "typing_extensions"} <= set(MEASURED["third_party"])
    assert not {"jinja2", "fsspec", "setuptools"} & set(MEASURED["third_party"])
    assert sorted(runtime.words("ARMSTFT_TORCH_PYPI_RRECOMMENDS")) == ["python3-fsspec", "python3-jinja2"]


@pytest.mark.parametrize("path", [TORCH, TORCH_BIN], ids=["python3-torch", "python3-torch-bin"])
def test_torch_recipes_depend_on_the_measured_set(path: Path) -> None:
    meta = parse(path)
    assert "armstft_torch_runtime" in meta.inherits
    rdepends = meta.words("RDEPENDS_${PN}")
    assert "${ARMSTFT_TORCH_STDLIB_RDEPENDS}" in rdepends and "${ARMSTFT_TORCH_PYPI_RDEPENDS}" in rdepends
    assert not {"python3-modules", "python3-jinja2", "python3-fsspec", "python3-setuptools"} & set(rdepends)
    assert "${ARMSTFT_TORCH_PYPI_RRECOMMENDS}" in meta.words("RRECOMMENDS_${PN}")
    dev = meta.words("FILES_${PN}-dev")
    for part in ("torch/include", "torch/share/cmake", "torch/bin/protoc*"):
        assert "${PYTHON_SITEPACKAGES_DIR}/" + part in dev


def test_no_recipe_of_the_layer_pulls_python3_modules() -> None:
    for d in (REPO / "recipes-ml", REPO / "images", LAYER):
        for path in list(d.rglob("*.bb")) + list(d.rglob("*.bbappend")) + list(d.rglob("*.bbclass")):
            meta = parse(path)
            for name, value in meta.variables.items():
                if name.startswith(("RDEPENDS", "IMAGE_INSTALL", "RRECOMMENDS")):
                    assert "python3-modules" not in value.split(), f"{path}: {name}"


def test_production_image_drops_the_recommendations_nothing_imports() -> None:
    image = parse(REPO / "images/armstft-image.bb")
    assert {"python3-fsspec", "python3-jinja2", "python3-setuptools"} <= set(
        image.words("BAD_RECOMMENDATIONS")
    )


def test_bbappends_only_act_for_this_distro() -> None:
    # yocto-check-layer compares oe-core's signatures with and without the layer under nodistro
    for path in (LAYER / "recipes-devtools").rglob("*.bbappend"):
        for name in parse(path).variables:
            assert name.endswith(":armstft") or name.endswith("_armstft"), f"{path}: {name}"


LIB = "${libdir}/python${PYTHON_MAJMIN}"
MANIFEST = collections.OrderedDict(
    [
        ("core", {"files": [f"{LIB}/os.py"], "rdepends": ["compression"]}),
        ("compression", {"files": [f"{LIB}/zipfile/"], "rdepends": ["core"]}),
        ("json", {"files": [f"{LIB}/json", f"{LIB}/lib-dynload/_json.*.so"], "rdepends": ["core"]}),
        ("unittest", {"files": [f"{LIB}/unittest"], "rdepends": ["json"]}),
    ]
)


def test_manifest_mapping() -> None:
    lib = "/usr/lib/python3.11"
    modules = {
        "os": f"{lib}/os.py",
        "json.decoder": f"{lib}/json/decoder.py",
        "_json": f"{lib}/lib-dynload/_json.cpython-311-aarch64-linux-gnu.so",
        "zipfile": f"{lib}/zipfile.py",  # a package in the target's CPython
        "unittest.mock": f"{lib}/unittest/mock.py",
        "timeit": f"{lib}/timeit.py",  # no package claims it: python3-misc
        "sys": "",  # built in
        "numpy": "/usr/lib/python3/dist-packages/numpy/__init__.py",
    }
    pkgs, third = stdlib_imports.classify(modules, {"os", "json", "_json", "zipfile", "unittest",
                                                    "timeit", "sys"}, "/usr", MANIFEST)  # fmt: skip
    assert pkgs == {
        "os": "python3-core",
        "json.decoder": "python3-json",
        "_json": "python3-json",
        "zipfile": "python3-compression",
        "unittest.mock": "python3-unittest",
        "timeit": "python3-misc",
        "sys": "python3-core",
    }
    assert third == ["numpy"]
    assert stdlib_imports.closure({"python3-unittest"}, MANIFEST) == {
        "python3-unittest", "python3-json", "python3-core", "python3-compression"
    }  # fmt: skip


class _FakeTinfoil:
    """Recipe files a.bb (packages a, a-extra), b.bb (b, RPROVIDES virtual-b), c.bb (c)."""

    class _Data:
        def __init__(self, values: dict[str, str]) -> None:
            self.values = values

        def getVar(self, name: str) -> str | None:
            return self.values.get(name)

    def __init__(self) -> None:
        cache = type("Cache", (), {})()
        cache.rundeps = {"a.bb": {"a": ["virtual-b"], "a-extra": []}, "b.bb": {"b": []}, "c.bb": {"c": []}}
        cache.runrecs = {"a.bb": {"a": ["c", "a-extra"]}, "b.bb": {}, "c.bb": {}}
        cache.pkg_fn = {"a.bb": "a", "b.bb": "b", "c.bb": "c"}
        self.cooker = type("Cooker", (), {"recipecaches": {"": cache}})()

    def run_command(self, command: str, name: str):
        assert command == "getRuntimeProviders"
        best = {"a": "a.bb", "a-extra": "a.bb", "virtual-b": "b.bb", "c": "c.bb"}.get(name)
        return ([best] if best else []), best

    def parse_recipe_file(self, fn: str):
        return self._Data({"PACKAGES": "b", "RPROVIDES:b": "virtual-b", "PN": "b"} if fn == "b.bb" else {})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, {"a", "a-extra", "b", "c"}),
        ({"BAD_RECOMMENDATIONS": "c"}, {"a", "a-extra", "b"}),
        ({"NO_RECOMMENDATIONS": "1"}, {"a", "b"}),
    ],
)
def test_closure_walks_rdepends_rprovides_and_recommendations(
    values: dict[str, str], expected: set[str]
) -> None:
    walker = image_closure.Closure(_FakeTinfoil(), _FakeTinfoil._Data(values))
    found, missing = walker.walk(["a", "nothing-provides-this"])
    assert set(found) == expected
    assert missing == ["nothing-provides-this (needed by IMAGE)"]
    assert image_closure.chain(found, "b") == "b <- a <- IMAGE"


def _checkout() -> Path:
    checkout = os.environ.get("ARMSTFT_BITBAKE_CHECKOUT")
    if not checkout:
        pytest.skip(
            "set ARMSTFT_BITBAKE_CHECKOUT to a bitbake + openembedded-core + meta-openembedded checkout"
        )
    return Path(checkout)


def test_real_manifest_maps_the_measured_modules() -> None:
    manifest = stdlib_imports.load_manifest(
        _checkout() / "openembedded-core/meta/recipes-devtools/python/python3/python3-manifest.json"
    )
    for pkg, modules in MEASURED["modules_by_package"].items():
        if pkg != "python3-misc":
            assert pkg.removeprefix("python3-") in manifest, pkg
        for mod in modules:
            if pkg == "python3-core" and not mod.startswith("_"):
                assert (
                    stdlib_imports.owner(mod + ".py", manifest) in ("core", None)
                    or stdlib_imports.owner(mod + "/__init__.py", manifest) == "core"
                ), mod
    # what oe-core's python3-modules pulls: the removed parts are all there, so the test means something
    for removed in REMOVED[:-1]:
        assert removed in manifest["modules"]["rdepends"]


@pytest.mark.slow
def test_real_bitbake_closure_of_the_production_image() -> None:
    """scripts/image_closure.py in the build directory scripts/check-bitbake.sh writes (run that first)."""
    checkout = _checkout()
    cache = Path(os.environ.get("ARMSTFT_CACHE", Path.home() / ".cache/armstft"))
    build = Path(os.environ.get("ARMSTFT_BITBAKE_BUILDDIR") or cache / "bitbake/build-qemuarm64")
    if not (build / "conf/bblayers.conf").is_file():
        pytest.skip(f"{build}: no build directory; run scripts/check-bitbake.sh {checkout} first")
    env = {
        **os.environ,
        "PATH": f"{checkout}/bitbake/bin:{checkout}/openembedded-core/scripts:{os.environ['PATH']}",
        "PYTHONPATH": f"{checkout}/bitbake/lib",
        "BBPATH": str(build),
        "BUILDDIR": str(build),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    cmd = ["python3", str(REPO / "scripts/image_closure.py"), "armstft-image"]
    if os.geteuid() == 0:
        user = os.environ.get("ARMSTFT_BITBAKE_USER")
        if not user:
            pytest.skip("bitbake refuses root: set ARMSTFT_BITBAKE_USER")
        cmd = ["runuser", "-u", user, "--", "env", *(f"{k}={env[k]}" for k in
               ("PATH", "PYTHONPATH", "BBPATH", "BUILDDIR", "LANG", "LC_ALL")), *cmd]  # fmt: skip
    proc = subprocess.run(cmd, cwd=build, env=env, capture_output=True, text=True, timeout=1800)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for removed in REMOVED:
        assert f"absent: python3-{removed}" in out
    stdlib = (
        next(line for line in out.splitlines() if "standard-library packages" in line)
        .split(":", 1)[1]
        .split()
    )
    assert set(MEASURED["packages"]) <= set(stdlib)
