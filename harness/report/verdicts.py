"""Report sections for verdicts made about a run: its latency limits (``board/limits.json``, written by
``tests/hil/test_limits.py`` or ``harness.direct --limits``) and its comparison with an earlier run or a
baseline (``compare.md``, written by ``python -m harness.compare``).  Both show up in ``report.md`` so a
regression or a limit overrun is visible where people look, not only in a terminal.
"""

from __future__ import annotations

from pathlib import Path

from harness.report.boardjson import BoardJSONError, load_json

LIMITS_JSON = "limits.json"
COMPARE_MD = "compare.md"


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


def compare_section(root: Path) -> list[str]:
    path = root / COMPARE_MD
    return [path.read_text().rstrip(), ""] if path.exists() else []
