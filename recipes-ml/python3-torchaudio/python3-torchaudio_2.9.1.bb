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

# The git repository at the v2.9.1 tag (release branch release/2.9). Not GitHub's generated tag
# archive: do_recipe_qa rejects those (src-uri-bad, "unstable GitHub/GitLab archives"), and torchaudio
# publishes no source archive on PyPI. SRCREV is the commit the tag names; the same commit is the
# git_version that PyPI's torchaudio 2.9.1 wheels record (docs/yocto.md). With tag= the fetcher also
# checks, in the clone, that the tag still resolves to SRCREV.
SRC_URI = "git://github.com/pytorch/audio.git;protocol=https;branch=release/2.9;tag=v${PV}"
SRCREV = "a224ab24a7f4797f6707051257265e223e12576f"

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
    printf "__version__ = '%s'\ngit_version = '%s'\n" "${PV}" "${SRCREV}" \
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
