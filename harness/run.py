"""The main job: build the board image → boot it through labgrid → run the HIL suite → write the report.

``python -m harness.run [--env harness/envs/qemu-aarch64.yaml] [--skip-build] [--bench-args "--quick"]``

The suite runs in a child ``pytest`` (its own process group) so that whatever happens to it (a crash, a
kill, a hung board) this process still stops it, kills any QEMU it left behind, renders the report from the
results written so far and prints which stage failed.  A live display shows the stage the run is in.
"""

from __future__ import annotations

import argparse
import os
import shlex
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

from harness.plugin import STAGES, default_board_out, git_commit
from harness.procs import kill_group
from harness.report.markdown import render
from harness.report.results import RunResults

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ENV = REPO / "harness" / "envs" / "qemu-aarch64.yaml"
BUILD_STAGE = "building image"
ALL_STAGES = (BUILD_STAGE, *STAGES, "reporting")


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
    p = argparse.ArgumentParser(prog="python -m harness.run", description=__doc__.splitlines()[0])
    p.add_argument("--env", type=Path, default=DEFAULT_ENV, help="labgrid env file (default: %(default)s)")
    p.add_argument("--skip-build", action="store_true", help="use the board image already built")
    p.add_argument("--results-root", type=Path, default=REPO / "results", help="default: %(default)s")
    p.add_argument(
        "--bench-args", default="--quick", help="extra 'armstft bench' arguments (default: %(default)s)"
    )
    p.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds for the whole suite (default: 3600)"
    )
    p.add_argument("--pytest-args", default="", help="extra arguments for the HIL pytest run (shell-quoted)")
    p.add_argument("--plain", action="store_true", help="no live display (logs only), e.g. for CI logs")
    return p.parse_args(argv)


def run_build(env: Config, results: RunResults, progress: Progress) -> tuple[bool, str]:
    """Build the image if the env names a builder (the emulated board); real boards have no build here."""
    module = env.get_option("armstft_image_builder", None)
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
    stamp = datetime.fromtimestamp(ev["time"], UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {ev.get('stage')}: {ev.get('event')} {test}{message}", file=sys.stderr, flush=True)


def run_suite(
    args: argparse.Namespace, results: RunResults, progress: Progress, live: Live | None
) -> tuple[int, list[str]]:
    """The HIL suite in a child pytest: (its exit code or 124 on --timeout / 130 on Ctrl-C, strays killed).

    Whatever is left in the child's process group once it ended (a QEMU whose pytest was killed) is killed
    and reported: no run leaves a QEMU behind.
    """
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--lg-env",
        str(args.env.resolve()),
        "tests/hil",
        "--armstft-results",
        str(results.root),
        f"--armstft-bench-args={args.bench_args}",  # '=' form: the value itself starts with '-'
        "-q",
        "-rfEs",
        *shlex.split(args.pytest_args),
    ]
    log = open(results.root / "pytest.log", "wb")  # closed in the finally below
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + args.timeout
    code: int | None = None
    try:
        while code is None:
            code = proc.poll()
            new = progress.feed(results.events())
            if live is not None:
                live.update(progress.table())
            else:
                for ev in new:
                    print_event(ev)
            if code is None and time.monotonic() > deadline:
                results.update_meta(
                    failure={"stage": "suite", "message": f"suite exceeded {args.timeout:.0f} s"}
                )
                kill_group(proc.pid)
                proc.wait()
                code = 124
            time.sleep(0.5)
    except KeyboardInterrupt:
        kill_group(proc.pid)
        proc.wait()
        code = 130
    finally:
        log.close()
    strays = kill_group(proc.pid)
    progress.feed(results.events())
    return code, strays


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("LG_ARMSTFT_BOARD_OUT", default_board_out())
    console = Console(stderr=True)
    try:
        env = Config(str(args.env))
    except Exception as e:
        console.print(f"harness.run: error: {args.env}: {e}")
        return 2
    board = env.get_option("armstft_board", args.env.stem)
    results = RunResults.create(args.results_root, board)
    results.update_meta(
        board=board,
        env=str(args.env.resolve()),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        git_commit=git_commit(),
        status="running",
        results=str(results.root),
    )
    render(results)
    progress = Progress()
    console.print(f"results: {results.root}")

    live = None if args.plain or not console.is_terminal else Live(progress.table(), console=console)
    if live is not None:
        live.start()
    try:
        ok, message = (True, "") if args.skip_build else run_build(env, results, progress)
        if args.skip_build:
            progress.finish(BUILD_STAGE, "skipped", "--skip-build")
        strays: list[str] = []
        if ok:
            code, strays = run_suite(args, results, progress, live)
        else:
            code = 3
            results.update_meta(failure={"stage": BUILD_STAGE, "message": message})
        progress.start("reporting")
        results.update_meta(stray_processes_killed=strays)
        status = "passed" if code == 0 else ("interrupted" if code in (124, 130) else "failed")
        meta = results.update_meta(status=status, finished=datetime.now(UTC).isoformat(timespec="seconds"))
        report = render(results)
        progress.finish("reporting", "passed", report.name)
    finally:
        if live is not None:
            live.update(progress.table())
            live.stop()
    if args.plain or live is None:
        console.print(progress.table())
    failure = meta.get("failure")
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
    return 0 if code == 0 else (code if code in (2, 3, 124, 130) else 1)


if __name__ == "__main__":
    raise SystemExit(main())
