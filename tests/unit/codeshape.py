"""The size rule both packages keep (tests/unit/harness/test_harness_shape.py, tests/unit/armstft/
test_armstft_shape.py): a module of at most 400 lines, a function of at most 60 — one job each."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def oversized(paths: Iterable[Path], root: Path) -> list[str]:
    """Every module over MAX_MODULE_LINES and every function over MAX_FUNCTION_LINES, named."""
    found = []
    for path in paths:
        text = path.read_text()
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            found.append(f"{path.relative_to(root)}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {length} lines")
    return found
