"""Loads the operator library once; everything in the fast STFT asks here whether the engine is there.

Why a module of its own: a package built without its native library (``ARMSTFT_NO_NATIVE=1``), a broken
cross build or an unknown platform must still give correct results, so a failed load is remembered (and
explained by :func:`load_error`), never raised at the user.  Then the same operator names are defined in
Python with torch's own ops behind them (see :mod:`armstft.faststft.fallback`), so a saved model that
calls ``armstft::stft`` still loads and runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

LIBRARY = Path(__file__).resolve().parent / "libarmstft_ops.so"

_loaded = False
_error: str | None = None


def _load() -> None:
    """Load libarmstft_ops.so unless ARMSTFT_FASTSTFT=off asks for torch's ops only (used by tests)."""
    global _loaded, _error
    if os.environ.get("ARMSTFT_FASTSTFT", "").lower() in {"0", "off", "false"}:
        _error = "disabled by ARMSTFT_FASTSTFT"
    elif not LIBRARY.is_file():
        _error = f"{LIBRARY}: not built (package built with ARMSTFT_NO_NATIVE=1, or without torch headers)"
    else:
        try:
            torch.ops.load_library(str(LIBRARY))
            _loaded = True
        except (OSError, RuntimeError) as exc:
            _error = f"{LIBRARY}: cannot be loaded: {exc}"
    if not _loaded:
        from armstft.faststft import fallback

        fallback.define()


_load()


def available() -> bool:
    """True when the compiled engine is loaded (else every call is answered by torch's own ops)."""
    return _loaded


def load_error() -> str | None:
    """Why the engine is not available, for `armstft info`-style reports."""
    return _error


def library_path() -> Path | None:
    """The loaded operator library (a C++ program links or loads this file), None when absent."""
    return LIBRARY if _loaded else None


def simd() -> str | None:
    """Vector instruction set the engine was compiled with ("neon", "sse2", "scalar"), None if absent."""
    return torch.ops.armstft._simd() if _loaded else None
