"""The QEMU command line for the emulated board, in one place (smoke test, board.json, docs).

``-cpu cortex-a72`` rather than ``max``: the board is meant to look like a common Arm SBC core, and ``max``
(with pointer authentication etc. emulated) boots about five times slower under TCG.
"""

from __future__ import annotations

import socket
from pathlib import Path

BINARY = "qemu-system-aarch64"
MACHINE = "virt"
CPU = "cortex-a72"
SMP = 2
MEMORY_MB = 2048
APPEND = "console=ttyAMA0 root=/dev/vda rw quiet"


def args(kernel: Path, initrd: Path, image: Path, ssh_port: int | str) -> list[str]:
    """Full argv; the root disk is opened with ``snapshot=on`` so every boot starts from the built image."""
    return [
        BINARY,
        "-M",
        MACHINE,
        "-cpu",
        CPU,
        "-smp",
        str(SMP),
        "-m",
        str(MEMORY_MB),
        "-nographic",
        "-kernel",
        str(kernel),
        "-initrd",
        str(initrd),
        "-append",
        APPEND,
        "-drive",
        f"file={image},if=virtio,format=raw,snapshot=on",
        "-netdev",
        f"user,id=n0,hostfwd=tcp:127.0.0.1:{ssh_port}-:22",
        "-device",
        "virtio-net-pci,netdev=n0",
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (QEMU binds it right after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
