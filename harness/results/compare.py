"""``python -m harness.results.compare RUN_A RUN_B|BASELINE``: a run's latencies against an earlier one.

RUN_A is the run to judge (a ``results/<board>/<time>/`` folder or a bench JSON), RUN_B what it is compared
with (an earlier run folder, or any ``armstft.bench/1`` JSON kept as a baseline).  Rows are matched by stage,
variant, backend, mode and thread count.  A row is a *regression* when its p99 grew by more than
``--threshold`` (relative) AND by more than ``--min-ms`` (absolute: sub-0.05 ms jitter is not news), an
*improvement* in the mirror case.  The table is printed (``--json FILE`` also writes the entries); a finished
run folder is never written to: ``python -m harness.results RUN --baseline OLD`` renders the run's report
with this comparison in it.

Exit status: 0 no regression, 1 at least one regression, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.files import atomic_write
from harness.results.boardjson import BenchRow, BoardJSONError, load_bench
from harness.results.limits import bench_path


def _key(r: BenchRow) -> tuple[str, str, str, str, int]:
    return (r.stage, r.variant, r.backend, r.mode, r.threads)


def compare(
    new: list[BenchRow], old: list[BenchRow], threshold: float, min_ms: float
) -> list[dict[str, Any]]:
    """One entry per case present in either run, with a verdict: regression/improvement/same/new/gone."""
    old_by = {_key(r): r for r in old}
    new_by = {_key(r): r for r in new}
    out = []
    for key in sorted(set(old_by) | set(new_by), key=lambda k: (k[0] != "stft", *k)):
        a, b = new_by.get(key), old_by.get(key)
        entry: dict[str, Any] = {
            "case": f"{key[0]} {key[3]} {key[4]}t",
            "series": f"{key[1]} {key[2]}",
            "new_p50_ms": a.p50_ms if a else None,
            "new_p99_ms": a.p99_ms if a else None,
            "old_p50_ms": b.p50_ms if b else None,
            "old_p99_ms": b.p99_ms if b else None,
        }
        if a is None or b is None:
            entry["verdict"] = "gone" if a is None else "new"
            entry["change"] = None
        else:
            delta = a.p99_ms - b.p99_ms
            change = delta / b.p99_ms if b.p99_ms > 0 else 0.0
            entry["change"] = change
            if change > threshold and delta > min_ms:
                entry["verdict"] = "regression"
            elif change < -threshold and -delta > min_ms:
                entry["verdict"] = "improvement"
            else:
                entry["verdict"] = "same"
        out.append(entry)
    return out


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def to_markdown(entries: list[dict[str, Any]], new_name: str, old_name: str, threshold: float) -> str:
    regressions = [e for e in entries if e["verdict"] == "regression"]
    lines = [
        "## Comparison",
        "",
        f"This run (`{new_name}`) against `{old_name}`: p99 change beyond ±{threshold:.0%} is flagged.",
        "",
        f"**{len(regressions)} regression(s)**" if regressions else "No regression.",
        "",
        "| case | series | old p99 ms | new p99 ms | change | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for e in entries:
        change = "" if e["change"] is None else f"{e['change']:+.1%}"
        verdict = "**REGRESSION**" if e["verdict"] == "regression" else e["verdict"]
        lines.append(
            f"| {e['case']} | {e['series']} | {_fmt(e['old_p99_ms'])} | {_fmt(e['new_p99_ms'])} | {change} "
            f"| {verdict} |"
        )
    return "\n".join(lines) + "\n"


def compare_runs(run: Path, baseline: Path, threshold: float = 0.10, min_ms: float = 0.05) -> list[dict]:
    """Entries for a run folder (or bench JSON) against a baseline; BoardJSONError on unreadable input."""
    _, new = load_bench(bench_path(run))
    _, old = load_bench(bench_path(baseline))
    return compare(new, old, threshold, min_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.results.compare", description=__doc__.split("\n")[0]
    )
    parser.add_argument("run", type=Path, help="the run to judge: a results folder or a bench JSON")
    parser.add_argument("baseline", type=Path, help="a previous run folder or a baseline bench JSON")
    parser.add_argument("--threshold", type=float, default=0.10, help="relative p99 change flagged (0.10)")
    parser.add_argument("--min-ms", type=float, default=0.05, help="absolute p99 change needed too (0.05)")
    parser.add_argument("--json", type=Path, help="also write the entries as JSON to this file")
    args = parser.parse_args(argv)
    try:
        entries = compare_runs(args.run, args.baseline, args.threshold, args.min_ms)
    except BoardJSONError as e:
        print(f"harness.results.compare: error: {e}", file=sys.stderr)
        return 2
    print(to_markdown(entries, str(args.run), str(args.baseline), args.threshold), end="")
    if args.json:
        doc = {
            "schema": "armstft-hil.compare/1",
            "baseline": str(args.baseline),
            "threshold": args.threshold,
            "min_ms": args.min_ms,
            "regressions": sum(e["verdict"] == "regression" for e in entries),
            "entries": entries,
        }
        atomic_write(args.json, json.dumps(doc, indent=2) + "\n")
    return 1 if any(e["verdict"] == "regression" for e in entries) else 0


if __name__ == "__main__":
    raise SystemExit(main())
