"""What the direct-SSH run asserts about the board's answers: the same facts ``tests/hil`` asserts.

Plain functions raising AssertionError with a one-line reason, so ``harness.direct`` records each as a test
(pytest drives ``tests/hil``; the direct path has no labgrid env, so it cannot use those fixtures).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.hilsteps import parse_stdout_json
from harness.report.boardjson import BoardJSONError, load_bench


def check_info(steps: dict[str, dict[str, Any]]) -> None:
    step = steps["info"]
    assert step["returncode"] == 0, f"armstft info exited {step['returncode']}: {step['stderr'][-200:]}"
    info = parse_stdout_json(step)
    assert isinstance(info, dict), "armstft info printed no JSON object"
    assert info.get("schema") == "armstft.info/1", f"info schema: {info.get('schema')}"
    assert info.get("machine") == "aarch64", f"machine: expected aarch64, got {info.get('machine')}"
    assert info.get("blas") == "OpenBLAS", f"blas: expected OpenBLAS, got {info.get('blas')}"
    neon = info.get("neon") is True or str(info.get("cpu_capability")).upper().startswith("SVE")
    assert neon, (
        f"cpu: expected NEON or SVE, got neon={info.get('neon')} capability={info.get('cpu_capability')}"
    )


def check_verify(steps: dict[str, dict[str, Any]]) -> None:
    step = steps["verify"]
    doc = parse_stdout_json(step)
    assert isinstance(doc, dict), (
        f"verify printed no JSON (exit {step['returncode']}): {step['stderr'][-200:]}"
    )
    failed = [c.get("name") for c in doc.get("cases", []) if not c.get("ok")]
    assert not failed, f"verify cases failed on the board: {failed}"
    assert doc.get("ok") is True and step["returncode"] == 0, (
        f"verify: ok={doc.get('ok')} error={doc.get('error')}"
    )
    variants = {c.get("variant") for c in doc.get("cases", [])}
    assert {"fp32", "int8"} <= variants, (
        f"verify covered {sorted(map(str, variants))}, expected fp32 and int8"
    )


def check_verify_corrupt(steps: dict[str, dict[str, Any]]) -> None:
    step = steps["verify-corrupt"]
    assert step["returncode"] in (1, 2), f"corrupted bundle: expected exit 1 or 2, got {step['returncode']}"
    lines = [ln for ln in step["stderr"].splitlines() if ln.strip()]
    assert "Traceback" not in step["stderr"], "corrupted bundle: the CLI crashed with a traceback"
    assert len(lines) == 1 and lines[0].startswith("armstft: error:"), f"corrupted bundle: stderr {lines[:3]}"
    assert step["corrupted_file"] in lines[0], f"error does not name {step['corrupted_file']}: {lines[0]}"


def check_bench(path: Path) -> None:
    try:
        complete, rows = load_bench(path)
    except BoardJSONError as e:
        raise AssertionError(str(e)) from None
    assert complete is True, "the benchmark stopped before measuring every case"
    assert {"fp32", "int8"} <= {r.variant for r in rows}, "bench: expected fp32 and int8 rows"
    bad = [f"{r.case} {r.series}" for r in rows if not 0 < r.p50_ms <= r.p90_ms <= r.p99_ms <= r.max_ms]
    assert not bad, f"bench: percentiles out of order in {bad}"
