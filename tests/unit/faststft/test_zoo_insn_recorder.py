"""bench/instructions/zoo.py's host side (case Z): its recorder of a model's STFT/ISTFT calls, its goal rule.

Why: the STFT+ISTFT share in docs/fast-stft.md is the recorded calls replayed alone, so the recorder must
see exactly the model's outermost calls (the centre pad with its STFT, no call twice), change no result,
and leave torch's dispatch (and armstft's acceleration) as it found it. No QEMU here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

import armstft.faststft as fast
from tests.unit.zoo.models import ZOO

ZOO_PY = Path(__file__).resolve().parents[3] / "bench" / "instructions" / "zoo.py"
_spec = importlib.util.spec_from_file_location("armstft_zoo_bench", ZOO_PY)
zoo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zoo)


def test_the_recorder_sees_the_models_pad_stft_and_istft_once_and_changes_nothing() -> None:
    model = next(m for m in ZOO if m.name == "torchaudio_spectral")
    module = model.build()
    audio = torch.from_numpy(model.inputs()["a"])
    with torch.inference_mode():
        expected = module(audio)
        recorder = zoo.Recorder()
        try:
            got = module(audio)
        finally:
            recorder.close()
    assert [op for op, _, _ in recorder.calls] == ["pad", "stft", "istft"]
    assert tuple(recorder.calls[0][1][0].shape) == (1, 1, 8000)  # the centre pad of the clip
    assert tuple(recorder.calls[1][1][0].shape) == (1, 8000 + 512)  # its output, what the STFT reads
    assert recorder.calls[2][1][-1] == 8000  # istft's length
    for key in expected:
        assert torch.equal(got[key], expected[key]), key


def test_after_the_recorder_torch_and_acceleration_answer_as_before() -> None:
    x = torch.randn(4000, generator=torch.Generator().manual_seed(0))
    window = torch.hann_window(512)
    recorder = zoo.Recorder()
    recorder.close()
    torch.stft(x, 512, 128, window=window, return_complex=True)
    assert recorder.calls == []
    before = fast.engine_calls()["aten_stft"]
    was = fast.accelerate(True)
    try:
        torch.stft(x, 512, 128, window=window, return_complex=True)
    finally:
        fast.accelerate(was)
    assert fast.engine_calls()["aten_stft"] == before + 1


def doc_of(share: float, ratio: float) -> dict:
    off = 1000.0
    rows = {
        "model": off,
        "model (accelerated)": off / ratio,
        "stft+istft calls alone": share * off,
        "stft+istft calls alone (accelerated)": share * off / 3,
    }
    return {
        "cpus": {
            "cortex-a76": {
                "rows": [
                    {
                        "model": "m",
                        "impl": impl,
                        "per_call": n,
                        "per_call_min": n,
                        "per_call_max": n,
                        "calls": [n],
                    }
                    for impl, n in rows.items()
                ]
            }
        }
    }


def test_the_goal_is_115x_from_a_15_percent_share_and_no_model_loses_more_than_1_percent() -> None:
    met = {(s, r): zoo.rows_of(doc_of(s, r))[0]["met"] for s in (0.10, 0.15, 0.50) for r in (0.98, 1.0, 1.16)}
    assert met == {
        (0.10, 0.98): False, (0.10, 1.0): True, (0.10, 1.16): True,
        (0.15, 0.98): False, (0.15, 1.0): False, (0.15, 1.16): True,
        (0.50, 0.98): False, (0.50, 1.0): False, (0.50, 1.16): True,
    }  # fmt: skip
