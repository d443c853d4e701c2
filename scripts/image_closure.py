"""The runtime package closure of an image, from bitbake's own resolved values; assert what must not be in it.

Issue #19 (minimal image): the image must not carry python3-tkinter, -idle, -pydoc, -ensurepip,
-sqlite3, -curses, -venv (``python3-modules`` pulled them all in). Grepping recipes cannot show that:
python3's packages and their RDEPENDS are made at parse time from oe-core's python3-manifest.json
(python3_*.bb's anonymous python), other recipes add RDEPENDS through classes, overrides and
RPROVIDES. So this asks bitbake itself, through tinfoil (the API ``bitbake -e`` and ``bitbake-layers``
are built on), in one session on the build directory's parse cache:

* the image's ``PACKAGE_INSTALL`` and ``LINGUAS_INSTALL`` (image.bbclass makes the image's RDEPENDS of
  them), ``BAD_RECOMMENDATIONS``, ``NO_RECOMMENDATIONS``, ``PACKAGE_EXCLUDE``, as ``bitbake -e IMAGE``
  prints them;
* for every runtime name, the recipe bitbake picks to provide it (``getRuntimeProviders``: package
  names, RPROVIDES, PACKAGES_DYNAMIC, PREFERRED_RPROVIDER), and that package's RDEPENDS and
  RRECOMMENDS as the parsed recipe resolved them (the same values ``bitbake -e RECIPE`` prints as
  ``RDEPENDS:<pkg>``; the recipe-wide RDEPENDS is added, as bitbake's cache does);

then walks RDEPENDS and RRECOMMENDS (those unless NO_RECOMMENDATIONS = "1", minus BAD_RECOMMENDATIONS)
from the image. Not visible before packaging, so not walked: RDEPENDS that do_package adds from the
built files (shared-library and pkg-config dependencies) -- none of them can name a python3-*
standard-library package -- and IMAGE_INSTALL_COMPLEMENTARY globs (reported when set).

Usage, inside an initialised build directory (scripts/check-bitbake.sh runs it)::

    python3 scripts/image_closure.py armstft-image --forbid python3-tkinter,python3-idle,... [--json out.json]

Exit status 1 if a forbidden package is in the closure or a runtime name has no provider.
"""

from __future__ import annotations

import argparse
import json
import sys

# What python3-modules pulled into the images before issue #19 and the production image must not hold.
FORBIDDEN = (
    "python3-tkinter python3-idle python3-pydoc python3-ensurepip python3-sqlite3 python3-curses "
    "python3-venv python3-modules"
).split()


class Closure:
    """Walks runtime dependencies with a prepared tinfoil session."""

    def __init__(self, tinfoil, image_data) -> None:
        self.tinfoil = tinfoil
        cache = tinfoil.cooker.recipecaches[""]
        self.rundeps = cache.rundeps
        self.runrecs = cache.runrecs
        self.pkg_fn = cache.pkg_fn
        self.providers: dict[str, tuple[str, str] | None] = {}
        self.no_recs = image_data.getVar("NO_RECOMMENDATIONS") == "1"
        self.bad_recs = set((image_data.getVar("BAD_RECOMMENDATIONS") or "").split())
        self.exclude = set((image_data.getVar("PACKAGE_EXCLUDE") or "").split())

    def provider(self, name: str) -> tuple[str, str] | None:
        """(recipe file, package) bitbake picks for a runtime name, or None."""
        if name not in self.providers:
            self.providers[name] = self._provider(name)
        return self.providers[name]

    def _provider(self, name: str) -> tuple[str, str] | None:
        _all, best = self.tinfoil.run_command("getRuntimeProviders", name)
        if not best:
            return None
        pkgs = self.rundeps.get(best, {})
        if name in pkgs:
            return best, name
        # an RPROVIDES of one of the recipe's packages: ask the parsed recipe which one
        d = self.tinfoil.parse_recipe_file(best)
        for pkg in (d.getVar("PACKAGES") or "").split():
            if name in (d.getVar("RPROVIDES:" + pkg) or "").split():
                return best, pkg
        if name in (d.getVar("RPROVIDES") or "").split():
            return best, d.getVar("PN")
        return best, name  # PACKAGES_DYNAMIC: made at packaging time, no parse-time dependencies

    def walk(self, roots: list[str]) -> tuple[dict[str, dict], list[str]]:
        """package -> {recipe, via}, and the names without a provider."""
        found: dict[str, dict] = {}
        missing: list[str] = []
        todo = [(r, "IMAGE") for r in roots]
        while todo:
            name, via = todo.pop()
            if name in self.exclude:
                continue
            prov = self.provider(name)
            if prov is None:
                missing.append(f"{name} (needed by {via})")
                continue
            fn, pkg = prov
            if pkg in found:
                continue
            found[pkg] = {"recipe": self.pkg_fn.get(fn, fn), "via": via}
            deps = list(self.rundeps.get(fn, {}).get(pkg, []))
            if not self.no_recs:
                deps += [r for r in self.runrecs.get(fn, {}).get(pkg, []) if r not in self.bad_recs]
            todo.extend((dep, pkg) for dep in deps)
        return found, sorted(missing)


