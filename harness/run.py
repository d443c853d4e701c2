"""The main job: build the board image → boot it (labgrid env) or reach it (SSH) → run the HIL suite → report.

``python -m harness.run [--env harness/envs/qemu-aarch64.yaml | --ssh user@host] [--skip-build] [...]``

The suite runs in a child ``pytest`` (its own process group) so that whatever happens to it (a crash, a
kill, a hung board) this process still stops it, kills any QEMU it left behind, and writes the report and
junit.xml from what was recorded.  On ``--timeout`` or Ctrl-C the suite is first interrupted (SIGINT: pytest
ends its session, labgrid powers the board off), then killed if it does not stop.  A live display shows the
stage the run is in.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from labgrid.config import Config
from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness import paths
from harness.drivers.sshclient import SSHTarget
from harness.errors import STAGES
from harness.proctable import kill_group
from harness.pytestplugin.options import add_to_argparse, forward, value
from harness.results.publish import close_run
from harness.results.runfolder import RunResults

REPO = paths.repo_root()
DEFAULT_ENV = REPO / "harness" / "envs" / "qemu-aarch64.yaml"
BUILD_STAGE = "building image"
ALL_STAGES = (BUILD_STAGE, *STAGES, "reporting")
#: seconds an interrupted suite gets to end its session (power the board off, write its records)
INTERRUPT_GRACE_S = 60.0


@dataclass
class StageView:
    """What the live display shows for one stage."""

    status: str = "pending"
    started: float | None = None
    ended: float | None = None
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def elapsed(self, now: float) -> str:
        if self.started is None:
            return ""
        return f"{(self.ended or now) - self.started:.0f} s"


STYLE = {"pending": "dim", "running": "yellow", "passed": "green", "failed": "bold red", "skipped": "cyan"}


class Progress:
    """Folds progress events (from the plugin's progress.jsonl and from this process) into stage rows."""

    def __init__(self) -> None:
        self.stages = {name: StageView() for name in ALL_STAGES}
        self.seen = 0

    def start(self, stage: str, detail: str = "") -> None:
        view = self.stages.setdefault(stage, StageView())
        if view.status == "pending":
            view.status, view.started = "running", time.time()
        view.detail = detail or view.detail

    def finish(self, stage: str, status: str, detail: str = "") -> None:
        view = self.stages.setdefault(stage, StageView())
        view.started = view.started or time.time()
        if view.status != "failed":
            view.status = status
        view.ended = time.time()
        view.detail = detail or view.detail

    def feed(self, events: list[dict]) -> list[dict]:
        """Apply the events not seen yet; return them (the plain display prints them as lines)."""
        new = events[self.seen :]
        for ev in new:
            stage, what = ev.get("stage", "?"), ev.get("event")
            test = ev.get("test", "").split("::")[-1]
            if stage not in self.stages:
                self.stages[stage] = StageView()
            view = self.stages[stage]
            if what == "start":
                # a new stage starting means every earlier running stage is done
                for name, other in self.stages.items():
                    if name != stage and other.status == "running" and name != BUILD_STAGE:
                        other.status, other.ended = "passed", ev["time"]
                if view.status in ("pending", "passed"):
                    view.status = "running"
                    view.started = view.started or ev["time"]
                view.detail = test
            elif what == "finished":  # the suite ended normally: stages still shown running are done
                for other in self.stages.values():
                    if other.status == "running":
                        other.status, other.ended = "passed", ev["time"]
            elif what in ("passed", "failed", "error", "skipped"):
                view.counts[what] = view.counts.get(what, 0) + 1
                if what in ("failed", "error"):
                    view.status, view.ended = "failed", ev["time"]
                    view.detail = ev.get("message", "")[:120]
                else:
                    view.detail = test
        self.seen = len(events)
        return new

    def table(self) -> Table:
        now = time.time()
        table = Table(title="armstft board run", expand=False)
        for col in ("stage", "status", "time", "tests", "detail"):
            table.add_column(col)
        for name, view in self.stages.items():
            counts = " ".join(f"{n} {k}" for k, n in sorted(view.counts.items()))
            style = STYLE.get(view.status, "")
            table.add_row(name, f"[{style}]{view.status}[/]", view.elapsed(now), counts, view.detail[:90])
        return table


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m harness.run",
        description=__doc__.splitlines()[0],
        epilog="--ssh ... --step-timeout are the HIL plugin's --armstft-* options, passed on to the suite.",
    )
    p.add_argument("--env", type=Path, help=f"labgrid env file (default: {DEFAULT_ENV.relative_to(REPO)})")
    p.add_argument("--skip-build", action="store_true", help="use the board image already built")
    p.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds for the whole suite (default: 3600)"
    )
    p.add_argument("--pytest-args", default="", help="extra arguments for the HIL pytest run (shell-quoted)")
    p.add_argument("--plain", action="store_true", help="no live display (logs only), e.g. for CI logs")
    add_to_argparse(p)
    args = p.parse_args(argv)
    if value(args, "ssh") and args.env:
        p.error("--env and --ssh name two boards: choose one")
    if not value(args, "ssh"):
        args.env = args.env or DEFAULT_ENV
    return args


