"""Nothing outside the bundle is read, nothing unhashed is loaded: proven with the kernel's own account of
which files were opened (inotify) and with a real swap timed by a kernel file lease."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from armstft.core import bounds
from tests.unit.conftest import rehash, verify_refuses
from tests.unit.fswatch import Watch


def test_a_model_linked_to_a_file_outside_is_never_opened(run_cli, bundle_copy: Path, tmp_path: Path) -> None:
    """Before: `model_fp32.pt -> /etc/shadow` was read and part of its hash printed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "shadow"
    secret.write_bytes(b"root:$y$j9T$secret-hash:19000:0:99999:7:::\n")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    (bundle_copy / "model_fp32.pt").unlink()
    (bundle_copy / "model_fp32.pt").symlink_to(secret)
    with Watch(outside) as watch:
        err = verify_refuses(
            run_cli,
            bundle_copy,
            "model_fp32.pt: file: expected a regular file inside the bundle, got a symbolic link",
        )
        assert not watch.events(), f"the file outside the bundle was touched: {watch.events()}"
    assert digest[:8] not in err


def test_golden_linked_to_an_identical_copy_outside_is_refused(
    run_cli, bundle_copy: Path, tmp_path: Path
) -> None:
    """Before: a golden.npz symlinked to an outside copy verified (its bytes matched)."""
    copy = tmp_path / "golden-elsewhere.npz"
    shutil.move(bundle_copy / "golden.npz", copy)
    (bundle_copy / "golden.npz").symlink_to(copy)
    verify_refuses(
        run_cli,
        bundle_copy,
        "golden.npz: file: expected a regular file inside the bundle, got a symbolic link",
    )


def test_a_linked_manifest_is_refused(run_cli, bundle_copy: Path, tmp_path: Path) -> None:
    shutil.move(bundle_copy / "manifest.json", tmp_path / "m.json")
    (bundle_copy / "manifest.json").symlink_to(tmp_path / "m.json")
    verify_refuses(run_cli, bundle_copy, "manifest.json: file: expected a regular file inside the bundle")


def test_a_fifo_is_refused_without_blocking(run_cli, bundle_copy: Path) -> None:
    (bundle_copy / "golden.npz").unlink()
    os.mkfifo(bundle_copy / "golden.npz")
    started = time.monotonic()
    verify_refuses(
        run_cli, bundle_copy, "golden.npz: file: expected a regular file inside the bundle, got a FIFO"
    )
    assert time.monotonic() - started < 60


def test_a_directory_is_refused(run_cli, bundle_copy: Path) -> None:
    (bundle_copy / "model_int8.pt").unlink()
    (bundle_copy / "model_int8.pt").mkdir()
    verify_refuses(
        run_cli,
        bundle_copy,
        "model_int8.pt: file: expected a regular file inside the bundle, got a directory",
    )


def test_a_file_over_its_limit_is_refused_before_it_is_opened(run_cli, bundle_copy: Path) -> None:
    """A 300 MiB model (sparse: no disk needed) is refused from lstat; inotify shows it was never opened."""
    model = bundle_copy / "model_int8.pt"
    with model.open("r+b") as stream:
        stream.truncate(bounds.MODEL_FILE_MAX_BYTES + 1)
    with Watch(bundle_copy) as watch:
        verify_refuses(
            run_cli, bundle_copy, "model_int8.pt: size: expected at most 256 MiB, got 268435457 bytes"
        )
        assert ("model_int8.pt", "open") not in watch.events(), watch.events()


def test_all_files_together_over_the_bundle_limit(run_cli, bundle_copy: Path) -> None:
    for name in ("model_fp32.pt", "model_int8.pt"):
        with (bundle_copy / name).open("r+b") as stream:
            stream.truncate(bounds.MODEL_FILE_MAX_BYTES - 1)
    with Watch(bundle_copy) as watch:
        verify_refuses(run_cli, bundle_copy, "bundle: files: expected at most 384 MiB together, got")
        opened = {name for name, kind in watch.events() if kind == "open" and name}
    assert opened == {"manifest.json"}, opened


def test_every_file_is_read_exactly_once(run_cli) -> None:
    """Read once, hash, load from those bytes: inotify counts one open per file in a whole verify (before:
    each model was opened twice, once to hash and once by torch.jit.load)."""
    from tests.unit.conftest import DEFAULT_BUNDLE

    with Watch(DEFAULT_BUNDLE) as watch:
        code, _doc, err = run_cli("verify", str(DEFAULT_BUNDLE))
        assert code == 0, err
        opens = {name: n for (name, kind), n in watch.events().items() if kind == "open" and name}
    manifest = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
    assert opens == {n: 1 for n in ["manifest.json", *manifest["files"]]}
    assert len(opens) == 7  # manifest, golden and five model files: each opened once


# The lease holder: takes a write lease on VICTIM; the kernel holds back any other open of it and signals
# us; we then swap SWAP_FROM over SWAP_TO and release, so the reader continues after the swap.
HOLDER = r"""
import fcntl, os, signal, sys, time
victim, swap_from, swap_to, ready = sys.argv[1:5]
fd = os.open(victim, os.O_RDWR)
done = []
def on_break(signum, frame):
    os.replace(swap_from, swap_to)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    done.append(1)
signal.signal(signal.SIGIO, on_break)
try:
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
except OSError as err:
    open(ready, "w").write(f"no lease: {err}")
    sys.exit(3)
open(ready, "w").write("ok")
deadline = time.time() + 120
while not done and time.time() < deadline:
    time.sleep(0.01)
sys.exit(0 if done else 4)
"""


def test_a_model_swapped_after_it_was_hashed_is_not_loaded(
    run_cli, bundle_copy: Path, tmp_path: Path
) -> None:
    """TOCTOU for real: model_fp32.pt is replaced by another loadable model (the int8 one) after it was
    hashed, while a later file is being opened (a kernel lease holds that open until the swap is done).
    Before: torch.jit.load re-opened model_fp32.pt by name and ran the swapped model. Now: the hashed bytes
    are the ones loaded, so the run verifies the model that was hashed."""
    evil = tmp_path / "evil.pt"
    shutil.copy(bundle_copy / "model_int8.pt", evil)
    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLDER,
            str(bundle_copy / "model_fp32_armstft.pt"),
            str(evil),
            str(bundle_copy / "model_fp32.pt"),
            str(ready),
        ]
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if ready.read_text().startswith("no lease"):
            pytest.skip(f"this filesystem grants no file leases: {ready.read_text()}")
        code, doc, err = run_cli("verify", str(bundle_copy))
        assert holder.wait(timeout=120) == 0, "the swap never happened"
    finally:
        holder.kill()
    assert (bundle_copy / "model_fp32.pt").read_bytes() == (bundle_copy / "model_int8.pt").read_bytes()
    assert code == 0 and doc["ok"], err


def test_a_hard_link_inside_the_bundle_is_its_file(run_cli, bundle_copy: Path) -> None:
    """A hard link is the file itself: it is read, and verifies only if its bytes are the hashed ones
    (docs/bundle.md says why that is harmless)."""
    (bundle_copy / "model_fp32_armstft.pt").unlink()
    os.link(bundle_copy / "model_fp32.pt", bundle_copy / "model_fp32_armstft.pt")
    verify_refuses(run_cli, bundle_copy, "model_fp32_armstft.pt: sha256: expected")
    rehash(bundle_copy, "model_fp32_armstft.pt")
    code, _doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and "models.fp32_armstft.stft_backend" in err  # the fp32 model states aten, not armstft
