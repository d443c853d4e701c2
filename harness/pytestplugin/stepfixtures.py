"""The HIL suite's shared board steps as fixtures: the host bundle (``--armstft-bundle``) pushed once and
checked by hash, one ``info`` + ``verify`` batch in a single board-side Python process (``import torch``
costs ~25 s on the emulated board), one ``bench``.

Why in the plugin and not in ``tests/hil/conftest.py``: a bundle's path then goes one way — option, plugin,
steps, board — and the tests only judge what came back.
"""

from __future__ import annotations

import pytest

from harness.errors import StageError
from harness.steps.device import bench_command, corrupt_copy, device_plan, run_device_checks
from harness.steps.push import push_bundle


@pytest.fixture(scope="session")
def host_bundle(request):
    return request.config.option.armstft_bundle


@pytest.fixture(scope="session")
def pushed_bundle(board, board_workdir, host_bundle, results) -> str:
    """The host's bundle on the board, checked by hash before anything uses it."""
    path = push_bundle(board, host_bundle, board_workdir, stage="pushing")
    results.update_meta(bundle_on_board=path, bundle=str(host_bundle))
    return path


@pytest.fixture(scope="session")
def device_steps(
    board, board_workdir, board_facts, pushed_bundle, host_bundle, results, request, tmp_path_factory
):
    """info, verify (pushed bundle, a corrupted copy of it, the image's own bundle) in one board process."""
    stage = "verifying"
    victim = corrupt_copy(host_bundle, tmp_path_factory.mktemp("bundle") / "corrupt")
    remote_corrupt = f"{board_workdir}/corrupt-bundle"
    board.put(victim.parent, remote_corrupt, stage=stage)
    option = request.config.option
    plan = device_plan(
        pushed_bundle, remote_corrupt, board_facts.installed_bundle, option.armstft_case_seconds
    )
    timeout = option.armstft_step_timeout
    steps = run_device_checks(board, results, plan, workdir=board_workdir, stage=stage, timeout=timeout)
    steps["verify-corrupt"]["corrupted_file"] = victim.name
    return steps


@pytest.fixture(scope="session")
def bench_run(board, board_workdir, pushed_bundle, results, request):
    """``armstft bench`` on the board; its JSON (rewritten after each case) is copied back even on failure."""
    stage = "benchmarking"
    remote_out = f"{board_workdir}/bench.json"
    option = request.config.option
    argv = bench_command(pushed_bundle, remote_out, option.armstft_bench_args, option.armstft_case_seconds)
    try:
        run = board.run(argv, stage=stage, timeout=option.armstft_bench_timeout)
    finally:
        _fetch_partial(board, remote_out, results.board_dir / "bench.json", stage)
    results.write_board_text(
        "bench.log", f"$ {run.command}\nexit {run.returncode}\n{run.stdout}\n{run.stderr}"
    )
    return run


def _fetch_partial(board, remote: str, local, stage: str) -> None:
    """Copy back whatever bench JSON exists; a dead board must not hide the error that killed the bench."""
    try:
        if board.run(["test", "-f", remote], stage=stage, timeout=60).returncode == 0:
            board.get(remote, local, stage=stage)
    except StageError:
        pass
