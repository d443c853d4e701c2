"""The one SSH transport to boards (paramiko, key auth, host key pinned or trusted on first use).

Used directly for a board reached by address (``--armstft-ssh user@host``) and, wrapped in a labgrid driver
(``harness.drivers.sshdriver``), for every env-file board.  Why not labgrid's own SSHDriver: its ControlMaster
is started with ``StrictHostKeyChecking=no`` and ``UserKnownHostsFile=/dev/null`` (and only its private
methods see the options before those), it splits commands on spaces, and it has no board-side timeout.

Every failure becomes a one-line ``StageError`` in the user's terms: the key was refused, nothing listens on
the port, the host key changed, the connection dropped (``loss_reason`` may say why: "QEMU exited ...").
"""

from __future__ import annotations

import os
import re
import select
import shlex
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko

from harness.drivers.hostkeys import HostKeyError, PinnedKeys, TrustOnFirstUse
from harness.drivers.transport import HOST_GRACE_S, KILLED_RC, CommandResult, LossReason, board_command
from harness.errors import BoardCommandTimeout, StageError, one_line

#: failures worth retrying while a board boots (sshd not up yet), unlike a refused key or a wrong host key
_NOT_YET = (ConnectionRefusedError, TimeoutError, EOFError, paramiko.ssh_exception.NoValidConnectionsError)


