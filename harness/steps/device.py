"""The on-device steps of the HIL suite, host side: a private work folder, a corrupted bundle copy, CLI
batches, the bench command.

Kept out of the test files so the tests read as assertions only, and so fault tests can drive the very same
steps.  Nothing here computes what the board should compute: the board's own ``armstft`` judges its bundle.
Every step takes any ``Transport`` (labgrid env or ``--armstft-ssh``).
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.drivers.transport import Transport
from harness.errors import StageError

if TYPE_CHECKING:
    from harness.results.runfolder import RunResults

RUNSTEPS = Path(__file__).resolve().parent / "runsteps.py"
#: template of the board-side work folder: private (mktemp -d: 0700, unpredictable name), one per run
WORKDIR_TEMPLATE = "/tmp/armstft-hil.XXXXXX"


def make_workdir(board: Transport, stage: str) -> str:
    """A private folder on the board for this run (``mktemp -d``), never a predictable shared path."""
    made = board.run(["mktemp", "-d", WORKDIR_TEMPLATE], stage=stage, timeout=60)
    path = made.stdout.strip()
    if made.returncode != 0 or not path.startswith("/tmp/armstft-hil."):
        raise StageError(
            stage, f"mktemp -d on the board: expected a new folder, got {made.stderr.strip()[:200]!r}"
        )
    return path


def remove_workdir(board: Transport, workdir: str) -> None:
    board.run(["rm", "-rf", "--", workdir], stage="reporting", timeout=120)


def corrupt_copy(bundle: Path, out: Path) -> Path:
    """Copy ``bundle`` to ``out`` and flip bytes in the middle of its largest TorchScript file.

    Returns the corrupted file.  The largest ``.pt`` is the model weights: a flip there is what a bad SD card
    or a cut-off copy does, and only the manifest's sha256 (not a zip CRC of a small member) is sure to catch
    it at the level the CLI reports.  Falls back to ``golden.npz`` for a bundle without ``.pt`` files.
    """
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(bundle, out)
    candidates = sorted(out.glob("*.pt"), key=lambda p: (p.stat().st_size, p.name)) or sorted(
        out.glob("*.npz")
    )
    if not candidates:
        raise StageError("verifying", f"{bundle}: bundle: expected *.pt or *.npz files, got none")
    victim = candidates[-1]
    data = bytearray(victim.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(middle + 16, len(data))):
        data[i] ^= 0xFF
    victim.write_bytes(bytes(data))
    return victim


def push_runsteps(board: Transport, workdir: str, stage: str) -> str:
    remote = f"{workdir}/runsteps.py"
    board.put(RUNSTEPS, remote, stage=stage)
    return remote


def run_cli_batch(
    board: Transport, plan: list[dict[str, Any]], *, workdir: str, stage: str, timeout: float
) -> dict[str, dict[str, Any]]:
    """Run several ``armstft`` invocations in one board-side Python process; return steps by name."""
    script = push_runsteps(board, workdir, stage)
    result = board.run(["python3", script, json.dumps(plan)], stage=stage, timeout=timeout)
    if result.returncode != 0:
        tail = " | ".join(result.stderr_lines()[-3:]) or "no stderr"
        raise StageError(stage, f"board-side step runner exited {result.returncode}: {tail}")
    try:
        doc = json.loads(result.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise StageError(
            stage, f"board-side step runner: stdout: expected one JSON line, got {result.stdout[:80]!r}"
        ) from None
    return {step["name"]: step for step in doc["steps"]}


def watchdog_args(case_seconds: float | None) -> list[str]:
    """The board's per-call limit for verify and bench, when the run sets one (``--armstft-case-seconds``)."""
    return [] if case_seconds is None else ["--case-seconds", f"{case_seconds:g}"]


def device_plan(
    bundle: str, corrupt: str, installed: str | None, case_seconds: float | None = None
) -> list[dict[str, Any]]:
    """``info``, ``verify`` of the pushed bundle and of its corrupted copy, and of the image's own bundle."""
    limit = watchdog_args(case_seconds)
    plan = [
        {"name": "info", "argv": ["info"]},
        {"name": "verify", "argv": ["verify", bundle, *limit]},
        {"name": "verify-corrupt", "argv": ["verify", corrupt, *limit]},
    ]
    if installed:
        plan.append({"name": "verify-installed", "argv": ["verify", installed, *limit]})
    return plan


def run_device_checks(
    board: Transport,
    results: RunResults,
    plan: list[dict[str, Any]],
    *,
    workdir: str,
    stage: str,
    timeout: float,
) -> dict[str, dict[str, Any]]:
    """The plan in one board-side process (one ``import torch``); each step's JSON and stderr are archived
    in the results folder as soon as they come back."""
    steps = run_cli_batch(board, plan, workdir=workdir, stage=stage, timeout=timeout)
    results.write_board_json("steps", steps)
    for name, step in steps.items():
        doc = parse_stdout_json(step)
        if doc is not None:
            results.write_board_json(name, doc)
        if step["stderr"]:
            results.write_board_text(f"{name}.stderr.txt", step["stderr"])
    return steps


def parse_stdout_json(step: dict[str, Any]) -> Any:
    """The JSON document a CLI step printed, or None when it printed none (e.g. on a clean error exit)."""
    text = step.get("stdout", "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def bench_command(bundle: str, out: str, extra: str, case_seconds: float | None = None) -> list[str]:
    return ["armstft", "bench", bundle, "--out", out, *watchdog_args(case_seconds), *shlex.split(extra)]
