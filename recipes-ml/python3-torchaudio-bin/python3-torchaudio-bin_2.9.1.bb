# nooelint: oelint.var.bbclassextend - a target wheel; nothing native needs it
# PyPI's aarch64 wheel of torchaudio 2.9.1 (with its C++ extension) for the target's CPython, next to
# python3-torch-bin. Select both with kas/prebuilt-torch.yml.
SUMMARY = "torchaudio 2.9.1, PyPI's prebuilt aarch64 wheel"
DESCRIPTION = "The manylinux_2_28 aarch64 CPython 3.14 wheel of torchaudio 2.9.1 as PyPI serves it"
HOMEPAGE = "https://github.com/pytorch/audio"
BUGTRACKER = "https://github.com/pytorch/audio/issues"
SECTION = "devel/python"
LICENSE = "BSD-2-Clause"
LIC_FILES_CHKSUM = "file://torchaudio-${PV}.dist-info/LICENSE;md5=570eef9ba0d4b42e6e7be2b2ca31f13c"
CVE_PRODUCT = "torchaudio"

PROVIDES = "python3-torchaudio"

ARMSTFT_WHEEL = "torchaudio-${PV}-cp314-cp314-manylinux_2_28_aarch64.whl"
ARMSTFT_WHEEL_PYTHON = "3.14"
ARMSTFT_WHEEL_LICENSES = "torchaudio-${PV}.dist-info/LICENSE"
SRC_URI = "https://files.pythonhosted.org/packages/05/1c/e05a32ee6868dc05463242db672f23dba5d042423fefcf294db4dac343a8/${ARMSTFT_WHEEL};unpack=0;downloadfilename=${ARMSTFT_WHEEL}"
SRC_URI[sha256sum] = "9c0d004f784c49078017f8217fdc901df0eb9724e50fb269b3a6c99b1d4eae75"

inherit armstft_wheel

RDEPENDS:${PN} += "python3-core python3-torch"

RPROVIDES:${PN} = "python3-torchaudio"
