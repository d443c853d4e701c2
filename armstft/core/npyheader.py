"""The header of a ``.npy`` array from untrusted bytes: its shape and dtype, or one clear reason why not.

numpy parses the header's Python-literal dict with its own helpers, and what they raise on a malformed
header depends on how it is malformed: ValueError ("Header is not a dictionary"), SyntaxError, a
``tokenize.TokenError`` from the version-1 compatibility filter (unbalanced brackets), TypeError, KeyError.
Callers (golden arrays, audio handed to ``run``) must turn every one of those into exit 2 naming the file,
so they all come back here as one :class:`NpyHeaderError`.
"""

from __future__ import annotations

import io
import tokenize

import numpy as np

NPY_HEADER_MAX_BYTES = 10_000  # numpy's own default bound on a .npy header

# What numpy's header parser raises for bytes that are not a header (see the module docstring).
_HEADER_ERRORS = (ValueError, SyntaxError, tokenize.TokenError, TypeError, KeyError, EOFError, OSError)


class NpyHeaderError(ValueError):
    """The bytes do not start with a ``.npy`` header numpy can read; ``str()`` says why, in one line."""


def read_header(stream: io.BytesIO) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of the ``.npy`` header at the stream's position; the stream is left at the data."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            reader = np.lib.format.read_array_header_1_0
        elif version in ((2, 0), (3, 0)):
            reader = np.lib.format.read_array_header_2_0
        else:
            raise ValueError(f"unsupported .npy version {version}")
        shape, _fortran, dtype = reader(stream, max_header_size=NPY_HEADER_MAX_BYTES)
    except _HEADER_ERRORS as err:
        text = " ".join(str(err).split()) or type(err).__name__
        raise NpyHeaderError(f"{type(err).__name__}: {text}") from None
    if any(not isinstance(d, int) or d < 0 for d in shape):  # numpy's own check lets (-3,) through
        raise NpyHeaderError(f"shape {tuple(shape)}: dimensions must be non-negative integers")
    return tuple(shape), dtype
