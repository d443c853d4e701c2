"""Loads the compiled engine once; everything in the fast STFT asks here whether it may use it.

Why a module of its own: a wheel built without the C part (``ARMSTFT_NO_NATIVE=1``), a broken cross build
or an unknown platform must still give correct results through torch.stft, so a failed import is
remembered (and explained by :func:`load_error`), never raised at the user.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

_native: ModuleType | None = None
_error: str | None = None


def _load() -> None:
    """Import ``_native`` unless ARMSTFT_FASTSTFT=off asks for the pure fallback (used by tests)."""
    global _native, _error
    if os.environ.get("ARMSTFT_FASTSTFT", "").lower() in {"0", "off", "false"}:
        _error = "disabled by ARMSTFT_FASTSTFT"
        return
    try:
        _native = importlib.import_module("armstft.faststft._native")
    except ImportError as exc:
        _error = f"native engine not importable: {exc}"


_load()


def native() -> ModuleType | None:
    """The compiled module, or None when only the torch.stft fallback is there."""
    return _native


def available() -> bool:
    """True when the compiled engine loaded (else every call is a torch.stft fallback)."""
    return _native is not None


def load_error() -> str | None:
    """Why the engine is not available, for `armstft info`-style reports."""
    return _error


def simd() -> str | None:
    """Vector instruction set the engine was compiled with ("neon", "sse2", "scalar"), None if absent."""
    return _native.simd() if _native is not None else None
