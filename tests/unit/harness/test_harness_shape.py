"""The harness stays in the shape its design asks for: small modules, short functions, no sys.path patches,
and no reaching into another object's private attributes (labgrid's above all: subclass a driver instead)."""

from __future__ import annotations

import ast
import re

from harness import paths
from tests.unit.codeshape import oversized

REPO = paths.repo_root()
HARNESS = sorted((REPO / "harness").rglob("*.py"))
TESTS = sorted(p for d in ("hil", "faults", "boards") for p in (REPO / "tests" / d).rglob("*.py"))


def test_modules_and_functions_are_small():
    assert not (found := oversized(HARNESS, REPO)), found


def test_no_sys_path_patches():
    patched = [
        str(p.relative_to(REPO))
        for p in [*HARNESS, *TESTS, *sorted((REPO / "tests" / "unit").rglob("*.py"))]
        if re.search(r"sys\.path\.(insert|append)\(", p.read_text())
    ]
    assert not patched, patched


def test_no_private_attribute_of_another_object():
    """``obj._name`` is allowed on ``self``/``cls`` only (our own state, or a subclass's inherited hooks)."""
    found = []
    for path in [*HARNESS, *TESTS]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                found.append(f"{path.relative_to(REPO)}:{node.lineno} .{node.attr}")
    assert not found, found
