"""armstft's version, in the base layer: the runtime facts and every manifest written record it, and those
modules sit below the package's face (``armstft/__init__.py``), which only re-exports it."""

from __future__ import annotations

__version__ = "0.1.0"
