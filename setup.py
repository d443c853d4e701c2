"""Build of the native part of armstft: the C extension `armstft.faststft._native`.

Everything else about the package lives in pyproject.toml; this file exists only because a C extension
needs a setuptools `ext_modules` entry.  It is plain setuptools on purpose: the host build, Debian's aarch64
cross compiler (scripts/build-aarch64-wheel.sh) and a Yocto recipe all drive it through the usual CC/CFLAGS
variables.  Set ARMSTFT_NO_NATIVE=1 to build a pure-Python package (the fast STFT then falls back to
torch.stft).
"""

import os

from setuptools import Extension, setup

SRC = "armstft/faststft/src"


def native_extensions() -> list[Extension]:
    """The one extension, or none when the builder asked for a pure-Python package."""
    if os.environ.get("ARMSTFT_NO_NATIVE") == "1":
        return []
    return [
        Extension(
            "armstft.faststft._native",
            sources=[f"{SRC}/fft.c", f"{SRC}/fft_mixed.c", f"{SRC}/stft.c", f"{SRC}/module.c"],
            depends=[f"{SRC}/{h}.h" for h in ("fft", "fft_mixed", "stft", "simd", "split")],
            include_dirs=[SRC],
            extra_compile_args=["-O3", "-std=gnu11", "-fno-math-errno"],
            libraries=["m"],
        )
    ]


setup(ext_modules=native_extensions())
