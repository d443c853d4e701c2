"""Write JUnit XML from a run folder's ``tests.jsonl``, for runs not driven by pytest (the direct-SSH path).

CI systems and the report read the same ``junit.xml`` whichever way a board was reached.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report.results import JUNIT, RunResults, atomic_write


def write_junit(results: RunResults, suite: str) -> None:
    tests = results.tests()
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(tests)),
        failures=str(sum(t.get("outcome") == "failed" for t in tests)),
        errors=str(sum(t.get("outcome") == "error" for t in tests)),
        skipped=str(sum(t.get("outcome") == "skipped" for t in tests)),
        time=f"{sum(float(t.get('seconds', 0)) for t in tests):.3f}",
    )
    for t in tests:
        classname, _, name = str(t.get("test", "")).rpartition("::")
        case = ET.SubElement(
            root,
            "testcase",
            classname=classname or suite,
            name=name,
            time=f"{float(t.get('seconds', 0)):.3f}",
        )
        outcome = t.get("outcome")
        tag = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(str(outcome))
        if tag:
            ET.SubElement(case, tag, message=f"[{t.get('stage')}] {t.get('message', '')}"[:1000])
    atomic_write(results.root / JUNIT, ET.tostring(ET.ElementTree(root).getroot(), encoding="unicode") + "\n")
