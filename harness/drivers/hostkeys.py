"""Host-key policies for SSH connections to boards: pinned to known keys, or trusted on first use.

- **Pinned** (an env's ``known_hosts`` or ``--armstft-known-hosts``): the board must present one of the keys
  in the file.  Host patterns in the file are ignored on purpose: the emulated board's forwarded port changes
  every boot, and the file is named per board anyway (the image builder writes ``ssh/known_hosts_entry``).
- **Trust on first use** (no pinned file): the key a board presents the first time is recorded under its
  ``[address]:port`` in ``$ARMSTFT_CACHE/ssh/known_hosts``; every later connection to that address must
  present the same key, a different one fails the run.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

import paramiko

from harness.files import atomic_write


class HostKeyError(Exception):
    """The board's host key is missing, unreadable or not the one we expect."""


def pinned_keys(known_hosts: Path) -> set[tuple[str, str]]:
    """(key type, base64 blob) pairs from a known_hosts file, host patterns ignored."""
    try:
        text = Path(known_hosts).read_text()
    except OSError as e:
        raise HostKeyError(f"{known_hosts}: cannot read known_hosts entry: {e.strerror}") from e
    keys = set()
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        for i, field in enumerate(fields[:-1]):
            if field.startswith(("ssh-", "ecdsa-", "sk-")):
                keys.add((field, fields[i + 1]))
                break
    if not keys:
        raise HostKeyError(f"{known_hosts}: no host key found (expected '<host> <type> <base64>' lines)")
    return keys


class PinnedKeys(paramiko.MissingHostKeyPolicy):
    """Accept the server only if its key is one of the pinned (type, base64) pairs."""

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = Path(known_hosts)
        self.expected = pinned_keys(self.known_hosts)
        self.note = ""

    def missing_host_key(self, client, hostname, key) -> None:
        if (key.get_name(), key.get_base64()) not in self.expected:
            raise HostKeyError(
                f"{self.known_hosts}: host key: expected a pinned key, got a different "
                f"{key.get_name()} key from {hostname}"
            )


def host_entry(address: str, port: int) -> str:
    """How known_hosts names a host: ``address`` for port 22, else ``[address]:port``."""
    return address if port == 22 else f"[{address}]:{port}"


class TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """Record an unknown host's key in ``known_hosts`` (under a lock, atomically) and accept it once.

    A host already recorded never reaches this policy: paramiko compares its key with the recorded one and
    refuses a different one (``BadHostKeyException``) before any policy is asked.
    """

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = Path(known_hosts)
        self.note = ""

    def load_into(self, client: paramiko.SSHClient) -> None:
        if self.known_hosts.is_file():
            client.get_host_keys().load(str(self.known_hosts))

    def missing_host_key(self, client, hostname, key) -> None:
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        with open(self.known_hosts.with_name(self.known_hosts.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            keys = paramiko.HostKeys()
            if self.known_hosts.is_file():
                keys.load(str(self.known_hosts))
            known = keys.lookup(hostname)
            if known and key.get_name() in known and known[key.get_name()] != key:
                raise HostKeyError(f"{self.known_hosts}: host key of {hostname} changed while connecting")
            keys.add(hostname, key.get_name(), key)
            atomic_write(self.known_hosts, "".join(_lines(keys)), mode=0o600)
        self.note = (
            f"host key of {hostname} trusted on first use: {key.get_name()} {key.get_base64()[:24]}… "
            f"recorded in {self.known_hosts}"
        )


def _lines(keys: paramiko.HostKeys) -> list[str]:
    return [f"{host} {kind} {key.get_base64()}\n" for host in keys for kind, key in keys[host].items()]
