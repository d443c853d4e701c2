"""The settings of ``armstft bench``: their defaults, the ``--quick`` ones, and their ranges.

Why a module apart from bench: the CLI's help states the defaults and builds its parser for every
command, so it reads them from here (one definition) without importing what the bench runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from armstft.core import bounds
from armstft.core.config import BACKENDS
from armstft.core.errors import InputError


@dataclass(frozen=True)
class BenchSettings:
    seconds: float = 2.0
    iterations: int = 200
    warmup: int = 3
    threads: tuple[int, ...] = ()
    backends: tuple[str, ...] = ("aten", "armstft")
    case_seconds: float = bounds.CASE_SECONDS

    @classmethod
    def quick(cls) -> BenchSettings:
        return cls(seconds=0.5, iterations=20, warmup=2)

    def validate(self) -> None:
        """Each setting within its stated range (a negative iteration count used to end in exit 3)."""
        checks = [
            ("--seconds", 0 < self.seconds <= bounds.BENCH_MAX_SECONDS, f"(0, {bounds.BENCH_MAX_SECONDS:g}]"),
            (
                "--iterations",
                1 <= self.iterations <= bounds.BENCH_MAX_ITERATIONS,
                f"1..{bounds.BENCH_MAX_ITERATIONS}",
            ),
            ("--warmup", 0 <= self.warmup <= bounds.BENCH_MAX_WARMUP, f"0..{bounds.BENCH_MAX_WARMUP}"),
            ("--backends", bool(self.backends) and set(self.backends) <= set(BACKENDS), ", ".join(BACKENDS)),
        ]
        values = {"--seconds": self.seconds, "--iterations": self.iterations, "--warmup": self.warmup}
        for name, ok, expected in checks:
            if not ok:
                got = values.get(name, ",".join(self.backends))
                raise InputError("bench", name, f"a value in {expected}", got)

    def budget(self, paired: bool = False) -> float:
        """Seconds one case may take before the watchdog stops it (a paired case, timed with acceleration
        off and on in turn, makes twice the calls)."""
        return (self.warmup + 2) * self.case_seconds * (2 if paired else 1) + self.seconds
