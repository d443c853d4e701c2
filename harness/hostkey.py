"""Pin the board's SSH host key: compare what the board presents with the entry the image builder baked in.

labgrid's SSHDriver connects with ``StrictHostKeyChecking=no``; for the emulated board we know the exact host
key (the builder bakes it into the image and writes ``ssh/known_hosts_entry``), so we check it ourselves.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


class HostKeyError(Exception):
    """The board's host key is missing, unreadable or not the one we expect."""


def expected_keys(known_hosts: Path) -> set[tuple[str, str]]:
    """(key type, base64 blob) pairs from a known_hosts file; host patterns are ignored on purpose
    (the forwarded port changes every boot)."""
    try:
        text = known_hosts.read_text()
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


def presented_keys(address: str, port: int, timeout: int = 10) -> set[tuple[str, str]]:
    """Ask the SSH server for its host keys with ssh-keyscan."""
    result = subprocess.run(
        ["ssh-keyscan", "-T", str(timeout), "-p", str(port), address],
        capture_output=True,
        text=True,
        timeout=timeout + 10,
    )
    keys = set()
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and not fields[0].startswith("#"):
            keys.add((fields[1], fields[2]))
    return keys


def check_host_key(known_hosts: Path, address: str, port: int, attempts: int = 3) -> None:
    """Raise HostKeyError unless the server at address:port presents one of the expected host keys.

    Retried: an emulated board on a busy host can take longer than one ssh-keyscan timeout for the handshake.
    """
    want = expected_keys(known_hosts)
    got: set[tuple[str, str]] = set()
    for attempt in range(attempts):
        got = presented_keys(address, port, timeout=10 * (attempt + 1))
        if got:
            break
    if not got:
        raise HostKeyError(f"{address}:{port}: ssh-keyscan got no host key from the board ({attempts} tries)")
    if not want & got:
        types = ", ".join(sorted(t for t, _ in got))
        raise HostKeyError(
            f"{known_hosts}: host key: expected the baked-in key, got a different one ({types}) "
            f"from {address}:{port}"
        )
