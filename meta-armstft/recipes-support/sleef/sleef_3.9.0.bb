# SLEEF: vectorised math (sin, cos, exp, ...) for NEON/SVE. python3-torch links this system copy
# (USE_SYSTEM_SLEEF). SLEEF generates sources with small helper programs that must run on the build
# host, so the target build uses the helpers from sleef-native (NATIVE_BUILD_DIR).
SUMMARY = "Vectorised math library used by PyTorch's CPU kernels"
DESCRIPTION = "SIMD library for evaluating elementary functions, built without tests or DFT"
HOMEPAGE = "https://sleef.org/"
BUGTRACKER = "https://github.com/shibatch/sleef/issues"
SECTION = "libs"
LICENSE = "BSL-1.0"
LIC_FILES_CHKSUM = "file://LICENSE.txt;md5=e4224ccaecb14d942c71d31bef20d78c"
CVE_PRODUCT = "sleef"

DEPENDS:append:class-target = " sleef-native"

SRC_URI = "git://github.com/shibatch/sleef.git;protocol=https;branch=master;tag=${PV}"
SRCREV = "906ca7512ee483296780a81a21b9ca715d40dfe1"

inherit cmake

# Library only: no tests (they want MPFR/FFTW/OpenSSL), no DFT, and no TLFloat, which SLEEF would
# otherwise download at configure time.
EXTRA_OECMAKE = "-DBUILD_SHARED_LIBS=ON \
                 -DSLEEF_BUILD_LIBM=ON \
                 -DSLEEF_BUILD_DFT=OFF \
                 -DSLEEF_BUILD_QUAD=OFF \
                 -DSLEEF_BUILD_GNUABI_LIBS=OFF \
                 -DSLEEF_BUILD_TESTS=OFF \
                 -DSLEEF_ENABLE_TLFLOAT=OFF \
                 -DSLEEF_DISABLE_MPFR=ON \
                 -DSLEEF_DISABLE_FFTW=ON \
                 -DSLEEF_DISABLE_SSL=ON \
                 -DSLEEF_SHOW_CONFIG=OFF"
EXTRA_OECMAKE:append:class-target = " -DNATIVE_BUILD_DIR=${STAGING_LIBEXECDIR_NATIVE}/sleef-native"

# The host helpers (mkrename, mkalias, mkdisp, ...) land in ${B}/bin of the native build; keep them
# where the target build's NATIVE_BUILD_DIR/bin expects them.
do_install:append:class-native() {
    install -d ${D}${libexecdir}/sleef-native/bin
    for helper in ${B}/bin/*; do
        install -m 0755 "$helper" ${D}${libexecdir}/sleef-native/bin/
    done
}

BBCLASSEXTEND = "native"
