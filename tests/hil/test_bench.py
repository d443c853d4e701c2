"""On-device speed: ``armstft bench`` runs, its JSON comes back and is archived; limits only where declared.

Latency limits are judged only on environments that declare the ``latency-limits`` feature (real boards, with
an ``armstft_limits`` file in the env's options); the emulated board's figures are recorded, not judged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.report.boardjson import load_bench

pytestmark = pytest.mark.stage("benchmarking")


@pytest.fixture(scope="module")
def bench_rows(bench_run, results):
    assert bench_run.returncode == 0, bench_run.stderr[-1000:]
    archived = results.board_dir / "bench.json"
    assert archived.is_file(), "bench JSON was not copied back"
    complete, rows = load_bench(archived)
    return complete, rows


def test_bench_runs_and_is_archived(bench_rows):
    complete, rows = bench_rows
    assert complete is True
    assert rows
    for r in rows:
        assert r.iterations > 0
        assert 0 < r.p50_ms <= r.p90_ms <= r.p99_ms <= r.max_ms, r


def test_bench_covers_fp32_and_int8(bench_rows):
    _, rows = bench_rows
    assert {"fp32", "int8"} <= {r.variant for r in rows}


@pytest.mark.lg_feature("latency-limits")
def test_latency_within_limits(bench_rows, env, results):
    limits_file = env.config.get_option("armstft_limits", None)
    assert limits_file, "env declares latency-limits but has no options.armstft_limits file"
    limits = yaml.safe_load(Path(env.config.resolve_path(limits_file)).read_text())["p99_ms"]
    results.update_meta(limits_asserted=True)
    _, rows = bench_rows
    over = []
    for r in rows:
        limit = limits.get(r.stage, {}).get(r.variant, {}).get(r.threads)
        if limit is not None and r.p99_ms > limit:
            over.append(f"{r.case} {r.series}: p99 {r.p99_ms:.2f} ms > {limit} ms")
    assert not over, over
