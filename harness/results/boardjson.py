"""Read the board's JSON documents for the report, with one-line errors naming file, field, expected and got.

The report must never die on a strange board document (it may come from an older armstft or a cut-off run):
callers catch ``BoardJSONError`` and print its message in the report's problems list instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import FieldError

BENCH_SCHEMA = "armstft.bench/1"
NUMBER_FIELDS = ("p50_ms", "p90_ms", "p99_ms", "max_ms", "rtf")


class BoardJSONError(FieldError):
    """``<file>: <field>: expected X, got Y`` for a board document."""


@dataclass(frozen=True)
class BenchRow:
    """One measured case of ``armstft bench``."""

    stage: str
    variant: str
    backend: str
    mode: str
    threads: int
    iterations: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    rtf: float
    peak_rss_kb: int | None

    @property
    def series(self) -> str:
        return f"{self.variant} {self.backend}"

    @property
    def case(self) -> str:
        return f"{self.stage} {self.mode} {self.threads}t"


def load_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BoardJSONError(path, "file", "an existing file", "missing") from None
    except json.JSONDecodeError as e:
        raise BoardJSONError(path, f"line {e.lineno}", "valid JSON", e.msg) from None


def _field(doc: dict, key: str, kind: type | tuple[type, ...], path: Path, where: str, expected: str) -> Any:
    if key not in doc:
        raise BoardJSONError(path, f"{where}{key}", expected, "missing")
    value = doc[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise BoardJSONError(path, f"{where}{key}", expected, value)
    if not isinstance(value, kind):
        raise BoardJSONError(path, f"{where}{key}", expected, value)
    return value


def parse_bench(doc: Any, path: Path) -> tuple[bool, list[BenchRow]]:
    """(complete, rows) of an ``armstft.bench/1`` document; raise BoardJSONError on anything else."""
    if not isinstance(doc, dict):
        raise BoardJSONError(path, "document", "a JSON object", doc)
    schema = doc.get("schema")
    if schema != BENCH_SCHEMA:
        raise BoardJSONError(path, "schema", BENCH_SCHEMA, schema if schema is not None else "missing")
    complete = _field(doc, "complete", bool, path, "", "true/false")
    results = _field(doc, "results", list, path, "", "a list")
    rows = []
    for i, r in enumerate(results):
        where = f"results[{i}]."
        if not isinstance(r, dict):
            raise BoardJSONError(path, f"results[{i}]", "an object", r)
        numbers = {k: float(_field(r, k, (int, float), path, where, "a number")) for k in NUMBER_FIELDS}
        rss = r.get("peak_rss_kb")
        rows.append(
            BenchRow(
                stage=_field(r, "stage", str, path, where, "a string"),
                variant=_field(r, "variant", str, path, where, "a string"),
                backend=_field(r, "backend", str, path, where, "a string"),
                mode=_field(r, "mode", str, path, where, "a string"),
                threads=_field(r, "threads", int, path, where, "an integer"),
                iterations=_field(r, "iterations", int, path, where, "an integer"),
                peak_rss_kb=rss if isinstance(rss, int) else None,
                **numbers,
            )
        )
    return complete, rows


def load_bench(path: Path) -> tuple[bool, list[BenchRow]]:
    return parse_bench(load_json(path), path)
