"""Models run in a worker process that a watchdog can stop; the caller only ever sees results or errors.

Why a process: TorchScript runs in C++ and no Python thread or signal handler can interrupt it, so an
endless loop in a bundle's model (in ``forward``, or in a ``__setstate__`` run at load) would hang
verify/run/bench forever. Every request to the worker carries a deadline (``--case-seconds`` per load or
call, :data:`armstft.core.bounds.RUN_SECONDS` per run); when it passes, the worker is killed (SIGKILL) and the
caller gets :class:`WorkerStopped` naming how long it waited. A worker that dies (a crash inside a
kernel, the OOM killer) is reported the same way, with its signal or status; the worker dies with its
parent (``PR_SET_PDEATHSIG``), so no endless loop outlives the command.

Two ways to start one (the protocol is the same):

- ``fork``: for verify and run. Cheap (no second ``import torch``) and safe however the parent got here,
  because the worker runs single-threaded: a forked child that starts an OpenMP parallel region after its
  parent had one hangs in libgomp, and one thread never starts one.
- ``spawn``: a fresh ``python -m armstft.sandbox.child`` for bench, which measures several thread counts
  and so needs a process whose OpenMP state is its own.

The parent sends the bytes it hashed (a model) or arrays (inputs) and gets arrays back; sizes are checked
before anything is read (:data:`armstft.core.bounds.WORKER_OUTPUT_MAX_BYTES`).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from armstft.core import bounds
from armstft.sandbox.protocol import HEADER_MAX_BYTES, LENGTH, OUTPUT_DTYPES, decode_blobs, encode


class WorkerStopped(Exception):
    """The worker did not answer: stopped by the watchdog, or it died. ``str()`` says which."""


@dataclass
class WorkerError(Exception):
    """The worker answered with an error (the model raised, or its output is unusable)."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"the worker was killed by {name}"
    return f"the worker exited with status {os.WEXITSTATUS(status)}"


