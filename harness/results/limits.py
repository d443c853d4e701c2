"""Per-board latency limits: load ``harness/limits/<board>.yaml``, judge a bench run against it.

A limits file bounds the p99 latency (ms) of the STFT stage and of the whole model, per variant and thread
count; a value may also be split by mode (``{clip: 40, stream: 2}``).  A limit applies to every benchmark row
of that stage/variant/threads (both STFT backends), so a faster path can never hide a slower one.

Only boards whose env declares the ``latency-limits`` feature are judged (``tests/hil/test_limits.py``); the
emulated board records its figures and is never judged.  Limits of a new board start *provisional* and are
then derived from its first good runs: ``python -m harness.results.limits suggest RUN_DIR [--margin 1.5]``.

    python -m harness.results.limits check RUN_DIR|bench.json LIMITS.yaml  # exit 0 ok, 1 over, 2 bad input
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import FieldError
from harness.results.boardjson import BenchRow, BoardJSONError, load_bench

SCHEMA = "armstft.limits/1"
STAGES = ("stft", "model")
MODES = ("clip", "stream")


class LimitsError(FieldError):
    """``<file>: <field>: expected X, got Y`` for a limits file that cannot be used."""


@dataclass(frozen=True)
class Limit:
    stage: str
    variant: str
    threads: int
    mode: str | None  # None: every mode
    p99_ms: float

    @property
    def key(self) -> str:
        return f"{self.stage} {self.variant} {self.threads}t" + (f" {self.mode}" if self.mode else "")


@dataclass
class Verdict:
    """The judgement of one bench run: every row checked, and the limits nothing measured."""

    limits_file: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    unmeasured: list[str] = field(default_factory=list)

    @property
    def over(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c["ok"]]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and not self.over

    def summary(self) -> str:
        if not self.checks:
            return f"{self.limits_file}: no limit matched any benchmark row (wrong board file or bench args?)"
        if not self.over:
            return f"all {len(self.checks)} p99 figures within {self.limits_file}"
        lines = [
            f"{c['case']} {c['series']}: p99 {c['p99_ms']:.2f} ms > limit {c['limit_ms']} ms"
            for c in self.over
        ]
        return f"{len(self.over)} of {len(self.checks)} p99 figures over {self.limits_file}: " + "; ".join(
            lines
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "armstft-hil.limits-verdict/1",
            "ok": self.ok,
            "summary": self.summary(),
            **asdict(self),
        }


def _number(value: Any, path: Path, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or math.isinf(value):
        raise LimitsError(path, where, "a positive number of milliseconds", value)
    return float(value)


def load_limits(path: Path) -> list[Limit]:
    """Parse a limits file; raise LimitsError naming the file and field on anything unexpected."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise LimitsError(path, "file", "an existing limits file", "missing") from None
    except yaml.YAMLError as e:
        raise LimitsError(path, "file", "valid YAML", type(e).__name__) from None
    if not isinstance(doc, dict):
        raise LimitsError(path, "document", "a mapping", doc)
    if doc.get("schema") != SCHEMA:
        raise LimitsError(path, "schema", SCHEMA, doc.get("schema", "missing"))
    table = doc.get("p99_ms")
    if not isinstance(table, dict) or not table:
        raise LimitsError(path, "p99_ms", "a mapping stage -> variant -> threads -> ms", table)
    limits = []
    for stage, variants in table.items():
        if stage not in STAGES:
            raise LimitsError(path, f"p99_ms.{stage}", f"one of {', '.join(STAGES)}", stage)
        if not isinstance(variants, dict):
            raise LimitsError(path, f"p99_ms.{stage}", "a mapping variant -> threads -> ms", variants)
        for variant, per_threads in variants.items():
            where = f"p99_ms.{stage}.{variant}"
            if not isinstance(per_threads, dict):
                raise LimitsError(path, where, "a mapping threads -> ms", per_threads)
            for threads, value in per_threads.items():
                if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
                    raise LimitsError(path, f"{where}.{threads}", "a thread count >= 1", threads)
                if isinstance(value, dict):
                    for mode, ms in value.items():
                        if mode not in MODES:
                            raise LimitsError(path, f"{where}.{threads}.{mode}", "clip or stream", mode)
                        limits.append(
                            Limit(
                                stage,
                                str(variant),
                                threads,
                                mode,
                                _number(ms, path, f"{where}.{threads}.{mode}"),
                            )
                        )
                else:
                    limits.append(
                        Limit(stage, str(variant), threads, None, _number(value, path, f"{where}.{threads}"))
                    )
    return limits


def judge(rows: list[BenchRow], limits: list[Limit], limits_file: str = "limits") -> Verdict:
    """Check every bench row against the limits that apply to it."""
    verdict = Verdict(limits_file)
    used: set[Limit] = set()
    for r in rows:
        for lim in limits:
            if (lim.stage, lim.variant, lim.threads) != (r.stage, r.variant, r.threads):
                continue
            if lim.mode is not None and lim.mode != r.mode:
                continue
            used.add(lim)
            verdict.checks.append(
                {
                    "case": r.case,
                    "series": r.series,
                    "p99_ms": r.p99_ms,
                    "limit_ms": lim.p99_ms,
                    "ok": r.p99_ms <= lim.p99_ms,
                }
            )
    verdict.unmeasured = [lim.key for lim in limits if lim not in used]
    return verdict


def bench_path(run: Path) -> Path:
    """A run folder's archived bench JSON, or the given file itself."""
    run = Path(run)
    return run / "board" / "bench.json" if run.is_dir() else run


def suggest(rows: list[BenchRow], margin: float) -> dict[str, Any]:
    """A limits document from measured rows: the worst p99 per stage/variant/threads times ``margin``."""
    table: dict[str, dict[str, dict[int, float]]] = {}
    for r in rows:
        slot = table.setdefault(r.stage, {}).setdefault(r.variant, {})
        slot[r.threads] = max(slot.get(r.threads, 0.0), round(r.p99_ms * margin, 3))
    return {"schema": SCHEMA, "provisional": False, "p99_ms": table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.results.limits", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="judge a run (or bench.json) against a limits file")
    check.add_argument("run", type=Path)
    check.add_argument("limits", type=Path)
    sug = sub.add_parser("suggest", help="print a limits file derived from a run's p99 figures")
    sug.add_argument("run", type=Path)
    sug.add_argument("--margin", type=float, default=1.5, help="factor over the measured p99 (default 1.5)")
    args = parser.parse_args(argv)
    try:
        _, rows = load_bench(bench_path(args.run))
        if args.command == "suggest":
            print(yaml.safe_dump(suggest(rows, args.margin), sort_keys=False), end="")
            return 0
        verdict = judge(rows, load_limits(args.limits), str(args.limits))
    except (BoardJSONError, LimitsError) as e:
        print(f"harness.results.limits: error: {e}", file=sys.stderr)
        return 2
    for c in verdict.checks:
        mark = "ok  " if c["ok"] else "OVER"
        print(
            f"{mark} {c['case']:<22} {c['series']:<14} p99 {c['p99_ms']:10.3f} ms  limit {c['limit_ms']:g} ms"
        )
    for key in verdict.unmeasured:
        print(f"--   {key}: not measured in this run")
    print(verdict.summary())
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
