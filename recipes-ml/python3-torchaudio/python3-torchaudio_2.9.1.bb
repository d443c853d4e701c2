# nooelint: oelint.var.bbclassextend - needs python3-torch at run time, which is target-only
# The Python part of torchaudio. armstft's models use its pure-Python transforms, which run on
# ATen's STFT. The optional C++ extension (sox/ffmpeg IO, RNN-T loss, CTC decoder) is not built:
# torchaudio's setup.py imports torch at build time, which a cross build cannot do.
SUMMARY = "torchaudio 2.9.1: audio transforms for PyTorch"
DESCRIPTION = "Spectrogram, MelSpectrogram and other audio transforms (Python part)"
HOMEPAGE = "https://github.com/pytorch/audio"
BUGTRACKER = "https://github.com/pytorch/audio/issues"
SECTION = "devel/python"
LICENSE = "BSD-2-Clause"
LIC_FILES_CHKSUM = "file://LICENSE;md5=570eef9ba0d4b42e6e7be2b2ca31f13c"
CVE_PRODUCT = "torchaudio"

# GitHub's tag archive; the checksum is the one conda-forge's torchaudio feedstock pins for v2.9.1.
SRC_URI = "https://github.com/pytorch/audio/archive/refs/tags/v${PV}.tar.gz;downloadfilename=torchaudio-${PV}.tar.gz"
SRC_URI[sha256sum] = "590492c90552959b3df6f601eb733135064bf2d9e53c516adcf6845a4e545662"

S = "${UNPACKDIR}/audio-${PV}"

inherit python3-dir

# Nothing to compile: the package is copied as a pure-Python wheel would install it.
do_configure[noexec] = "1"
do_compile[noexec] = "1"

do_install() {
    src=${S}/src/torchaudio
    [ -d "$src" ] || src=${S}/torchaudio
    install -d ${D}${PYTHON_SITEPACKAGES_DIR}
    cp -R --no-preserve=ownership "$src" ${D}${PYTHON_SITEPACKAGES_DIR}/torchaudio
    rm -rf ${D}${PYTHON_SITEPACKAGES_DIR}/torchaudio/csrc
    printf "__version__ = '%s'\ngit_version = 'v%s'\n" "${PV}" "${PV}" \
        > ${D}${PYTHON_SITEPACKAGES_DIR}/torchaudio/version.py
    # Minimal distribution metadata so importlib.metadata.version("torchaudio") answers on the board.
    distinfo=${D}${PYTHON_SITEPACKAGES_DIR}/torchaudio-${PV}.dist-info
    install -d "$distinfo"
    printf "Metadata-Version: 2.1\nName: torchaudio\nVersion: %s\nRequires-Dist: torch==%s\n" \
        "${PV}" "${PV}" > "$distinfo/METADATA"
    echo "torchaudio" > "$distinfo/top_level.txt"
    echo "oe" > "$distinfo/INSTALLER"
}

FILES:${PN} += "${PYTHON_SITEPACKAGES_DIR}"

RDEPENDS:${PN} += "python3-core python3-torch"
