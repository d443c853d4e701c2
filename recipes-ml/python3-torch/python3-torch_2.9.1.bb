# nooelint: oelint.var.bbclassextend - torch-native would be a second multi-hour build that nothing here uses
# PyTorch built from source for the machine: CPU-only, cross-compiled with the machine's tune flags,
# BLAS/LAPACK from OpenBLAS, system Eigen, SLEEF, pybind11 and protobuf (host protoc from
# protobuf-native). docs/yocto.md explains each build choice.
SUMMARY = "PyTorch 2.9.1 built from source for the machine's CPU"
DESCRIPTION = "Tensors and neural networks with ATen CPU kernels tuned for the target"
HOMEPAGE = "https://pytorch.org/"
BUGTRACKER = "https://github.com/pytorch/pytorch/issues"
SECTION = "devel/python"
LICENSE = "BSD-3-Clause"
# LICENSE (84 lines) is PyTorch's BSD-3-Clause text; NOTICE credits the code it incorporates.
LIC_FILES_CHKSUM = "file://LICENSE;md5=d07280c7432af485bb23b7b316c5f3e5 \
                    file://NOTICE;md5=dff7a430f36da9b71299379ec419aa39"
CVE_PRODUCT = "pytorch"

# Libraries, host tools, and the build requirements of 2.9.1's pyproject.toml [build-system] table
# (cmake, ninja, numpy, packaging, pyyaml, requests, six, typing-extensions; setuptools and wheel come
# with the PEP 517 class), which pyproject-build checks, with their own requirements, before setup.py
# runs: requests requires charset_normalizer, which python3-requests-native does not bring along.
DEPENDS += "libeigen \
            openblas \
            protobuf \
            protobuf-native \
            python3-charset-normalizer-native \
            python3-cmake-native \
            python3-ninja-native \
            python3-numpy \
            python3-numpy-native \
            python3-packaging-native \
            python3-pybind11 \
            python3-pyyaml-native \
            python3-requests-native \
            python3-six-native \
            python3-typing-extensions-native \
            sleef"

# PyTorch's own release tarball: unlike GitHub's generated source archive it contains every
# submodule (third_party/*), so nothing is cloned or downloaded after do_fetch and the build works
# from a source mirror. The checksum is the one conda-forge's pytorch-cpu feedstock pins for v2.9.1.
SRC_URI = "https://github.com/pytorch/pytorch/releases/download/v${PV}/pytorch-v${PV}.tar.gz \
           file://0001-pyproject.toml-accept-the-distribution-s-setuptools.patch \
           file://0002-macros.h.in-record-compiler-and-flags-given-by-the-bu.patch \
           file://armstft-require-numpy.cmake"
SRC_URI[sha256sum] = "e17504700ebc4c87f9b57059df1c4d790b769458c04db144c7a92aea90f2c92b"

S = "${UNPACKDIR}/pytorch-v${PV}"

# The runtime dependencies it shares with python3-torch-bin (measured, issue #19); variables only.
inherit armstft_torch_runtime

# cmake provides the cross toolchain file (and cmake-native/ninja-native); setup.py drives CMake
# itself, so configure/compile/install come from the PEP 517 class (inherited last, so it wins).
inherit cmake python_setuptools_build_meta

# ARM only: aarch64, or 32-bit ARM with a NEON tune (TUNE_CCARGS then carries -mfpu=neon).
COMPATIBLE_HOST = "${@bb.utils.contains_any('TUNE_FEATURES', 'aarch64 neon', '(aarch64|arm).*-linux.*', 'null', d)}"

# ---- what is built -----------------------------------------------------------------------------
# xnnpack:  fp32 linear/conv fast paths on ARM; its sources are in the release tarball.
# qnnpack:  PyTorch's int8 engine on ARM (torch.backends.quantized.engine = "qnnpack"); without it
#           the int8 model variant cannot run at all.
# kleidiai: only speeds up 4-bit dynamic-quant matmul (LLM weights), which armstft does not use.
# mkldnn:   oneDNN on AArch64 pays off only with Arm Compute Library, which no layer here builds.
# NNPACK and the old QNNPACK stay off: NNPACK's CMake downloads PeachPy/six at configure time and
# ATen prefers XNNPACK anyway; the old QNNPACK is superseded by PyTorch's own (qnnpack above).
PACKAGECONFIG ??= "xnnpack qnnpack"
PACKAGECONFIG[xnnpack] = ",,"
PACKAGECONFIG[qnnpack] = ",,"
PACKAGECONFIG[kleidiai] = ",,"
PACKAGECONFIG[mkldnn] = ",,"

