# nooelint: oelint.var.bbclassextend - a target wheel; nothing native needs it
# PyPI's aarch64 wheel of torch 2.9.1 for the target's CPython, installed as PEP 517 installs a built
# wheel. It is the torch the emulated board runs, so results there carry over; the source recipe
# python3-torch stays the default and the machine-tuned build. Select it with kas/prebuilt-torch.yml.
SUMMARY = "PyTorch 2.9.1, PyPI's prebuilt aarch64 wheel"
DESCRIPTION = "The manylinux_2_28 aarch64 CPython 3.14 wheel of torch 2.9.1 as PyPI serves it (CPU, OpenBLAS, NEON)"
HOMEPAGE = "https://pytorch.org/"
BUGTRACKER = "https://github.com/pytorch/pytorch/issues"
SECTION = "devel/python"
# PyTorch (BSD-3-Clause) with the third-party code its LICENSE file lists, and the libraries auditwheel
# bundled in torch.libs: OpenBLAS (BSD-3-Clause), Arm Compute Library (MIT), libgomp and libgfortran
# (GPL-3.0 with the GCC runtime library exception).
LICENSE = "BSD-3-Clause & BSD-2-Clause & Apache-2.0 & MIT & GPL-3.0-with-GCC-exception"
LIC_FILES_CHKSUM = "file://torch-${PV}.dist-info/licenses/LICENSE;md5=3c2f4638737da27a3524cebee992b35e \
                    file://torch-${PV}.dist-info/licenses/NOTICE;md5=dff7a430f36da9b71299379ec419aa39"
CVE_PRODUCT = "pytorch"

PROVIDES = "python3-torch"

ARMSTFT_WHEEL = "torch-${PV}-cp314-cp314-manylinux_2_28_aarch64.whl"
ARMSTFT_WHEEL_PYTHON = "3.14"
ARMSTFT_WHEEL_LICENSES = "torch-${PV}.dist-info/licenses/LICENSE torch-${PV}.dist-info/licenses/NOTICE"
SRC_URI = "https://files.pythonhosted.org/packages/81/c9/2628f408f0518b3bae49c95f5af3728b6ab498c8624ab1e03a43dd53d650/${ARMSTFT_WHEEL};unpack=0;downloadfilename=${ARMSTFT_WHEEL}"
SRC_URI[sha256sum] = "19d144d6b3e29921f1fc70503e9f2fc572cde6a5115c0c0de2f7ca8b1483e8b6"

inherit armstft_wheel

# Only for building against libtorch (issue #19): the headers (torch/include: 35.6 MB of the wheel's
# 420.4 MB), CMake package files, libshm's headers and the wheel's protoc (two 4.8 MB copies; nothing
# at runtime runs it). docs/yocto.md, "Minimal image", has the sizes.
FILES:${PN}-dev += "${PYTHON_SITEPACKAGES_DIR}/torch/include \
                    ${PYTHON_SITEPACKAGES_DIR}/torch/share/cmake \
                    ${PYTHON_SITEPACKAGES_DIR}/torch/bin/protoc* \
                    ${PYTHON_SITEPACKAGES_DIR}/torch/lib/libshm/*.h \
                    ${PYTHON_SITEPACKAGES_DIR}/torch/lib/libshm_windows"

inherit armstft_torch_runtime

# What the wheel's METADATA requires on Linux/aarch64 and the board imports (see the class), and the
# measured standard-library packages. setuptools (required since Python 3.12) is imported only by
# torch.utils.cpp_extension, which compiles C++ extensions: recommended, like jinja2 and fsspec.
RDEPENDS:${PN} += "${ARMSTFT_TORCH_PYPI_RDEPENDS} \
                   ${ARMSTFT_TORCH_STDLIB_RDEPENDS}"
RRECOMMENDS:${PN} += "${ARMSTFT_TORCH_PYPI_RRECOMMENDS} \
                      python3-setuptools"

RPROVIDES:${PN} = "python3-torch"
