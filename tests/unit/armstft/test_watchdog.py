"""An endless-loop TorchScript model really is stopped: verify, run and bench end with exit 2 naming the
model, the step and the limit, and no process of theirs is left running (checked in /proc)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.unit.conftest import rehash

CASE_SECONDS = 2.0


class Loop(torch.nn.Module):
    """forward and stft never return (an int counter: nothing for TorchScript to fold away)."""

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        i = 0
        while i >= 0:
            i += 1
        return audio

    @torch.jit.export
    def stft(self, audio: torch.Tensor) -> torch.Tensor:
        i = 0
        while i >= 0:
            i += 1
        return audio


class LoopOnLoad(torch.nn.Module):
    """Loads forever: TorchScript runs ``__setstate__`` inside torch.jit.load."""

    def __init__(self) -> None:
        super().__init__()
        self.state = 1

    @torch.jit.export
    def __getstate__(self) -> int:
        return self.state

    @torch.jit.export
    def __setstate__(self, state: int) -> None:
        i = 0
        while i >= 0:
            i += 1
        self.state = state

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return audio


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # fields after "pid (comm)": state ppid pgrp session ...
            members.append(int(entry.name))
    return members


def _run(argv: list[str]) -> tuple[int, dict, str, float]:
    """The real CLI in a session of its own; returns after it exits, and checks the session is empty."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "armstft", *argv, "--case-seconds", str(CASE_SECONDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    elapsed = time.monotonic() - started
    time.sleep(0.5)  # the kernel delivers PR_SET_PDEATHSIG asynchronously
    assert _session_members(proc.pid) == [], "a process of the run outlived it"
    return proc.returncode, json.loads(out) if out.strip() else {}, err, elapsed


@pytest.fixture
def looping_bundle(bundle_copy: Path) -> Path:
    torch.jit.save(torch.jit.script(Loop()), str(bundle_copy / "model_fp32.pt"))
    rehash(bundle_copy, "model_fp32.pt")
    return bundle_copy


def test_verify_stops_an_endless_model(looping_bundle: Path) -> None:
    code, doc, err, elapsed = _run(["verify", str(looping_bundle)])
    assert code == 2, err
    assert (
        "model_fp32.pt: stft(tone): expected to finish within 2 s (--case-seconds), "
        "got still running after 2 s; stopped" in err
    ), err
    assert doc["ok"] is False and "still running" in doc["error"]
    assert elapsed < 120, f"stopped only after {elapsed:.1f} s"


def test_run_stops_an_endless_model(looping_bundle: Path, tmp_path: Path) -> None:
    clip = tmp_path / "clip.npy"
    np.save(clip, np.zeros(16000, dtype=np.float32))
    code, doc, err, _ = _run(["run", str(looping_bundle), str(clip)])
    assert code == 2, err
    assert "model_fp32.pt: forward(clip.npy): expected to finish within 2 s (--case-seconds)" in err, err
    assert doc == {"schema": "armstft.run/1", "ok": False, "error": doc["error"]}


def test_bench_stops_an_endless_model_and_keeps_its_file(looping_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code, _, err, _ = _run(["bench", str(looping_bundle), "--out", str(out), "--quick", "--threads", "1"])
    assert code == 2, err
    assert (
        "case stft fp32 aten clip t=1: expected to finish within 8.5 s, got still running after 8.5 s" in err
    )
    saved = json.loads(out.read_text())
    assert saved["complete"] is False and "still running" in saved["error"]
    assert not out.with_name("bench.json.lock").exists()


def test_verify_stops_a_model_that_loops_while_loading(bundle_copy: Path) -> None:
    torch.jit.save(torch.jit.script(LoopOnLoad()), str(bundle_copy / "model_int8.pt"))
    rehash(bundle_copy, "model_int8.pt")
    code, _, err, _ = _run(["verify", str(bundle_copy)])
    assert code == 2, err
    assert "model_int8.pt: load: expected to load within 2 s, got still running after 2 s; stopped" in err


def test_the_worker_dies_with_its_command(looping_bundle: Path) -> None:
    """A harness that kills a hung `armstft verify` (SIGKILL: no cleanup) must not leave its looping
    model running: the worker asked the kernel for PR_SET_PDEATHSIG."""
    import os
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "armstft", "verify", str(looping_bundle), "--case-seconds", "600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(_session_members(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [pid for pid in _session_members(proc.pid) if pid != proc.pid]
        assert workers, "the model worker never started"
        time.sleep(1.0)  # let it enter the loop
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _session_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session_members(proc.pid) == [], "the looping worker outlived its killed parent"
    finally:
        for pid in _session_members(proc.pid):
            os.kill(pid, signal.SIGKILL)
