"""Push a bundle to a board so that no partial or damaged copy is ever used.

The bundle must be a flat folder of regular files (a link, perhaps to a private key, is refused before any
byte is sent).  The files go over SFTP into ``<workdir>/.incoming-<digest>-<random>``; the board then hashes
them (``sha256sum``) and only when every hash equals the host's is the folder renamed, in one atomic ``mv``,
to ``<workdir>/bundle-<digest>``.  A run whose connection drops mid-transfer leaves at most an ``.incoming-*``
folder, which nothing ever reads.  (The board's own ``armstft verify`` checks the manifest's hashes again;
this is the harness making sure it does not even start on a half copy.)
"""

from __future__ import annotations

import hashlib
import secrets
import shlex
from pathlib import Path

from armstft.bundle.hashing import sha256_file
from harness.drivers.sshclient import regular_tree
from harness.drivers.transport import CommandResult, Transport
from harness.errors import StageError

INCOMING = ".incoming-"
FINAL = "bundle-"


def local_hashes(bundle: Path, stage: str = "pushing") -> dict[str, str]:
    """sha256 of every file in the bundle folder: flat, regular files only (links refused)."""
    bundle = Path(bundle)
    if not bundle.is_dir() or bundle.is_symlink():
        raise StageError(
            stage,
            f"{bundle}: bundle: expected a folder, got {'a link' if bundle.is_symlink() else 'missing'}",
        )
    try:
        files = regular_tree(bundle)
    except ValueError as e:
        raise StageError(stage, str(e)) from None
    nested = [p for p in files if p.parent != bundle]
    if nested or any(p.is_dir() for p in bundle.iterdir()):
        raise StageError(stage, f"{bundle}: bundle: expected a flat folder of files, got a subfolder")
    if not files:
        raise StageError(stage, f"{bundle}: bundle: expected files, got an empty folder")
    # the bundle format's own hashing (armstft.bundle.hashing): what export wrote into the manifest
    return {p.name: sha256_file(p) for p in files}


def bundle_digest(hashes: dict[str, str]) -> str:
    text = "".join(f"{name} {digest}\n" for name, digest in sorted(hashes.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def board_hashes(board: Transport, folder: str, names: list[str], stage: str) -> dict[str, str]:
    result = board.run(["sha256sum", *[f"{folder}/{n}" for n in names]], stage=stage, timeout=120)
    found = {}
    for line in result.stdout.splitlines():
        digest, _, path = line.strip().partition("  ")
        if path:
            found[path.rsplit("/", 1)[-1]] = digest
    return found


def sh(board: Transport, script: str, stage: str, timeout: float = 120) -> CommandResult:
    return board.run(["sh", "-c", script], stage=stage, timeout=timeout)


def push_bundle(board: Transport, bundle: Path, workdir: str, *, stage: str = "pushing") -> str:
    """Upload ``bundle`` and return the board path of the verified copy (``<workdir>/bundle-<digest>``)."""
    hashes = local_hashes(bundle, stage)
    digest = bundle_digest(hashes)
    final = f"{workdir}/{FINAL}{digest}"
    incoming = f"{workdir}/{INCOMING}{digest}-{secrets.token_hex(4)}"
    board.put(Path(bundle), incoming, stage=stage)
    got = board_hashes(board, incoming, sorted(hashes), stage)
    bad = [name for name, want in hashes.items() if got.get(name) != want]
    if bad:
        sh(board, f"rm -rf {shlex.quote(incoming)}", stage)
        first = bad[0]
        raise StageError(
            stage,
            f"{first}: sha256 on the board: expected {hashes[first][:12]}…, got "
            f"{(got.get(first) or 'missing')[:12]} (upload damaged; nothing was kept)",
        )
    done = sh(
        board, f"rm -rf {shlex.quote(final)} && mv -T {shlex.quote(incoming)} {shlex.quote(final)}", stage
    )
    if done.returncode != 0:
        raise StageError(stage, f"could not move the checked bundle into place: {done.stderr.strip()[:200]}")
    return final
