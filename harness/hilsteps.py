"""The on-device steps of the HIL suite, host side: corrupt a bundle copy, run CLI batches, fetch bench JSON.

Kept out of the test files so the tests read as assertions only, and so fault tests can drive the very same
steps.  Nothing here computes what the board should compute: the board's own ``armstft`` judges its bundle.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.boardcmd import Board
from harness.errors import StageError

if TYPE_CHECKING:
    from harness.report.results import RunResults

RUNSTEPS = Path(__file__).resolve().parent / "onboard" / "runsteps.py"


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


def push_runsteps(board: Board, workdir: str, stage: str) -> str:
    remote = f"{workdir}/runsteps.py"
    board.put(RUNSTEPS, remote, stage=stage)
    return remote


def run_cli_batch(
    board: Board, plan: list[dict[str, Any]], *, workdir: str, stage: str, timeout: float
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


def run_device_checks(
    board: Board,
    results: RunResults,
    bundle: str,
    corrupt: str,
    corrupted_file: str,
    *,
    workdir: str,
    stage: str,
    timeout: float,
) -> dict[str, dict[str, Any]]:
    """``info``, ``verify BUNDLE`` and ``verify CORRUPT`` in one board-side process (one ``import torch``);
    each step's JSON and stderr are archived in the results folder as soon as they come back."""
    plan = [
        {"name": "info", "argv": ["info"]},
        {"name": "verify", "argv": ["verify", bundle]},
        {"name": "verify-corrupt", "argv": ["verify", corrupt]},
    ]
    steps = run_cli_batch(board, plan, workdir=workdir, stage=stage, timeout=timeout)
    results.write_board_json("steps", steps)
    for name, step in steps.items():
        doc = parse_stdout_json(step)
        if doc is not None:
            results.write_board_json(name, doc)
        if step["stderr"]:
            results.write_board_text(f"{name}.stderr.txt", step["stderr"])
    steps["verify-corrupt"]["corrupted_file"] = corrupted_file
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


def bench_command(bundle: str, out: str, extra: str) -> list[str]:
    return ["armstft", "bench", bundle, "--out", out, *shlex.split(extra)]
