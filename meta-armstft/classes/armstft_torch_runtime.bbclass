# Runtime dependencies shared by python3-torch (source build) and python3-torch-bin (PyPI's wheel):
# the recipes add these variables to RDEPENDS:${PN} / RRECOMMENDS:${PN}.
#
# Issue #19 (minimal image): not python3-modules, which pulls all 53 standard-library packages
# (tkinter, idle, pydoc, ensurepip, sqlite3, curses, venv, ...), but the oe-core python3-* packages
# that hold every standard-library module `import torch, torchaudio, armstft` and the armstft
# subcommands info, verify, bench --quick and run import on an aarch64 board, model worker included:
# measured with scripts/stdlib_imports.py and mapped with oe-core's python3-manifest.json (the list, the
# command and the modules per package are in docs/yocto.md and docs/stdlib-imports.json).
# python3-unittest is among them: torch/_guards.py imports unittest.mock when torch is imported.
ARMSTFT_TORCH_STDLIB_RDEPENDS = "\
    python3-asyncio \
    python3-compression \
    python3-core \
    python3-crypt \
    python3-ctypes \
    python3-datetime \
    python3-debugger \
    python3-difflib \
    python3-email \
    python3-html \
    python3-image \
    python3-io \
    python3-json \
    python3-logging \
    python3-math \
    python3-mime \
    python3-misc \
    python3-mmap \
    python3-multiprocessing \
    python3-netclient \
    python3-numbers \
    python3-pickle \
    python3-pprint \
    python3-profile \
    python3-resource \
    python3-shell \
    python3-statistics \
    python3-stringold \
    python3-threading \
    python3-unittest \
    python3-unixadmin \
    python3-xml \
"

# The wheel's Requires-Dist that the measured paths import: numpy and typing_extensions with torch;
# sympy (with mpmath), networkx and filelock when the model worker loads the bundle's torch.export
# program (verify, bench).
ARMSTFT_TORCH_PYPI_RDEPENDS = "\
    python3-filelock \
    python3-networkx \
    python3-numpy \
    python3-sympy \
    python3-typing-extensions \
"

# Requires-Dist no measured path imports: jinja2 only for torch.compile's inductor code generation,
# fsspec only for torch.distributed.checkpoint's fsspec storage. Recommended, so a general image still
# has them; armstft-image (no compiler on the board) leaves them out with BAD_RECOMMENDATIONS.
ARMSTFT_TORCH_PYPI_RRECOMMENDS = "\
    python3-fsspec \
    python3-jinja2 \
"
