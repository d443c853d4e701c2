"""Progress lines for the builder: one line per stage with its duration, on stderr.

The builder is run by people (one command, minutes the first time) and by the HIL harness (which shows its
own progress display), so plain, greppable lines are the common denominator.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def info(msg: str) -> None:
    print(f"[board] {msg}", file=sys.stderr, flush=True)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Print ``name``, run the block, print how long it took (also when it fails)."""
    info(f"{name} ...")
    t0 = time.monotonic()
    ok = False
    try:
        yield
        ok = True
    finally:
        took = time.monotonic() - t0
        info(f"{name}: {'done' if ok else 'FAILED'} in {took:.1f}s")
