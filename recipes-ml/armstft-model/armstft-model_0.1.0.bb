# nooelint: oelint.var.bbclassextend - board data only
# Installs the repository's committed default bundle, models/default/ (manifest.json, *.pt, *.pt2,
# golden.npz), to /usr/share/armstft/default/ as read-only data: no postinst, nothing generated on
# the board, so the manifest's sha256 values hold as shipped.
SUMMARY = "armstft default model bundle (TorchScript, .pt2, manifest, golden data)"
DESCRIPTION = "The default STFT model bundle, installed read-only for armstft verify/bench"
HOMEPAGE = "https://github.com/armstft/armstft"
BUGTRACKER = "https://github.com/armstft/armstft/issues"
SECTION = "misc"
LICENSE = "MIT"
# nooelint: oelint.var.licenseremotefile - the bundle is this repository's own data (MIT per pyproject.toml)
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"
CVE_PRODUCT = "armstft"

# Same source policy as python3-armstft: the bundle comes from the checkout this layer lives in.
# nooelint: oelint.vars.fileextrapaths, oelint.vars.outofcontext - points at the repository's models/, not a bbappend's files
FILESEXTRAPATHS:prepend := "${ARMSTFT_TOPDIR}/models:"
SRC_URI = "file://default;subdir=armstft-model"

S = "${UNPACKDIR}/armstft-model"

inherit allarch

ARMSTFT_BUNDLE_DIR = "${datadir}/armstft/default"

do_configure[noexec] = "1"
do_compile[noexec] = "1"

do_install() {
    install -d -m 0755 ${D}${ARMSTFT_BUNDLE_DIR}
    for f in ${S}/default/*; do
        [ -f "$f" ] || continue
        install -m 0444 "$f" ${D}${ARMSTFT_BUNDLE_DIR}/
    done
    [ -e ${D}${ARMSTFT_BUNDLE_DIR}/manifest.json ] || bbfatal "models/default has no manifest.json"
}

FILES:${PN} += "${datadir}/armstft"
