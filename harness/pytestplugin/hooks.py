"""The plugin's pytest hooks: options, the run folder, stage ordering, feature skips, recording as it goes."""

from __future__ import annotations

import os

import pytest
from labgrid.consoleloggingreporter import ConsoleLoggingReporter

from harness import paths
from harness.errors import STAGES, StageError, one_line, stage_cause
from harness.pytestplugin.facts import BoardFacts, board_facts_of
from harness.pytestplugin.options import add_to_pytest
from harness.results.publish import close_run, publish
from harness.results.runfolder import RunResults

RESULTS_KEY = pytest.StashKey[RunResults]()
FACTS_KEY = pytest.StashKey[BoardFacts]()
SETUP_S_KEY = pytest.StashKey[float]()
FEATURE_MARK = "lg_feature"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to_pytest(parser.getgroup("armstft", "armstft board runs").addoption)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "stage(name): the run stage a test belongs to (booting, verifying, ...)"
    )
    config.addinivalue_line("markers", f"{FEATURE_MARK}(name): needs this board feature (labgrid's marker)")
    # labgrid resolves !template $LG_* while it loads an env (after us): give the board folder a default
    os.environ.setdefault("LG_ARMSTFT_BOARD_OUT", str(paths.board_out()))
    facts = board_facts_of(config)
    if facts is None:
        return
    config.stash[FACTS_KEY] = facts
    results = RunResults.open(
        config.option.armstft_results, config.option.armstft_results_root, facts.name, facts.reached_by
    )
    config.stash[RESULTS_KEY] = results
    if facts.ssh is None and not config.option.lg_log:
        ConsoleLoggingReporter(str(results.root))  # labgrid writes console_main there, unbuffered
    publish(results)


def results_of(config: pytest.Config) -> RunResults | None:
    return config.stash.get(RESULTS_KEY, None)


def facts_of(config: pytest.Config) -> BoardFacts | None:
    return config.stash.get(FACTS_KEY, None)


def stage_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("stage")
    return marker.args[0] if marker and marker.args else "testing"


def _wanted_features(item: pytest.Item) -> set[str]:
    wanted: set[str] = set()
    for marker in item.iter_markers(FEATURE_MARK):
        arg = marker.args[0] if marker.args else []
        wanted.update([arg] if isinstance(arg, str) else arg)
    return wanted


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run tests stage by stage (boot before push before verify before bench), stable within a stage.
    Without an env (``--armstft-ssh``) labgrid skips nothing: features are judged here, as labgrid would."""
    rank = {name: i for i, name in enumerate(STAGES)}
    items.sort(key=lambda item: rank.get(stage_of(item), len(STAGES)))
    facts = facts_of(config)
    if facts is None or facts.ssh is None:
        return
    for item in items:
        missing = _wanted_features(item) - facts.features
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"unsupported feature(s): {', '.join(sorted(missing))}"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    results = results_of(item.config)
    if results is not None:
        results.event(stage_of(item), "start", test=item.nodeid)


def _failure(call: pytest.CallInfo, report: pytest.TestReport, stage: str) -> tuple[str, str]:
    """(stage, one-line message) of a finished phase: a StageError names its own stage."""
    if call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
        exc = call.excinfo.value
        cause = exc if isinstance(exc, StageError) else stage_cause(exc)
        return (cause.stage, cause.reason) if cause else (stage, one_line(exc))
    if report.skipped and isinstance(report.longrepr, tuple):
        return stage, str(report.longrepr[2])
    return stage, ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    results = results_of(item.config)
    if results is None:
        return report
    stage, message = _failure(call, report, stage_of(item))
    if report.when == "setup":
        item.stash[SETUP_S_KEY] = report.duration  # shared fixtures (boot, board steps) run in setup
    if report.when == "call" or report.failed or (report.skipped and report.when == "setup"):
        outcome = "error" if report.failed and report.when != "call" else report.outcome
        seconds = report.duration + (item.stash.get(SETUP_S_KEY, 0.0) if report.when == "call" else 0.0)
        results.record_test(item.nodeid, outcome, stage, seconds, message)
        results.event(stage, outcome, test=item.nodeid, message=message)
        if report.failed and not results.meta().get("failure"):
            results.update_meta(failure={"stage": stage, "message": message, "test": item.nodeid})
        publish(results)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    results = results_of(session.config)
    if results is None:
        return
    status = {0: "passed", 1: "failed", 2: "interrupted"}.get(int(exitstatus), f"exit {int(exitstatus)}")
    results.event("reporting", "finished", status=status)
    close_run(results, status)
