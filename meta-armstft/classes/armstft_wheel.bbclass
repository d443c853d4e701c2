# Install a prebuilt PyPI wheel with the PEP 517 class's own install step (pypa/installer), the same
# step a source build's wheel goes through. For the -bin recipes of kas/prebuilt-torch.yml.
#
# The recipe sets ARMSTFT_WHEEL (the wheel's file name), ARMSTFT_WHEEL_PYTHON (the CPython version the
# wheel is for, e.g. 3.14), SRC_URI with ";unpack=0;downloadfilename=${ARMSTFT_WHEEL}" and its sha256,
# and ARMSTFT_WHEEL_LICENSES (the wheel's licence files, extracted for LIC_FILES_CHKSUM).

inherit python_pep517

ARMSTFT_WHEEL ?= ""
ARMSTFT_WHEEL_PYTHON ?= ""
ARMSTFT_WHEEL_LICENSES ?= ""

# The licence texts live inside the wheel: S holds just those, extracted after do_unpack.
S = "${UNPACKDIR}/wheel-licenses"

armstft_wheel_licenses[doc] = "Extract ARMSTFT_WHEEL_LICENSES from the wheel into S"
python armstft_wheel_licenses() {
    import os
    import zipfile
    wheel = os.path.join(d.getVar('UNPACKDIR'), d.getVar('ARMSTFT_WHEEL'))
    wanted = d.getVar('ARMSTFT_WHEEL_LICENSES').split()
    with zipfile.ZipFile(wheel) as whl:
        for name in wanted:
            whl.extract(name, d.getVar('S'))
}
do_unpack[postfuncs] += "armstft_wheel_licenses"

do_configure[noexec] = "1"

# The wheel is the build result: put it where python_pep517_do_install takes it from.
do_compile() {
    install -d ${PEP517_WHEEL_PATH}
    install -m 0644 ${UNPACKDIR}/${ARMSTFT_WHEEL} ${PEP517_WHEEL_PATH}/
}

# A cp3XY wheel only imports in that CPython, and only on its architecture: the recipe is skipped
# (incompatible host) instead of failing on the board when the target's Python is another one.
ARMSTFT_WHEEL_HOST ?= "aarch64.*-linux.*"
COMPATIBLE_HOST = "${@d.getVar('ARMSTFT_WHEEL_HOST') if d.getVar('PYTHON_BASEVERSION') == d.getVar('ARMSTFT_WHEEL_PYTHON') else 'null'}"

# manylinux wheels ship stripped libraries linked without OE's LDFLAGS, and their bundled copies of
# libgomp/libopenblas (in torch.libs) are what their own libraries load.
# nooelint: oelint.vars.insaneskip - prebuilt manylinux binaries: stripped and linked upstream, by design
INSANE_SKIP:${PN} += "already-stripped ldflags"
