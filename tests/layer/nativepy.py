"""The Python part of a recipe's native sysroot, as PyPI distributions at the checkout's versions.

python_pep517's do_compile runs ``pyproject-build --no-isolation``: build's dependency check sees exactly
the distributions in the recipe's native sysroot. That sysroot holds the ``python3-*-native`` recipes in
DEPENDS (the recipe's and its classes') and, recursively, their RDEPENDS (native recipes' RDEPENDS are
staged too). Each such recipe is mapped to its PyPI distribution (PYPI_PACKAGE, else the name without
``python3-``) at the recipe's PV; python3-* names without a recipe of their own (python3-json,
python3-email, ...) are split from CPython's standard library and need nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LAYERS = ("openembedded-core/meta", "meta-openembedded/meta-python", "meta-openembedded/meta-oe")
_ASSIGN = re.compile(
    r'^(?P<var>[A-Z_]+(?::\$\{PN\})?)\s*(?P<op>\+?=|\?=|:append\s*=)\s*"(?P<value>(?:[^"\\]|\\.)*)"',
    re.M | re.S,
)


@dataclass(frozen=True)
class PyRecipe:
    name: str  # python3-foo
    dist: str  # the PyPI distribution
    version: str
    rdepends: tuple[str, ...]  # python3-* runtime dependencies that have recipes


def _values(text: str, var: str) -> list[str]:
    out: list[str] = []
    for m in _ASSIGN.finditer(text):
        if m.group("var") in (var, f"{var}:${{PN}}"):
            out += m.group("value").replace("\\\n", " ").split()
    return out


def _recipe_text(path: Path) -> str:
    """The recipe with the files it requires or includes from its own folder."""
    text = path.read_text()
    for inc in re.findall(r"^(?:require|include)\s+(\S+)$", text, re.M):
        candidate = path.parent / inc
        if candidate.is_file():
            text += "\n" + candidate.read_text()
    return text


def index(checkout: Path) -> dict[str, Path]:
    """python3-* recipe name -> its .bb file in the checkout's layers."""
    found: dict[str, Path] = {}
    for layer in LAYERS:
        for bb in (checkout / layer).glob("recipes-*/**/python3-*_*.bb"):
            found.setdefault(bb.name.rsplit("_", 1)[0], bb)
    return found


def recipe(path: Path, known: dict[str, Path]) -> PyRecipe:
    text = _recipe_text(path)
    name, version = path.name[: -len(".bb")].rsplit("_", 1)
    pypi = (_values(text, "PYPI_PACKAGE") or [name.removeprefix("python3-")])[0]
    rdeps = tuple(d for d in _values(text, "RDEPENDS") if d in known)
    return PyRecipe(name=name, dist=pypi, version=version, rdepends=rdeps)


def class_depends(checkout: Path, classes: list[str]) -> list[str]:
    """The DEPENDS a recipe gets from inheriting ``classes`` (and what they inherit), read from oe-core."""
    out: list[str] = []
    seen: set[str] = set()
    todo = list(classes)
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        path = checkout / "openembedded-core/meta/classes-recipe" / f"{cls}.bbclass"
        if not path.is_file():
            continue
        text = path.read_text()
        out += _values(text, "DEPENDS")
        for line in re.findall(r"^inherit\s+(.+)$", text, re.M):
            todo += line.split()
    return out


def sysroot(checkout: Path, depends: list[str]) -> list[PyRecipe]:
    """The python3-*-native recipes of ``depends`` and their RDEPENDS closure, as PyPI distributions."""
    known = index(checkout)
    # python3-native is the interpreter itself; the rest are distributions
    todo = [d.removesuffix("-native") for d in depends if re.fullmatch(r"python3-.+-native", d)]
    missing = [d for d in todo if d not in known]
    if missing:
        raise LookupError(f"no recipe in {checkout} for {missing}")
    result: dict[str, PyRecipe] = {}
    while todo:
        name = todo.pop()
        if name in result:
            continue
        result[name] = recipe(known[name], known)
        todo += result[name].rdepends
    return sorted(result.values(), key=lambda r: r.name)
