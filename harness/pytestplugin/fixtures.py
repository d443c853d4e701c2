"""The plugin's fixtures: the same names and the same transport whichever way the board is reached.

With an env, the board is booted once through its strategy (``ssh`` implies ``shell``, no reboot) and
powered off at the end even when it died mid-suite; with ``--armstft-ssh`` the board is already running and
``board`` is one SSH connection.  Every board command is announced in progress.jsonl before it runs (the
fault tests aim at those events) and the board-side work folder is a private ``mktemp -d``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from harness import paths
from harness.drivers.sshclient import SSHConnection
from harness.drivers.transport import CommandResult, Transport
from harness.errors import StageError, one_line
from harness.pytestplugin.facts import BoardFacts
from harness.pytestplugin.hooks import facts_of, results_of
from harness.results.runfolder import RunResults
from harness.steps.device import make_workdir, remove_workdir


class Announced:
    """A transport that writes a progress event before every board command (what, in which stage)."""

    def __init__(self, inner: Transport, results: RunResults) -> None:
        self.inner = inner
        self.results = results
        self.where = inner.where

    def run(self, argv: Sequence[str], *, stage: str, timeout: float) -> CommandResult:
        self.results.event(stage, "command", command=" ".join(argv)[:300])
        return self.inner.run(argv, stage=stage, timeout=timeout)

    def put(self, local: Path, remote: str, *, stage: str) -> None:
        self.inner.put(local, remote, stage=stage)

    def get(self, remote: str, local: Path, *, stage: str) -> Path:
        return self.inner.get(remote, local, stage=stage)


@pytest.fixture(scope="session")
def results(request: pytest.FixtureRequest) -> RunResults:
    """The run folder (created at session start)."""
    found = results_of(request.config)
    if found is None:
        pytest.skip("no board: use --lg-env ENV or --armstft-ssh USER@HOST")
    return found


@pytest.fixture(scope="session")
def board_facts(request: pytest.FixtureRequest, results: RunResults) -> BoardFacts:
    """Name, installed bundle, features and limits of the board under test."""
    return facts_of(request.config)


@pytest.fixture(scope="session")
def powered_board(request: pytest.FixtureRequest, board_facts: BoardFacts, results: RunResults):
    """The env's strategy, owning the board's power for the session: boots lazily, powers off at the end."""
    if board_facts.ssh is not None:
        yield None  # a board reached by address is not ours to power
        return
    strategy = request.getfixturevalue("strategy")
    yield strategy
    try:
        strategy.transition("off")
    except Exception as e:  # teardown must not hide the real failure; leave a trace instead
        results.event("reporting", "warning", message=f"power-off failed: {one_line(e)}")


@pytest.fixture(scope="session")
def board_shell(request: pytest.FixtureRequest, powered_board, results: RunResults):
    """The serial-console shell (labgrid ShellDriver) of the booted board; boots once per session."""
    if powered_board is None:
        pytest.skip("no serial console: the board is reached by --armstft-ssh")
    started = time.monotonic()
    results.event("booting", "start")
    powered_board.transition("shell")
    shell = request.getfixturevalue("target").get_driver("ShellDriver")
    results.update_meta(
        boot_seconds=round(powered_board.boot_seconds or (time.monotonic() - started), 2),
        login_timeout=shell.login_timeout,
    )
    return shell


def _ssh_connection(request: pytest.FixtureRequest, facts: BoardFacts, results: RunResults) -> SSHConnection:
    option = request.config.option
    connection = SSHConnection(
        facts.ssh,
        option.armstft_key,
        known_hosts=option.armstft_known_hosts,
        tofu_file=paths.known_hosts(),
        connect_timeout=option.armstft_connect_timeout,
    ).connect()
    request.addfinalizer(connection.close)
    return connection


@pytest.fixture(scope="session")
def board(request: pytest.FixtureRequest, powered_board, board_facts: BoardFacts, results: RunResults):
    """The board's ``Transport`` (SSH, host key pinned or trusted on first use); same boot as the shell."""
    results.event("ssh", "start")
    started = time.monotonic()
    if powered_board is None:
        connection = _ssh_connection(request, board_facts, results)
    else:
        if "serial-console" in board_facts.features:
            request.getfixturevalue("board_shell")  # ssh implies shell: the console log covers the boot
        powered_board.transition("ssh")
        connection = request.getfixturevalue("target").get_driver("BoardSSHDriver").connection
    results.update_meta(
        ssh=connection.where,
        ssh_seconds=round(time.monotonic() - started, 2),
        notes=[*results.meta().get("notes", []), *connection.notes],
    )
    return Announced(connection, results)


@pytest.fixture(scope="session")
def board_workdir(board: Transport, results: RunResults) -> Iterator[str]:
    """A private work folder on the board (``mktemp -d``), removed at the end of the session."""
    workdir = make_workdir(board, "pushing")
    results.update_meta(board_workdir=workdir)
    yield workdir
    try:
        remove_workdir(board, workdir)
    except StageError:
        pass  # a board that died keeps its folder; /tmp is a tmpfs on our images