# ---- BLAS ------------------------------------------------------------------------------------
# BLAS=OpenBLAS: matmul/linear/conv-as-GEMM go to the machine-tuned OpenBLAS, whose LAPACK serves
# torch.linalg. Eigen remains only where PyTorch itself uses Eigen.
TORCH_BLAS = "OpenBLAS"
export BLAS = "${TORCH_BLAS}"
# Cross-compiling, cmake/BLAS_ABI.cmake cannot run its probe programs and takes the BLAS calling
# convention from these two variables. OpenBLAS returns complex dot products (cdotu_) by value,
# while ATen's Fortran-ABI fallback expects them through a pointer, so ATen must call the CBLAS
# entry points (cblas_cdotu_sub); OpenBLAS's sdot_ returns float, not f2c's double.
export PYTORCH_BLAS_USE_CBLAS_DOT = "ON"
export PYTORCH_BLAS_F2C = "OFF"

export USE_XNNPACK = "${@bb.utils.contains('PACKAGECONFIG', 'xnnpack', '1', '0', d)}"
export USE_PYTORCH_QNNPACK = "${@bb.utils.contains('PACKAGECONFIG', 'qnnpack', '1', '0', d)}"
export USE_KLEIDIAI = "${@bb.utils.contains('PACKAGECONFIG', 'kleidiai', '1', '0', d)}"
export USE_MKLDNN = "${@bb.utils.contains('PACKAGECONFIG', 'mkldnn', '1', '0', d)}"
export USE_NNPACK = "0"
export USE_QNNPACK = "0"

export USE_CUDA = "0"
export USE_ROCM = "0"
export USE_XPU = "0"
export USE_MPS = "0"
export USE_VULKAN = "0"
export USE_CUDNN = "0"
export USE_NCCL = "0"
export USE_DISTRIBUTED = "0"
export USE_GLOO = "0"
export USE_MPI = "0"
export USE_TENSORPIPE = "0"
export USE_FBGEMM = "0"
export USE_KINETO = "0"
export USE_ITT = "0"
export USE_NUMA = "0"
export USE_FLASH_ATTENTION = "0"
export USE_MEM_EFF_ATTENTION = "0"
export USE_OPENMP = "1"
export BUILD_TEST = "0"

# ---- system libraries instead of the bundled copies ----------------------------------------------
export USE_SYSTEM_SLEEF = "ON"
export USE_SYSTEM_PYBIND11 = "ON"
export USE_SYSTEM_EIGEN_INSTALL = "ON"
# Target libprotobuf from meta-oe; the code generator is the host protoc from protobuf-native.
export BUILD_CUSTOM_PROTOBUF = "OFF"

export PYTORCH_BUILD_VERSION = "${PV}"
export PYTORCH_BUILD_NUMBER = "0"
export CMAKE_BUILD_TYPE = "Release"
# setup.py passes CMAKE_* variables on to CMake: use the cross toolchain file cmake.bbclass writes.
export CMAKE_TOOLCHAIN_FILE = "${WORKDIR}/toolchain.cmake"
# CMakeLists.txt try_run()s a compiler sanity program, which cannot run when cross-compiling.
export COMPILER_WORKS_EXITCODE = "0"
export COMPILER_WORKS_EXITCODE__TRYRUN_OUTPUT = ""

# ---- tune flags ------------------------------------------------------------------------------------
# The machine's TUNE_CCARGS (e.g. -mcpu=cortex-a72) go into the toolchain file's CMAKE_C/CXX_FLAGS,
# which setup.py's CMake run uses for every ATen kernel. NEON is implicit on aarch64; on 32-bit ARM
# the tune carries -mfpu=neon (see COMPATIBLE_HOST:arm).
TORCH_TUNE_CCARGS = "${TUNE_CCARGS}"
OECMAKE_C_FLAGS = "${TORCH_TUNE_CCARGS} ${TOOLCHAIN_OPTIONS} ${CFLAGS} ${TORCH_C_COMPAT_FLAGS}"
OECMAKE_CXX_FLAGS = "${TORCH_TUNE_CCARGS} ${TOOLCHAIN_OPTIONS} ${CXXFLAGS}"

