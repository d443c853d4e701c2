"""sha256 of a bundle's files: the one implementation the host uses (export writes the digests, the
harness checks what it pushed) and the board checks against (verify, bench, run).

Why one module: the same bytes were hashed by three implementations; digests that differ by whom computed
them would make a good bundle fail or a changed one pass.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_difference(want: str, got: str) -> str:
    """Both digests in full and where they part: two digests alike in their first 16 hex digits must not
    read the same."""
    first = next((i for i, (a, b) in enumerate(zip(want, got, strict=True)) if a != b), len(want))
    return f"{got} (differs from hex digit {first + 1} of 64 on: the file changed)"
