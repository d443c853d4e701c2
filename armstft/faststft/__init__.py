"""The fast STFT: a native (C, NEON/SSE2) drop-in for torch.stft, its TorchScript operator, and a
streaming STFT.

Importing this package registers ``torch.ops.armstft.stft`` (see :mod:`armstft.faststft.op` for the
schema).  Without the compiled engine everything still works through torch.stft: check
:func:`available`.
"""

from armstft.faststft._loader import available, load_error, simd
from armstft.faststft.functional import covers, stft
from armstft.faststft.op import SCHEMA, register
from armstft.faststft.streaming import StreamingStft

__all__ = ["SCHEMA", "StreamingStft", "available", "covers", "load_error", "register", "simd", "stft"]
