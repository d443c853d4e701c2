"""armstft.accelerate(): unmodified torch code (torch.stft, torch.fft.rfft/irfft, torchaudio's transforms)
runs on the engine for the calls it covers and on torch's own kernels for every other call.

The engine's counters (armstft.faststft.engine_calls) show which calls it answered; results are compared
with the same call with acceleration off (and with float64 where the numbers matter).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import torchaudio

import armstft
import armstft.faststft as fast
from tests.unit.faststft.acceleration import accelerated

pytestmark = pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")


def calls() -> dict[str, int]:
    return fast.engine_calls()


def close(got: torch.Tensor, ref: torch.Tensor, rtol: float = 1e-5) -> bool:
    return got.shape == ref.shape and float((got - ref).abs().max()) <= rtol * float(ref.abs().max())


def test_toggle_reports_and_restores() -> None:
    x = torch.randn(4000)
    before = torch.fft.rfft(x)
    assert not fast.accelerated()
    assert fast.accelerate() is False
    assert fast.accelerated()
    assert fast.accelerate() is True  # already on
    assert fast.accelerate(False) is True
    assert not fast.accelerated()
    assert torch.equal(torch.fft.rfft(x), before)  # off: torch's own kernel, bit for bit


def test_torch_stft_runs_on_the_engine() -> None:
    x = torch.randn(2, 16000)
    w = torch.hann_window(512)
    ref = torch.stft(x, 512, 256, window=w, return_complex=True)
    with accelerated():
        c0 = calls()
        got = torch.stft(x, 512, 256, window=w, return_complex=True)
        assert calls()["aten_stft"] == c0["aten_stft"] + 1
    assert got.stride() == ref.stride() and close(got, ref)


def test_fft_rfft_and_irfft_run_on_the_engine() -> None:
    x = torch.randn(7, 400, dtype=torch.float64)
    ref = torch.fft.rfft(x)  # float64: the reference
    with accelerated():
        c0 = calls()
        spec = torch.fft.rfft(x.float())
        back = torch.fft.irfft(spec, 400)
        ortho = torch.fft.rfft(x.float(), norm="ortho")
        c1 = calls()
    assert c1["fft_r2c"] == c0["fft_r2c"] + 2 and c1["fft_c2r"] == c0["fft_c2r"] + 1
    assert close(spec.to(torch.complex128), ref, 1e-6)
    assert close(back.double(), x, 1e-5)
    assert close(ortho.to(torch.complex128), ref / 20.0, 1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda: torch.fft.rfft(torch.randn(5, 512, dtype=torch.float64)),  # float64
        lambda: torch.fft.rfft(torch.randn(512, 5), dim=0),  # not the last dim
        lambda: torch.fft.rfft(torch.randn(5, 74)),  # no plan (37 is prime > 31)
        lambda: torch.fft.fft(torch.randn(5, 512, dtype=torch.complex64)),  # complex input: c2c
        lambda: torch.fft.rfft2(torch.randn(4, 64, 64)),  # 2-D transform
        lambda: torch.stft(
            torch.randn(3000, dtype=torch.float64),
            256,
            window=torch.ones(256, dtype=torch.float64),
            return_complex=True,
        ),
    ],
    ids=["float64", "dim0", "no-plan", "complex", "rfft2", "stft-float64"],
)
def test_uncovered_calls_are_torchs_own(call) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    ref = call()
    with accelerated():
        torch.manual_seed(0)
        c0 = calls()
        got = call()
        c1 = calls()
    assert torch.equal(got, ref)
    if "rfft2" not in str(call):
        assert c1["fft_r2c"] == c0["fft_r2c"] and c1["aten_stft"] == c0["aten_stft"]


def test_torchaudio_mel_spectrogram_unchanged_code() -> None:
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, hop_length=256, n_mels=40)
    x = torch.randn(2, 16000)
    ref = mel(x)
    with accelerated():
        c0 = calls()
        got = mel(x)
        assert calls()["aten_stft"] > c0["aten_stft"]
    assert close(got, ref, 1e-4)


def test_gradients_flow_with_acceleration_on() -> None:
    x = torch.randn(3000)
    w = torch.hann_window(256)
    grads = []
    for on in (False, True):
        with accelerated(on):
            a = x.clone().requires_grad_()
            torch.stft(a, 256, 64, window=w, return_complex=True).abs().sum().backward()
            b = x.clone().requires_grad_()
            torch.fft.irfft(torch.fft.rfft(b) * 2).sum().backward()
        grads.append((a.grad, b.grad))
    assert close(grads[1][0], grads[0][0]) and close(grads[1][1], grads[0][1])


def test_inference_mode_calls_are_accelerated_too() -> None:
    x = torch.randn(16000)
    w = torch.hann_window(512)
    with accelerated(), torch.inference_mode():
        c0 = calls()
        torch.stft(x, 512, 256, window=w, return_complex=True)
        assert calls()["aten_stft"] == c0["aten_stft"] + 1


def test_environment_variable_turns_it_on_at_import() -> None:
    code = (
        "import torch, armstft, armstft.faststft as f\n"
        "assert f.accelerated()\n"
        "x = torch.randn(16000)\n"
        "torch.stft(x, 512, 256, window=torch.hann_window(512), return_complex=True)\n"
        "assert f.engine_calls()['aten_stft'] == 1, f.engine_calls()\n"
        "print('ok')\n"
    )
    env = {**os.environ, "ARMSTFT_ACCELERATE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    env["ARMSTFT_ACCELERATE"] = "0"
    code_off = "import armstft, armstft.faststft as f\nassert not f.accelerated()\n"
    out = subprocess.run(
        [sys.executable, "-c", code_off], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]


def test_public_names() -> None:
    assert armstft.accelerate is fast.accelerate and armstft.accelerated is fast.accelerated
