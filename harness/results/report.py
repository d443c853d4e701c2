"""Render ``report.md`` (+ ``latency.png``) from whatever a run folder holds right now.

Called after every test and at the end of a run, so the report is always current; missing pieces are shown
as missing, and a strange board document becomes a line under "Problems" instead of a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.files import atomic_write
from harness.results.boardjson import BenchRow, BoardJSONError, load_bench, load_json
from harness.results.plot import plot_latency
from harness.results.runfolder import CONSOLE_LOG, JUNIT, PLOT, REPORT, RunResults
from harness.results.verdicts import compare_section, limits_section

OUTCOME_MARK = {"passed": "pass", "failed": "FAIL", "error": "ERROR", "skipped": "skip"}


def _cell(value: Any) -> str:
    if isinstance(value, float):
        value = f"{value:.4g}"
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _run_section(meta: dict[str, Any]) -> list[str]:
    lines = [f"# armstft HIL report: {meta.get('board', '?')}", ""]
    facts = [
        ("status", meta.get("status", "running")),
        ("started (UTC)", meta.get("started")),
        ("finished (UTC)", meta.get("finished")),
        ("environment", meta.get("env")),
        ("git commit", meta.get("git_commit")),
        ("bundle (host)", meta.get("bundle")),
        ("bundle on the board", meta.get("bundle_on_board")),
        ("boot to shell [s]", meta.get("boot_seconds")),
        ("login timeout [s]", meta.get("login_timeout")),
        ("latency limits", "asserted" if meta.get("limits_asserted") else "recorded only, not judged"),
    ]
    lines += [f"- **{k}**: {v}" for k, v in facts if v is not None]
    if meta.get("failure"):
        failure = meta["failure"]
        lines += ["", f"> **Failed in stage `{failure.get('stage')}`**: {failure.get('message')}"]
    return [*lines, ""]


def _tests_section(results: RunResults) -> list[str]:
    tests = results.tests()
    lines = ["## Tests", ""]
    if not tests:
        return [*lines, "No test finished yet.", ""]
    rows = [
        [
            t.get("stage"),
            t.get("test", "").split("::")[-1],
            OUTCOME_MARK.get(t.get("outcome"), t.get("outcome")),
            f"{t.get('seconds', 0):.1f}",
            t.get("message", ""),
        ]
        for t in tests
    ]
    counts: dict[str, int] = {}
    for t in tests:
        counts[t.get("outcome", "?")] = counts.get(t.get("outcome", "?"), 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    return [*lines, summary, "", *_table(["stage", "test", "outcome", "s", "message"], rows), ""]


def _info_section(board_dir: Path, problems: list[str]) -> list[str]:
    path = board_dir / "info.json"
    if not path.exists():
        return []
    try:
        info = load_json(path)
        keys = [
            "machine",
            "torch",
            "torchaudio",
            "blas",
            "cpu_capability",
            "neon",
            "fft_backend",
            "threads",
            "nproc",
        ]
        rows = [[k, info.get(k)] for k in keys if isinstance(info, dict) and k in info]
        if isinstance(info, dict) and isinstance(info.get("cpu"), dict):
            rows.append(["cpu model", info["cpu"].get("model")])
        return ["## Board (`armstft info`)", "", *_table(["field", "value"], rows), ""]
    except BoardJSONError as e:
        problems.append(str(e))
        return []


VERIFY_COLUMNS = ["case", "variant", "output", "stage", "max_abs", "max_rel", "atol", "rtol", "ok"]


def _verify_titles(meta: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Each verify document's heading, naming the bundle the run pushed (ours or a user's)."""
    pushed = Path(str(meta.get("bundle") or "?")).name
    return (
        ("verify", f"pushed bundle `{pushed}`"),
        ("verify-corrupt", f"corrupted copy of `{pushed}` (must fail)"),
        ("verify-installed", "the image's installed bundle"),
    )


