"""The board's armstft wheel is built from a snapshot of the clone, as harness.image.build does it.

Why: the image builder copies the sources aside and keys its rebuild on that copy.  A file the build reads but
the snapshot lacks (scripts/lib/apt-arm64.sh once was) passed CI on a warm cache and failed every new user, so
this builds the aarch64 wheel from a fresh snapshot in a temporary folder: a missing input fails here.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from harness.image import wheels

REPO = Path(__file__).resolve().parents[3]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_sources_are_what_git_lists_under_the_build_folders(tmp_path: Path) -> None:
    """Tracked and new (untracked, not ignored) files count; ignored outputs and other folders do not."""
    repo = tmp_path / "clone"
    for rel, text in {
        "pyproject.toml": "[project]\n",
        "setup.py": "",
        ".gitignore": "*.so\nbuild/\n",
        "armstft/__init__.py": "",
        "scripts/lib/helper.sh": "",
        "docs/notes.md": "",
    }.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    (repo / "armstft/new_module.py").write_text("")  # not yet added: still part of the build
    (repo / "armstft/_native.so").write_bytes(b"")  # ignored build output
    (repo / "build").mkdir()
    (repo / "build/junk.py").write_text("")
    assert [p.as_posix() for p in wheels.package_sources(repo)] == [
        "armstft/__init__.py",
        "armstft/new_module.py",
        "pyproject.toml",
        "scripts/lib/helper.sh",
        "setup.py",
    ]


def test_sources_without_git_walk_the_same_folders(tmp_path: Path) -> None:
    (tmp_path / "armstft/__pycache__").mkdir(parents=True)
    (tmp_path / "armstft/a.py").write_text("")
    (tmp_path / "armstft/__pycache__/a.cpython-311.pyc").write_bytes(b"")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts/x.sh").write_text("")
    (tmp_path / "setup.py").write_text("")
    (tmp_path / "other.txt").write_text("")
    got = [p.as_posix() for p in wheels.package_sources(tmp_path)]
    assert got == ["armstft/a.py", "scripts/x.sh", "setup.py"]


def test_snapshot_holds_what_the_cross_build_sources() -> None:
    """Every file the cross-build script sources is in the snapshot (the bug that broke the first run)."""
    listed = {p.as_posix() for p in wheels.package_sources(REPO)}
    script = (REPO / wheels.CROSS_SCRIPT).read_text()
    sourced = {
        line.split('"$repo/', 1)[1].split('"', 1)[0]
        for line in script.splitlines()
        if line.strip().startswith("source ")
    }
    assert sourced and sourced <= listed


@pytest.mark.slow
@pytest.mark.skipif(
    not shutil.which(wheels.CROSS_CC), reason=f"needs {wheels.CROSS_CC} (scripts/deps/apt.txt)"
)
def test_aarch64_wheel_builds_from_a_fresh_snapshot(tmp_path: Path) -> None:
    """Downloads (the arm64 Python headers) may come from the cache; the snapshot and the wheel are new.
    A step that runs only on a cold download cache is covered by the check of every sourced file above."""
    src = tmp_path / "snapshot"
    files = wheels.snapshot_sources(REPO, src)
    assert not (src / ".git").exists() and Path(wheels.CROSS_SCRIPT) in files
    whl = wheels.build_armstft(src, tmp_path / "out")
    assert whl.name.endswith("_aarch64.whl"), whl.name
    with zipfile.ZipFile(whl) as z:
        objects = [n for n in z.namelist() if n.startswith("armstft/") and n.endswith(".so")]
        assert objects, z.namelist()
        assert not [n for n in z.namelist() if n.startswith("harness/")], (
            "the board wheel carries the harness"
        )
        for name in objects:
            elf = z.read(name)
            assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == 183, name  # EM_AARCH64
