"""Where the project keeps what it downloads and what it builds, outside every clone.

Two roots, because they differ in what may be reused:

* **downloads** (``$ARMSTFT_CACHE/downloads``): Debian packages and lists, PyPI wheels, source packages.
  Their bytes are fixed by name and version, so any run may reuse them.
* **build products** (``$ARMSTFT_BUILD``, default ``$ARMSTFT_CACHE/build``): the armstft wheel, the board
  image, the bench sysroot.  Each is keyed on every input byte, and ``scripts/test.sh`` points
  ``ARMSTFT_BUILD`` at a throw-away folder, so every test run (CI included) proves a cold build.

``scripts/lib/paths.sh`` is the same fact for the shell scripts; a unit test holds the two together.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the repository's default bundle, relative to the clone (pushed by the HIL suite, staged into the emulated
#: board, installed by the armstft-model recipe)
REPO_BUNDLE = "models/default"
#: where every board image installs that bundle: the emulated board, the Yocto images (the armstft-model
#: recipe), the env files' ``armstft_bundle``, the oeqa case and the ptest read it there;
#: tests/unit/test_one_definition.py holds those copies (YAML, BitBake, shell) to this one
BOARD_BUNDLE = "/usr/share/armstft/default"


def cache_root() -> Path:
    """``$ARMSTFT_CACHE``, else ``~/.cache/armstft``: the venv, downloads and (by default) build products."""
    env = os.environ.get("ARMSTFT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "armstft"


def downloads() -> Path:
    """Reusable downloads: Debian packages, PyPI wheels, source packages."""
    return cache_root() / "downloads"


def build_root() -> Path:
    """Build products (``$ARMSTFT_BUILD``, else ``$ARMSTFT_CACHE/build``)."""
    env = os.environ.get("ARMSTFT_BUILD")
    return Path(env).expanduser() if env else cache_root() / "build"


def board_out() -> Path:
    """The emulated board's output contract (``python -m harness.image.build`` writes it)."""
    return build_root() / "board" / "out"


def known_hosts() -> Path:
    """Host keys trusted on first use (``$ARMSTFT_CACHE/ssh/known_hosts``): a board reached without a pinned
    key is recorded here the first time and must present the same key on every later run."""
    return cache_root() / "ssh" / "known_hosts"


def repo_root() -> Path:
    """The clone the harness runs from (it is installed editable from there)."""
    return Path(__file__).resolve().parent.parent
