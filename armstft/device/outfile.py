"""A JSON results file rewritten as a run goes: always whole on disk, never shared, never half-left.

- Each rewrite goes to a temp file with a unique name beside the target, then ``os.replace`` onto it:
  a run killed at any instant leaves the last complete document.
- One writer per target: a lock (``flock`` on ``<out>.lock``, released by the kernel if the process dies)
  is taken before anything else; a second run aimed at the same file is refused (exit 2), instead of
  the two silently overwriting each other's results.
- A read-only or full disk is an :class:`OutputError` naming the file (exit 2); the temp file of a failed
  write is removed, and so is the lock when the writer closes. The previous complete document stays.
- Room for the last word: the writer holds a reserve file (``.<name>.reserve``, allocated, at least twice
  the latest document) beside the target. When the disk fills, the reserve is released before the error is
  raised, so the caller's final document — the results so far *and why the run stopped* — still fits.
  A disk without room for the reserve at the start is refused before any work.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from armstft.core.errors import OutputError

RESERVE_MIN_BYTES = 64 * 1024  # the reserve never shrinks below this (a bench document is a few KiB)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _problem(err: OSError) -> str:
    return f"{err.strerror or type(err).__name__} (errno {err.errno})"


class JsonOut:
    """The results file at ``path``, locked for this writer until :meth:`close`."""

    def __init__(self, path: Path, option: str = "--out") -> None:
        self.path = Path(path)
        self.option = option
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.reserve_path = self.path.with_name(f".{self.path.name}.reserve")
        self._lock_fd = -1
        self._reserve_fd = -1
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise self._error("a directory that can be created", _problem(err)) from None
        self._lock()
        try:
            self._reserve(RESERVE_MIN_BYTES)
        except OutputError:
            self.close()
            raise

    def _error(self, expected: str, got: str) -> OutputError:
        return OutputError(str(self.path), self.option, expected, got)

    def _lock(self) -> None:
        """Take ``<out>.lock``; make sure the file locked is the one at that path (another writer may have
        removed it between our open and our lock)."""
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except OSError as err:
                raise self._error("a writable place for its lock file", _problem(err)) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise self._error(
                    "a file no other run is writing", f"locked by another armstft run (pid {holder})"
                ) from None
            try:
                same = os.stat(self.lock_path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is only a courtesy for the refusal message (a full disk may refuse it)
        self._lock_fd = fd

    def _reserve(self, size: int) -> None:
        """Hold at least ``size`` allocated bytes in the reserve file; if the disk has no room, release what
        is held (so a final document fits) and raise the disk's error."""
        try:
            if self._reserve_fd < 0:
                self._reserve_fd = os.open(
                    self.reserve_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
                )
            if os.fstat(self._reserve_fd).st_size < size:
                os.posix_fallocate(self._reserve_fd, 0, size)
        except OSError as err:
            self.release_reserve()
            raise self._error("a writable file", _problem(err)) from None

    def release_reserve(self) -> None:
        """Give the reserve's room back to the disk (done by a failed write, and on close)."""
        if self._reserve_fd >= 0:
            os.close(self._reserve_fd)
            self._reserve_fd = -1
        _unlink(str(self.reserve_path))

    def write(self, document: dict[str, Any]) -> None:
        """Replace the file's content with ``document`` (standard JSON: no NaN), atomically; then grow the
        reserve to twice its size. A failed write releases the reserve (see the module docstring)."""
        data = (json.dumps(document, indent=2, allow_nan=False) + "\n").encode("utf-8")
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            try:
                os.fchmod(fd, 0o666 & ~_umask())  # what open() would have made, not mkstemp's 0600
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            tmp = None
        except OSError as err:
            if tmp is not None:
                _unlink(tmp)
                tmp = None
            self.release_reserve()
            raise self._error("a writable file", _problem(err)) from None
        finally:
            if tmp is not None:
                _unlink(tmp)
        if self._reserve_fd >= 0:  # none once released: the run is ending, its last write needs the room
            self._reserve(max(RESERVE_MIN_BYTES, 2 * len(data)))

    def close(self) -> None:
        """Release the lock and remove the lock file (unlinked while still held, so no writer can slip in
        between)."""
        self.release_reserve()
        if self._lock_fd >= 0:
            try:
                os.unlink(self.lock_path)
            except OSError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = -1
