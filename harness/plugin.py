"""pytest plugin for board runs, on top of labgrid's plugin (``--lg-env``): results folder, stages, report.

What it adds, for any env file:
- a results folder ``results/<board>/<UTC timestamp>/`` created at session start, with JUnit XML, labgrid's
  console log, each test's outcome, progress events and ``report.md`` re-rendered after every test;
- ``@pytest.mark.stage("verifying")`` on tests: progress shows the stage, failures name it;
- fixtures ``results``, ``board_shell`` (serial shell, booted once) and ``board`` (SSH, same boot);
- a clean power-off at session end, even when QEMU died mid-suite.

Loaded by ``tests/hil/conftest.py`` (``pytest_plugins``); board-specific values come from the env's
``options:`` (``armstft_board``, ``armstft_bundle``, ``armstft_workdir``), never from the tests.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from labgrid.config import Config
from labgrid.consoleloggingreporter import ConsoleLoggingReporter

from harness import paths
from harness.boardcmd import Board
from harness.errors import StageError
from harness.report.markdown import render
from harness.report.results import JUNIT, RunResults

REPO = Path(__file__).resolve().parent.parent
#: the order a board run goes through; tests run in this order whatever their file names
STAGES = ("booting", "ssh", "verifying", "benchmarking")
RESULTS_KEY = pytest.StashKey[RunResults]()
STAGE_KEY = pytest.StashKey[str]()
SETUP_S_KEY = pytest.StashKey[float]()


def default_board_out() -> str:
    """Where ``python -m harness.board.build`` puts the emulated board (its output contract)."""
    return str(paths.board_out())


def env_option(config: pytest.Config, name: str, default: Any = None) -> Any:
    """An ``options:`` value of the labgrid env file given with --lg-env (or LG_ENV)."""
    path = config.option.lg_env or os.environ.get("LG_ENV")
    if not path:
        return default
    return Config(path).get_option(name, default)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("armstft", "armstft board runs")
    group.addoption(
        "--armstft-results", type=Path, help="run folder to write (default: a new timestamped one)"
    )
    group.addoption(
        "--armstft-results-root",
        type=Path,
        default=REPO / "results",
        help="where results/<board>/<timestamp>/ folders go (default: %(default)s)",
    )
    group.addoption(
        "--armstft-bench-args",
        default="--quick",
        help="extra arguments for 'armstft bench' on the board (default: %(default)s)",
    )
    group.addoption(
        "--armstft-bench-timeout", type=float, default=900.0, help="seconds for the board's bench"
    )
    group.addoption(
        "--armstft-step-timeout", type=float, default=300.0, help="seconds for any other board-side step"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "stage(name): the run stage a test belongs to (booting, verifying, ...)"
    )
    # labgrid resolves !template $LG_* while it configures (after us): give the board folder a default.
    os.environ.setdefault("LG_ARMSTFT_BOARD_OUT", default_board_out())
    if not (config.option.lg_env or os.environ.get("LG_ENV")):
        return
    if config.option.armstft_results:
        results = RunResults(config.option.armstft_results)
        results.board_dir.mkdir(parents=True, exist_ok=True)
    else:
        board = env_option(config, "armstft_board") or Path(config.option.lg_env or os.environ["LG_ENV"]).stem
        results = RunResults.create(config.option.armstft_results_root, board)
    config.stash[RESULTS_KEY] = results
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(results.root / JUNIT)
    if not config.option.lg_log:
        ConsoleLoggingReporter(str(results.root))  # labgrid writes console_main there, unbuffered
    results.update_meta(
        board=env_option(config, "armstft_board"),
        env=str(Path(config.option.lg_env or os.environ["LG_ENV"]).resolve()),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        git_commit=git_commit(),
        status="running",
        results=str(results.root),
    )
    render(results)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run tests stage by stage (boot before verify before bench); stable within a stage."""
    rank = {name: i for i, name in enumerate(STAGES)}
    items.sort(key=lambda item: rank.get(_stage_of(item), len(STAGES)))


