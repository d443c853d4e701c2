"""Read a bundle's files the one safe way: regular files directly inside the bundle, each read once.

What this rules out (each is a clear :class:`BundleError`, exit 2):

- a symbolic link (``model_fp32.pt -> /etc/shadow``): refused from ``lstat``, never opened; ``O_NOFOLLOW``
  makes the open fail too if a link appears between the ``lstat`` and the open;
- anything but a regular file (a directory, a FIFO that would block the reader forever, a device);
- a file over its size limit, or bundle files over the total limit: refused from ``lstat``, before reading;
- a file swapped or changed while it is read (the open file is not the one ``lstat`` saw, or its size
  moved): refused, not half-trusted.

Every file is opened relative to one descriptor of the bundle directory, so renaming the directory midway
cannot mix files from two places. The bytes returned are the bytes hashed and the bytes later loaded
(``torch.jit.load(io.BytesIO(...))``, ``np.load(io.BytesIO(...))``): nothing is re-opened by name after it
was hashed. Hard links cannot be told from the file itself; see docs/bundle.md for why they are harmless.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from armstft.core import bounds
from armstft.core.errors import BundleError

_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


@dataclass
class BundleDir:
    """An open bundle directory: files are stat'ed and read relative to its descriptor."""

    path: Path
    fd: int

    @classmethod
    def open(cls, path: Path) -> BundleDir:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BundleError(str(path), "bundle", "a bundle directory", "no such directory") from None
        except NotADirectoryError:
            raise BundleError(str(path), "bundle", "a bundle directory", "not a directory") from None
        except OSError as err:
            raise BundleError(str(path), "bundle", "a readable directory", err.strerror) from None
        return cls(Path(path), fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> BundleDir:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def where(self, name: str) -> str:
        return str(self.path / name)

    def size(self, name: str, listed_in: str | None = None) -> int:
        """Size of the regular file ``name`` from ``lstat`` (links are not followed), or a clear error."""
        where = self.where(name)
        try:
            info = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            expected = f"present (listed in {listed_in})" if listed_in else "present"
            raise BundleError(where, "file", expected, "missing") from None
        except OSError as err:
            raise BundleError(where, "file", "a readable file", err.strerror) from None
        if not stat.S_ISREG(info.st_mode):
            raise BundleError(where, "file", "a regular file inside the bundle", _kind(info.st_mode))
        return info.st_size

    def read(self, name: str, max_bytes: int, listed_in: str | None = None) -> bytes:
        """All of ``name``'s bytes, read once, after its type and size were checked from ``lstat``."""
        where = self.where(name)
        size = self.size(name, listed_in)
        if size > max_bytes:
            raise BundleError(where, "size", f"at most {bounds.mib(max_bytes)}", f"{size} bytes")
        before = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.fd)
        except OSError as err:  # ELOOP: it became a link after the lstat
            raise BundleError(where, "file", "a regular file inside the bundle", err.strerror) from None
        try:
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(
                opened.st_mode
            ):
                raise BundleError(where, "file", "the file that was checked", "a different file (swapped)")
            chunks, left = [], size
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 22))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            if left or os.read(fd, 1):
                raise BundleError(where, "file", f"{size} bytes as checked", "a file that changed size")
        finally:
            os.close(fd)
        return b"".join(chunks)


def check_total(bundle: BundleDir, names: Iterable[tuple[str, str]]) -> None:
    """All listed files together within :data:`bounds.BUNDLE_MAX_BYTES`, from ``lstat``, before reading."""
    total = sum(bundle.size(name, listed_in) for name, listed_in in names)
    if total > bounds.BUNDLE_MAX_BYTES:
        raise BundleError(
            str(bundle.path), "files", f"at most {bounds.mib(bounds.BUNDLE_MAX_BYTES)} together", total
        )
