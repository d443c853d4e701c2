"""A board reached by plain SSH (paramiko, key auth): no labgrid, no serial console, just an address.

Same interface as ``harness.boardcmd.Board`` (``run``, ``put``, ``get``), so the on-device steps of
``harness.hilsteps`` drive either one.  Every failure becomes a one-line ``StageError`` that says what went
wrong in the user's terms: the key was refused, nothing listens on the port, the connection dropped.

Host keys: with ``known_hosts`` the board must present a key from that file (host patterns are ignored, as in
``harness.hostkey``: a forwarded port changes every boot); without it, ``~/.ssh/known_hosts`` is honoured when
it names the host (a changed key is refused) and an unknown host is accepted and reported in the run's notes.
"""

from __future__ import annotations

import shlex
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko

from harness.boardcmd import HOST_GRACE_S, KILLED_RC, CommandResult, board_command
from harness.errors import BoardCommandTimeout, StageError
from harness.hostkey import HostKeyError, expected_keys


@dataclass(frozen=True)
class SSHTarget:
    """``user@address[:port]`` parsed."""

    user: str
    address: str
    port: int = 22

    @classmethod
    def parse(cls, text: str) -> SSHTarget:
        user, at, rest = text.rpartition("@")
        if not at or not user or not rest:
            raise ValueError(f"--host: expected user@address[:port], got {text!r}")
        address, port = rest, 22
        if rest.startswith("["):  # [ipv6]:port
            address, _, tail = rest[1:].partition("]")
            if tail.startswith(":"):
                port = _port(tail[1:], text)
        elif rest.count(":") == 1:
            address, raw = rest.split(":")
            port = _port(raw, text)
        return cls(user, address, port)

    def __str__(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"


def _port(raw: str, text: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"--host: expected a port 1-65535 after ':', got {text!r}")
    return int(raw)


class _PinnedKeys(paramiko.MissingHostKeyPolicy):
    """Accept the server only if its key is one of the expected (type, base64) pairs."""

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts
        self.expected = expected_keys(known_hosts)

    def missing_host_key(self, client, hostname, key) -> None:
        if (key.get_name(), key.get_base64()) not in self.expected:
            raise HostKeyError(
                f"{self.known_hosts}: host key: expected the pinned key, got a different "
                f"{key.get_name()} key from {hostname}"
            )


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """Unknown host: accept (like ssh's accept-new, without writing known_hosts) and remember that we did."""

    def __init__(self) -> None:
        self.accepted: str | None = None

    def missing_host_key(self, client, hostname, key) -> None:
        self.accepted = f"{hostname} {key.get_name()} {key.get_base64()}"


class ParamikoBoard:
    """An SSH session to one board; ``connect()`` first, ``close()`` at the end."""

    def __init__(
        self,
        target: SSHTarget,
        key: Path,
        *,
        known_hosts: Path | None = None,
        connect_timeout: float = 30.0,
    ) -> None:
        self.target = target
        self.key = Path(key).expanduser()
        self.known_hosts = known_hosts
        self.connect_timeout = connect_timeout
        self.client: paramiko.SSHClient | None = None
        self.notes: list[str] = []

    # --- connection --------------------------------------------------------------------------------------

    def connect(self) -> ParamikoBoard:
        where = str(self.target)
        try:
            pkey = paramiko.PKey.from_path(self.key)
        except FileNotFoundError:
            raise StageError("ssh", f"{self.key}: key: expected a private key file, got missing") from None
        except (paramiko.SSHException, ValueError, OSError) as e:
            raise StageError(
                "ssh", f"{self.key}: key: expected an unencrypted private key, got {e}"
            ) from None
        client = paramiko.SSHClient()
        accept_new = None
        try:
            if self.known_hosts is not None:
                client.set_missing_host_key_policy(_PinnedKeys(Path(self.known_hosts)))
            else:
                client.load_system_host_keys()
                accept_new = _AcceptNew()
                client.set_missing_host_key_policy(accept_new)
        except HostKeyError as e:
            raise StageError("ssh", str(e)) from None
        try:
            client.connect(
                self.target.address,
                port=self.target.port,
                username=self.target.user,
                pkey=pkey,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.AuthenticationException:
            client.close()
            raise StageError(
                "ssh", f"{where} refused the key {self.key} (not in the user's authorized_keys?)"
            ) from None
        except paramiko.BadHostKeyException as e:
            client.close()
            raise StageError(
                "ssh", f"{where}: host key changed: known_hosts has another {e.expected_key.get_name()} key"
            ) from None
        except HostKeyError as e:
            client.close()
            raise StageError("ssh", str(e)) from None
        except paramiko.ssh_exception.NoValidConnectionsError as e:
            client.close()
            if all(isinstance(err, ConnectionRefusedError) for err in e.errors.values()):
                raise StageError(
                    "ssh", f"{where} refused the connection (no SSH server on that port?)"
                ) from None
            raise StageError("ssh", f"{where}: cannot connect: {_one_line(e)}") from None
        except ConnectionRefusedError:
            client.close()
            raise StageError("ssh", f"{where} refused the connection (no SSH server on that port?)") from None
        except TimeoutError:
            client.close()
            raise StageError("ssh", f"{where} did not answer within {self.connect_timeout:.0f} s") from None
        except (paramiko.SSHException, OSError, EOFError) as e:
            client.close()
            raise StageError("ssh", f"{where}: SSH connection failed: {_one_line(e)}") from None
        if accept_new is not None and accept_new.accepted:
            self.notes.append(f"host key not pinned; accepted {accept_new.accepted}")
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(15)  # notice a vanished board instead of waiting forever
        self.client = client
        return self

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _client(self, stage: str) -> paramiko.SSHClient:
        transport = self.client.get_transport() if self.client else None
        if transport is None or not transport.is_active():
            raise StageError(stage, f"the SSH connection to {self.target} is closed")
        return self.client

    # --- commands ----------------------------------------------------------------------------------------

    def run(self, argv: Sequence[str], *, stage: str, timeout: float) -> CommandResult:
        """Run ``argv`` under the board's ``timeout -s KILL``; a non-zero exit status is returned."""
        shown = shlex.join(argv)
        started = time.monotonic()
        client = self._client(stage)
        try:
            _, stdout, stderr = client.exec_command(
                board_command(argv, int(timeout)), timeout=timeout + HOST_GRACE_S
            )
            out = stdout.read()
            err = stderr.read()
            code = stdout.channel.recv_exit_status()
        except TimeoutError:
            raise BoardCommandTimeout(
                stage, f"`{shown}` gave no answer within {timeout + HOST_GRACE_S:.0f} s (board frozen?)"
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise StageError(
                stage, f"lost the SSH connection while running `{shown}`: {_one_line(e)}"
            ) from None
        seconds = time.monotonic() - started
        if code == -1:  # the channel closed without an exit status: the connection is gone
            raise StageError(stage, f"lost the SSH connection while running `{shown}`")
        result = CommandResult(
            shown, out.decode(errors="replace"), err.decode(errors="replace"), code, seconds
        )
        if code == KILLED_RC and seconds >= timeout - 1:
            raise BoardCommandTimeout(stage, f"`{shown}` hung: killed on the board after {int(timeout)} s")
        return result

    # --- files -------------------------------------------------------------------------------------------

    def put(self, local: Path, remote: str, *, stage: str) -> None:
        """Copy a file or a directory tree to ``remote`` over SFTP."""
        local = Path(local)
        try:
            sftp = self._client(stage).open_sftp()
            try:
                if local.is_dir():
                    _put_tree(sftp, local, remote)
                else:
                    sftp.put(str(local), remote)
            finally:
                sftp.close()
        except StageError:
            raise
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise StageError(stage, f"copying {local.name} to the board failed: {_one_line(e)}") from None

    def get(self, remote: str, local: Path, *, stage: str) -> Path:
        """Copy a file or a directory tree from the board to ``local``; return ``local``."""
        local = Path(local)
        try:
            sftp = self._client(stage).open_sftp()
            try:
                if stat.S_ISDIR(sftp.stat(remote).st_mode or 0):
                    _get_tree(sftp, remote, local)
                else:
                    local.parent.mkdir(parents=True, exist_ok=True)
                    sftp.get(remote, str(local))
            finally:
                sftp.close()
        except StageError:
            raise
        except FileNotFoundError:
            raise StageError(stage, f"{remote}: not found on the board") from None
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise StageError(stage, f"copying {remote} from the board failed: {_one_line(e)}") from None
        return local

    def sftp(self, stage: str) -> paramiko.SFTPClient:
        return self._client(stage).open_sftp()


def _put_tree(sftp: paramiko.SFTPClient, local: Path, remote: str) -> None:
    try:
        sftp.mkdir(remote)
    except OSError:
        pass  # exists
    for child in sorted(local.iterdir()):
        target = f"{remote}/{child.name}"
        if child.is_dir():
            _put_tree(sftp, child, target)
        else:
            sftp.put(str(child), target)


def _get_tree(sftp: paramiko.SFTPClient, remote: str, local: Path) -> None:
    local.mkdir(parents=True, exist_ok=True)
    for entry in sftp.listdir_attr(remote):
        source = f"{remote}/{entry.filename}"
        if stat.S_ISDIR(entry.st_mode or 0):
            _get_tree(sftp, source, local / entry.filename)
        else:
            sftp.get(source, str(local / entry.filename))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'connection closed'}"[:300]
