"""Debian arm64 packages through a private apt instance: resolve, download, never touch the host's apt.

The apt state (sources, lists, an empty dpkg status so a simulated install yields the full dependency
closure, the archive cache) is the one ``scripts/lib/apt-arm64.sh`` sets up for every arm64 download of the
project; this module asks that script for its options instead of stating them again.  After the first
``update`` and the downloads, resolution and extraction work offline.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness import paths

from . import log

#: the one statement of the private arm64 apt state (sources, options), shared with the shell scripts
APT_SCRIPT = paths.repo_root() / "scripts" / "lib" / "apt-arm64.sh"

# "Inst libc6 (2.36-9+deb12u10 Debian:12.11/stable [arm64])" -- an optional "[old version]" may precede "(".
_INST = re.compile(r"^Inst (?P<name>\S+) (?:\[[^\]]*\] )?\((?P<version>\S+) .*\[(?P<arch>[^\]]+)\]\)")


class AptError(RuntimeError):
    """apt failed; the message names the command and apt's last error line."""


@dataclass(frozen=True, order=True)
class Deb:
    """One resolved package version; ``filename`` is how ``apt-get download`` names the file."""

    name: str
    version: str
    arch: str

    @property
    def filename(self) -> str:
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"

    def __str__(self) -> str:
        return f"{self.name}={self.version}"


def parse_simulation(text: str) -> list[Deb]:
    """Packages an ``apt-get -s install`` would unpack, sorted by name (the dependency closure)."""
    debs = {}
    for line in text.splitlines():
        m = _INST.match(line)
        if m:
            debs[m["name"]] = Deb(m["name"], m["version"], m["arch"])
    return sorted(debs.values())


class PrivateApt:
    """An apt configuration rooted in ``root`` that sees only Debian 12 arm64."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.archives = root / "cache" / "archives"
        self._options: list[str] | None = None

    def options(self) -> list[str]:
        """``apt_arm64_init ROOT`` of scripts/lib/apt-arm64.sh (which also creates the state folders)."""
        if self._options is None:
            script = 'source "$1" && apt_arm64_init "$2" && printf "%s\\0" "${APT_ARM64[@]}"'
            done = subprocess.run(
                ["bash", "-c", script, "apt-arm64", str(APT_SCRIPT), str(self.root)], capture_output=True
            )
            if done.returncode != 0:
                raise AptError(
                    f"{APT_SCRIPT}: apt_arm64_init: {done.stderr.decode(errors='replace').strip()}"
                )
            self._options = [o for o in done.stdout.decode().split("\0") if o]
        return self._options

    def _run(self, args: list[str], cwd: Path | None = None) -> str:
        cmd = [args[0], *self.options(), *args[1:]]
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            err = [ln for ln in proc.stderr.splitlines() if ln.startswith("E:")] or proc.stderr.splitlines()
            last = err[-1] if err else f"exit {proc.returncode}"
            raise AptError(f"{' '.join(args[:2])}: {last}")
        return proc.stdout

    # --- operations ------------------------------------------------------------------------------
    def have_lists(self) -> bool:
        lists = self.root / "lists"
        return lists.is_dir() and any(
            p.name.endswith(("Packages", "Packages.gz", "Packages.xz", "Packages.lz4"))
            for p in lists.iterdir()
        )

    def update(self, refresh: bool = False) -> None:
        """Fetch package lists once (or again when ``refresh``); afterwards everything is offline."""
        self.options()
        if refresh or not self.have_lists():
            log.info("apt: fetching Debian 12 arm64 package lists")
            self._run(["apt-get", "-q", "update"])
            if not self.have_lists():  # apt-get update exits 0 when every fetch failed
                raise AptError(
                    "apt-get update: package lists: expected Debian 12 arm64 lists, got none "
                    "(the first build needs the Debian mirror; later builds are offline)"
                )

    def resolve(self, packages: list[str]) -> list[Deb]:
        """The full dependency closure of ``packages`` (no Recommends), as apt would install it."""
        self.options()
        out = self._run(["apt-get", "-s", "-q", "install", *packages])
        debs = parse_simulation(out)
        missing = {p.split("=")[0] for p in packages} - {d.name for d in debs}
        if missing:
            raise AptError(f"apt-get -s install: resolved closure lacks {sorted(missing)}")
        return debs

    def download(self, debs: list[Deb]) -> list[Path]:
        """Make sure every .deb is in the private archive cache; only missing ones hit the network."""
        self.options()
        todo = [d for d in debs if not (self.archives / d.filename).is_file()]
        if todo:
            log.info(f"apt: downloading {len(todo)} of {len(debs)} packages")
            self._run(["apt-get", "-q", "download", *(str(d) for d in todo)], cwd=self.archives)
        paths = [self.archives / d.filename for d in debs]
        absent = [p.name for p in paths if not p.is_file()]
        if absent:
            raise AptError(f"apt-get download: files not where expected: {absent[:3]}")
        return paths
