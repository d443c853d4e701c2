"""What matters in the recipes, read with a real bitbake-syntax parser (see bbmeta.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .bbmeta import LAYER, REPO, Meta, parse, recipe_files

TORCH = REPO / "recipes-ml/python3-torch/python3-torch_2.9.1.bb"
OPENBLAS = LAYER / "recipes-support/openblas/openblas_0.3.28.bb"
IMAGES = {
    "armstft-image": REPO / "images/armstft-image.bb",
    "armstft-image-dev": REPO / "images/armstft-image-dev.bb",
}
BOARD_PACKAGES = ("python3-torch", "python3-torchaudio", "python3-armstft", "armstft-model")
UNSAFE_FEATURES = {
    "debug-tweaks",
    "empty-root-password",
    "allow-empty-password",
    "allow-root-login",
    "serial-autologin-root",
    "post-install-logging",
    "tools-debug",
}


@pytest.fixture(scope="module")
def torch() -> Meta:
    return parse(TORCH)


def test_layer_is_for_wrynose_and_collects_sibling_folders() -> None:
    conf = parse(LAYER / "conf/layer.conf")
    assert conf.get("LAYERSERIES_COMPAT_armstft").split() == ["wrynose"]
    bbfiles = conf.get("BBFILES")
    assert "/recipes-ml/*/*.bb" in bbfiles and "/images/*.bb" in bbfiles
    # the sibling folders must match the layer's pattern, or their recipes lose the layer priority
    assert re.search(r"recipes-ml\|images|images\|recipes-ml", conf.get("BBFILE_PATTERN_armstft"))


def test_torch_is_built_against_openblas(torch: Meta) -> None:
    assert torch.exports["BLAS"] == "OpenBLAS"
    assert "openblas" in torch.words("DEPENDS")
    assert "openblas" in torch.words("RDEPENDS_${PN}")
    # cross builds take the BLAS ABI from the environment: CBLAS dot products, no f2c convention
    assert torch.exports["PYTORCH_BLAS_USE_CBLAS_DOT"] == "ON"
    assert torch.exports["PYTORCH_BLAS_F2C"] == "OFF"
    # and the same choice is written into the CMake cache via the toolchain file
    assert 'set(BLAS "${TORCH_BLAS}"' in (TORCH.read_text())


def test_torch_uses_system_libraries_and_no_configure_time_network(torch: Meta) -> None:
    for var in ("USE_SYSTEM_SLEEF", "USE_SYSTEM_PYBIND11", "USE_SYSTEM_EIGEN_INSTALL"):
        assert torch.exports[var] == "ON", var
    assert torch.exports["BUILD_CUSTOM_PROTOBUF"] == "OFF"
    assert {"libeigen", "sleef", "python3-pybind11", "protobuf", "protobuf-native"} <= set(
        torch.words("DEPENDS")
    )
    for var in ("USE_CUDA", "USE_DISTRIBUTED", "BUILD_TEST", "USE_NNPACK"):
        assert torch.exports[var] == "0", var
    assert not any(flag == "network" for (_, flag) in torch.flags), "no task may use the network"


def test_torch_gets_the_machine_tune_flags(torch: Meta) -> None:
    assert "cmake" in torch.inherits and torch.inherits[-1] == "python_setuptools_build_meta"
    assert torch.exports["CMAKE_TOOLCHAIN_FILE"] == "${WORKDIR}/toolchain.cmake"
    assert torch.get("TORCH_TUNE_CCARGS") == "${TUNE_CCARGS}"
    for var in ("OECMAKE_C_FLAGS", "OECMAKE_CXX_FLAGS"):
        assert "${TUNE_CCARGS}" in torch.get(var).split(), var
    # aarch64 always; 32-bit ARM only with a NEON tune
    aarch64 = torch.inline("COMPATIBLE_HOST", {"TUNE_FEATURES": "aarch64 crc cortexa72"})
    neon32 = torch.inline("COMPATIBLE_HOST", {"TUNE_FEATURES": "arm armv7a vfp neon"})
    no_neon = torch.inline("COMPATIBLE_HOST", {"TUNE_FEATURES": "arm armv7a vfp"})
    assert re.match(aarch64, "aarch64-armstft-linux") and re.match(neon32, "arm-armstft-linux-gnueabi")
    assert no_neon == "null"


def test_torch_accelerator_choices_are_deliberate(torch: Meta) -> None:
    assert torch.words("PACKAGECONFIG") == ["xnnpack", "qnnpack"]
    for option in ("xnnpack", "qnnpack", "kleidiai", "mkldnn"):
        assert ("PACKAGECONFIG", option) in torch.flags, option
    default = {"PACKAGECONFIG": torch.get("PACKAGECONFIG")}
    expected = {"USE_XNNPACK": "1", "USE_PYTORCH_QNNPACK": "1", "USE_KLEIDIAI": "0", "USE_MKLDNN": "0"}
    assert {var: torch.inline(f"export {var}", default) for var in expected} == expected
    assert torch.inline("export USE_MKLDNN", {"PACKAGECONFIG": "mkldnn"}) == "1"


def test_torch_caps_parallel_jobs_by_memory(torch: Meta) -> None:
    assert int(torch.get("TORCH_MB_PER_JOB")) >= 4096
    assert "export MAX_JOBS=" in TORCH.read_text()


def _tune_target(features: str, arch: str = "aarch64") -> str:
    """Run the openblas recipe's own TARGET mapping with a stand-in for bitbake's datastore."""
    code = parse(OPENBLAS).python_defs["openblas_target_from_tune"]
    scope: dict = {}
    exec(code, scope)  # the recipe's function body, as bitbake would run it
    values = {"TUNE_FEATURES": features, "TARGET_ARCH": arch}

    class Data:
        def getVar(self, name: str) -> str | None:
            return values.get(name)

    return scope["openblas_target_from_tune"](Data())


@pytest.mark.parametrize(
    ("features", "arch", "target"),
    [
        ("aarch64 crc cortexa72", "aarch64", "CORTEXA72"),  # raspberrypi4-64
        ("aarch64 crc crypto cortexa76", "aarch64", "CORTEXA76"),  # raspberrypi5
        ("aarch64 crc cortexa57", "aarch64", "CORTEXA57"),  # qemuarm64
        ("aarch64", "aarch64", "ARMV8"),
        ("arm armv7a vfp thumb neon callconvention-hard", "arm", "ARMV7"),
        ("arm armv6 vfp", "arm", "ARMV6"),
    ],
)
def test_openblas_target_follows_the_tune(features: str, arch: str, target: str) -> None:
    assert _tune_target(features, arch) == target


def test_openblas_options() -> None:
    blas = parse(OPENBLAS)
    make = blas.variables["EXTRA_OEMAKE"].split()
    assert "TARGET=${OPENBLAS_TARGET}" in make
    assert {"NOFORTRAN=1", "C_LAPACK=1", "USE_THREAD=1"} <= set(make)
    assert ("PACKAGECONFIG", "openmp") in blas.flags


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_images_contain_the_board_software(image: str) -> None:
    meta = parse(IMAGES[image])
    packages = meta.words("IMAGE_INSTALL")
    for pkg in BOARD_PACKAGES:
        assert pkg in packages, f"{image}: {pkg}"
    assert {"core-image", "armstft_image"} <= set(meta.inherits)


def test_production_image_has_no_debug_or_empty_passwords() -> None:
    image = parse(IMAGES["armstft-image"])
    cls = parse(LAYER / "classes/armstft_image.bbclass")
    distro = parse(LAYER / "conf/distro/armstft.conf")
    for meta in (image, cls, distro):
        for var in ("IMAGE_FEATURES", "EXTRA_IMAGE_FEATURES"):
            assert not UNSAFE_FEATURES & set(meta.words(var)), f"{meta.path.name}: {var}"
    assert "ssh-server-openssh" in image.words("IMAGE_FEATURES")
    # a login user, but no password given anywhere (useradd -p / usermod -p / passwd)
    params = cls.get("EXTRA_USERS_PARAMS")
    assert "useradd" in params and not re.search(r"(^|\s)(-p|--password|-P)\s", params)
    assert cls.get("ARMSTFT_PERMIT_ROOT_LOGIN") == "no"
    assert "ARMSTFT_PERMIT_ROOT_LOGIN" not in image.variables
    assert cls.words("ARMSTFT_KEY_USERS") == ["armstft"] and "ARMSTFT_KEY_USERS" not in image.variables
    assert "PasswordAuthentication no" in (LAYER / "classes/armstft_image.bbclass").read_text()


def test_images_are_sd_card_wic_with_bmap() -> None:
    cls = parse(LAYER / "classes/armstft_image.bbclass")
    assert {"wic.bz2", "wic.bmap"} <= set(cls.words("IMAGE_FSTYPES"))
    wks = LAYER / "files/wic" / cls.get("WKS_FILE")
    assert wks.is_file()
    assert "--source rootfs" in wks.read_text()


def _pinned_problems(meta: Meta) -> list[str]:
    problems = []
    for uri in meta.words("SRC_URI"):
        scheme, _, rest = uri.partition("://")
        params = dict(p.split("=", 1) for p in rest.split(";")[1:] if "=" in p)
        if scheme in ("git", "gitsm"):
            rev = meta.get(f"SRCREV_{params['name']}") if "name" in params else meta.get("SRCREV")
            if not re.fullmatch(r"[0-9a-f]{40}", rev):
                problems.append(f"{uri}: SRCREV {rev!r} is not a full commit hash")
        elif scheme in ("http", "https", "ftp"):
            name = params.get("name")
            flag = meta.flags.get(("SRC_URI", f"{name}.sha256sum" if name else "sha256sum"), "")
            if not re.fullmatch(r"[0-9a-f]{64}", flag):
                problems.append(f"{uri}: no sha256sum")
        elif scheme == "file":
            # sources from this repository: pinned by the commit the recipe is in; they must exist
            local = rest.split(";")[0]
            roots = [
                Path(p.replace("${ARMSTFT_TOPDIR}", str(REPO)))
                for p in meta.get("FILESEXTRAPATHS_prepend").split(":")
                if p
            ]
            roots.append(meta.path.parent / "files")
            if not any((root / local).exists() for root in roots):
                problems.append(f"{uri}: not found under {roots}")
        else:
            problems.append(f"{uri}: unknown fetcher")
    return problems


@pytest.mark.parametrize("recipe", recipe_files(), ids=lambda p: p.name)
def test_every_src_uri_is_pinned(recipe: Path) -> None:
    meta = parse(recipe)
    assert _pinned_problems(meta) == []
    assert "AUTOREV" not in recipe.read_text()


def test_pin_check_catches_an_unpinned_uri() -> None:
    """The check above must be able to fail."""
    meta = Meta(path=TORCH, variables={"SRC_URI": "https://example.org/x.tar.gz git://example.org/y.git"})
    assert len(_pinned_problems(meta)) == 2


def test_patches_carry_upstream_status() -> None:
    for patch in list(LAYER.rglob("*.patch")) + list((REPO / "recipes-ml").rglob("*.patch")):
        assert "Upstream-Status:" in patch.read_text(), patch


@pytest.mark.parametrize("recipe", recipe_files(), ids=lambda p: p.name)
def test_shell_tasks_avoid_what_bitbake_cannot_parse(recipe: Path) -> None:
    """bitbake scans shell functions with its own parser (pysh), which rejects $((...)) at parse time."""
    from oelint_parser.cls_item import Function
    from oelint_parser.cls_stash import Stash

    stash = Stash(quiet=True)
    stash.AddFile(str(recipe))
    stash.Finalize()
    for func in stash.GetItemsFor(filename=str(recipe), classifier=Function.CLASSIFIER):
        if not func.IsPython:
            code = "\n".join(line.split("#", 1)[0] for line in func.Raw.splitlines())
            assert "$((" not in code, f"{recipe.name}: {func.FuncName}"
