"""Where the board builder keeps things.

Downloads (Debian packages, PyPI wheels) live under ``$ARMSTFT_CACHE/downloads`` and are reused by every
run; everything the builder makes lives under ``$ARMSTFT_BUILD/board`` (see harness/paths.py), which the test
command points at a throw-away folder so each test run builds the board cold.  Nothing lands in the git tree.
The ``out/`` folder is a contract with the labgrid env (harness/envs) and must keep its file names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness import paths


@dataclass(frozen=True)
class Layout:
    """Every path the builder reads or writes: products under ``board``, downloads under ``downloads``."""

    board: Path
    downloads: Path

    @classmethod
    def default(cls) -> Layout:
        return cls(paths.build_root() / "board", paths.downloads())

    # --- downloads, reused across builds and runs -----------------------------------------------
    @property
    def apt(self) -> Path:
        """Private apt state: sources, lists, dpkg status and the .deb archive cache."""
        return self.downloads / "board-apt"

    @property
    def debs(self) -> Path:
        return self.apt / "archives"

    @property
    def wheels(self) -> Path:
        """PyPI aarch64 wheels, downloaded once."""
        return self.downloads / "board-wheels"

    # --- build products ----------------------------------------------------------------------------
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