@dataclass(frozen=True)
class SSHTarget:
    """``user@address[:port]`` parsed."""

    user: str
    address: str
    port: int = 22

    @classmethod
    def parse(cls, text: str, option: str = "--armstft-ssh") -> SSHTarget:
        user, at, rest = text.rpartition("@")
        if not at or not user or not rest:
            raise ValueError(f"{option}: expected user@address[:port], got {text!r}")
        address, port = rest, 22
        if rest.startswith("["):  # [ipv6]:port
            address, _, tail = rest[1:].partition("]")
            if tail.startswith(":"):
                port = _port(tail[1:], text, option)
        elif rest.count(":") == 1:
            address, raw = rest.split(":")
            port = _port(raw, text, option)
        return cls(user, address, port)

    def __str__(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"

    @property
    def board_name(self) -> str:
        """The results/<board>/ name of a board reached by address: ``ssh-<address>``."""
        return "ssh-" + re.sub(r"[^\w.-]", "_", self.address)


def _port(raw: str, text: str, option: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{option}: expected a port 1-65535 after ':', got {text!r}")
    return int(raw)


def regular_tree(local: Path) -> list[Path]:
    """Every file under ``local`` (itself if a file), refusing links and anything not a regular file.

    Checked before a single byte is sent: a link in a bundle may point at a private key.
    """
    local = Path(local)
    found = []
    for path in [local, *(sorted(local.rglob("*")) if local.is_dir() and not local.is_symlink() else [])]:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            raise ValueError(f"{path}: expected a regular file, got a symbolic link (never uploaded)")
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ValueError(f"{path}: expected a regular file, got a special file (never uploaded)")
        if stat.S_ISREG(mode):
            found.append(path)
    return found


class SSHConnection:
    """An SSH session to one board (a ``Transport``); ``connect()`` first, ``close()`` at the end."""

    def __init__(
        self,
        target: SSHTarget,
        key: Path,
        *,
        known_hosts: Path | None,
        tofu_file: Path,
        connect_timeout: float = 30.0,
        loss_reason: LossReason | None = None,
        proxy_command: Sequence[str] | None = None,
    ) -> None:
        self.target = target
        #: a command whose stdin/stdout is the TCP stream to the board (labgrid's proxymanager gives
        #: ``ssh -W address:port exporter`` for a board behind an exporter); host keys stay the board's own
        self.proxy_command = list(proxy_command) if proxy_command else None
        self.where = str(target)
        self.key = Path(key).expanduser()
        self.known_hosts = Path(known_hosts).expanduser() if known_hosts else None
        self.tofu_file = Path(tofu_file)
        self.connect_timeout = connect_timeout
        self.loss_reason = loss_reason or (lambda: None)
        self.client: paramiko.SSHClient | None = None
        self.notes: list[str] = []

    # --- connection --------------------------------------------------------------------------------------

    def _pkey(self) -> paramiko.PKey:
        try:
            return paramiko.PKey.from_path(self.key)
        except FileNotFoundError:
            raise StageError("ssh", f"{self.key}: key: expected a private key file, got missing") from None
        except (paramiko.SSHException, ValueError, OSError) as e:
            raise StageError(
                "ssh", f"{self.key}: key: expected an unencrypted private key, got {e}"
            ) from None

    def _policy(self) -> PinnedKeys | TrustOnFirstUse:
        try:
            return PinnedKeys(self.known_hosts) if self.known_hosts else TrustOnFirstUse(self.tofu_file)
        except HostKeyError as e:
            raise StageError("ssh", str(e)) from None

    def connect(self) -> SSHConnection:
        """Log in, retrying while nothing answers yet (a booting board) until ``connect_timeout``."""
        pkey, policy = self._pkey(), self._policy()
        deadline = time.monotonic() + self.connect_timeout
        while True:
            client = paramiko.SSHClient()
            if isinstance(policy, TrustOnFirstUse):
                policy.load_into(client)
            client.set_missing_host_key_policy(policy)
            try:
                self._login(client, pkey, max(1.0, deadline - time.monotonic()))
                break
            except _NOT_YET as e:
                client.close()
                if time.monotonic() >= deadline:
                    raise StageError("ssh", self._unreachable(e)) from None
                time.sleep(1)
            except BaseException:
                client.close()
                raise
        if policy.note:
            self.notes.append(policy.note)
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(15)  # notice a vanished board instead of waiting forever
        self.client = client
        return self

    def _login(self, client: paramiko.SSHClient, pkey: paramiko.PKey, timeout: float) -> None:
        sock = paramiko.ProxyCommand(shlex.join(self.proxy_command)) if self.proxy_command else None
        try:
            client.connect(
                self.target.address, port=self.target.port, username=self.target.user, pkey=pkey,
                timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
                allow_agent=False, look_for_keys=False, sock=sock,
            )  # fmt: skip
        except paramiko.AuthenticationException:
            raise StageError(
                "ssh", f"{self.where} refused the key {self.key} (not in the user's authorized_keys?)"
            ) from None
        except paramiko.BadHostKeyException as e:
            raise StageError(
                "ssh",
                f"{self.tofu_file}: host key of {self.where}: expected the {e.expected_key.get_name()} key "
                "recorded on first use, got a different one (re-imaged board? delete its line to trust it)",
            ) from None
        except HostKeyError as e:
            raise StageError("ssh", str(e)) from None
        except (paramiko.SSHException, OSError) as e:
            if isinstance(e, _NOT_YET):
                raise
            if "Error reading SSH protocol banner" in str(e):  # accepted, then closed: sshd not up yet
                raise TimeoutError(str(e)) from e
            raise StageError("ssh", f"{self.where}: SSH connection failed: {one_line(e)}") from None

    def _unreachable(self, exc: BaseException) -> str:
        errors = getattr(exc, "errors", None)
        refused = isinstance(exc, ConnectionRefusedError) or (
            errors and all(isinstance(err, ConnectionRefusedError) for err in errors.values())
        )
        if refused:
            return f"{self.where} refused the connection (no SSH server on that port?)"
        return f"{self.where} did not answer within {self.connect_timeout:.0f} s ({one_line(exc)})"

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _transport(self, stage: str, doing: str) -> paramiko.Transport:
        transport = self.client.get_transport() if self.client else None
        if transport is None or not transport.is_active():
            raise self._lost(stage, doing)
        return transport

    def _lost(self, stage: str, doing: str, detail: str = "") -> StageError:
        why = self._wait_for_loss_reason()
        if why:
            return StageError(stage, f"{why} while {doing}")
        return StageError(stage, f"lost the SSH connection to {self.where} while {doing}{detail}")

    def _wait_for_loss_reason(self, wait_s: float = 3.0) -> str | None:
        """A killed QEMU closes its sockets a moment before its exit status can be collected: wait briefly."""
        deadline = time.monotonic() + wait_s
        while True:
            why = self.loss_reason()
            if why or time.monotonic() >= deadline:
                return why
            time.sleep(0.1)

    # --- commands ----------------------------------------------------------------------------------------

    def run(self, argv: Sequence[str], *, stage: str, timeout: float) -> CommandResult:
        """Run ``argv`` under the board's ``timeout -s KILL``; a non-zero exit status is returned."""
        shown = " ".join(argv)
        doing = f"running `{shown}`"
        started = time.monotonic()
        try:
            channel = self._transport(stage, doing).open_session()
            channel.exec_command(board_command(argv, int(timeout)))
            out, err, code = _collect(channel, started + timeout + HOST_GRACE_S)
        except TimeoutError:
            raise BoardCommandTimeout(
                stage, f"`{shown}` gave no answer within {timeout + HOST_GRACE_S:.0f} s (board frozen?)"
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise self._lost(stage, doing, f": {one_line(e)}") from None
        seconds = time.monotonic() - started
        if code == -1:  # the channel closed without an exit status: the connection is gone
            raise self._lost(stage, doing)
        if code == KILLED_RC and seconds >= timeout - 1:
            raise BoardCommandTimeout(stage, f"`{shown}` hung: killed on the board after {int(timeout)} s")
        return CommandResult(shown, out.decode(errors="replace"), err.decode(errors="replace"), code, seconds)

    # --- files -------------------------------------------------------------------------------------------

    def put(self, local: Path, remote: str, *, stage: str) -> None:
        """Copy a regular file or a folder of them to ``remote`` over SFTP (links refused before upload)."""
        local = Path(local)
        try:
            files = regular_tree(local)
        except (ValueError, OSError) as e:
            raise StageError(stage, str(e)) from None
        doing = f"copying {local.name} to the board"
        try:
            with self._transport(stage, doing).open_sftp_client() as sftp:
                if not local.is_dir():
                    sftp.put(str(local), remote)
                    return
                for folder in [local, *sorted({f.parent for f in files} - {local})]:
                    rel = folder.relative_to(local).as_posix()
                    _mkdir(sftp, remote if rel == "." else f"{remote}/{rel}")
                for f in files:
                    sftp.put(str(f), f"{remote}/{f.relative_to(local).as_posix()}")
        except StageError:
            raise
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise self._lost(stage, doing, f": {one_line(e)}") from None

    def get(self, remote: str, local: Path, *, stage: str) -> Path:
        """Copy a file or a directory tree from the board to ``local``; return ``local``."""
        local = Path(local)
        doing = f"copying {remote} from the board"
        try:
            with self._transport(stage, doing).open_sftp_client() as sftp:
                _get_tree(sftp, remote, local)
        except StageError:
            raise
        except FileNotFoundError:
            raise StageError(stage, f"{remote}: not found on the board") from None
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise self._lost(stage, doing, f": {one_line(e)}") from None
        return local


def _collect(channel: paramiko.Channel, deadline: float) -> tuple[bytes, bytes, int]:
    """Read stdout and stderr as they come (neither fills up and stalls the other) until exit or deadline."""
    out, err = bytearray(), bytearray()
    while True:
        if channel.recv_ready():
            out += channel.recv(65536)
        elif channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
        elif channel.exit_status_ready() or channel.closed:
            while channel.recv_ready():
                out += channel.recv(65536)
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            code = channel.recv_exit_status() if channel.exit_status_ready() else -1
            channel.close()
            return bytes(out), bytes(err), code
        elif time.monotonic() > deadline:
            channel.close()
            raise TimeoutError
        elif not channel.get_transport().is_active():
            return bytes(out), bytes(err), -1
        else:
            select.select([channel], [], [], 0.5)


def _mkdir(sftp: paramiko.SFTPClient, path: str) -> None:
    try:
        sftp.mkdir(path)
    except OSError:
        pass  # exists


def _get_tree(sftp: paramiko.SFTPClient, remote: str, local: Path) -> None:
    if not stat.S_ISDIR(sftp.stat(remote).st_mode or 0):
        local.parent.mkdir(parents=True, exist_ok=True)
        sftp.get(remote, str(local))
        return
    local.mkdir(parents=True, exist_ok=True)
    for entry in sftp.listdir_attr(remote):
        _get_tree(sftp, f"{remote}/{entry.filename}", local / entry.filename)
