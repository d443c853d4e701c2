"""PyPI aarch64 wheels for the board: an explicit list, pinned, downloaded once, installed with --target.

pip resolves nothing here (``--no-deps``): torch's METADATA names CUDA packages for x86_64 only, and an
explicit list keeps them out while making every board dependency visible.  Versions follow the host venv
("one version everywhere"); torch/torchaudio are pinned by the project.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import paths

from . import log

# pip does not widen an explicit manylinux tag to the older glibc baselines it implies, so every tag the
# board's glibc (Debian 12: 2.36) runs is named, newest first: our own wheel is tagged with the newest glibc
# symbol its C++ library uses (2.32 with Debian's cross g++).
BOARD_GLIBC_MINOR = 36
PLATFORMS = [f"manylinux_2_{minor}_aarch64" for minor in range(BOARD_GLIBC_MINOR, 16, -1)] + [
    "manylinux2014_aarch64"
]
PYTHON = "3.11"

#: the board's wheel list, shared with bench/instructions/make_sysroot.sh
WHEEL_LIST = paths.repo_root() / "scripts" / "deps" / "board-wheels.txt"


class WheelError(RuntimeError):
    pass


def norm(name: str) -> str:
    """PEP 503 normalisation, as used in wheel file names (with '_')."""
    return re.sub(r"[-_.]+", "_", name).lower()


@dataclass(frozen=True)
class Req:
    name: str
    version: str | None  # None: whatever is cached, else the newest on PyPI

    def __str__(self) -> str:
        return f"{self.name}=={self.version}" if self.version else self.name


def requirements(listing: Path = WHEEL_LIST) -> list[Req]:
    """The board's wheel list; an unpinned name gets the version of the running (host venv) interpreter."""
    reqs = []
    for line in listing.read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        name, _, pinned = spec.partition("==")
        version: str | None = pinned or None
        if version is None:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                version = None
        reqs.append(Req(name, version))
    return reqs


def _cached(dest: Path, req: Req) -> Path | None:
    """A wheel in ``dest`` satisfying ``req`` (newest version if unpinned)."""
    hits = []
    for whl in dest.glob("*.whl"):
        name, version = whl.name.split("-")[:2]
        if norm(name) == norm(req.name) and (req.version is None or version == req.version):
            hits.append(whl)
    return max(hits, key=lambda p: p.name) if hits else None


def _pip() -> list[str]:
    return [sys.executable, "-m", "pip"]


def fetch(dest: Path, reqs: list[Req]) -> list[Path]:
    """Wheel files for ``reqs``, downloading only the ones not cached in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    missing = [r for r in reqs if _cached(dest, r) is None]
    if missing:
        cmd = [
            *_pip(),
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            *(arg for plat in PLATFORMS for arg in ("--platform", plat)),
            "--python-version",
            PYTHON,
            "--implementation",
            "cp",
            "-d",
            str(dest),
            *map(str, missing),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            raise WheelError(f"pip download {' '.join(map(str, missing))}: {tail}")
    found = [_cached(dest, r) for r in reqs]
    lost = [str(r) for r, f in zip(reqs, found, strict=True) if f is None]
    if lost:
        raise WheelError(f"{dest}: expected wheels for {lost}, got none after download")
    return [f for f in found if f is not None]


CROSS_SCRIPT = "scripts/build-aarch64-wheel.sh"
CROSS_CC = "aarch64-linux-gnu-gcc"


def snapshot_sources(repo: Path, dest: Path) -> list[Path]:
    """Copy the files that make up the armstft wheel into ``dest`` (replacing it); returns them, relative.

    The rebuild key and the wheel both come from this copy, so edits made meanwhile in the clone (people work
    in the same tree) cannot produce an image whose key does not match its contents.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files = package_sources(repo)
    for path in files:
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / path, dest / path)
    return files


def toolchain() -> list[str]:
    """Versions of the tools that turn the sources into the wheel (part of the rebuild key)."""
    found = []
    for dist in ("setuptools", "wheel", "pip"):
        try:
            found.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{dist}: none")
    if shutil.which(CROSS_CC):
        ver = subprocess.run([CROSS_CC, "--version"], capture_output=True, text=True, check=False).stdout
        found.append(ver.splitlines()[0] if ver else f"{CROSS_CC}: ?")
    else:
        found.append(f"{CROSS_CC}: none")
    return found


