"""armstft/ keeps its layered shape: a top level of three files, one subpackage per layer with a docstring
saying why, imports that only point down (board code and host code never import each other), no import
circle, and the size rules of tests/unit/harness/test_harness_shape.py.

The import scan reads every ``import`` and ``from ... import`` of the package's own modules, those inside
functions too (a lazy import is still a dependency: the old sandbox <-> worker circle was one).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.unit.codeshape import oversized
from tests.unit.conftest import REPO

PACKAGE = REPO / "armstft"
MODULES = sorted(PACKAGE.rglob("*.py"))
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py"}
# Lower number = lower layer. A module may import its own subpackage or any lower layer, never a higher
# one nor another of the same rank (device and host share one: they never import each other).
LAYERS = {
    "core": 0,
    "faststft": 0,
    "audio": 1,
    "bundle": 2,
    "nn": 3,
    "sandbox": 4,
    "device": 5,
    "host": 5,
    "": 6,  # the top level: __init__, __main__, cli
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


NAMES = {module_name(p): p for p in MODULES}
# built by setup.py from armstft/faststft/src (absent from a pure-Python build; imported only when present)
NATIVE = {"armstft.faststft._fastpath"}


def layer_of(module: str) -> str:
    """``armstft.bundle.golden`` -> ``bundle``; the top level's modules (``armstft``, ``armstft.cli``) ->
    ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else ""


def imports_of(path: Path) -> set[str]:
    """The armstft modules ``path`` imports (``from pkg import name`` counts as the submodule when
    ``name`` is one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "armstft")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "armstft":
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in NAMES or sub in NATIVE else node.module)
    return {name for name in found if name != module_name(path)}


GRAPH = {module_name(p): imports_of(p) for p in MODULES}


def test_top_level_holds_only_the_entry_points():
    assert {p.name for p in PACKAGE.glob("*.py")} == TOP_LEVEL
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert packages == set(LAYERS) - {""}, packages ^ (set(LAYERS) - {""})


def test_every_layer_says_why_it_is_one():
    for name in set(LAYERS) - {""}:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert doc and "Why" in doc, f"armstft/{name}/__init__.py: a docstring saying why this layer exists"


def test_imports_point_down_only():
    wrong = []
    for module, targets in GRAPH.items():
        for target in targets:
            if target in NATIVE:
                continue
            if target not in NAMES:
                wrong.append(f"{module} imports {target}, which is no module of armstft")
                continue
            here, there = layer_of(module), layer_of(target)
            if here != there and LAYERS[there] >= LAYERS[here] and target != "armstft":
                wrong.append(f"{module} ({here or 'top'}) imports {target} ({there or 'top'})")
    assert not wrong, "\n".join(wrong)


def test_nothing_below_the_top_imports_the_package_face():
    """``armstft/__init__.py`` is the top layer's: a module below it takes the version from armstft.core."""
    upward = [m for m, targets in GRAPH.items() if "armstft" in targets and layer_of(m) != ""]
    assert not upward, upward


def test_device_and_host_never_import_each_other():
    crossing = [
        f"{m} -> {t}"
        for m, targets in GRAPH.items()
        for t in targets
        if {layer_of(m), layer_of(t)} == {"device", "host"}
    ]
    assert not crossing, crossing


def test_no_import_circle():
    """Tarjan's strongly connected components: any with two or more modules is a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    assert not circles, circles


def test_the_board_package_never_imports_host_tools():
    """The board has no labgrid, paramiko, pytest or harness: armstft must not import them anywhere."""
    forbidden = {"harness", "labgrid", "paramiko", "pytest", "pexpect", "yaml"}
    found = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in forbidden]
    assert not found, found


def test_modules_and_functions_are_small():
    """The rule of tests/unit/harness/test_harness_shape.py, for armstft's Python modules."""
    assert not (found := oversized(MODULES, REPO)), found


# The C/C++ bound: the engine's C files each hold one transform family with its vector variants (stft.c, the
# largest, is ~620 lines); the operator library keeps one op or one concern per file, far below it.
MAX_NATIVE_LINES = 650
NATIVE_SOURCES = PACKAGE / "faststft" / "src"


def test_native_files_are_bounded():
    files = sorted(p for ext in ("*.c", "*.cpp", "*.h") for p in (PACKAGE / "faststft").rglob(ext))
    big = [
        f"{p.relative_to(REPO)}: {n} lines"
        for p in files
        if (n := len(p.read_text().splitlines())) > MAX_NATIVE_LINES
    ]
    assert files and not big, big


def test_every_native_source_is_built_from_the_one_list():
    """setup.py and scripts/build-aarch64-wheel.sh compile what build.json lists: every source, once."""
    import json

    build = json.loads((NATIVE_SOURCES / "build.json").read_text())
    listed = [*build["library_c"], *build["library_cxx"], *build["shim_cxx"]]
    present = sorted(
        p.relative_to(NATIVE_SOURCES).as_posix()
        for ext in ("*.c", "*.cpp")
        for p in NATIVE_SOURCES.rglob(ext)
    )
    assert sorted(listed) == present
    assert len(set(listed)) == len(listed)
    setup = (REPO / "setup.py").read_text()
    script = (REPO / "scripts" / "build-aarch64-wheel.sh").read_text()
    assert "build.json" in setup and "build.json" in script
    for flag in {*build["c_flags"], *build["cxx_flags"]}:  # no second copy of a flag in either build
        assert f'"{flag}"' not in setup and f" {flag} " not in script, flag
