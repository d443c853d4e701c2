"""Pin the board's SSH host key: compare what the board presents with the entry the image builder baked in.

labgrid's SSHDriver connects with ``StrictHostKeyChecking=no``; for the emulated board we know the exact host
key (the builder bakes it into the image and writes ``ssh/known_hosts_entry``), so we check it ourselves.
"""

from __future__ import annotations

import subprocess
import tempfile
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


def check_host_key(
    known_hosts: Path, address: str, port: int, keyfile: str, user: str, timeout: int = 60
) -> None:
    """Log in once with strict host-key checking against the expected key; raise HostKeyError otherwise.

    A real login (not ssh-keyscan, whose parallel probes proved flaky against the emulated board under load)
    with a throw-away known_hosts holding only the expected key under a fixed alias, so the changing
    forwarded port does not matter.
    """
    want = expected_keys(known_hosts)
    alias = "armstft-board"
    with tempfile.TemporaryDirectory(prefix="armstft-hostkey-") as tmp:
        pinned = Path(tmp) / "known_hosts"
        pinned.write_text("".join(f"{alias} {kind} {blob}\n" for kind, blob in sorted(want)))
        cmd = [
            "ssh", "-F", "none", "-i", keyfile, "-p", str(port), "-l", user,
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={pinned}",
            "-o", f"HostKeyAlias={alias}", "-o", f"ConnectTimeout={timeout}", "-o", "LogLevel=ERROR",
            address, "true",
        ]  # fmt: skip
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 15)
        except subprocess.TimeoutExpired:
            raise HostKeyError(
                f"{address}:{port}: no SSH answer within {timeout} s for the host-key check"
            ) from None
    if result.returncode != 0:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"ssh exited {result.returncode}"
        if "verification failed" in result.stderr or "HOST IDENTIFICATION HAS CHANGED" in result.stderr:
            raise HostKeyError(
                f"{known_hosts}: host key: expected the baked-in key, got a different one ({detail})"
            )
        raise HostKeyError(f"{address}:{port}: host-key check login failed: {detail}")
