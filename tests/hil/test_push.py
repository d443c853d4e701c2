"""The bundle push: the host's bundle arrives byte for byte, and a link in a bundle is never uploaded."""

from __future__ import annotations

import shutil

import pytest

from harness.errors import StageError
from harness.steps.push import local_hashes, push_bundle

pytestmark = pytest.mark.stage("pushing")


def test_pushed_bundle_matches_the_host_bundle(board, pushed_bundle, host_bundle):
    names = sorted(local_hashes(host_bundle))
    out = board.run(["sha256sum", *[f"{pushed_bundle}/{n}" for n in names]], stage="pushing", timeout=120)
    on_board = {line.split()[1].rsplit("/", 1)[-1]: line.split()[0] for line in out.stdout.splitlines()}
    assert on_board == local_hashes(host_bundle)


def test_push_refuses_a_link_to_a_secret(board, board_workdir, host_bundle, tmp_path):
    secret = tmp_path / "id_ed25519"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY----- not really\n")
    bundle = tmp_path / "bundle"
    shutil.copytree(host_bundle, bundle)
    (bundle / "golden.npz").unlink()
    (bundle / "golden.npz").symlink_to(secret)
    before = board.run(["ls", "-a", board_workdir], stage="pushing", timeout=60).stdout
    with pytest.raises(StageError, match=r"golden\.npz: expected a regular file, got a symbolic link"):
        push_bundle(board, bundle, board_workdir)
    after = board.run(["ls", "-a", board_workdir], stage="pushing", timeout=60).stdout
    assert after == before, "something was uploaded although the bundle held a link"