def build_armstft(src: Path, out: Path) -> Path:
    """The armstft wheel for the board, built from a source snapshot (see ``snapshot_sources``).

    With the project's cross-build script and Debian's aarch64 gcc, the wheel carries the native faststft
    engine (cp311 aarch64); without them it is the pure-Python wheel (faststft falls back to torch.stft) and
    the build says so.  Building in the copy also keeps build/ and *.egg-info out of the clone.
    """
    if out.exists():
        shutil.rmtree(out)
    if not (src / "README.md").exists():
        (src / "README.md").write_text("armstft\n")  # pyproject names a readme; the board does not need it
    env = {**os.environ, "PYTHON": sys.executable}
    if (src / CROSS_SCRIPT).is_file() and shutil.which(CROSS_CC):
        cmd = ["bash", str(src / CROSS_SCRIPT), str(out)]
    else:
        log.info(f"no {CROSS_SCRIPT} or {CROSS_CC}: pure-Python armstft wheel (faststft falls back to torch)")
        env["ARMSTFT_NO_NATIVE"] = "1"
        cmd = [
            *_pip(),
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(out),
            str(src),
        ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=src)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise WheelError(f"{Path(cmd[1]).name if cmd[0] == 'bash' else 'pip wheel'} {src}: {tail}")
    found = sorted(out.glob("armstft-*.whl"))
    if len(found) != 1:
        raise WheelError(f"{out}: armstft wheel: expected exactly one, got {[p.name for p in found]}")
    whl = found[0]
    if not (whl.name.endswith("-py3-none-any.whl") or whl.name.endswith("_aarch64.whl")):
        raise WheelError(
            f"{whl.name}: platform tag: expected py3-none-any or *_aarch64, got another platform"
        )
    return whl


#: What the wheel build reads: setuptools' own project files at the top, and every file under these folders
#: (the package, and the scripts folder whose cross-build script sources its lib/).  Folders, not file lists,
#: so a new module or a newly sourced helper script is in the snapshot and the key without anyone listing it.
BUILD_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in", "README.md", "LICENSE")
BUILD_DIRS = ("armstft", "scripts")
_NOT_SOURCE = (".pyc", ".so", ".o")


def package_sources(repo: Path) -> list[Path]:
    """Files that make up the armstft wheel, relative to ``repo``, sorted (also used for the rebuild key).

    In a git checkout: every tracked or untracked-but-not-ignored file under ``BUILD_DIRS`` plus the
    ``BUILD_FILES`` that exist, as ``git ls-files`` lists them, so build outputs (ignored) never count.
    Elsewhere (an unpacked tarball): the same folders walked, minus caches and compiled objects.
    """
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
             *BUILD_FILES, *BUILD_DIRS],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        listed = {Path(p.decode()) for p in out.split(b"\0") if p}
    except (OSError, subprocess.CalledProcessError):
        listed = {Path(p) for p in BUILD_FILES} | {
            p.relative_to(repo) for d in BUILD_DIRS for p in (repo / d).rglob("*") if p.is_file()
        }
    return sorted(
        p
        for p in listed
        if (repo / p).is_file() and "__pycache__" not in p.parts and p.suffix not in _NOT_SOURCE
    )


def install(wheels: list[Path], site_packages: Path) -> None:
    """Unpack ``wheels`` into the image's site-packages; no index, no dependency resolution."""
    site_packages.mkdir(parents=True, exist_ok=True)
    cmd = [
        *_pip(),
        "install",
        "-q",
        "--no-index",
        "--no-deps",
        "--no-compile",
        "--only-binary=:all:",
        *(arg for plat in PLATFORMS for arg in ("--platform", plat)),
        "--python-version",
        PYTHON,
        "--implementation",
        "cp",
        "--target",
        str(site_packages),
        "--upgrade",
        *map(str, wheels),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise WheelError(f"pip install --target {site_packages}: {tail}")
    # console scripts generated here would point at the build host's interpreter
    shutil.rmtree(site_packages / "bin", ignore_errors=True)
