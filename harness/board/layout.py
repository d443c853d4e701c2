"""Where the board builder keeps things.

Everything lives under ``${ARMSTFT_CACHE:-~/.cache/armstft}/board/`` so a fresh CI clone on the same machine
reuses downloads and built images, and nothing ever lands in the git tree.  The ``out/`` folder is a contract
with the labgrid env (harness/envs) and must keep its file names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def cache_root() -> Path:
    """The project-wide cache root (``ARMSTFT_CACHE`` or ``~/.cache/armstft``)."""
    env = os.environ.get("ARMSTFT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "armstft"


@dataclass(frozen=True)
class Layout:
    """All paths the builder reads or writes, derived from one board directory."""

    board: Path

    @classmethod
    def default(cls) -> Layout:
        return cls(cache_root() / "board")

    # --- inputs cached across builds -------------------------------------------------------------
    @property
    def apt(self) -> Path:
        """Private apt state: sources, lists, dpkg status and the .deb archive cache."""
        return self.board / "apt"

    @property
    def debs(self) -> Path:
        return self.apt / "archives"

    @property
    def wheels(self) -> Path:
        """PyPI aarch64 wheels, downloaded once."""
        return self.board / "wheels"

    @property
    def keys(self) -> Path:
        """SSH keys generated once per machine (harness client key + board host key)."""
        return self.board / "keys"

    @property
    def work(self) -> Path:
        """Scratch space: unpacked kernel, initramfs tree, freshly built armstft wheel."""
        return self.board / "work"

    @property
    def state(self) -> Path:
        """Stamps recording which inputs produced the current rootfs/initrd."""
        return self.board / "state"

    @property
    def lock(self) -> Path:
        return self.board / ".lock"

    # --- the unpacked root tree (also a sysroot for ``qemu-aarch64 -L``) ------------------------
    @property
    def rootfs(self) -> Path:
        return self.board / "rootfs"

    # --- the output contract ---------------------------------------------------------------------
    @property
    def out(self) -> Path:
        return self.board / "out"

    @property
    def kernel(self) -> Path:
        return self.out / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.out / "initrd.img"

    @property
    def image(self) -> Path:
        return self.out / "rootfs.ext4"

    @property
    def ssh_dir(self) -> Path:
        return self.out / "ssh"

    @property
    def ssh_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def ssh_pubkey(self) -> Path:
        return self.ssh_dir / "id_ed25519.pub"

    @property
    def known_hosts_entry(self) -> Path:
        return self.ssh_dir / "known_hosts_entry"

    @property
    def board_json(self) -> Path:
        return self.out / "board.json"
