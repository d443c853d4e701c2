"""Read the layer's recipes with a real bitbake-syntax parser (oelint-parser) for the layer tests.

The tests assert on what bitbake would see, not on text matches, so the parsing is done by the same
parser oelint-adv uses. Only assignments within one file are resolved (``${VAR}`` of variables the
file itself sets); what the file takes from classes or bitbake.conf stays as ``${...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from oelint_parser.cls_item import Export, FlagAssignment, Inherit, PythonBlock, Variable
from oelint_parser.cls_stash import Stash

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "meta-armstft"
RECIPE_DIRS = (LAYER, REPO / "recipes-ml", REPO / "images")
# oelint-parser marks the line continuations of multi-line values with this character.
_CONTINUATION = "\x1b"
_REF = re.compile(r"\$\{([A-Za-z0-9_:\-]+)\}")


def recipe_files() -> list[Path]:
    """Every .bb the layer collects (its own recipes-*/ and the sibling recipes-ml/ and images/)."""
    return sorted(p for d in RECIPE_DIRS for p in d.rglob("*.bb"))


@dataclass
class Meta:
    """The assignments of one bitbake file, as parsed."""

    path: Path
    variables: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)
    flags: dict[tuple[str, str], str] = field(default_factory=dict)
    inherits: list[str] = field(default_factory=list)
    python_defs: dict[str, str] = field(default_factory=dict)

    def expand(self, value: str, depth: int = 8) -> str:
        """Resolve ``${VAR}`` references to variables this file sets; leave the others."""
        for _ in range(depth):
            new = _REF.sub(lambda m: self.variables.get(m.group(1), m.group(0)), value)
            if new == value:
                break
            value = new
        return value

    def get(self, name: str) -> str:
        """The expanded value of a variable this file sets ('' if it does not)."""
        return self.expand(self.variables.get(name, ""))

    def words(self, name: str) -> list[str]:
        """The expanded value split on whitespace (a package or option list)."""
        return self.get(name).split()

    def inline(self, name: str, values: dict[str, str]) -> str:
        """Evaluate a variable that is one inline-python expression ``${@...}``.

        oelint-parser does not evaluate inline python faithfully, so the expression is taken from the
        raw line and run with a stand-in for bitbake's datastore holding ``values``; bb.utils.contains
        and contains_any follow bitbake's semantics (all / any of the words present).
        """
        match = re.search(r'"\$\{@(.*)\}"\s*$', self.raw[name].strip())
        if not match:
            raise ValueError(f"{self.path.name}: {name}: expected one ${{@...}} expression")

        class Data:
            def getVar(self, var: str) -> str | None:
                return values.get(var)

        def contains(var, checks, true, false, d):
            return true if set(checks.split()) <= set((d.getVar(var) or "").split()) else false

        def contains_any(var, checks, true, false, d):
            return true if set(checks.split()) & set((d.getVar(var) or "").split()) else false

        utils = type(
            "utils", (), {"contains": staticmethod(contains), "contains_any": staticmethod(contains_any)}
        )
        bb = type("bb", (), {"utils": utils})
        return str(eval(match.group(1), {"bb": bb, "d": Data()}))


def parse(path: Path) -> Meta:
    """Parse one .bb/.bbclass/.conf file; ``+=`` and ``:append`` are folded into the value."""
    stash = Stash(quiet=True)
    path = path.resolve()
    stash.AddFile(str(path))
    stash.Finalize()
    meta = Meta(path=path)
    name = str(path)
    for item in stash.GetItemsFor(filename=name, classifier=Variable.CLASSIFIER):
        key = item.VarName + (f"_{item.SubItem}" if item.SubItem else "")
        value = item.VarValueStripped.replace(_CONTINUATION, " ")
        old = meta.variables.get(key)
        meta.raw[key] = item.RealRaw
        if item.VarOp.strip() in ("+=", ".=") and old is not None:
            meta.variables[key] = f"{old} {value}"
        elif item.VarOp.strip() in ("?=", "??=") and old is not None:
            continue
        else:
            meta.variables[key] = value
    for item in stash.GetItemsFor(filename=name, classifier=Export.CLASSIFIER):
        meta.exports[item.Name] = meta.expand(item.Value)
        meta.raw[f"export {item.Name}"] = item.RealRaw
    for item in stash.GetItemsFor(filename=name, classifier=FlagAssignment.CLASSIFIER):
        meta.flags[(item.VarName, item.Flag)] = item.ValueStripped
    for item in stash.GetItemsFor(filename=name, classifier=Inherit.CLASSIFIER):
        meta.inherits.extend(item.get_items())
    for item in stash.GetItemsFor(filename=name, classifier=PythonBlock.CLASSIFIER):
        meta.python_defs[item.FuncName] = item.Raw
    return meta


def shell_function(path: Path, name: str, sub: str = "") -> str:
    """The body of shell function ``name`` (``sub``: its override, e.g. "append") as bitbake stores it."""
    from oelint_parser.cls_item import Function

    stash = Stash(quiet=True)
    path = path.resolve()
    stash.AddFile(str(path))
    stash.Finalize()
    for func in stash.GetItemsFor(filename=str(path), classifier=Function.CLASSIFIER):
        if func.FuncName == name and (func.SubItem or "") == sub and not func.IsPython:
            body = func.FuncBodyRaw.strip()
            return body[:-1] if body.endswith("}") else body
    raise KeyError(f"{path.name}: no shell function {name}{':' + sub if sub else ''}")


def expand_with(text: str, values: dict[str, str]) -> str:
    """Substitute bitbake ``${VAR}`` references from ``values``, as bitbake expands a shell function
    before it runs; references to names not in ``values`` stay (shell or CMake variables)."""
    return _REF.sub(lambda m: values.get(m.group(1), m.group(0)), text)
