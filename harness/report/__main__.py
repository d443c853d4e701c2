"""``python -m harness.report RUN_DIR``: re-render report.md + latency.png of a run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.report.markdown import render
from harness.report.results import RunResults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report", description=__doc__)
    parser.add_argument("run_dir", type=Path, help="a results/<board>/<timestamp>/ folder")
    args = parser.parse_args(argv)
    if not args.run_dir.is_dir():
        print(
            f"harness.report: error: {args.run_dir}: run folder: expected a directory, got missing",
            file=sys.stderr,
        )
        return 2
    print(render(RunResults(args.run_dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
