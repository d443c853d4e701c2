"""The results folder of one run: ``results/<board>/<UTC timestamp>/``.

Everything is appended or atomically replaced the moment it is known (progress events, each test's outcome,
each board JSON), so a run killed at any point leaves a folder the report can still be rendered from.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import paths
from harness.files import atomic_write

PROGRESS = "progress.jsonl"
TESTS = "tests.jsonl"
META = "run.json"
BOARD_DIR = "board"
CONSOLE_LOG = "console_main"  # labgrid's ConsoleLoggingReporter names it console_<target>
JUNIT = "junit.xml"
REPORT = "report.md"
PLOT = "latency.png"


def utc_stamp(now: datetime | None = None) -> str:
    """Sortable, filesystem-safe UTC timestamp, e.g. 20250101T120000Z."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=paths.repo_root(), capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


class RunResults:
    """Accessors for one run folder (creating it is ``create``; reading an old one is the constructor)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def create(cls, base: Path, board: str, now: datetime | None = None) -> RunResults:
        root = Path(base) / board / utc_stamp(now)
        suffix = 1
        while root.exists():  # two runs in the same second (fault tests) must not share a folder
            root = Path(base) / board / f"{utc_stamp(now)}-{suffix}"
            suffix += 1
        (root / BOARD_DIR).mkdir(parents=True)
        return cls(root)

    @classmethod
    def open(cls, root: Path | None, base: Path, board: str, env: str) -> RunResults:
        """The run folder of a starting run: ``root`` if given (``harness.run`` made it), else a new
        ``base/<board>/<UTC time>/``; its run.json gets the run's facts (kept if already there)."""
        if root is None:
            results = cls.create(base, board)
        else:
            results = cls(root)
            results.board_dir.mkdir(parents=True, exist_ok=True)
        known = results.meta()
        results.update_meta(
            board=known.get("board", board),
            env=known.get("env", env),
            started=known.get("started", now_utc()),
            git_commit=known.get("git_commit") or git_commit(),
            status="running",
            results=str(results.root),
        )
        return results

    @property
    def board_dir(self) -> Path:
        return self.root / BOARD_DIR

    # --- writers -----------------------------------------------------------------------------------------

    def _append(self, name: str, record: dict[str, Any]) -> None:
        record = {"time": round(time.time(), 3), **record}
        with open(self.root / name, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def event(self, stage: str, event: str, **fields: Any) -> None:
        """A progress event (stage started/finished/failed), read live by ``harness.run``'s display."""
        self._append(PROGRESS, {"stage": stage, "event": event, **fields})

    def record_test(self, nodeid: str, outcome: str, stage: str, seconds: float, message: str = "") -> None:
        self._append(
            TESTS,
            {
                "test": nodeid,
                "outcome": outcome,
                "stage": stage,
                "seconds": round(seconds, 3),
                "message": message,
            },
        )

    def write_board_json(self, name: str, doc: Any) -> Path:
        path = self.board_dir / f"{name}.json"
        atomic_write(path, json.dumps(doc, indent=2) + "\n")
        return path

    def write_board_text(self, name: str, text: str) -> Path:
        path = self.board_dir / name
        atomic_write(path, text)
        return path

    def update_meta(self, **fields: Any) -> dict[str, Any]:
        meta = self.meta()
        meta.update(fields)
        atomic_write(self.root / META, json.dumps(meta, indent=2) + "\n")
        return meta

    # --- readers -----------------------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        try:
            return json.loads((self.root / META).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _read_lines(self, name: str) -> list[dict[str, Any]]:
        records = []
        try:
            text = (self.root / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a killed writer: skip it, keep the rest
        return records

    def events(self) -> list[dict[str, Any]]:
        return self._read_lines(PROGRESS)

    def tests(self) -> list[dict[str, Any]]:
        return self._read_lines(TESTS)

    def board_json_files(self) -> list[Path]:
        return sorted(self.board_dir.glob("*.json")) if self.board_dir.is_dir() else []
