"""Report sections for verdicts made about a run: its latency limits (``board/limits.json``, written by
``tests/hil/test_limits.py``) and, when the report is rendered with a baseline, its comparison with an earlier
run or a kept bench JSON.  Both show up in ``report.md`` so a regression or a limit overrun is visible where
people look, not only in a terminal.
"""

from __future__ import annotations

from pathlib import Path

from harness.results.boardjson import BoardJSONError, load_json
from harness.results.compare import compare_runs, to_markdown

LIMITS_JSON = "limits.json"


def limits_section(board_dir: Path, problems: list[str]) -> list[str]:
    path = board_dir / LIMITS_JSON
    if not path.exists():
        return []
    try:
        doc = load_json(path)
    except BoardJSONError as e:
        problems.append(str(e))
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get("checks"), list):
        problems.append(f"{path}: checks: expected a list, got {type(doc).__name__}")
        return []
    head = "within limits" if doc.get("ok") else "**OVER LIMITS**"
    lines = ["## Latency limits", "", f"{head}: {doc.get('summary', '')}", ""]
    lines += ["| case | series | p99 ms | limit ms | verdict |", "|---|---|---|---|---|"]
    for c in doc["checks"]:
        verdict = "ok" if c.get("ok") else "**OVER**"
        p99 = f"{c.get('p99_ms', 0):.3f}"
        lines.append(f"| {c.get('case')} | {c.get('series')} | {p99} | {c.get('limit_ms')} | {verdict} |")
    if doc.get("unmeasured"):
        lines += ["", "Not measured in this run: " + ", ".join(map(str, doc["unmeasured"]))]
    return [*lines, ""]


def compare_section(root: Path, baseline: Path | None, problems: list[str]) -> list[str]:
    if baseline is None:
        return []
    try:
        entries = compare_runs(root, baseline)
    except BoardJSONError as e:
        problems.append(str(e))
        return []
    return [to_markdown(entries, root.name, str(baseline), 0.10).rstrip(), ""]
