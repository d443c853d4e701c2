"""The fast STFT: a native operator library (C++/C, NEON or SSE2) with torch.stft / torch.istft drop-ins,
a fused log-mel front end, a streaming STFT, and the opt-in acceleration of unmodified torch code.

Importing this package loads ``libarmstft_ops.so`` and so registers ``torch.ops.armstft.*`` (schemas and
registrations in ``src/ops/register.cpp``).  Without the compiled engine everything still works through
torch's own ops: check :func:`available`.  The public names are re-exported by :mod:`armstft`
(``armstft.stft`` ...).

Why a layer of its own, beside ``core`` at the bottom: it imports nothing else of armstft (a C++ program
uses the same library without Python), and the front end, the bench cases and the sandbox's child load it.
"""

from armstft.faststft._loader import available, library_path, load_error, simd
from armstft.faststft.accelerate import accelerate, accelerated, engine_calls
from armstft.faststft.functional import covers, istft, log_mel, stft
from armstft.faststft.streaming import StreamingStft

__all__ = [
    "StreamingStft",
    "accelerate",
    "accelerated",
    "available",
    "covers",
    "engine_calls",
    "istft",
    "library_path",
    "load_error",
    "log_mel",
    "simd",
    "stft",
]
