"""Write what a run recorded for people and CI (report.md + plot, junit.xml), and close a run that stopped.

``close_run`` is how every exit ends (suite passed or failed, timeout, Ctrl-C, pytest crashed): a test that
had started but recorded no outcome is recorded as an error with the reason, run.json gets the final status,
and the report and JUnit are written from the records, so nothing depends on the dead process.
"""

from __future__ import annotations

import time
from pathlib import Path

from harness.results.junit import write_junit
from harness.results.report import render
from harness.results.runfolder import RunResults, now_utc


def publish(results: RunResults) -> Path:
    """report.md (+ latency.png) and junit.xml from the records; returns the report's path."""
    write_junit(results)
    return render(results)


def unfinished(results: RunResults) -> list[dict]:
    """'start' events of tests that have no recorded outcome (the test running when the suite stopped)."""
    done = {t.get("test") for t in results.tests()}
    started = [e for e in results.events() if e.get("event") == "start" and e.get("test")]
    return [e for e in started if e["test"] not in done]


def close_run(results: RunResults, status: str, reason: str = "") -> Path:
    """Final status into run.json, unfinished tests recorded as errors, report + JUnit written."""
    seen: set[str] = set()
    for ev in unfinished(results):
        if ev["test"] in seen:
            continue
        seen.add(ev["test"])
        message = reason or f"the suite stopped ({status}) while this test ran"
        results.record_test(ev["test"], "error", ev.get("stage", "?"), time.time() - ev["time"], message)
        if not results.meta().get("failure"):
            results.update_meta(
                failure={"stage": ev.get("stage", "?"), "message": message, "test": ev["test"]}
            )
    results.update_meta(status=status, finished=now_utc())
    return publish(results)
