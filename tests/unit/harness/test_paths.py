"""harness/paths.py (Python) and scripts/lib/paths.sh (shell) state the same cache roots."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness import paths
from harness.image.layout import Layout

REPO = Path(__file__).resolve().parents[3]


def shell_paths(env: dict[str, str]) -> dict[str, Path]:
    names = ("ARMSTFT_CACHE", "ARMSTFT_DOWNLOADS", "ARMSTFT_BUILD")
    script = f'source "{REPO}/scripts/lib/paths.sh"; ' + "; ".join(f'echo "${n}"' for n in names)
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    cache, downloads, build = out.stdout.split("\n")[:3]
    return {"cache": Path(cache), "downloads": Path(downloads), "build": Path(build)}


@pytest.mark.parametrize("build", [None, "products"])
@pytest.mark.parametrize("cache", [None, "cache"])
def test_python_and_shell_agree(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: str | None, build: str | None
) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
    monkeypatch.setenv("HOME", env["HOME"])
    for name, value in (("ARMSTFT_CACHE", cache), ("ARMSTFT_BUILD", build)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            env[name] = str(tmp_path / value)
            monkeypatch.setenv(name, env[name])
    assert shell_paths(env) == {
        "cache": paths.cache_root(),
        "downloads": paths.downloads(),
        "build": paths.build_root(),
    }
    if cache is None:
        assert paths.cache_root() == tmp_path / "home/.cache/armstft"


def test_board_layout_splits_downloads_from_products(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARMSTFT_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("ARMSTFT_BUILD", str(tmp_path / "b"))
    lay = Layout.default()
    assert lay.apt.is_relative_to(tmp_path / "c/downloads") and lay.wheels.is_relative_to(
        tmp_path / "c/downloads"
    )
    for product in (lay.rootfs, lay.out, lay.keys, lay.work, lay.state):
        assert product.is_relative_to(tmp_path / "b/board")
    assert paths.board_out() == lay.out
