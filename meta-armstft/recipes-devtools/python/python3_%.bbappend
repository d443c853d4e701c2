# Issue #19 (minimal image), for this distro only (yocto-check-layer's nodistro signatures stay oe-core's):
# python3-misc, the catch-all package, RDEPENDS on python3-pydoc; the image needs python3-misc
# (timeit, imported by torch) but no measured path imports pydoc (docs/yocto.md, "Minimal image").
RDEPENDS:${PN}-misc:remove:armstft = "${PN}-pydoc"