def transport_args(args: argparse.Namespace) -> list[str]:
    """How the suite reaches the board (the env file, or the forwarded --ssh) and every forwarded option."""
    env = [] if value(args, "ssh") else ["--lg-env", str(args.env.resolve())]
    return [*env, *forward(args)]


def run_build(env: Config, results: RunResults, progress: Progress) -> tuple[bool, str]:
    """Build the image if the env names a builder (the emulated board); real boards have no build here."""
    module = env.get_option("armstft_image_builder", "")
    if not module:
        progress.finish(BUILD_STAGE, "skipped", "env has no armstft_image_builder")
        return True, ""
    progress.start(BUILD_STAGE, f"python -m {module}")
    log = results.root / "build.log"
    with open(log, "wb") as f:
        proc = subprocess.run(
            [sys.executable, "-m", str(module)], cwd=REPO, stdout=f, stderr=subprocess.STDOUT
        )
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        message = f"stage '{BUILD_STAGE}' failed: python -m {module} exited {proc.returncode}: {tail[0]}"
        progress.finish(BUILD_STAGE, "failed", message)
        return False, message
    progress.finish(BUILD_STAGE, "passed", f"log: {log.name}")
    return True, ""


def print_event(ev: dict) -> None:
    """One progress event as a log line (CI logs, --plain)."""
    test = ev.get("test", "").split("::")[-1]
    message = f" - {ev['message']}" if ev.get("message") and ev.get("event") != "skipped" else ""
    if ev.get("event") == "command":
        message = f"`{ev.get('command', '')}`"
    stamp = datetime.fromtimestamp(ev["time"], UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {ev.get('stage')}: {ev.get('event')} {test}{message}", file=sys.stderr, flush=True)


def suite_command(args: argparse.Namespace, results: RunResults) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/hil",
        *transport_args(args),
        f"--armstft-results={results.root}",
        "-q", "-rfEs",
        *shlex.split(args.pytest_args),
    ]  # fmt: skip


def stop_suite(proc: subprocess.Popen) -> int | None:
    """Interrupt the suite (SIGINT to its group: pytest ends its session and powers the board off), give it
    ``INTERRUPT_GRACE_S``; returns its exit code, or None if it had to be killed."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        return proc.wait(timeout=INTERRUPT_GRACE_S)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        kill_group(proc.pid)
        proc.wait()
        return None


def watch(proc: subprocess.Popen, args, results: RunResults, progress: Progress, live: Live | None) -> int:
    """Follow the suite's progress until it ends (its exit code) or the deadline passes (124)."""
    deadline = time.monotonic() + args.timeout
    while (code := proc.poll()) is None:
        new = progress.feed(results.events())
        if live is not None:
            live.update(progress.table())
        else:
            for ev in new:
                print_event(ev)
        if time.monotonic() > deadline:
            results.update_meta(failure={"stage": "suite", "message": f"suite exceeded {args.timeout:.0f} s"})
            stop_suite(proc)
            return 124
        time.sleep(0.5)
    return code


