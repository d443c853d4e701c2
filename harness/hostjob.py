"""The main job without a board: export the default bundle from the committed weights (or take a bundle),
then the board's own steps on this host — ``info``, ``verify`` (the bundle and a corrupted copy), ``bench`` —
and the same results folder and report as a board run (``results/host/<UTC timestamp>/``).

``python -m harness.hostjob [--bundle DIR] [--bench-args=...] [--case-seconds S]``

Why the board's steps and not a script of its own: a bundle that passes here passed the very code the HIL
suite runs on the board (``harness.steps.device`` over ``LocalTransport``), only the CPU differs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from harness import paths
from harness.drivers.local import LocalTransport
from harness.errors import StageError
from harness.pytestplugin.options import add_to_argparse, value
from harness.results.publish import close_run
from harness.results.runfolder import RunResults
from harness.steps.device import bench_command, corrupt_copy, device_plan, run_device_checks

STEP_TIMEOUT_S = 3600.0
WEIGHTS = paths.repo_root() / "models" / "default-weights.pt"


def _steps(args: argparse.Namespace, results: RunResults, work: Path) -> bool:
    """Export (without --bundle), the device checks, the bench; True when every step exited 0."""
    host = LocalTransport()
    bundle = args.bundle
    if bundle is None:
        bundle = results.root / "bundle"
        argv = ["armstft", "export", "--weights", str(WEIGHTS), "--out", str(bundle)]
        exported = host.run(argv, stage="exporting", timeout=STEP_TIMEOUT_S)
        results.write_board_text("export.log", f"$ {exported.command}\n{exported.stdout}{exported.stderr}")
        if exported.returncode != 0:
            last = (exported.stderr_lines() or [f"exit {exported.returncode}"])[-1]
            raise StageError("exporting", last)
    results.update_meta(bundle=str(bundle), bundle_on_board=str(bundle))
    corrupt = work / "corrupt"
    corrupt_copy(Path(bundle), corrupt)
    case_seconds = value(args, "case-seconds")
    plan = device_plan(str(bundle), str(corrupt), None, case_seconds)
    steps = run_device_checks(
        host, results, plan, workdir=str(work), stage="verifying", timeout=STEP_TIMEOUT_S
    )
    out = results.board_dir / "bench.json"
    bench = host.run(
        bench_command(str(bundle), str(out), value(args, "bench-args"), case_seconds),
        stage="benchmarking",
        timeout=STEP_TIMEOUT_S,
    )
    results.write_board_text("bench.log", f"$ {bench.command}\nexit {bench.returncode}\n{bench.stderr}")
    ok = steps["info"]["returncode"] == 0 and steps["verify"]["returncode"] == 0 and bench.returncode == 0
    return ok and steps["verify-corrupt"]["returncode"] in (1, 2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.hostjob", description=__doc__.splitlines()[0])
    p.add_argument("--bundle", type=Path, help="a bundle to check (default: export one from the weights)")
    add_to_argparse(p, ("bench-args", "case-seconds", "results-root"))  # the board run's own options
    args = p.parse_args(argv)
    results = RunResults.create(value(args, "results-root"), "host")
    results.update_meta(board="host", env="this host (python -m harness.hostjob)")
    print(f"results: {results.root}", file=sys.stderr)
    try:
        with tempfile.TemporaryDirectory(prefix="armstft-hostjob.") as work:
            ok = _steps(args, results, Path(work))
    except StageError as err:
        results.update_meta(failure={"stage": err.stage, "message": err.reason})
        ok = False
    report = close_run(results, "passed" if ok else "failed")
    print(f"{'all host steps passed' if ok else 'FAILED'}; report: {report}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
