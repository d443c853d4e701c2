"""Latency limits: the board's p99 figures judged against its limits file, only where the env declares it.

``@pytest.mark.lg_feature("latency-limits")``: skipped on boards without the feature (the emulated board
records its figures, never judges them).  The limits file is the env's ``options.armstft_limits`` (or
``--armstft-limits`` for a board reached by address, which also gives it the feature);
``ARMSTFT_LIMITS=<file>`` judges one run against another file (CI uses it to show that a limit the board
cannot meet fails).  Board-neutral: every number lives in ``harness/limits/*.yaml``.
"""

from __future__ import annotations

import pytest

from harness.results.boardjson import load_bench
from harness.results.limits import judge, load_limits

pytestmark = [pytest.mark.stage("benchmarking"), pytest.mark.lg_feature("latency-limits")]


def test_p99_within_board_limits(bench_run, board_facts, results):
    limits_file = board_facts.limits
    assert limits_file, (
        f"{board_facts.reached_by}: options.armstft_limits: expected a limits file, got missing"
    )
    archived = results.board_dir / "bench.json"
    assert archived.is_file(), "bench JSON was not copied back"
    _, rows = load_bench(archived)
    verdict = judge(rows, load_limits(limits_file), str(limits_file))
    results.write_board_json("limits", verdict.to_json())
    results.update_meta(limits_asserted=True, limits_file=str(limits_file), limits_ok=verdict.ok)
    assert verdict.ok, verdict.summary()
