# Issue #19 (minimal image), for this distro only (yocto-check-layer's nodistro signatures stay oe-core's):
# of oe-core's standard-library RDEPENDS for numpy, no measured path (import torch, torchaudio,
# armstft and its subcommands on the board) imports pydoc or doctest; numpy imports them only for
# help texts and its test runner (docs/yocto.md, "Minimal image").
RDEPENDS:${PN}:remove:armstft = "python3-doctest python3-pydoc"
