# nooelint: oelint.var.bbclassextend - the package is only useful next to the target's python3-torch
# The armstft package and CLI, built from this repository with setuptools (PEP 517). setup.py builds
# the operator library libarmstft_ops.so and its CPython shim with the target CC/CXX (TUNE_CCARGS select
# NEON) against the target's python3-torch headers and libraries, named by ARMSTFT_TORCH_DIR.
SUMMARY = "armstft: on-device verify/bench/info for PyTorch STFT audio models"
DESCRIPTION = "The armstft Python package, its CLI and its native fast-STFT extension"
HOMEPAGE = "https://github.com/armstft/armstft"
BUGTRACKER = "https://github.com/armstft/armstft/issues"
SECTION = "devel/python"
LICENSE = "MIT"
# nooelint: oelint.var.licenseremotefile - pyproject.toml declares MIT; the repo has no licence file yet
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"
CVE_PRODUCT = "armstft"

# the operator library is built against the target's torch headers and libraries
DEPENDS += "python3-torch"

# Source: this repository's own files, from the checkout the layer sits in (ARMSTFT_TOPDIR is set
# in meta-armstft/conf/layer.conf). Recipe and package are one commit, so the source is pinned by
# that commit and by bitbake's per-file checksums; a git:// SRC_URI would need a SRCREV naming a
# commit that cannot contain its own hash. Add any new top-level build input here.
# nooelint: oelint.vars.fileextrapaths, oelint.vars.outofcontext - points at the repository root, not a bbappend's files
FILESEXTRAPATHS:prepend := "${ARMSTFT_TOPDIR}:"
SRC_URI = "file://pyproject.toml;subdir=armstft-src \
           file://setup.py;subdir=armstft-src \
           file://README.md;subdir=armstft-src \
           file://armstft;subdir=armstft-src \
           file://run-ptest"

S = "${UNPACKDIR}/armstft-src"

inherit python_setuptools_build_meta ptest

# setup.py never imports torch (the build machine's Python cannot load the target's): it builds against this
export ARMSTFT_TORCH_DIR = "${STAGING_DIR_TARGET}${PYTHON_SITEPACKAGES_DIR}/torch"

# The working tree may hold host build products (an x86 _native*.so, __pycache__, egg-info); only
# sources may reach the target build.
do_configure:prepend() {
    find ${S}/armstft \( -name '*.so' -o -name '__pycache__' -o -name '*.egg-info' \) -prune -exec rm -rf {} +
}

RDEPENDS:${PN} += "python3-core \
                   python3-json \
                   python3-numpy \
                   python3-torch \
                   python3-torchaudio"

# ptest (run-ptest): armstft info and verify of the default bundle on the board.
RDEPENDS:${PN}-ptest += "armstft-model"
