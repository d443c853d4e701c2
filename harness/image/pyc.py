"""Precompile the image's Python files on the host, so the board never compiles at import time.

``import torch`` on an emulated Cortex-A72 spends most of its time compiling a few thousand modules when no
.pyc exists (and the snapshot disk forgets them at every boot).  The host interpreter is CPython 3.11 like the
board's, so its bytecode is valid there; ``unchecked-hash`` pycs ignore source mtimes, and ``ddir`` makes
tracebacks name the board's paths.
"""

from __future__ import annotations

import compileall
import os
import py_compile
import sys
from pathlib import Path

BOARD_PYTHON = (3, 11)


class PycError(RuntimeError):
    pass


def compile_tree(root: Path, rel_dirs: list[str]) -> None:
    """Compile every .py under ``root/<rel_dir>`` as if it lived at ``/<rel_dir>`` on the board."""
    if sys.version_info[:2] != BOARD_PYTHON:
        got = ".".join(map(str, sys.version_info[:2]))
        raise PycError(f"host python: version: expected 3.11 (the board's bytecode magic), got {got}")
    for rel in rel_dirs:
        top = root / rel
        if not top.is_dir():
            continue
        # Some files are not meant to compile (templates, py2 samples); compileall reports and skips them.
        compileall.compile_dir(
            str(top),
            ddir=f"/{rel}",
            quiet=2,
            workers=os.cpu_count() or 1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
