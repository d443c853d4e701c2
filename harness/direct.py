"""``python -m harness.direct --host user@address[:port]``: the HIL steps on a board reached by plain SSH.

For a board already on the desk, with no labgrid wiring (no serial adapter, no power switch, no SD mux):
key auth over SSH (paramiko), the host's bundle pushed over SFTP and checked by hash before use
(``harness.bundlepush``), then the same on-device steps as ``tests/hil``: ``info`` + ``verify`` + ``verify``
of a deliberately corrupted copy in one board-side Python process, ``bench``; every JSON is pulled back.
The run writes the same results folder as a labgrid run (``results/<board>/<UTC time>/``: board JSON,
tests.jsonl, junit.xml, report.md + plot); optional ``--limits`` judges the p99 figures.

Exit status: 0 every step passed, 1 a step failed or the run stopped (the stage is named), 2 bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from harness.bundlepush import push_bundle
from harness.directchecks import check_bench, check_info, check_verify, check_verify_corrupt
from harness.errors import StageError
from harness.hilsteps import bench_command, corrupt_copy, run_device_checks
from harness.junit import write_junit
from harness.latency import LimitsError, judge, load_limits
from harness.report.boardjson import BoardJSONError, load_bench
from harness.report.markdown import render
from harness.report.results import RunResults
from harness.sshboard import ParamikoBoard, SSHTarget

REPO = Path(__file__).resolve().parent.parent
SUITE = "direct"


class Run:
    """One direct run: records each check as a test in the results folder the moment it is judged."""

    def __init__(self, results: RunResults) -> None:
        self.results = results
        self.failed = False

    def check(self, name: str, stage: str, started: float, fn, *args) -> bool:
        try:
            fn(*args)
        except AssertionError as e:
            self._record(
                name, "failed", stage, started, str(e).splitlines()[0] if str(e) else "assertion failed"
            )
            return False
        self._record(name, "passed", stage, started, "")
        return True

    def stopped(self, name: str, error: StageError, started: float) -> None:
        self._record(name, "error", error.stage, started, error.reason)

    def _record(self, name: str, outcome: str, stage: str, started: float, message: str) -> None:
        nodeid = f"{SUITE}::{name}"
        self.results.record_test(nodeid, outcome, stage, time.monotonic() - started, message)
        self.results.event(stage, outcome, test=nodeid, message=message)
        if outcome != "passed":
            self.failed = True
            if not self.results.meta().get("failure"):
                self.results.update_meta(failure={"stage": stage, "message": message, "test": nodeid})
        render(self.results)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.direct", description=__doc__.split("\n")[0])
    parser.add_argument("--host", required=True, help="user@address[:port] of the board (key auth)")
    parser.add_argument("-i", "--key", type=Path, default=Path("~/.ssh/id_ed25519"), help="private key file")
    parser.add_argument("--known-hosts", type=Path, help="pin the board's host key to the keys in this file")
    parser.add_argument("--bundle", type=Path, default=REPO / "models" / "default", help="bundle to push")
    parser.add_argument("--board-name", help="results/<board>/ folder name (default: direct-<address>)")
    parser.add_argument("--workdir", default="/tmp/armstft-direct", help="scratch folder on the board")
    parser.add_argument("--results-root", type=Path, default=REPO / "results")
    parser.add_argument("--bench-args", default="--quick", help="extra 'armstft bench' arguments")
    parser.add_argument("--bench-timeout", type=float, default=900.0)
    parser.add_argument("--step-timeout", type=float, default=300.0)
    parser.add_argument("--connect-timeout", type=float, default=30.0)
    parser.add_argument("--limits", type=Path, help="judge p99 figures against this limits file")
    return parser.parse_args(argv)


def bad_input(args: argparse.Namespace) -> str | None:
    try:
        args.target = SSHTarget.parse(args.host)
    except ValueError as e:
        return str(e)
    if not (args.bundle / "manifest.json").is_file():
        got = "a folder without it" if args.bundle.is_dir() else "missing"
        return f"{args.bundle}: bundle: expected a folder with manifest.json, got {got}"
    if args.limits is not None:
        try:
            load_limits(args.limits)
        except LimitsError as e:
            return str(e)
    return None


def execute(args: argparse.Namespace, results: RunResults) -> Run:
    run = Run(results)
    board = ParamikoBoard(
        args.target, args.key, known_hosts=args.known_hosts, connect_timeout=args.connect_timeout
    )
    step = "ssh_connect"
    started = time.monotonic()
    try:
        results.event("ssh", "start")
        board.connect()
        if board.notes:
            results.update_meta(notes=board.notes)
        run.check(step, "ssh", started, lambda: None)

        step, started = "bundle_pushed_and_checked", time.monotonic()
        results.event("pushing", "start")
        remote_bundle = push_bundle(board, args.bundle, args.workdir)
        results.update_meta(bundle_on_board=remote_bundle)
        run.check(step, "pushing", started, lambda: None)

        step, started = "device_steps", time.monotonic()
        results.event("verifying", "start")
        steps = device_steps(board, args, results, remote_bundle)
        for name, fn in (
            ("info_reports_arm_build", check_info),
            ("verify_pushed_bundle_passes", check_verify),
            ("verify_corrupted_bundle_fails_clearly", check_verify_corrupt),
        ):
            run.check(name, "verifying", started, fn, steps)

        step, started = "bench_runs_and_is_archived", time.monotonic()
        results.event("benchmarking", "start")
        bench(board, args, results, remote_bundle)
        run.check(step, "benchmarking", started, check_bench, results.board_dir / "bench.json")
        if args.limits is not None:
            started = time.monotonic()
            run.check("p99_within_limits", "benchmarking", started, check_limits, results, args.limits)
    except StageError as e:
        run.stopped(step, e, started)
    finally:
        board.close()
    return run


def device_steps(board: ParamikoBoard, args, results: RunResults, remote_bundle: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="armstft-direct-") as tmp:
        victim = corrupt_copy(args.bundle, Path(tmp) / "corrupt")
        remote_corrupt = f"{args.workdir}/corrupt-bundle"
        board.run(["rm", "-rf", remote_corrupt], stage="verifying", timeout=60)
        board.put(Path(tmp) / "corrupt", remote_corrupt, stage="verifying")
    return run_device_checks(
        board,
        results,
        remote_bundle,
        remote_corrupt,
        victim.name,
        workdir=args.workdir,
        stage="verifying",
        timeout=args.step_timeout,
    )


def bench(board: ParamikoBoard, args, results: RunResults, remote_bundle: str) -> None:
    remote_out = f"{args.workdir}/bench.json"
    board.run(["rm", "-f", remote_out], stage="benchmarking", timeout=60)
    argv = bench_command(remote_bundle, remote_out, args.bench_args)
    try:
        done = board.run(argv, stage="benchmarking", timeout=args.bench_timeout)
        results.write_board_text(
            "bench.log", f"$ {done.command}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    finally:
        try:  # whatever the bench wrote so far (it rewrites the file after every case)
            board.get(remote_out, results.board_dir / "bench.json", stage="benchmarking")
        except StageError:
            pass


def check_limits(results: RunResults, limits: Path) -> None:
    try:
        _, rows = load_bench(results.board_dir / "bench.json")
    except BoardJSONError as e:
        raise AssertionError(str(e)) from None
    verdict = judge(rows, load_limits(limits), str(limits))
    results.write_board_json("limits", verdict.to_json())
    results.update_meta(limits_asserted=True, limits_file=str(limits), limits_ok=verdict.ok)
    assert verdict.ok, verdict.summary()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = bad_input(args)
    if problem:
        print(f"harness.direct: error: {problem}", file=sys.stderr)
        return 2
    board_name = args.board_name or "direct-" + re.sub(r"[^\w.-]", "_", args.target.address)
    results = RunResults.create(args.results_root, board_name)
    results.update_meta(
        board=board_name,
        env=f"direct SSH {args.target} (key {args.key})",
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        status="running",
        results=str(results.root),
        bundle=str(args.bundle),
    )
    run = execute(args, results)
    status = "failed" if run.failed else "passed"
    results.update_meta(status=status, finished=datetime.now(UTC).isoformat(timespec="seconds"))
    results.event("reporting", "finished", status=status)
    write_junit(results, SUITE)
    report = render(results)
    print(report)
    failure = results.meta().get("failure")
    if failure:
        print(
            f"harness.direct: error: stage '{failure['stage']}' failed: {failure['message']}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
