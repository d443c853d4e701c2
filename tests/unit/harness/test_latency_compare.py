"""Limits files, the limits judge, the run comparison and the SSH target parsing, on the host.

Bench documents here are written by the real ``armstft bench`` CLI schema (``armstft.bench/1``) with chosen
numbers, so every verdict is known in advance and each check is shown to fail as well as to pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.drivers.sshclient import SSHTarget
from harness.errors import StageError
from harness.results import compare as compare_cli
from harness.results import limits as latency
from harness.results.boardjson import load_bench
from harness.results.report import render
from harness.results.runfolder import RunResults
from harness.steps.push import bundle_digest, local_hashes
from tests.unit.benchdocs import bench_row


def bench_doc(p99: dict[tuple[str, str, str, str, int], float]) -> dict:
    rows = [
        bench_row(stage, variant, backend, mode, threads, p50=value / 2, p99=value)
        for (stage, variant, backend, mode, threads), value in p99.items()
    ]
    return {"schema": "armstft.bench/1", "complete": True, "results": rows}


BASE = {
    ("stft", "fp32", "aten", "clip", 1): 2.0,
    ("stft", "fp32", "aten", "stream", 1): 0.2,
    ("stft", "fp32", "armstft", "clip", 1): 1.0,
    ("model", "fp32", "aten", "clip", 1): 100.0,
    ("model", "int8", "aten", "clip", 1): 80.0,
}


def write_run(tmp_path: Path, name: str, p99: dict) -> Path:
    run = tmp_path / name
    (run / "board").mkdir(parents=True)
    (run / "board" / "bench.json").write_text(json.dumps(bench_doc(p99)))
    return run


def write_limits(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "limits.yaml"
    path.write_text("schema: armstft.limits/1\nboard: t\n" + body)
    return path


# --- limits ----------------------------------------------------------------------------------------------


def test_limits_pass_and_fail(tmp_path):
    _, rows = load_bench(write_run(tmp_path, "a", BASE) / "board" / "bench.json")
    ok = latency.load_limits(
        write_limits(tmp_path, "p99_ms: {stft: {fp32: {1: 3}}, model: {fp32: {1: 150}}}\n")
    )
    assert latency.judge(rows, ok).ok
    tight = latency.load_limits(write_limits(tmp_path, "p99_ms: {model: {fp32: {1: 99}, int8: {1: 99}}}\n"))
    verdict = latency.judge(rows, tight, "tight.yaml")
    assert not verdict.ok
    assert [c["series"] for c in verdict.over] == ["fp32 aten"]
    assert "model clip 1t fp32 aten: p99 100.00 ms > limit 99.0 ms" in verdict.summary()


def test_limit_per_mode_and_unmeasured_threads(tmp_path):
    _, rows = load_bench(write_run(tmp_path, "a", BASE) / "board" / "bench.json")
    limits = latency.load_limits(
        write_limits(tmp_path, "p99_ms: {stft: {fp32: {1: {clip: 2.5, stream: 0.1}, 4: 1}}}\n")
    )
    verdict = latency.judge(rows, limits)
    assert [c["case"] for c in verdict.over] == ["stft stream 1t"]
    assert verdict.unmeasured == ["stft fp32 4t"]


def test_limits_matching_nothing_do_not_pass(tmp_path):
    _, rows = load_bench(write_run(tmp_path, "a", BASE) / "board" / "bench.json")
    verdict = latency.judge(
        rows, latency.load_limits(write_limits(tmp_path, "p99_ms: {model: {bf16: {1: 5}}}\n"))
    )
    assert not verdict.ok and "no limit matched" in verdict.summary()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("p99_ms: {fft: {fp32: {1: 1}}}\n", "p99_ms.fft: expected one of stft, model, got fft"),
        ("p99_ms: {stft: {fp32: {one: 1}}}\n", "p99_ms.stft.fp32.one: expected a thread count >= 1, got one"),
        (
            "p99_ms: {stft: {fp32: {1: -2}}}\n",
            "p99_ms.stft.fp32.1: expected a positive number of milliseconds, got -2",
        ),
        (
            "p99_ms: {stft: {fp32: {1: {burst: 1}}}}\n",
            "p99_ms.stft.fp32.1.burst: expected clip or stream, got burst",
        ),
        ("p99_ms: []\n", "p99_ms: expected a mapping stage -> variant -> threads -> ms, got list"),
    ],
)
def test_bad_limits_name_file_field_expected_got(tmp_path, body, message):
    path = write_limits(tmp_path, body)
    with pytest.raises(latency.LimitsError) as err:
        latency.load_limits(path)
    assert str(err.value) == f"{path}: {message}"


def test_latency_cli_check_and_suggest(tmp_path, capsys):
    run = write_run(tmp_path, "a", BASE)
    assert latency.main(["suggest", str(run), "--margin", "2"]) == 0
    suggested = tmp_path / "suggested.yaml"
    suggested.write_text(capsys.readouterr().out)
    assert latency.main(["check", str(run), str(suggested)]) == 0
    slower = write_run(tmp_path, "b", {k: v * 3 for k, v in BASE.items()})
    assert latency.main(["check", str(slower), str(suggested)]) == 1
    assert "OVER" in capsys.readouterr().out
    assert latency.main(["check", str(tmp_path / "missing"), str(suggested)]) == 2
    assert capsys.readouterr().err.startswith("harness.results.limits: error: ")


# --- compare ---------------------------------------------------------------------------------------------


def test_compare_flags_regressions_and_never_writes_into_the_run(tmp_path, capsys):
    old = write_run(tmp_path, "old", BASE)
    changed = dict(BASE)
    changed[("model", "fp32", "aten", "clip", 1)] = 130.0  # +30 %: regression
    changed[("stft", "fp32", "armstft", "clip", 1)] = 0.5  # -50 %: improvement
    changed[("stft", "fp32", "aten", "stream", 1)] = 0.24  # +20 % but +0.04 ms: jitter, not news
    new = write_run(tmp_path, "new", changed)
    before = sorted(p.name for p in new.rglob("*"))
    out_json = tmp_path / "compare.json"
    assert compare_cli.main([str(new), str(old), "--json", str(out_json)]) == 1
    out = capsys.readouterr().out
    assert "**1 regression(s)**" in out and "**REGRESSION**" in out
    doc = json.loads(out_json.read_text())
    verdicts = {(e["case"], e["series"]): e["verdict"] for e in doc["entries"]}
    assert verdicts[("model clip 1t", "fp32 aten")] == "regression"
    assert verdicts[("stft clip 1t", "fp32 armstft")] == "improvement"
    assert verdicts[("stft stream 1t", "fp32 aten")] == "same"
    assert sorted(p.name for p in new.rglob("*")) == before  # the finished run is untouched


def test_verdicts_show_in_the_run_report(tmp_path):
    old = write_run(tmp_path, "old", BASE)
    new = write_run(tmp_path, "new", {k: v * 2 for k, v in BASE.items()})
    RunResults(new).update_meta(board="t", status="passed")
    _, rows = load_bench(new / "board" / "bench.json")
    limits = latency.load_limits(
        write_limits(tmp_path, "p99_ms: {model: {fp32: {1: 150}, int8: {1: 170}}}\n")
    )
    verdict = latency.judge(rows, limits, "t.yaml")
    RunResults(new).write_board_json("limits", verdict.to_json())
    report = render(RunResults(new), baseline=old).read_text()
    assert "## Latency limits" in report and "**OVER LIMITS**" in report
    assert "| model clip 1t | fp32 aten | 200.000 | 150.0 | **OVER** |" in report
    assert "| model clip 1t | int8 aten | 160.000 | 170.0 | ok |" in report
    assert "## Comparison" in report and "**REGRESSION**" in report
    assert "## Comparison" not in render(RunResults(new)).read_text()  # only when asked for


def test_compare_against_a_baseline_file_same_run_is_clean(tmp_path, capsys):
    run = write_run(tmp_path, "run", BASE)
    assert compare_cli.main([str(run), str(run / "board" / "bench.json")]) == 0
    assert "No regression." in capsys.readouterr().out


def test_compare_bad_input_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other"}')
    assert compare_cli.main([str(bad), str(bad)]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"harness.results.compare: error: {bad}: schema: expected armstft.bench/1, got other"
    )


# --- SSH target and bundle pieces -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("root@10.0.0.5", SSHTarget("root", "10.0.0.5", 22)),
        ("armstft@pi4.lan:2222", SSHTarget("armstft", "pi4.lan", 2222)),
        ("root@[fe80::1%eth0]:22", SSHTarget("root", "fe80::1%eth0", 22)),
    ],
)
def test_ssh_target_parse(text, target):
    assert SSHTarget.parse(text) == target


@pytest.mark.parametrize("text", ["10.0.0.5", "@host", "root@", "root@host:99999", "root@host:ssh"])
def test_ssh_target_rejects(text):
    with pytest.raises(ValueError, match="--armstft-ssh: expected"):
        SSHTarget.parse(text)


def test_bundle_digest_follows_content(tmp_path):
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{}")
    (bundle / "model.pt").write_bytes(b"\x00" * 10)
    first = bundle_digest(local_hashes(bundle))
    (bundle / "model.pt").write_bytes(b"\x00" * 9 + b"\x01")
    assert bundle_digest(local_hashes(bundle)) != first
    assert len(first) == 16


def test_bundle_with_a_link_or_a_subfolder_is_refused_before_hashing(tmp_path):
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{}")
    secret = tmp_path / "id_ed25519"
    secret.write_text("private")
    (bundle / "model.pt").symlink_to(secret)
    with pytest.raises(StageError, match=r"model\.pt: expected a regular file, got a symbolic link"):
        local_hashes(bundle)
    (bundle / "model.pt").unlink()
    (bundle / "sub").mkdir()
    (bundle / "sub" / "x").write_text("x")
    with pytest.raises(StageError, match="expected a flat folder of files, got a subfolder"):
        local_hashes(bundle)
