"""On-device speed: ``armstft bench`` runs, its JSON comes back and is archived.

Latency limits are judged in ``test_limits.py``, only on environments that declare the ``latency-limits``
feature (real boards, with an ``armstft_limits`` file in the env's options); the emulated board's figures are
recorded, not judged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from armstft.bundle.manifest import load_manifest
from harness.results.boardjson import load_bench

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


def test_bench_covers_every_precision_the_bundle_holds(bench_rows, host_bundle):
    # whatever the bundle carries is timed (our bundle: fp32 and int8; a user's: usually fp32 only)
    _, rows = bench_rows
    held = {v.precision for v in load_manifest(Path(host_bundle)).variants.values() if v.stage == "logits"}
    assert held and held <= {r.variant for r in rows if r.stage == "model"}, held
