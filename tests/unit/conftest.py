"""Shared fixtures for host unit tests: the committed default bundle and throw-away copies of it."""

from __future__ import annotations

import io
import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from armstft.cli import main
from harness import paths

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BUNDLE = REPO / paths.REPO_BUNDLE
DEFAULT_WEIGHTS = REPO / "models" / "default-weights.pt"


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    """A private copy of the default bundle that a test may damage."""
    dest = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, dest)
    return dest


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, dict[str, Any], str]]:
    """Run the CLI in-process: (exit code, parsed stdout JSON, stderr). The JSON must be standard."""

    def run(*argv: str) -> tuple[int, dict[str, Any], str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, strict_json(out), err

    return run


def strict_json(text: str) -> Any:
    """Parse like any standard JSON reader would: NaN/Infinity are not JSON."""

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def rewrite_manifest(bundle: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = bundle / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def rehash(bundle: Path, *names: str) -> None:
    """Record the current sha256 of ``names`` in the manifest: a change that the hashes no longer catch."""
    from armstft.bundle.hashing import sha256_file

    rewrite_manifest(bundle, lambda m: m["files"].update({n: sha256_file(bundle / n) for n in names}))


def golden_arrays(bundle: Path) -> dict[str, np.ndarray]:
    with np.load(bundle / "golden.npz") as data:
        return {k: data[k] for k in data.files}


def rewrite_golden(bundle: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    """Change golden.npz's arrays and re-hash it (as a careless re-export or an attacker would)."""
    arrays = golden_arrays(bundle)
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (bundle / "golden.npz").write_bytes(buffer.getvalue())
    rehash(bundle, "golden.npz")


_MEASURED = """
import os, sys
from armstft.cli import main
code = 3
try:
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status, open(os.environ["PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
sys.exit(code)
"""


def run_measured(argv: list[str], scratch: Path) -> tuple[int, str, int]:
    """(exit code, stderr, peak RSS in KiB) of the real CLI in a fresh process.

    The peak is the process's own VmHWM, read as it exits: ``ru_maxrss`` would include the memory of the
    (large) pytest process it was forked from, which Linux carries across exec.
    """
    import os
    import subprocess
    import sys

    peak = scratch / "peak_kb"
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURED, *argv],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PEAK_FILE": str(peak)},
    )
    return proc.returncode, proc.stderr, int(peak.read_text())


def verify_refuses(
    run_cli: Callable[..., tuple[int, dict[str, Any], str]], bundle: Path, message: str
) -> str:
    """`armstft verify bundle` is bad input: exit 2, no case run, ``message`` in one line of stderr."""
    code, doc, err = run_cli("verify", str(bundle))
    assert code == 2 and doc["ok"] is False and doc["cases"] == [], err
    assert message in err and message in doc["error"], err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def npy_with_header(text: str) -> bytes:
    """A version-1.0 ``.npy`` whose header is ``text`` as written, padded as numpy pads it (no data)."""
    body = text.encode("latin1")
    body += b" " * (64 - (10 + len(body) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


MALFORMED_NPY_HEADERS = {
    "a list": ("[1, 2, 3]", "ValueError: Header is not a dictionary"),
    "unbalanced": ("{'descr': '<f4', 'fortran_order': False, 'shape': ((((", "TokenError: "),
    "keys missing": ("{'descr': '<f4'}", "ValueError: Header does not contain the correct keys"),
    "negative shape": ("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}", "shape (-3,): dimensions"),
}
