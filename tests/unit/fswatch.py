"""Which files a run really opened and read, from the kernel (inotify), not from our own code's word.

Used to prove "nothing outside the bundle is read" and "each bundle file is read once": a test watches a
directory, runs the real CLI, and counts IN_OPEN / IN_ACCESS events per file name.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections import Counter
from pathlib import Path

IN_ACCESS = 0x001
IN_OPEN = 0x020
IN_NONBLOCK = os.O_NONBLOCK
_EVENT = struct.Struct("iIII")

_libc = ctypes.CDLL(None, use_errno=True)


class Watch:
    """inotify on one directory; :meth:`events` returns Counter[(name, "open"|"access")] since the start."""

    def __init__(self, directory: Path) -> None:
        self.fd = _libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if _libc.inotify_add_watch(self.fd, os.fsencode(directory), IN_OPEN | IN_ACCESS) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {directory}")
        self.seen: Counter[tuple[str, str]] = Counter()

    def events(self) -> Counter[tuple[str, str]]:
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return self.seen
            at = 0
            while at < len(data):
                _, mask, _, length = _EVENT.unpack_from(data, at)
                name = data[at + _EVENT.size : at + _EVENT.size + length].rstrip(b"\0").decode()
                at += _EVENT.size + length
                if mask & IN_OPEN:
                    self.seen[(name, "open")] += 1
                if mask & IN_ACCESS:
                    self.seen[(name, "access")] += 1

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