def _verify_section(board_dir: Path, meta: dict[str, Any], problems: list[str]) -> list[str]:
    lines: list[str] = []
    for name, title in _verify_titles(meta):
        path = board_dir / f"{name}.json"
        if not path.exists():
            continue
        try:
            doc = load_json(path)
        except BoardJSONError as e:
            problems.append(str(e))
            continue
        if not isinstance(doc, dict):
            problems.append(str(BoardJSONError(path, "document", "a JSON object", doc)))
            continue
        lines += [f"## Verify: {title}", "", f"ok: **{doc.get('ok')}**, error: {doc.get('error')}", ""]
        cases = doc.get("cases") if isinstance(doc.get("cases"), list) else []
        rows = [
            [
                c.get("name"),
                c.get("variant"),
                c.get("output") or "",
                c.get("stage"),
                c.get("max_abs"),
                c.get("max_rel"),
                c.get("atol"),
                c.get("rtol"),
                c.get("ok"),
            ]
            for c in cases
            if isinstance(c, dict)
        ]
        if rows:
            lines += _table(VERIFY_COLUMNS, rows)
            lines.append("")
    stderr = board_dir / "verify-corrupt.stderr.txt"
    if stderr.exists():
        lines += [
            "Corrupted bundle, board's stderr:",
            "",
            "```",
            stderr.read_text().strip()[:2000],
            "```",
            "",
        ]
    return lines


def _bench_section(results: RunResults, problems: list[str]) -> list[str]:
    path = results.board_dir / "bench.json"
    if not path.exists():
        return []
    try:
        complete, rows = load_bench(path)
    except BoardJSONError as e:
        problems.append(str(e))
        return []
    board = results.meta().get("board", "board")
    png = plot_latency(rows, results.root / PLOT, f"{board} latency")
    lines = ["## Benchmark (`armstft bench`)", ""]
    if not complete:
        lines += ["**Incomplete**: the benchmark stopped before measuring every case.", ""]
    if png:
        lines += [f"![latency p50/p99]({PLOT})", ""]
    table_rows = [_bench_row(r) for r in rows]
    lines += _table(
        [
            "stage",
            "variant",
            "backend",
            "mode",
            "threads",
            "iters",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "rtf",
            "peak RSS kB",
        ],
        table_rows,
    )
    return [*lines, ""]


def _bench_row(r: BenchRow) -> list[Any]:
    return [
        r.stage,
        r.variant,
        r.backend,
        r.mode,
        r.threads,
        r.iterations,
        f"{r.p50_ms:.3f}",
        f"{r.p90_ms:.3f}",
        f"{r.p99_ms:.3f}",
        f"{r.max_ms:.3f}",
        f"{r.rtf:.4f}",
        r.peak_rss_kb,
    ]


def _files_section(results: RunResults) -> list[str]:
    files = [JUNIT, CONSOLE_LOG, "run.json", "tests.jsonl", "progress.jsonl"]
    files += (
        [f"board/{p.name}" for p in sorted(results.board_dir.glob("*"))] if results.board_dir.is_dir() else []
    )
    present = [f for f in files if (results.root / f).exists()]
    return ["## Files", "", *[f"- [{f}]({f})" for f in present], ""]


def render(results: RunResults, baseline: Path | None = None) -> Path:
    """Write report.md (and the plot when there is a benchmark) into the run folder; return its path.
    With ``baseline`` (an earlier run or a bench JSON) the report carries the latency comparison."""
    problems: list[str] = []
    lines = _run_section(results.meta())
    lines += _tests_section(results)
    lines += _info_section(results.board_dir, problems)
    lines += _verify_section(results.board_dir, results.meta(), problems)
    lines += _bench_section(results, problems)
    lines += limits_section(results.board_dir, problems)
    lines += compare_section(results.root, baseline, problems)
    lines += _files_section(results)
    if problems:
        lines += ["## Problems reading board output", "", *[f"- {p}" for p in problems], ""]
    out = results.root / REPORT
    atomic_write(out, "\n".join(lines))
    return out
