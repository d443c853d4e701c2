"""Fixtures of the board-neutral HIL suite: run with ``python -m pytest --lg-env <env.yaml> tests/hil``.

Each expensive board step runs once per session and is shared by the tests that judge it: one boot, one
``info`` + ``verify`` + ``verify <corrupted>`` batch in a single board-side Python process (``import torch``
costs ~15 s on the emulated board), one ``bench``.  Board differences live in the env file, never here.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `pytest` (not `python -m pytest`) does not put the repo root on sys.path
    sys.path.insert(0, str(REPO))

import pytest  # noqa: E402

from harness.errors import StageError  # noqa: E402
from harness.hilsteps import bench_command, corrupt_copy, run_device_checks  # noqa: E402

pytest_plugins = ("harness.plugin",)


@pytest.fixture(scope="session")
def device_steps(board, board_options, results, request, tmp_path_factory):
    """info, verify (board's bundle) and verify (corrupted copy pushed from host), in one board process."""
    stage = "verifying"
    workdir = board_options["workdir"]
    bundle = board_options["bundle"]
    timeout = request.config.option.armstft_step_timeout
    board.run(["rm", "-rf", workdir], stage=stage, timeout=60)
    board.run(["mkdir", "-p", workdir], stage=stage, timeout=60)

    local = tmp_path_factory.mktemp("bundle")
    board.get(bundle, local / "pristine", stage=stage)
    victim = corrupt_copy(local / "pristine", local / "corrupt")
    remote_corrupt = f"{workdir}/corrupt-bundle"
    board.put(local / "corrupt", remote_corrupt, stage=stage)

    return run_device_checks(
        board, results, bundle, remote_corrupt, victim.name, workdir=workdir, stage=stage, timeout=timeout
    )


@pytest.fixture(scope="session")
def bench_run(board, board_options, results, request):
    """``armstft bench`` on the board; its JSON (rewritten after each case) is copied back even on failure."""
    stage = "benchmarking"
    workdir = board_options["workdir"]
    remote_out = f"{workdir}/bench.json"
    board.run(["mkdir", "-p", workdir], stage=stage, timeout=60)
    argv = bench_command(board_options["bundle"], remote_out, request.config.option.armstft_bench_args)
    try:
        run = board.run(argv, stage=stage, timeout=request.config.option.armstft_bench_timeout)
    finally:
        _fetch_partial(board, remote_out, results.board_dir / "bench.json", stage)
    results.write_board_text(
        "bench.log", f"$ {run.command}\nexit {run.returncode}\n{run.stdout}\n{run.stderr}"
    )
    return run


def _fetch_partial(board, remote: str, local: Path, stage: str) -> None:
    """Copy back whatever bench JSON exists; a dead board must not hide the error that killed the bench."""
    try:
        if board.run(["test", "-f", remote], stage=stage, timeout=60).returncode == 0:
            board.get(remote, local, stage=stage)
    except StageError:
        pass
