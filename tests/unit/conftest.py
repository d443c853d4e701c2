"""Shared fixtures for host unit tests: the committed default bundle and throw-away copies of it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from armstft.cli import main

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BUNDLE = REPO / "models" / "default"
DEFAULT_WEIGHTS = REPO / "models" / "default-weights.pt"


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    """A private copy of the default bundle that a test may damage."""
    dest = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, dest)
    return dest


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, dict[str, Any], str]]:
    """Run the CLI in-process: (exit code, parsed stdout JSON, stderr)."""

    def run(*argv: str) -> tuple[int, dict[str, Any], str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, json.loads(out), err

    return run


def rewrite_manifest(bundle: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = bundle / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
