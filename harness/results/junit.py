"""``junit.xml`` of a run, written from what the run folder recorded (``tests.jsonl``), after every test.

The one JUnit writer for every way a board is reached: the HIL plugin calls it after each test and at the
end, and ``harness.run`` once more after the suite stopped (timeout, Ctrl-C, a crashed pytest), so a CI
system always finds a current ``junit.xml``.  Test ids follow pytest's: ``classname`` is the module path
with dots (``tests.hil.test_boot``, plus ``.Class`` for a test class), ``name`` the test function.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from harness.files import atomic_write
from harness.results.runfolder import JUNIT, RunResults

SUITE = "armstft-hil"
TAGS = {"failed": "failure", "error": "error", "skipped": "skipped"}


def test_id(nodeid: str) -> tuple[str, str]:
    """(classname, name) of a pytest node id, as pytest's own junitxml names them."""
    path, *parts = nodeid.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[:-1]]), (parts[-1] if parts else path)


def _case(root: ET.Element, t: dict[str, Any]) -> None:
    classname, name = test_id(str(t.get("test", "")))
    case = ET.SubElement(
        root, "testcase", classname=classname, name=name, time=f"{float(t.get('seconds', 0)):.3f}"
    )
    tag = TAGS.get(str(t.get("outcome")))
    if tag:
        ET.SubElement(case, tag, message=f"[{t.get('stage')}] {t.get('message', '')}"[:1000])


def write_junit(results: RunResults) -> None:
    tests = results.tests()
    root = ET.Element(
        "testsuite",
        name=SUITE,
        tests=str(len(tests)),
        failures=str(sum(t.get("outcome") == "failed" for t in tests)),
        errors=str(sum(t.get("outcome") == "error" for t in tests)),
        skipped=str(sum(t.get("outcome") == "skipped" for t in tests)),
        time=f"{sum(float(t.get('seconds', 0)) for t in tests):.3f}",
    )
    for t in tests:
        _case(root, t)
    atomic_write(results.root / JUNIT, ET.tostring(root, encoding="unicode") + "\n")