@dataclass
class Worker:
    """A model worker with a watchdog on every request. Use as a context manager: it is always reaped."""

    mode: str = "fork"
    case_seconds: float = bounds.CASE_SECONDS
    run_seconds: float | None = bounds.RUN_SECONDS
    #: import torch.export's loader while starting (within WORKER_START_SECONDS, not a model's load
    #: allowance: on an emulated board that import alone takes tens of seconds)
    preload_export: bool = False
    pid: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    _send_fd: int = -1
    _recv_fd: int = -1
    _proc: subprocess.Popen[bytes] | None = None
    _run_deadline: float | None = None

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self) -> None:
        if self.run_seconds is not None:
            self._run_deadline = time.monotonic() + self.run_seconds
        if self.mode == "fork":
            self._fork()
        else:
            self._spawn()
        start = bounds.WORKER_START_SECONDS
        hello, _ = self._receive(time.monotonic() + start, f"{start:g} s (starting the model worker)")
        self.versions = {k: str(v) for k, v in hello.items() if k in ("torch", "torchaudio")}

    def _fork(self) -> None:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        parent = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the caller's code
            code = 70
            try:
                os.close(req_w)
                os.close(rep_r)
                from armstft.sandbox import child

                child.serve(
                    req_r,
                    rep_w,
                    parent=parent,
                    threads=1,
                    optimized=False,
                    preload_export=self.preload_export,
                )
                code = 0
            finally:
                os._exit(code)
        os.close(req_r)
        os.close(rep_w)
        self.pid, self._send_fd, self._recv_fd = pid, req_w, rep_r

    def _spawn(self) -> None:
        env = dict(os.environ)
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "armstft.sandbox.child",
                str(os.getpid()),
                *(["--preload-export"] * self.preload_export),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if os.environ.get("ARMSTFT_DEBUG") else subprocess.DEVNULL,
            close_fds=True,
            env=env,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self.pid = self._proc.pid
        self._send_fd, self._recv_fd = self._proc.stdin.fileno(), self._proc.stdout.fileno()

    def request(
        self,
        header: dict[str, Any],
        blobs: list[bytes | np.ndarray] = (),  # type: ignore[assignment]
        seconds: float | None = None,
    ) -> tuple[dict[str, Any], list[bytes | np.ndarray]]:
        """Send one request and wait for its answer within ``seconds`` (default: ``case_seconds``)."""
        if self._send_fd < 0:
            raise WorkerStopped("the worker was stopped earlier")
        allowed = self.case_seconds if seconds is None else seconds
        deadline = time.monotonic() + allowed
        limit = f"{allowed:g} s"
        if self._run_deadline is not None and self._run_deadline < deadline:
            deadline = self._run_deadline
            limit = (
                f"{max(0.0, deadline - time.monotonic()):.3g} s (the run's limit of {self.run_seconds:g} s)"
            )
        self._send(encode(header, list(blobs)), deadline, limit)
        reply, arrays = self._receive(deadline, limit)
        if "error" in reply:
            raise WorkerError(str(reply["error"]["kind"]), str(reply["error"]["detail"]))
        return reply, arrays

    def _stop(self, limit: str) -> WorkerStopped:
        self.close()
        return WorkerStopped(f"still running after {limit}; stopped")

    def _died(self) -> WorkerStopped:
        status = self._reap()
        self.close()
        return WorkerStopped(_status(status))

    def _send(self, data: bytes, deadline: float, limit: str) -> None:
        view = memoryview(data)
        os.set_blocking(self._send_fd, False)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._stop(limit)
            _, ready, _ = select.select([], [self._send_fd], [], left)
            if ready:
                try:
                    view = view[os.write(self._send_fd, view) :]
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    raise self._died() from None

    def _read(self, count: int, deadline: float, limit: str) -> bytes:
        parts, left = [], count
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise self._stop(limit)
            ready, _, _ = select.select([self._recv_fd], [], [], wait)
            if not ready:
                continue
            chunk = os.read(self._recv_fd, min(left, 1 << 20))
            if not chunk:
                raise self._died()
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def _receive(self, deadline: float, limit: str) -> tuple[dict[str, Any], list[bytes | np.ndarray]]:
        (length,) = LENGTH.unpack(self._read(LENGTH.size, deadline, limit))
        if length > HEADER_MAX_BYTES:
            self.close()
            raise WorkerStopped(f"the worker sent a {length}-byte header (protocol error)")
        header = json.loads(self._read(length, deadline, limit))
        specs = header.get("blobs", [])
        total = sum(int(spec["bytes"]) for spec in specs)
        if total > bounds.WORKER_OUTPUT_MAX_BYTES:  # the worker checks too; never read such a reply
            self.close()
            most = bounds.mib(bounds.WORKER_OUTPUT_MAX_BYTES)
            raise WorkerStopped(f"the worker sent {total} bytes (at most {most})")
        for spec in specs:
            if spec["dtype"] is not None and spec["dtype"] not in OUTPUT_DTYPES:
                self.close()
                raise WorkerStopped(f"the worker sent an array of dtype {spec['dtype']} (protocol error)")
        raws = [self._read(int(spec["bytes"]), deadline, limit) for spec in specs]
        return header, decode_blobs(header, raws)

    def _reap(self) -> int:
        """Wait for the worker to end; its wait status (once: later calls return -1)."""
        if self._proc is not None:
            code = self._proc.wait()
            status = (-code & 0x7F) if code < 0 else (code << 8)
        elif self.pid:
            try:
                status = os.waitpid(self.pid, 0)[1]
            except ChildProcessError:
                status = -1
        else:
            status = -1
        self.pid = 0
        return status

    def close(self) -> None:
        """Kill and reap the worker (it holds nothing worth a graceful exit) and close the pipes."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        if self._proc is not None:
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
            self._proc = None
        else:
            for fd in (self._send_fd, self._recv_fd):
                if fd >= 0:
                    os.close(fd)
        self._send_fd = self._recv_fd = -1