def chain(found: dict[str, dict], pkg: str) -> str:
    """pkg <- what pulled it <- ... <- IMAGE."""
    out, seen = [pkg], {pkg}
    while found.get(pkg, {}).get("via", "IMAGE") != "IMAGE":
        pkg = found[pkg]["via"]
        if pkg in seen:
            break
        seen.add(pkg)
        out.append(pkg)
    return " <- ".join([*out, "IMAGE"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image", help="image recipe, e.g. armstft-image")
    ap.add_argument(
        "--forbid",
        default=",".join(FORBIDDEN),
        help="comma-separated packages that must not be in the closure (default: %(default)s; '' for none)",
    )
    ap.add_argument("--json", help="write the closure here")
    args = ap.parse_args(argv)

    import bb.tinfoil  # from the checkout's bitbake/lib (PYTHONPATH), inside a build directory

    with bb.tinfoil.Tinfoil() as tinfoil:
        tinfoil.prepare(config_only=False, quiet=2)
        image = tinfoil.parse_recipe(args.image)
        roots = [
            *(image.getVar("PACKAGE_INSTALL") or "").split(),
            *(image.getVar("LINGUAS_INSTALL") or "").split(),
        ]
        complementary = (image.getVar("IMAGE_INSTALL_COMPLEMENTARY") or "").split()
        walker = Closure(tinfoil, image)
        found, missing = walker.walk(roots)

    forbid = [p for p in args.forbid.split(",") if p]
    python = sorted(p for p in found if p.startswith("python3-"))
    stdlib = sorted(p for p in python if found[p]["recipe"] == "python3")
    bad = sorted(p for p in forbid if p in found)
    print(
        f"{args.image}: {len(found)} packages from {len({v['recipe'] for v in found.values()})} recipes "
        f"(PACKAGE_INSTALL: {' '.join(roots)})"
    )
    print(f"  python3 standard-library packages ({len(stdlib)}): {' '.join(stdlib)}")
    print(f"  other python3-* packages: {' '.join(p for p in python if p not in stdlib)}")
    if complementary:
        print(f"  IMAGE_INSTALL_COMPLEMENTARY (not walked): {' '.join(complementary)}")
    for name in missing:
        print(f"  NO PROVIDER: {name}")
    for pkg in forbid:
        print(
            f"  {'FORBIDDEN, present' if pkg in found else 'absent'}: {pkg}"
            + (f" ({chain(found, pkg)})" if pkg in found else "")
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {
                    "image": args.image,
                    "roots": roots,
                    "packages": found,
                    "missing": missing,
                    "forbidden_present": bad,
                },
                out,
                indent=1,
                sort_keys=True,
            )
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())
