"""``python -m harness.results RUN_DIR [--baseline OLD]``: re-render report.md, latency.png and junit.xml of a
run folder from what it recorded; with ``--baseline`` (an earlier run or a bench JSON) the report also
compares the p99 latencies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.results.junit import write_junit
from harness.results.report import render
from harness.results.runfolder import RunResults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.results", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a results/<board>/<timestamp>/ folder")
    parser.add_argument("--baseline", type=Path, help="an earlier run folder or a bench JSON to compare with")
    args = parser.parse_args(argv)
    if not args.run_dir.is_dir():
        print(
            f"harness.results: error: {args.run_dir}: run folder: expected a directory, got missing",
            file=sys.stderr,
        )
        return 2
    results = RunResults(args.run_dir)
    write_junit(results)
    print(render(results, args.baseline))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
