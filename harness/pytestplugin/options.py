"""The board-run options, declared once: the pytest plugin adds them as ``--armstft-NAME``, and
``python -m harness.run`` offers the forwarded ones as ``--NAME`` and passes them on unchanged.

Why one table: the main job and the plain ``pytest tests/hil`` run are the same suite; a second list of the
same options in ``harness.run`` drifted (other names, other defaults, other help) and could not pass new ones
on, such as a user bundle's per-call time limit.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import paths

PREFIX = "--armstft-"


def _seconds(text: str) -> float:
    """A time limit: a finite number of seconds > 0 (what the board's ``--case-seconds`` accepts too)."""
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


@dataclass(frozen=True)
class Option:
    """One ``--armstft-NAME`` option; ``forwarded``: ``harness.run`` takes it as ``--NAME``."""

    name: str
    help: str
    type: Callable[[str], Any] | None = None
    default: Any = None
    metavar: str | None = None
    forwarded: bool = True

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def kwargs(self, with_default: bool) -> dict[str, Any]:
        """argparse/pytest keyword arguments; ``harness.run`` leaves defaults to the plugin (SUPPRESS), so
        only what the user typed is passed on and the default lives here once."""
        shown = f" (default: {self.default})" if self.default not in (None, "") else ""
        found: dict[str, Any] = {"help": self.help + shown}
        found["default"] = self.default if with_default else argparse.SUPPRESS
        if self.type is not None:
            found["type"] = self.type
        if self.metavar is not None:
            found["metavar"] = self.metavar
        return found


OPTIONS: tuple[Option, ...] = (
    Option("ssh", "reach the board over SSH only (no labgrid env)", metavar="USER@HOST[:PORT]"),
    Option("key", "ssh: private key", type=Path, default=Path("~/.ssh/id_ed25519")),
    Option(
        "known-hosts",
        "ssh: the board must present a key from this file (host patterns ignored); without it the key is "
        "trusted on first use: recorded in $ARMSTFT_CACHE/ssh/known_hosts, enforced on every later run",
        type=Path,
    ),
    Option("board", "ssh: results/<board>/ folder name (default ssh-<address>)"),
    Option("limits", "ssh: judge p99 figures against this limits file", type=Path),
    Option(
        "installed-bundle",
        "ssh: the bundle the board's image installs, also verified ('' for none)",
        default=paths.BOARD_BUNDLE,
    ),
    Option("connect-timeout", "ssh: seconds to log in", type=_seconds, default=30.0),
    Option(
        "bundle",
        "host bundle pushed to the board (checked by hash), verified, benched",
        type=Path,
        default=paths.repo_root() / paths.REPO_BUNDLE,
    ),
    Option("results", "run folder to write (default: a new timestamped one)", type=Path, forwarded=False),
    Option(
        "results-root",
        "where results/<board>/<timestamp>/ folders go",
        type=Path,
        default=paths.repo_root() / "results",
    ),
    Option("bench-args", "extra 'armstft bench' arguments", default="--quick"),
    Option(
        "case-seconds",
        "the board's watchdog: seconds one model load or call may take (verify and bench "
        "--case-seconds); default: what armstft verify and bench use",
        type=_seconds,
    ),
    Option("bench-timeout", "seconds for the board's whole bench", type=_seconds, default=900.0),
    Option("step-timeout", "seconds for any other board-side step", type=_seconds, default=900.0),
)


def add_to_pytest(add: Callable[..., None]) -> None:
    """Declare every option on a pytest option group (``group.addoption``)."""
    for option in OPTIONS:
        add(PREFIX + option.name, **option.kwargs(with_default=True))


def add_to_argparse(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """Declare the forwarded options (or only ``names``) as ``--NAME`` on a command's parser; read them back
    with :func:`value`."""
    for option in OPTIONS:
        if option.forwarded and (names is None or option.name in names):
            parser.add_argument("--" + option.name, **option.kwargs(with_default=False))


def forward(args: argparse.Namespace) -> list[str]:
    """The ``--armstft-NAME=value`` arguments for the suite, for the forwarded options the user gave.
    The ``=`` form throughout: a value may itself start with ``-`` (``--bench-args=--quick``)."""
    return [
        f"{PREFIX}{option.name}={getattr(args, option.dest)}"
        for option in OPTIONS
        if option.forwarded and hasattr(args, option.dest)
    ]


def value(args: argparse.Namespace, name: str) -> Any:
    """What ``harness.run`` got for a forwarded option, or the plugin's default when the user gave none."""
    option = next(o for o in OPTIONS if o.name == name)
    return getattr(args, option.dest, option.default)
