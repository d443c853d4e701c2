"""``armstft.bench/1`` rows with chosen numbers, for the tests of everything that reads bench JSON."""

from __future__ import annotations


def bench_row(
    stage="stft", variant="fp32", backend="aten", mode="clip", threads=1, p50=8.0, p99=14.0
) -> dict:
    """One result row as ``armstft bench`` writes it (p90 between p50 and p99, max above p99)."""
    return {
        "stage": stage,
        "variant": variant,
        "backend": backend,
        "mode": mode,
        "threads": threads,
        "iterations": 20,
        "p50_ms": p50,
        "p90_ms": (p50 + p99) / 2,
        "p99_ms": p99,
        "max_ms": p99 + 1,
        "rtf": p50 / 1000,
        "peak_rss_kb": 240000,
    }
