"""Push a bundle to a board so that no partial or damaged copy is ever used.

The files go over SFTP into ``<workdir>/.incoming-<digest>-<random>``; the board then hashes them
(``sha256sum``) and only when every hash equals the host's is the folder renamed, in one atomic ``mv``, to
``<workdir>/bundle-<digest>``.  A run whose connection drops mid-transfer leaves at most an ``.incoming-*``
folder, which no run ever reads and the next push deletes.  (The board's own ``armstft verify`` checks the
manifest's hashes again; this is the harness making sure it does not even start on a half copy.)
"""

from __future__ import annotations

import hashlib
import secrets
import shlex
from pathlib import Path
from typing import Protocol

from harness.boardcmd import CommandResult
from harness.errors import StageError

INCOMING = ".incoming-"
FINAL = "bundle-"


class BoardLike(Protocol):
    def run(self, argv: list[str], *, stage: str, timeout: float) -> CommandResult: ...
    def put(self, local: Path, remote: str, *, stage: str) -> None: ...


def local_hashes(bundle: Path) -> dict[str, str]:
    """sha256 of every file in the bundle folder (flat: a bundle has no subfolders)."""
    files = sorted(p for p in Path(bundle).iterdir() if p.is_file())
    if not files:
        raise StageError("pushing", f"{bundle}: bundle: expected files, got an empty folder")
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def bundle_digest(hashes: dict[str, str]) -> str:
    text = "".join(f"{name} {digest}\n" for name, digest in sorted(hashes.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def board_hashes(board: BoardLike, folder: str, names: list[str], stage: str) -> dict[str, str]:
    result = board.run(["sha256sum", *[f"{folder}/{n}" for n in names]], stage=stage, timeout=120)
    found = {}
    for line in result.stdout.splitlines():
        digest, _, path = line.strip().partition("  ")
        if path:
            found[path.rsplit("/", 1)[-1]] = digest
    return found


def sh(board: BoardLike, script: str, stage: str, timeout: float = 120) -> CommandResult:
    return board.run(["sh", "-c", script], stage=stage, timeout=timeout)


def push_bundle(board: BoardLike, bundle: Path, workdir: str, *, stage: str = "pushing") -> str:
    """Upload ``bundle`` and return the board path of the verified copy (``<workdir>/bundle-<digest>``)."""
    hashes = local_hashes(bundle)
    digest = bundle_digest(hashes)
    q_workdir = shlex.quote(workdir)
    final = f"{workdir}/{FINAL}{digest}"
    incoming = f"{workdir}/{INCOMING}{digest}-{secrets.token_hex(4)}"
    # earlier runs' partial uploads are never read; remove them so they cannot pile up either
    sh(board, f"mkdir -p {q_workdir} && rm -rf {q_workdir}/{INCOMING}*", stage)
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
