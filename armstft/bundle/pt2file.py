"""``.pt2`` files (torch.export's ExportedProgram archives) that load without unpickling anything.

``torch.export.load`` unpickles (``weights_only=False``) three kinds of archive member: the sample inputs,
tensor-subclass weights or constants, and custom objects.  A bundle is hashed, but "hashed" only says the
bytes are the ones exported; a pickle can still run code on the board.  So :func:`save` writes programs
with none of those (no sample inputs; plain tensors only), and :func:`check` refuses, before anything is
loaded, an archive holding any of them.  What remains is JSON (the graph) and raw tensor bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from armstft.core.errors import BundleError

if TYPE_CHECKING:  # verify's parent process checks archives without importing torch (the worker loads them)
    import torch

SUFFIX = ".pt2"


def save(program: torch.export.ExportedProgram, path: Path) -> None:
    """Write ``program`` without its sample inputs (their only encoding is a pickle): same program, same
    bytes."""
    import torch

    program.example_inputs = None
    torch.export.save(program, str(path))


def _pickled_entries(config: object) -> list[str]:
    """Names in a weights/constants config whose payload is a pickle (``use_pickle``) or a custom object."""
    entries = config.get("config", {}) if isinstance(config, dict) else {}
    if not isinstance(entries, dict):
        return ["config"]
    return [
        str(name)
        for name, meta in entries.items()
        if not isinstance(meta, dict)
        or meta.get("use_pickle")
        or str(meta.get("path_name", "")).startswith("custom")
    ]


def check(data: bytes, where: str) -> None:
    """Refuse a ``.pt2`` that ``torch.export.load`` would unpickle any part of (a :class:`BundleError`)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as err:
        raise BundleError(where, "file", "a torch.export archive (zip)", f"unreadable ({err})") from None
    for info in infos:
        name = info.filename
        if "/data/sample_inputs/" in name and info.file_size:
            raise BundleError(
                where, name, "no sample inputs (they load as a pickle)", f"{info.file_size} bytes"
            )
        if "/data/aotinductor/" in name:
            raise BundleError(
                where, name, "an ExportedProgram (no compiled AOTInductor code)", "compiled code"
            )
        if name.endswith("_config.json") and ("/data/weights/" in name or "/data/constants/" in name):
            try:
                config = json.loads(archive.read(info))
            except (ValueError, zipfile.BadZipFile) as err:
                raise BundleError(where, name, "a JSON payload config", f"unreadable ({err})") from None
            pickled = _pickled_entries(config)
            if pickled:
                raise BundleError(
                    where, name, "plain tensors only (no pickled payloads)", ", ".join(pickled[:5])
                )