# GCC 14 and later (wrynose has 15) make -Wincompatible-pointer-types an error in C. XNNPACK's f16/s8/u8
# NEON kernels in 2.9.1 pass e.g. an xnn_float16* to vld1q_dup_u16 (pytorch#149828, fixed after 2.9.1),
# so they stop the build; the casts are harmless, so keep them a warning.
TORCH_C_COMPAT_FLAGS = "-Wno-error=incompatible-pointer-types"

# What torch.__config__.show() records as compiler and flags (0002-macros.h.in-*.patch): the target
# compiler's name and the machine tune, never a path of the build machine.
TORCH_RECORDED_CXX_COMPILER = "${TARGET_PREFIX}g++"
TORCH_RECORDED_CXX_FLAGS = "${TORCH_TUNE_CCARGS}"

# Debug information: oe-core's default -g makes libtorch_cpu enormous and its link slow (and the -dbg
# package with it); -g1 keeps what backtraces need (functions, line tables) without types and locals.
DEBUG_LEVELFLAG = "-g1"

# ---- parallelism -----------------------------------------------------------------------------------
# Some ATen translation units need about 4 GB of RAM each: cap setup.py's MAX_JOBS by the memory
# available when the task runs (computed in shell so it does not change the task signature).
TORCH_MB_PER_JOB ?= "4096"
TORCH_TARGET_NUMPY_INCDIR = "${STAGING_DIR_HOST}${PYTHON_SITEPACKAGES_DIR}/numpy/_core/include"

# Values setup.py cannot pass through its environment filter go into the toolchain file as cache
# entries: the BLAS choice (again, explicitly), where OpenBLAS is, the host protoc, and the target's
# NumPy headers (the native ones describe the build host).
# NumPy: setup.py passes -DPython_NumPy_INCLUDE_DIR= with the build host's numpy on CMake's command
# line, and a command-line cache entry wins over a plain CACHE set() in the toolchain file, so the
# toolchain file FORCEs the target's. PyTorch's dependency scan only warns when NumPy is not found and
# builds without it: armstft-require-numpy.cmake (run at the end of the top-level CMakeLists.txt through
# CMAKE_PROJECT_Torch_INCLUDE) stops configuring unless USE_NUMPY is ON with these headers, and
# do_compile:append checks that this check ran.
# protobuf: meta-oe's target protobuf is built without protoc, so its CMake package exports no
# protobuf::protoc and sets no PROTOBUF_LIBRARY; 2.9.1's cmake/public/protobuf.cmake then stops
# ("found protobuf with old style targets, but could not find targets"). protobuf's module-compatible
# mode sets the FindProtobuf variables from the exported targets, and Protobuf_PROTOC_EXECUTABLE (the
# host protoc) becomes protobuf::protoc.
do_generate_toolchain_file:append() {
    cat >> ${WORKDIR}/toolchain.cmake <<EOF_TORCH
set(BLAS "${TORCH_BLAS}" CACHE STRING "BLAS for ATen")
set(OpenBLAS_INCLUDE_DIR "${STAGING_INCDIR}" CACHE PATH "OpenBLAS headers")
set(OpenBLAS_LIB "${STAGING_LIBDIR}/libopenblas.so" CACHE FILEPATH "OpenBLAS library")
set(CAFFE2_CUSTOM_PROTOC_EXECUTABLE "${STAGING_BINDIR_NATIVE}/protoc" CACHE FILEPATH "host protoc")
set(protobuf_MODULE_COMPATIBLE ON CACHE BOOL "FindProtobuf variables from protobuf's CMake package")
set(Protobuf_PROTOC_EXECUTABLE "${STAGING_BINDIR_NATIVE}/protoc" CACHE FILEPATH "host protoc")
set(TORCH_RECORDED_CXX_COMPILER "${TORCH_RECORDED_CXX_COMPILER}" CACHE STRING "compiler in torch.__config__")
set(TORCH_RECORDED_CXX_FLAGS "${TORCH_RECORDED_CXX_FLAGS}" CACHE STRING "flags in torch.__config__")
set(ARMSTFT_TARGET_NUMPY_INCLUDE_DIR "${TORCH_TARGET_NUMPY_INCDIR}" CACHE PATH "the target's NumPy headers")
set(Python_NumPy_INCLUDE_DIR "${TORCH_TARGET_NUMPY_INCDIR}" CACHE PATH "NumPy headers" FORCE)
set(CMAKE_PROJECT_Torch_INCLUDE "${UNPACKDIR}/armstft-require-numpy.cmake")
EOF_TORCH
}

