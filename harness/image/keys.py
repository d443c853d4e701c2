"""SSH keys, generated once per machine and kept in the cache.

The board's host key is baked into the image so that a reboot (or a rebuild) does not change it and
``StrictHostKeyChecking`` keeps working; the harness key is the only way to log in as root.  Neither is a
fixed secret: each machine generates its own, and they never enter git.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Keys:
    harness: Path  # private key; ".pub" next to it
    host: Path  # board host key (private); ".pub" next to it

    def host_public(self) -> str:
        """``"ssh-ed25519 AAAA..."`` without the comment: ready for ``[127.0.0.1]:PORT <this>``."""
        kind, blob, *_ = self.host.with_suffix(".pub").read_text().split()
        return f"{kind} {blob}"


def _keygen(path: Path, comment: str) -> None:
    if path.exists() and path.with_suffix(".pub").exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    for p in (path, path.with_suffix(".pub")):
        p.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True
    )


def ensure(keydir: Path) -> Keys:
    """Create the harness key pair and the board host key if they do not exist yet."""
    keys = Keys(keydir / "id_ed25519", keydir / "ssh_host_ed25519_key")
    _keygen(keys.harness, "armstft-harness")
    _keygen(keys.host, "armstft-board-host")
    return keys


def publish(keys: Keys, ssh_dir: Path) -> None:
    """Copy the harness key pair and the host key line into the output contract folder."""
    ssh_dir.mkdir(parents=True, exist_ok=True)
    ssh_dir.chmod(0o700)
    shutil.copyfile(keys.harness, ssh_dir / "id_ed25519")
    (ssh_dir / "id_ed25519").chmod(0o600)
    shutil.copyfile(keys.harness.with_suffix(".pub"), ssh_dir / "id_ed25519.pub")
    (ssh_dir / "known_hosts_entry").write_text(keys.host_public() + "\n")
