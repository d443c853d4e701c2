"""docs/bundle.md states every limit of armstft/core/bounds.py with its value: the two cannot drift apart."""

from __future__ import annotations

import re

from armstft.core import bounds
from tests.unit.conftest import REPO


def test_docs_list_every_limit_with_its_value() -> None:
    text = (REPO / "docs" / "bundle.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([A-Z0-9_]+)` \| ([^|]+?) \|", text, flags=re.MULTILINE))
    values = {
        name: value
        for name, value in vars(bounds).items()
        if name.isupper() and name != "MiB" and isinstance(value, int | float)
    }
    assert set(documented) == set(values), set(documented) ^ set(values)
    for name, value in values.items():
        cell = documented[name]
        assert cell.split(" (")[0] == repr(value), (
            f"{name}: docs say {cell}, armstft/core/bounds.py says {value!r}"
        )
        if name.endswith("_BYTES") and value >= bounds.MiB:
            assert cell.endswith(f"({bounds.mib(value)})"), f"{name}: {cell}"
