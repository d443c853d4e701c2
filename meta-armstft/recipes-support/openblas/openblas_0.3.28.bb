# nooelint: oelint.var.bbclassextend - a cross/target library tuned per machine; nothing native needs it
# OpenBLAS for python3-torch (BLAS=OpenBLAS). Built for one CPU target derived from the machine's
# tune and without Fortran: LAPACK comes from OpenBLAS's C translation (C_LAPACK), so the
# toolchain needs no gfortran.
SUMMARY = "Optimised BLAS with CBLAS and LAPACK for the machine's CPU"
DESCRIPTION = "OpenBLAS built for the tune's CPU, with CBLAS and C-translated LAPACK"
HOMEPAGE = "https://www.openblas.net/"
BUGTRACKER = "https://github.com/OpenMathLib/OpenBLAS/issues"
SECTION = "libs"
LICENSE = "BSD-3-Clause"
LIC_FILES_CHKSUM = "file://LICENSE;md5=5adf4792c949a00013ce25d476a2abc0"
CVE_PRODUCT = "openblas"

SRC_URI = "git://github.com/OpenMathLib/OpenBLAS.git;protocol=https;branch=develop;tag=v${PV}"
SRCREV = "5ef8b1964658f9cb6a6324a06f6a1a022609b0c5"

# Only the ARM families this project targets have a TARGET mapping below.
COMPATIBLE_HOST = "(aarch64|arm).*-linux.*"

# OpenBLAS names one CPU per build (TARGET=...). Take it from the machine's tune so a Raspberry Pi 4
# gets the Cortex-A72 kernels and a Pi 5 the Cortex-A76 ones; a machine may set OPENBLAS_TARGET.
def openblas_target_from_tune(d):
    features = (d.getVar("TUNE_FEATURES") or "").split()
    by_core = (
        ("neoversen1", "NEOVERSEN1"),
        ("cortexa76", "CORTEXA76"),
        ("cortexa72", "CORTEXA72"),
        ("cortexa57", "CORTEXA57"),
        ("cortexa55", "CORTEXA55"),
        ("cortexa53", "CORTEXA53"),
    )
    for feature, target in by_core:
        if feature in features:
            return target
    if d.getVar("TARGET_ARCH") == "aarch64":
        return "ARMV8"
    # 32-bit: the NEON kernels need a NEON tune (-mfpu=neon); otherwise the plain VFP ones.
    return "ARMV7" if "neon" in features else "ARMV6"

OPENBLAS_TARGET ?= "${@openblas_target_from_tune(d)}"
OPENBLAS_BINARY = "${@'64' if d.getVar('TARGET_ARCH') == 'aarch64' else '32'}"
# Upper bound for the thread pool; at run time OpenBLAS uses min(this, online CPUs).
OPENBLAS_NUM_THREADS ?= "8"

# Threading: OpenMP (shares libgomp's pool with PyTorch's intra-op threads, so the two do not
# oversubscribe the cores) or, without it, OpenBLAS's own pthreads pool.
PACKAGECONFIG ??= "openmp"
PACKAGECONFIG[openmp] = "USE_OPENMP=1,USE_OPENMP=0"

EXTRA_OEMAKE = "CC='${CC}' HOSTCC='${BUILD_CC}' AR='${AR}' RANLIB='${RANLIB}' \
                CROSS=1 CROSS_SUFFIX='${TARGET_PREFIX}' \
                TARGET=${OPENBLAS_TARGET} BINARY=${OPENBLAS_BINARY} \
                NOFORTRAN=1 C_LAPACK=1 NO_STATIC=1 USE_THREAD=1 NUM_THREADS=${OPENBLAS_NUM_THREADS} \
                ${PACKAGECONFIG_CONFARGS} \
                COMMON_OPT='${CFLAGS}' \
                PREFIX=${prefix}"
# No EXTRALIB here: on make's command line it would override OpenBLAS's own EXTRALIB (-lm, -lpthread,
# -lgomp), and the shared library's link test fails (undefined reference to cexpf). OpenBLAS's link
# lines use $(LDFLAGS), which it never assigns: the LDFLAGS bitbake exports reach them.

do_compile() {
    oe_runmake libs netlib shared
}

do_install() {
    # DESTDIR is prepended by OpenBLAS's Makefile.install; the *_DIR values are the on-target paths,
    # which also end up in the generated OpenBLASConfig.cmake and openblas.pc.
    oe_runmake install DESTDIR=${D} \
        OPENBLAS_INCLUDE_DIR=${includedir} \
        OPENBLAS_LIBRARY_DIR=${libdir} \
        OPENBLAS_BINARY_DIR=${bindir} \
        OPENBLAS_CMAKE_DIR=${libdir}/cmake/openblas \
        OPENBLAS_PKGCONFIG_DIR=${libdir}/pkgconfig
}

# OpenBLAS installs the library as libopenblas_<core>p-r<version>.so (e.g. libopenblas_cortexa72p-r0.3.28.so)
# with libopenblas.so.0 (the SONAME) and libopenblas.so linking to it. oe-core's -dev glob lib*.so would
# take that real ELF (dev-elf) and leave a dangling libopenblas.so.0 in the runtime package, whose users'
# library dependency would then land on -dev (dev-deps). -dev keeps only the link time libopenblas.so.
FILES_SOLIBSDEV = "${libdir}/libopenblas${SOLIBSDEV}"
FILES:${PN} += "${libdir}/libopenblas_*-r${PV}${SOLIBSDEV}"
