"""The native library and the Python fallback define the same public operators with the same schemas.

Why: a bundle's TorchScript model calls ``armstft::stft`` / ``armstft::log_mel`` by schema; the fallback
(armstft/faststft/fallback.py) must accept every call the native library accepts, or a model exported
where the library was built stops loading where it was not. The native schemas are read from the loaded
library's registrations; the fallback's are parsed from its text in a process without the library.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

import armstft.faststft as fast
from armstft.faststft import fallback

pytestmark = pytest.mark.skipif(not fast.available(), reason="the native library is not built")


def native_public_schemas() -> dict[str, str]:
    """Every public (not ``_``-prefixed) operator the loaded native library registered, as torch prints it."""
    names = [n.split("::", 1)[1] for n in torch._C._dispatch_get_all_op_names() if n.startswith("armstft::")]
    return {
        name: str(getattr(torch.ops.armstft, name).default._schema)
        for name in sorted(names)
        if not name.startswith("_")
    }


def test_the_fallback_defines_every_public_native_operator_with_its_schema() -> None:
    native = native_public_schemas()
    parsed = {name: str(torch._C.parse_schema(f"armstft::{text}")) for name, text in fallback.SCHEMAS.items()}
    assert native == parsed


def test_the_fallback_registers_the_schemas_it_states() -> None:
    """In a process without the native library, the registered schemas are the fallback's text."""
    code = (
        "import json, torch, armstft.faststft as f\n"
        "assert not f.available()\n"
        "from armstft.faststft import fallback\n"
        "ops = torch.ops.armstft\n"
        "print(json.dumps({n: str(getattr(ops, n).default._schema) for n in fallback.SCHEMAS}))\n"
    )
    env = dict(os.environ, ARMSTFT_FASTSTFT="off")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == native_public_schemas()
