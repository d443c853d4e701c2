"""The results folder and the human report: real files, real matplotlib, real JSON parsing."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results.boardjson import BoardJSONError, load_bench, parse_bench
from harness.results.plot import plot_latency
from harness.results.report import render
from harness.results.runfolder import RunResults
from tests.unit.benchdocs import bench_row

REPO = Path(__file__).resolve().parents[3]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


row = bench_row


BENCH = {
    "schema": "armstft.bench/1",
    "complete": True,
    "results": [
        row(),
        row(backend="armstft", p50=5.0, p99=7.0),
        row(mode="stream", p50=0.4, p99=1.2),
        row(stage="model", p50=96.0, p99=131.0),
        row(stage="model", variant="int8", p50=81.0, p99=116.0),
        row(stage="model", variant="int8", threads=2, p50=270.0, p99=290.0),
    ],
}


@pytest.fixture()
def run(tmp_path) -> RunResults:
    return RunResults.create(tmp_path, "qemu-aarch64")


def test_create_makes_distinct_timestamped_folders(tmp_path):
    a = RunResults.create(tmp_path, "board")
    b = RunResults.create(tmp_path, "board")
    assert a.root != b.root
    assert a.root.parent == tmp_path / "board"
    assert a.board_dir.is_dir() and b.board_dir.is_dir()


def test_events_and_tests_survive_a_cut_off_last_line(run):
    run.event("booting", "start")
    run.record_test("t::a", "passed", "booting", 1.5)
    with open(run.root / "tests.jsonl", "a") as f:
        f.write('{"test": "t::b", "outc')  # what a killed writer leaves
    assert [t["test"] for t in run.tests()] == ["t::a"]
    assert run.events()[0]["stage"] == "booting"


def test_parse_bench_reads_every_row():
    complete, rows = parse_bench(BENCH, Path("bench.json"))
    assert complete is True
    assert len(rows) == 6
    assert {r.series for r in rows} == {"fp32 aten", "fp32 armstft", "int8 aten"}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d.update(schema="armstft.bench/0"),
            "bench.json: schema: expected armstft.bench/1, got armstft.bench/0",
        ),
        (lambda d: d.pop("results"), "bench.json: results: expected a list, got missing"),
        (
            lambda d: d["results"][1].pop("p99_ms"),
            "bench.json: results[1].p99_ms: expected a number, got missing",
        ),
        (
            lambda d: d["results"][0].update(threads="1"),
            "bench.json: results[0].threads: expected an integer, got 1",
        ),
        (lambda d: d.update(complete="yes"), "bench.json: complete: expected true/false, got yes"),
    ],
)
def test_parse_bench_errors_name_file_field_expected_got(mutate, expected):
    doc = copy.deepcopy(BENCH)
    mutate(doc)
    with pytest.raises(BoardJSONError) as err:
        parse_bench(doc, Path("bench.json"))
    assert str(err.value) == expected
    assert "\n" not in str(err.value)


def test_load_bench_reports_invalid_json(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text('{"schema": ')
    with pytest.raises(BoardJSONError, match=r"bench.json: line 1: expected valid JSON"):
        load_bench(path)


def test_plot_writes_a_png(tmp_path):
    _, rows = parse_bench(BENCH, Path("bench.json"))
    out = plot_latency(rows, tmp_path / "latency.png", "test board")
    assert out is not None
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000


def test_plot_gives_streaming_its_own_panel(tmp_path, monkeypatch):
    """Streaming rows get their own panel, and every panel a log axis: sub-millisecond bars stay visible."""
    import matplotlib.figure

    titles = []
    real_savefig = matplotlib.figure.Figure.savefig

    def record(fig, *args, **kwargs):
        titles.extend((ax.get_title(), ax.get_yscale()) for ax in fig.axes)
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", record)
    _, rows = parse_bench(BENCH, Path("bench.json"))
    plot_latency(rows, tmp_path / "latency.png", "b")
    assert [t for t, _ in titles] == [
        "b: stft, whole clip per call",
        "b: stft, streaming, one hop per call",
        "b: model, whole clip per call",
    ]
    assert {scale for _, scale in titles} == {"log"}


def test_plot_with_nothing_to_plot_writes_nothing(tmp_path):
    assert plot_latency([], tmp_path / "latency.png", "x") is None
    assert not (tmp_path / "latency.png").exists()


def test_report_of_a_complete_run(run):
    run.update_meta(board="qemu-aarch64", status="passed", boot_seconds=7.2, login_timeout=90)
    run.record_test("tests/hil/test_boot.py::test_boot", "passed", "booting", 9.0)
    run.write_board_json("info", {"schema": "armstft.info/1", "machine": "aarch64", "blas": "OpenBLAS"})
    run.write_board_json(
        "verify",
        {
            "ok": True,
            "error": None,
            "cases": [{"name": "tone", "variant": "int8", "stage": "model", "ok": True}],
        },
    )
    run.write_board_json("bench", BENCH)
    text = render(run).read_text()
    assert "# armstft HIL report: qemu-aarch64" in text
    assert "| booting | test_boot | pass | 9.0 |" in text
    assert "| blas | OpenBLAS |" in text
    assert "| tone | int8 |  | model |" in text
    assert "![latency p50/p99](latency.png)" in text
    assert "recorded only, not judged" in text
    assert (run.root / "latency.png").read_bytes().startswith(PNG_MAGIC)
    assert "Problems" not in text


def test_report_names_the_pushed_bundle_and_the_installed_one(run):
    run.update_meta(board="b", bundle="/home/u/bundles/whisper-tiny", bundle_on_board="/tmp/w/whisper-tiny")
    verified = {"ok": True, "error": None, "cases": []}
    tuple_out = {"name": "speech", "variant": "fp32", "output": "1", "stage": "model", "ok": True}
    run.write_board_json("verify", {**verified, "cases": [tuple_out]})
    run.write_board_json("verify-installed", verified)
    text = render(run).read_text()
    assert "**bundle (host)**: /home/u/bundles/whisper-tiny" in text
    assert "## Verify: pushed bundle `whisper-tiny`" in text
    assert "## Verify: the image's installed bundle" in text
    assert "| speech | fp32 | 1 | model |" in text  # a tuple output's element is named
    assert "default bundle" not in text


def test_report_of_a_run_that_died_midway(run):
    run.update_meta(board="b", failure={"stage": "verifying", "message": "QEMU exited with code -9"})
    run.record_test("t::test_boot", "passed", "booting", 8.0)
    partial = {**BENCH, "complete": False, "results": BENCH["results"][:2]}
    run.write_board_json("bench", partial)
    text = render(run).read_text()
    assert "Failed in stage `verifying`**: QEMU exited with code -9" in text
    assert "**Incomplete**" in text
    assert "[tests.jsonl](tests.jsonl)" in text


def test_report_survives_bad_board_json(run):
    (run.board_dir / "bench.json").write_text(json.dumps({"schema": "armstft.bench/1", "complete": True}))
    (run.board_dir / "info.json").write_text("not json")
    text = render(run).read_text()
    assert "## Problems reading board output" in text
    assert "bench.json: results: expected a list, got missing" in text
    assert "info.json: line 1: expected valid JSON" in text


def test_report_cli_rerenders_and_rejects_a_missing_folder(run, tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "harness.results", str(run.root)], cwd=REPO, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert (run.root / "report.md").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "harness.results", str(tmp_path / "nope")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("nope: run folder: expected a directory, got missing")
    assert len(bad.stderr.strip().splitlines()) == 1