def _results(config: pytest.Config) -> RunResults | None:
    return config.stash.get(RESULTS_KEY, None)


def _stage_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("stage")
    return marker.args[0] if marker and marker.args else "testing"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    results = _results(item.config)
    stage = _stage_of(item)
    item.config.stash[STAGE_KEY] = stage
    if results is not None:
        results.event(stage, "start", test=item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    results = _results(item.config)
    if results is None:
        return report
    stage = _stage_of(item)
    message = ""
    if call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
        exc = call.excinfo.value
        if isinstance(exc, StageError):
            stage, message = exc.stage, str(exc)
        else:
            cause = _stage_cause(exc)
            stage, message = (cause.stage, str(cause)) if cause else (stage, _one_line(exc))
    elif report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
    if report.when == "setup":
        item.stash[SETUP_S_KEY] = report.duration  # shared fixtures (boot, board steps) run in setup
    final = report.when == "call" or report.failed or (report.skipped and report.when == "setup")
    if final:
        outcome = "error" if report.failed and report.when != "call" else report.outcome
        seconds = report.duration + (item.stash.get(SETUP_S_KEY, 0.0) if report.when == "call" else 0.0)
        results.record_test(item.nodeid, outcome, stage, seconds, message)
        results.event(stage, outcome, test=item.nodeid, message=message)
        if report.failed and not results.meta().get("failure"):
            results.update_meta(failure={"stage": stage, "message": message, "test": item.nodeid})
        render(results)
    return report


def _stage_cause(exc: BaseException) -> StageError | None:
    """labgrid wraps strategy errors; find our StageError in the cause chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, StageError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    results = _results(session.config)
    if results is None:
        return
    status = {0: "passed", 1: "failed", 2: "interrupted"}.get(int(exitstatus), f"exit {int(exitstatus)}")
    results.update_meta(status=status, finished=datetime.now(UTC).isoformat(timespec="seconds"))
    results.event("reporting", "finished", status=status)
    render(results)


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def results(request: pytest.FixtureRequest) -> RunResults:
    """The run folder (created at session start)."""
    found = _results(request.config)
    if found is None:
        pytest.skip("no labgrid environment (use --lg-env)")
    return found


@pytest.fixture(scope="session")
def board_options(env) -> dict[str, Any]:
    """Board facts from the env file's options: bundle path on the board, scratch dir."""
    return {
        "board": env.config.get_option("armstft_board", "board"),
        "bundle": env.config.get_option("armstft_bundle", "/usr/share/armstft/default"),
        "workdir": env.config.get_option("armstft_workdir", "/tmp/armstft-hil"),
    }


@pytest.fixture(scope="session")
def powered_board(strategy, results: RunResults):
    """Owns the board's power for the session: boots lazily (first use), powers off cleanly at the end."""
    yield strategy
    try:
        strategy.transition("off")
    except Exception as e:  # teardown must not hide the real failure; leave a trace instead
        results.event("reporting", "warning", message=f"power-off failed: {_one_line(e)}")


@pytest.fixture(scope="session")
def board_shell(powered_board, target, results: RunResults):
    """The serial-console shell (ShellDriver) of the booted board; boots once per session."""
    started = time.monotonic()
    results.event("booting", "start")
    powered_board.transition("shell")
    shell = target.get_driver("ShellDriver")
    results.update_meta(
        boot_seconds=round(powered_board.boot_seconds or (time.monotonic() - started), 2),
        login_timeout=shell.login_timeout,
    )
    return shell


@pytest.fixture(scope="session")
def board(board_shell, powered_board, target, results: RunResults) -> Board:
    """The board over SSH (same boot as ``board_shell``: ssh implies shell)."""
    results.event("ssh", "start")
    powered_board.transition("ssh")
    results.update_meta(ssh_port=powered_board.ssh_port, ssh_seconds=round(powered_board.ssh_seconds or 0, 2))
    return Board(target.get_driver("SSHDriver"), powered_board.qemu_exit_code)