def run_suite(
    args: argparse.Namespace, results: RunResults, progress: Progress, live: Live | None
) -> tuple[int, list[str]]:
    """The HIL suite in a child pytest: (its exit code, 124 on --timeout, 130 on Ctrl-C; strays killed).

    Whatever is left in the child's process group once it ended (a QEMU whose pytest was killed) is killed
    and reported: no run leaves a QEMU behind.
    """
    with open(results.root / "pytest.log", "wb") as log:
        proc = subprocess.Popen(
            suite_command(args, results),
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        results.update_meta(suite_pid=proc.pid)
        try:
            code = watch(proc, args, results, progress, live)
        except KeyboardInterrupt:
            results.update_meta(failure={"stage": "suite", "message": "interrupted (Ctrl-C)"})
            stop_suite(proc)
            code = 130
    strays = kill_group(proc.pid)
    progress.feed(results.events())
    return code, strays


def final_status(code: int) -> tuple[str, str]:
    """run.json status and the reason an unfinished test is recorded with."""
    if code == 0:
        return "passed", ""
    if code in (124, 130):
        why = "suite timeout" if code == 124 else "Ctrl-C"
        return "interrupted", f"interrupted ({why}) while this test ran"
    if code < 0:
        return "failed", f"the suite process died (signal {-code}) while this test ran"
    return "failed", ""


def open_results(args: argparse.Namespace) -> tuple[RunResults, Config | None]:
    env = Config(str(args.env)) if args.env else None
    if env is not None:
        board = env.get_option("armstft_board", args.env.stem)
        reached_by = str(args.env.resolve())
    else:
        target = SSHTarget.parse(value(args, "ssh"), "--ssh")
        board, reached_by = value(args, "board") or target.board_name, f"ssh {target}"
    return RunResults.open(None, value(args, "results-root"), board, reached_by), env


def summary(console: Console, code: int, results: RunResults, strays: list[str], report: Path) -> None:
    failure = results.meta().get("failure")
    if code != 0 and failure:
        console.print(f"[bold red]FAILED[/] in stage '{failure['stage']}': {failure['message']}")
    elif code != 0:
        tail = (results.root / "pytest.log").read_text(errors="replace").strip().splitlines()[-3:]
        console.print(f"[bold red]FAILED[/]: HIL pytest exited {code}: {' | '.join(tail)}")
    else:
        console.print("[green]all HIL steps passed[/]")
    if strays:
        console.print(f"killed {len(strays)} stray process(es) of the suite: {'; '.join(strays)}")
    console.print(f"report: {report}")


def execute(
    args, env: Config | None, results: RunResults, progress: Progress, live: Live | None
) -> tuple[int, list[str], Path]:
    """Build (when the env names a builder), run the suite, close the run; returns the suite's exit code."""
    if args.skip_build or env is None:
        progress.finish(BUILD_STAGE, "skipped", "--skip-build" if args.skip_build else "board reached by SSH")
        ok, message = True, ""
    else:
        ok, message = run_build(env, results, progress)
    strays: list[str] = []
    if ok:
        code, strays = run_suite(args, results, progress, live)
    else:
        code = 3
        results.update_meta(failure={"stage": BUILD_STAGE, "message": message})
    progress.start("reporting")
    results.update_meta(stray_processes_killed=strays)
    status, reason = final_status(code)
    report = close_run(results, status, reason)
    progress.finish("reporting", "passed", report.name)
    return code, strays, report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if value(args, "ssh"):
            SSHTarget.parse(value(args, "ssh"), "--ssh")
    except ValueError as e:
        print(f"harness.run: error: {e}", file=sys.stderr)
        return 2
    os.environ.setdefault("LG_ARMSTFT_BOARD_OUT", str(paths.board_out()))
    console = Console(stderr=True)
    try:
        results, env = open_results(args)
    except Exception as e:
        console.print(f"harness.run: error: {args.env or '--ssh'}: {e}")
        return 2
    progress = Progress()
    console.print(f"results: {results.root}")
    live = None if args.plain or not console.is_terminal else Live(progress.table(), console=console)
    if live is not None:
        live.start()
    try:
        code, strays, report = execute(args, env, results, progress, live)
    finally:
        if live is not None:
            live.update(progress.table())
            live.stop()
    if live is None:
        console.print(progress.table())
    summary(console, code, results, strays, report)
    return 0 if code == 0 else (code if code in (2, 3, 124, 130) else 1)


if __name__ == "__main__":
    raise SystemExit(main())
