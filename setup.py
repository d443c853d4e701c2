"""Build of the native part of armstft: the operator library ``armstft/faststft/libarmstft_ops.so``.

Everything else about the package lives in pyproject.toml; this file exists only because a native library
needs a setuptools ``ext_modules`` entry.  The library is a plain libtorch C++ extension (no Python in it:
a C++ program loads it too), linked against torch's ``libc10``/``libtorch_cpu``, and loaded at run time
with ``torch.ops.load_library``.

Why not ``torch.utils.cpp_extension``: it imports torch, and a cross build (Yocto, the aarch64 wheel
script) runs this file with the build machine's Python, where the *target's* torch cannot be imported.
So torch is only located, never imported: ``ARMSTFT_TORCH_DIR`` (a torch package directory holding
``include/`` and ``lib/``, e.g. the target sysroot's) or else the torch package on this Python's path.
Compilers come from the usual ``CC``/``CXX``/``CFLAGS``; with neither set, ``ccache`` is used when it is
installed and ``ARMSTFT_CACHE`` names a cache (a rebuild of the one C++ file then costs seconds, not a
minute).  Sources and compile flags come from ``armstft/faststft/src/build.json``, which the aarch64 wheel
script reads too.  ``ARMSTFT_NO_NATIVE=1`` builds a pure-Python package (every call then goes to torch).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SRC = "armstft/faststft/src"
LIB = "armstft/faststft/libarmstft_ops.so"
# sources and flags, shared with scripts/build-aarch64-wheel.sh (one definition for both builds)
BUILD = json.loads(Path(SRC, "build.json").read_text(encoding="utf-8"))
C_FLAGS: list[str] = BUILD["c_flags"]
CXX_FLAGS: list[str] = BUILD["cxx_flags"]


def torch_dir() -> Path | None:
    """The torch package directory whose headers and libraries we build against (not imported)."""
    given = os.environ.get("ARMSTFT_TORCH_DIR")
    if given:
        path = Path(given)
        if not (path / "include" / "torch" / "library.h").is_file():
            raise SystemExit(
                f"setup.py: ARMSTFT_TORCH_DIR={given}: expected a torch package with include/, got none"
            )
        return path
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)))
    return path if (path / "include" / "torch" / "library.h").is_file() else None


class BuildOps(build_ext):
    """C and C++ sources get their own flags; the library gets a fixed name (it is not a Python module)."""

    def get_ext_filename(self, fullname: str) -> str:
        # asked both with the full dotted name and with its last part only (distutils' get_ext_fullpath)
        if fullname == "armstft.faststft.libarmstft_ops":
            return LIB
        if fullname == "libarmstft_ops":
            return Path(LIB).name
        return super().get_ext_filename(fullname)

    def build_extensions(self) -> None:
        cc = self.compiler
        launcher = []
        if (
            "CC" not in os.environ
            and "CXX" not in os.environ
            and shutil.which("ccache")
            and "ARMSTFT_CACHE" in os.environ
        ):
            os.environ.setdefault("CCACHE_DIR", str(Path(os.environ["ARMSTFT_CACHE"]) / "ccache"))
            launcher = ["ccache"]
        # compiler_so is the C driver followed by Python's flags; C++ sources get the C++ driver instead
        driver = len(cc.compiler)
        flags = list(cc.compiler_so[driver:])
        c_cmd = [*launcher, *cc.compiler_so[:driver], *flags]
        cxx_cmd = [*launcher, *(cc.compiler_cxx or cc.compiler_so[:driver]), *flags]
        compile_one = cc._compile

        def _compile(obj, src, ext, cc_args, extra_postargs, pp_opts):  # type: ignore[no-untyped-def]
            cpp = src.endswith(".cpp")
            cc.compiler_so = cxx_cmd if cpp else c_cmd
            if hasattr(cc, "compiler_so_cxx"):  # newer setuptools picks this one for C++ by itself
                cc.compiler_so_cxx = cxx_cmd
            compile_one(obj, src, ext, cc_args, [*extra_postargs, *(CXX_FLAGS if cpp else C_FLAGS)], pp_opts)

        cc._compile = _compile
        super().build_extensions()

    def build_extension(self, ext: Extension) -> None:
        if ext.name == "armstft.faststft._fastpath":
            # links against the operator library just built (found at run time beside it: $ORIGIN)
            ext.library_dirs.insert(
                0, str(Path(self.get_ext_fullpath("armstft.faststft.libarmstft_ops")).parent)
            )
        super().build_extension(ext)


def native_extensions() -> list[Extension]:
    """The operator library, or none for a pure-Python package (asked for, or no torch to build against)."""
    if os.environ.get("ARMSTFT_NO_NATIVE") == "1":
        return []
    torch = torch_dir()
    if torch is None:
        print("setup.py: no torch package with headers found: building armstft without its native library")
        return []
    # every header under src/ (a hand-kept list misses the next one added, and a stale build goes unnoticed)
    headers = sorted(str(h) for h in Path(SRC).rglob("*.h"))
    include = [SRC, str(torch / "include"), str(torch / "include/torch/csrc/api/include")]
    return [
        Extension(
            "armstft.faststft.libarmstft_ops",
            sources=[f"{SRC}/{name}" for name in [*BUILD["library_c"], *BUILD["library_cxx"]]],
            depends=headers,
            include_dirs=include,
            library_dirs=[str(torch / "lib")],
            libraries=["c10", "torch_cpu", "torch", "m"],
            # found beside torch's own libraries when installed next to torch (site-packages/torch/lib)
            extra_link_args=[
                "-Wl,-rpath,$ORIGIN/../../torch/lib",
                "-Wl,--no-as-needed",
                "-Wl,-soname,libarmstft_ops.so",
            ],
            language="c++",
        ),
        # the CPython shim for plain eager calls (src/fastpath.cpp); the package works without it
        Extension(
            "armstft.faststft._fastpath",
            sources=[f"{SRC}/{name}" for name in BUILD["shim_cxx"]],
            depends=headers,
            include_dirs=include,
            library_dirs=[str(torch / "lib")],
            libraries=["armstft_ops", "torch_python", "torch", "torch_cpu", "c10"],
            extra_link_args=["-Wl,-rpath,$ORIGIN:$ORIGIN/../../torch/lib"],
            language="c++",
        ),
    ]


setup(ext_modules=native_extensions(), cmdclass={"build_ext": BuildOps})