do_compile:prepend() {
    jobs=$(echo "${PARALLEL_MAKE}" | sed -n 's/.*-j *\([0-9][0-9]*\).*/\1/p')
    jobs=${jobs:-1}
    mem_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
    # Jobs that fit in memory, at least 1, computed by awk, which exits 0 whatever the quotient: not
    # expr, which exits 1 when the quotient is 0 (under TORCH_MB_PER_JOB available) and so ends the task
    # (bitbake runs shell tasks with set -e), and not $((...)), which bitbake's shell parser rejects.
    by_mem=$(awk -v mem="$mem_mb" -v per="${TORCH_MB_PER_JOB}" 'BEGIN { n = int(mem / per); if (n < 1) n = 1; print n }')
    if [ "$by_mem" -lt "$jobs" ]; then
        jobs=$by_mem
    fi
    export MAX_JOBS=$jobs
    bbnote "python3-torch: MAX_JOBS=$MAX_JOBS (${TORCH_MB_PER_JOB} MB per job, $mem_mb MB available)"
}

# The configure step ran armstft-require-numpy.cmake and ended with NumPy support on (see above).
do_compile:append() {
    cache=${PEP517_SOURCE_PATH}/build/CMakeCache.txt
    grep -q '^USE_NUMPY:BOOL=ON$' "$cache" || bbfatal "python3-torch: $cache: USE_NUMPY: expected ON"
    grep -q '^ARMSTFT_NUMPY_CHECKED:INTERNAL=.' "$cache" ||
        bbfatal "python3-torch: $cache: armstft-require-numpy.cmake did not run (CMAKE_PROJECT_Torch_INCLUDE)"
}

# Build paths the wheel would carry into the packages (package QA "buildpaths"): setup.py lists the
# bundled third-party licences by their absolute source path, and ATenConfig.cmake points at the
# source tree's include directory, which the package installs next to the CMake files.
do_install:append() {
    site=${D}${PYTHON_SITEPACKAGES_DIR}
    sed -i -e 's#${S}/##g' $site/torch-${PV}.dist-info/licenses/LICENSE
    sed -i -e 's#"${S}/torch/include"#"${CMAKE_CURRENT_LIST_DIR}/../../../include"#' \
        $site/torch/share/cmake/ATen/ATenConfig.cmake
}

# Headers, CMake config and the C++ extension toolchain are only for building against libtorch
# (issue #19: 35.6 MB of headers in PyPI's wheel of the same version). protoc is not installed
# by this build (the host protoc from protobuf-native is used); the pattern is the -bin recipe's.
FILES:${PN}-dev += "${PYTHON_SITEPACKAGES_DIR}/torch/include \
                    ${PYTHON_SITEPACKAGES_DIR}/torch/share/cmake \
                    ${PYTHON_SITEPACKAGES_DIR}/torch/bin/protoc* \
                    ${PYTHON_SITEPACKAGES_DIR}/torch/lib/libshm/*.h \
                    ${PYTHON_SITEPACKAGES_DIR}/torchgen/packaged"

RDEPENDS:${PN} += "${ARMSTFT_TORCH_PYPI_RDEPENDS} \
                   ${ARMSTFT_TORCH_STDLIB_RDEPENDS} \
                   libgomp \
                   openblas"
RRECOMMENDS:${PN} += "${ARMSTFT_TORCH_PYPI_RRECOMMENDS}"
