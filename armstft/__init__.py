"""armstft: PyTorch audio models whose front end is ATen's STFT, verified and benchmarked on ARM boards.

This package runs on the host and on the board. It must never import labgrid, paramiko, pytest or
anything of ``harness/`` (the board has none of them).

Public STFT names (loaded on first use, so ``import armstft`` alone does not import torch):
``armstft.stft``, ``armstft.istft`` (torch.stft / torch.istft drop-ins), ``armstft.log_mel`` (fused
log-mel front end), ``armstft.StreamingStft``, ``armstft.accelerate`` (run unmodified torch code on the
engine; ``ARMSTFT_ACCELERATE=1`` turns it on at import).
"""

from __future__ import annotations

import os
from typing import Any

from armstft.core.version import __version__ as __version__  # (armstft.__version__, the public name)

_FAST = ("stft", "istft", "log_mel", "StreamingStft", "accelerate", "accelerated")


def __getattr__(name: str) -> Any:
    if name in _FAST:
        from armstft import faststft

        value = getattr(faststft, name)
        globals()[name] = value  # later lookups are plain module attributes
        return value
    raise AttributeError(f"module 'armstft' has no attribute {name!r}")


if os.environ.get("ARMSTFT_ACCELERATE", "").lower() in {"1", "on", "true", "yes"}:
    import armstft.faststft  # noqa: F401  (loading the library turns acceleration on: see accelerate)
