"""TorchScript files whose bytes depend only on the model, not on where it was exported from.

``torch.jit.save`` stores, beside each module's code, a ``*.debug_pkl`` record of source ranges that names the
exporting host's source files by absolute path (``/home/you/armstft/armstft/nn/model.py``).  So the same
weights exported from two clones gave two sets of bytes (and the board's tracebacks quoted host paths).  Those
records are optional for ``torch.jit.load``: the saved code itself still carries line information.  This
writes the archive without them, uncompressed, with fixed timestamps, in torch's own record order, and
with ``.data/serialization_id`` (which torch derives from the records it wrote, host paths included)
derived from the records kept instead.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import torch

_EPOCH = (1980, 1, 1, 0, 0, 0)


def portable(blob: bytes) -> bytes:
    """``blob`` (a ``torch.jit.save`` archive) without its host-path debug records."""
    with zipfile.ZipFile(io.BytesIO(blob)) as src:
        records = {i.filename: src.read(i) for i in src.infolist() if not i.filename.endswith(".debug_pkl")}
    digest = hashlib.sha256()
    for name, data in records.items():
        if not name.endswith("/.data/serialization_id"):
            digest.update(name.encode() + b"\0" + data + b"\0")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for name, data in records.items():
            if name.endswith("/.data/serialization_id"):
                data = str(int.from_bytes(digest.digest()[:16], "big")).encode()
            record = zipfile.ZipInfo(name, date_time=_EPOCH)
            record.external_attr = 0o644 << 16
            dst.writestr(record, data)
    return out.getvalue()


def save(module: torch.jit.ScriptModule, path: Path) -> None:
    """``torch.jit.save`` to ``path``, location-independent (see the module docstring)."""
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    path.write_bytes(portable(buf.getvalue()))
