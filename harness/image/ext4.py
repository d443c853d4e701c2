"""Turn the root tree into an ext4 image with ``mke2fs -d``: no loop mounts, no root-only tricks."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

HEADROOM_MB = 512  # free space for bundles copied over, bench output, pip caches during debugging


def tree_size(root: Path) -> int:
    """Bytes the files under ``root`` occupy (plus a block per directory), not following links."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        total += 4096 * (len(dirnames) + 1)
        for f in filenames:
            st = os.lstat(os.path.join(dirpath, f))
            total += (st.st_size + 4095) // 4096 * 4096
    return total


def make_image(root: Path, image: Path, label: str, key: str) -> int:
    """Write ``image`` (sparse, mode 0600: it holds the board's host private key) holding ``root``; its UUID
    derives from ``key`` for reproducibility.  Returns the image size in bytes.
    """
    size_mb = int(tree_size(root) * 1.15 / 2**20) + HEADROOM_MB
    tmp = image.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with open(tmp, "wb") as f:
        f.truncate(size_mb * 2**20)
    fs_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"armstft-board:{key}"))
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": "1700000000"}
    cmd = [
        "mke2fs",
        "-q",
        "-F",
        "-t",
        "ext4",
        "-L",
        label,
        "-U",
        fs_uuid,
        "-E",
        f"hash_seed={fs_uuid}",
        "-i",
        "8192",
        "-m",
        "0",
        "-d",
        str(root),
        str(tmp),
    ]
    subprocess.run(cmd, check=True, env=env)
    os.chmod(tmp, 0o600)  # the image holds the board's SSH host private key
    os.replace(tmp, image)
    return image.stat().st_size
