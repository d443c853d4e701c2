"""Latency limits: the board's p99 figures judged against its limits file, only where the env declares it.

``@pytest.mark.lg_feature("latency-limits")``: labgrid skips this module on envs without the feature (the
emulated board records its figures, never judges them).  The limits file is the env's
``options.armstft_limits``; ``ARMSTFT_LIMITS=<file>`` judges one run against another file (CI uses it to show
that a limit the board cannot meet fails).  Board-neutral: every number lives in ``harness/limits/*.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.latency import judge, load_limits
from harness.report.boardjson import load_bench

pytestmark = [pytest.mark.stage("benchmarking"), pytest.mark.lg_feature("latency-limits")]


@pytest.fixture(scope="module")
def limits_file(env) -> Path:
    override = os.environ.get("ARMSTFT_LIMITS")
    if override:
        return Path(override).resolve()
    configured = env.config.get_option("armstft_limits", None)
    assert configured, f"{env.config_file}: options.armstft_limits: expected a limits file, got missing"
    return Path(env.config.resolve_path(configured))


def test_p99_within_board_limits(bench_run, limits_file, results):
    archived = results.board_dir / "bench.json"
    assert archived.is_file(), "bench JSON was not copied back"
    _, rows = load_bench(archived)
    verdict = judge(rows, load_limits(limits_file), str(limits_file))
    results.write_board_json("limits", verdict.to_json())
    results.update_meta(limits_asserted=True, limits_file=str(limits_file), limits_ok=verdict.ok)
    assert verdict.ok, verdict.summary()
