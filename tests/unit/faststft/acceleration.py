"""What the acceleration tests share: a scope with ``accelerate()`` on (or off), restored after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import armstft.faststft as fast


@contextmanager
def accelerated(on: bool = True) -> Iterator[None]:
    was = fast.accelerate(on)
    try:
        yield
    finally:
        fast.accelerate(was)
