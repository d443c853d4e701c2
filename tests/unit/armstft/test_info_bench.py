"""``armstft info`` and ``armstft bench``: the fields the HIL suite and reports rely on, and a bench that
keeps what it measured when it is killed midway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from armstft.nn.runtime import blas_backend, build_setting, cpu_info
from tests.unit.conftest import DEFAULT_BUNDLE

AARCH64_CPUINFO = """processor\t: 0
BogoMIPS\t: 125.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3

processor\t: 1
Features\t: fp asimd
"""


def test_info_fields(run_cli) -> None:
    code, doc, err = run_cli("info")
    assert code == 0
    for key in (
        "torch",
        "torchaudio",
        "blas",
        "cpu_capability",
        "fft_backend",
        "threads",
        "nproc",
        "cpu",
        "neon",
    ):
        assert key in doc, key
    assert doc["schema"] == "armstft.info/1"
    assert doc["torch"].startswith("2.9.1") and doc["torchaudio"].startswith("2.9.1")
    assert doc["blas"] != "unknown" and doc["fft_backend"] in ("mkl", "pocketfft")
    assert isinstance(doc["cpu"]["features"], list) and doc["cpu"]["model"]
    assert "BLAS" in err


def test_cpuinfo_of_an_arm_board() -> None:
    cpu = cpu_info(AARCH64_CPUINFO)
    assert cpu["model"] == "Cortex-A72"
    assert "asimd" in cpu["features"]


def test_blas_from_build_settings() -> None:
    text = "  - Build settings: BLAS_INFO=open, BUILD_TYPE=Release, LAPACK_INFO=open, TORCH_VERSION=2.9.1,"
    assert blas_backend(text) == "OpenBLAS"
    assert build_setting(text, "TORCH_VERSION") == "2.9.1"
    assert blas_backend("nothing here") == "unknown"


def test_bench_json_has_every_field(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code, doc, err = run_cli(
        "bench", str(DEFAULT_BUNDLE), "--out", str(out), "--quick", "--seconds", "0.2", "--threads", "1,2"
    )
    assert code == 0, err
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(doc))
    assert saved["schema"] == "armstft.bench/1" and saved["complete"] is True and saved["error"] is None
    rows = saved["results"]
    kinds = {(r["stage"], r["variant"], r["backend"], r["mode"]) for r in rows}
    assert {
        ("stft", "fp32", "aten", "clip"),
        ("stft", "fp32", "aten", "stream"),
        ("model", "fp32", "aten", "clip"),
        ("model", "int8", "aten", "clip"),
    } <= kinds
    assert {r["threads"] for r in rows} == {1, 2}
    from armstft import faststft

    if faststft.available():  # the native engine is built by this package's own build on the host
        assert {("stft", "fp32", "armstft", "clip"), ("model", "fp32", "armstft", "clip")} <= kinds
    for row in rows:
        for key in ("iterations", "p50_ms", "p90_ms", "p99_ms", "max_ms", "rtf", "peak_rss_kb"):
            assert row[key] > 0, (key, row)
        assert row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert saved["peak_rss_kb"] >= max(r["peak_rss_kb"] for r in rows)


def test_bench_killed_midway_keeps_results(tmp_path: Path) -> None:
    """SIGKILL (no chance to clean up): the file on disk still parses and holds the finished cases."""
    out = tmp_path / "bench.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "armstft",
            "bench",
            str(DEFAULT_BUNDLE),
            "--out",
            str(out),
            "--seconds",
            "30",
            "--iterations",
            "1000000",
            "--threads",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        rows: list = []
        while time.monotonic() < deadline and not rows:
            time.sleep(0.5)
            if out.exists():
                rows = json.loads(out.read_text())["results"]
        assert rows, "bench never finished a case"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    saved = json.loads(out.read_text())
    assert saved["complete"] is False
    assert len(saved["results"]) >= 1 and saved["results"][0]["iterations"] > 0


def test_bench_rejects_bad_threads(run_cli, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli("bench", str(DEFAULT_BUNDLE), "--threads", "0")
    assert info.value.code == 2
    assert "expected thread counts >= 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--iterations", "-5"], "bench: --iterations: expected a value in 1..1000000, got -5"),
        (["--seconds", "nan"], "bench: --seconds: expected a value in (0, 3600], got nan"),
        (["--seconds", "1e308"], "bench: --seconds: expected a value in (0, 3600], got 1e+308"),
        (["--warmup", "-1"], "bench: --warmup: expected a value in 0..1000, got -1"),
        (["--backends", "cufft"], "bench: --backends: expected a value in aten, armstft, got cufft"),
    ],
)
def test_bench_rejects_settings_out_of_range(run_cli, tmp_path: Path, args: list[str], message: str) -> None:
    """Before: `--iterations -5` measured nothing and died in np.percentile (exit 3)."""
    out = tmp_path / "b.json"
    code, doc, err = run_cli("bench", str(DEFAULT_BUNDLE), "--out", str(out), *args)
    assert code == 2 and message in err and doc["ok"] is False, err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bench_on_a_tampered_bundle_fails_cleanly(run_cli, bundle_copy: Path, tmp_path: Path) -> None:
    (bundle_copy / "model_int8.pt").write_bytes(b"x")
    out = tmp_path / "b.json"
    code, doc, err = run_cli("bench", str(bundle_copy), "--out", str(out), "--quick")
    assert code == 2 and "model_int8.pt: sha256" in err and "model_int8.pt" in doc["error"]
    saved = json.loads(out.read_text())
    assert saved["complete"] is False and "model_int8.pt" in saved["error"]


def _bench(out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "armstft", "bench", str(DEFAULT_BUNDLE), "--out", str(out), "--quick", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_benches_on_one_out_file_refuse_rather_than_lose_a_run(tmp_path: Path) -> None:
    """Before: both wrote through one shared `<out>.tmp` and one run's results silently vanished."""
    out = tmp_path / "same.json"
    first = _bench(out, "--threads", "1", "--seconds", "0.2")
    try:
        deadline = time.monotonic() + 120
        while not out.with_name("same.json.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = _bench(out, "--threads", "1", "--seconds", "0.2")
        _, err2 = second.communicate(timeout=300)
        out1, err1 = first.communicate(timeout=300)
    finally:
        first.kill()
    assert first.returncode == 0, err1
    assert second.returncode == 2, err2
    refusal = "same.json: --out: expected a file no other run is writing, got locked by another armstft run"
    assert f"{refusal} (pid {first.pid})" in err2
    saved = json.loads(out.read_text())
    assert saved["complete"] is True and saved == json.loads(out1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.json"]  # no temp file, no lock left


@pytest.fixture
def small_fs(tmp_path: Path):
    """Mount a real tmpfs of a given size (and read-only or not) for the duration of a test."""
    mounted: list[Path] = []

    def mount(size: str, read_only: bool = False, fill: int = 0) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(where)
        if fill:
            (where / "filler").write_bytes(b"x" * fill)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_bench_out_on_a_read_only_disk(run_cli, small_fs) -> None:
    fs = small_fs("1m", read_only=True)
    code, doc, err = run_cli("bench", str(DEFAULT_BUNDLE), "--out", str(fs / "b.json"), "--quick")
    assert code == 2 and doc["ok"] is False
    assert "b.json: --out: expected a writable place for its lock file, got Read-only file system" in err
    assert list(fs.iterdir()) == []


def test_bench_out_on_a_full_disk_leaves_nothing_behind(run_cli, small_fs) -> None:
    """Before: an empty `<out>.tmp` was left behind and the error was exit 3."""
    fs = small_fs("4k", fill=4096)
    code, doc, err = run_cli("bench", str(DEFAULT_BUNDLE), "--out", str(fs / "b.json"), "--quick")
    assert code == 2 and doc["ok"] is False
    assert "b.json: --out: expected a writable file, got No space left on device (errno 28)" in err
    assert [p.name for p in fs.iterdir()] == ["filler"]


def test_bench_out_filling_up_midway_keeps_the_results_so_far(small_fs) -> None:
    """The disk fills (for real: a filler file written until ENOSPC) once three rows are on it; the run
    ends with exit 2 and the last whole document, with those rows *and why the run stopped*, stays
    (before: the document said only ``complete: false``; the writer's reserve now makes room for it)."""
    fs = small_fs("1m")
    out = fs / "b.json"
    proc = _bench(out, "--threads", "1,2", "--seconds", "0.3", "--warmup", "1")
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if len(json.loads(out.read_text())["results"]) >= 3:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        filler = os.open(fs / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(filler, b"x" * 4096):
                pass
        except OSError:  # ENOSPC: the disk is full
            pass
        finally:
            os.close(filler)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 2, err
    assert "b.json: --out: expected a writable file, got No space left on device (errno 28)" in err
    saved = json.loads(out.read_text())
    assert saved["complete"] is False and len(saved["results"]) >= 3
    assert "expected a writable file, got No space left on device (errno 28)" in saved["error"], saved
    assert saved["finished_utc"] and saved["peak_rss_kb"] > 0
    assert sorted(p.name for p in fs.iterdir()) == ["b.json", "filler"]
