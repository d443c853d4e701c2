"""What the fast STFT hands to torch.stft, and that the answer is then torch's own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import armstft.faststft as fast
from tests.unit.conftest import DEFAULT_BUNDLE


def test_requires_grad_falls_back_and_stays_differentiable() -> None:
    x = torch.randn(4000, requires_grad=True)
    w = torch.hann_window(512)
    y = fast.stft(x, 512, 128, window=w, return_complex=True)
    y.abs().sum().backward()
    x2 = x.detach().clone().requires_grad_(True)
    torch.stft(x2, 512, 128, window=w, return_complex=True).abs().sum().backward()
    assert torch.allclose(x.grad, x2.grad, rtol=1e-5, atol=1e-5)


def test_no_grad_mode_uses_the_engine_even_for_leaf_tensors() -> None:
    x = torch.randn(4000, requires_grad=True)
    w = torch.hann_window(512)
    before = fast.engine_calls()["stft"]
    with torch.no_grad():
        fast.stft(x, 512, 128, window=w, return_complex=True)
    assert fast.engine_calls()["stft"] == before + int(fast.available())
    fast.stft(x, 512, 128, window=w, return_complex=True)  # grad enabled: torch's differentiable ops
    assert fast.engine_calls()["stft"] == before + int(fast.available())


@pytest.mark.parametrize(
    "x",
    [
        torch.randn(3000, dtype=torch.float64),
        torch.randn(2, 3, 3000),
        torch.randn(3000, dtype=torch.complex64),
    ],
    ids=["float64", "3-d", "complex"],
)
def test_uncovered_inputs_give_torch_results(x: torch.Tensor) -> None:
    kwargs = dict(
        n_fft=256, hop_length=64, window=torch.hann_window(256, dtype=x.real.dtype), return_complex=True
    )
    try:
        ref = torch.stft(x, **kwargs)
    except RuntimeError as exc:
        with pytest.raises(type(exc)):
            fast.stft(x, **kwargs)
        return
    assert torch.equal(fast.stft(x, **kwargs), ref)


def test_n_fft_400_runs_on_the_mixed_radix_engine() -> None:
    """400 is not a power of two: the mixed-radix plan (4*2*5*5) covers it, within rel. 1e-5 of torch."""
    assert fast.covers(400) == fast.available()
    x = torch.randn(16000)
    w = torch.hann_window(400)
    ref = torch.stft(x, 400, 160, window=w, return_complex=True)
    got = fast.stft(x, 400, 160, window=w, return_complex=True)
    assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max())


def test_size_without_plan_is_torchs_exact_result() -> None:
    """n_fft 74 (n/2 = 37, a prime above the engine's largest radix): torch.stft itself answers."""
    assert not fast.covers(74)
    x = torch.randn(3000)
    w = torch.hann_window(74)
    ref = torch.stft(x, 74, 20, window=w, return_complex=True)
    assert torch.equal(fast.stft(x, 74, 20, window=w, return_complex=True), ref)


def test_missing_return_complex_raises_like_torch() -> None:
    x = torch.randn(2000)
    with pytest.raises(RuntimeError):
        torch.stft(x, 256)
    with pytest.raises(RuntimeError):
        fast.stft(x, 256)


def test_reflect_pad_longer_than_signal_raises_like_torch() -> None:
    x = torch.randn(100)
    with pytest.raises(RuntimeError):
        torch.stft(x, 512, return_complex=True)
    with pytest.raises(RuntimeError):
        fast.stft(x, 512, return_complex=True)


def test_without_native_engine_everything_still_works() -> None:
    """A package built with ARMSTFT_NO_NATIVE=1 (or the engine switched off) answers through torch."""
    code = (
        "import torch, armstft.faststft as f\n"
        "assert not f.available(), 'engine should be off'\n"
        "x = torch.randn(8000); w = torch.hann_window(512)\n"
        "a = f.stft(x, 512, 256, window=w, return_complex=True)\n"
        "assert torch.equal(a, torch.stft(x, 512, 256, window=w, return_complex=True))\n"
        "b = torch.ops.armstft.stft(x, 512, 256, 512, w, True, 'reflect', False, True, True)\n"
        "assert torch.equal(b, a)\n"
        "s = f.StreamingStft(512, 256, w)\n"
        "assert not s.available()\n"
        "got = torch.cat([s.push(c).clone() for c in x.split(300)], 1)\n"
        "ref = torch.stft(x, 512, 256, window=w, center=False, return_complex=True)\n"
        "assert got.shape == ref.shape and (got - ref).abs().max() <= 1e-5 * ref.abs().max()\n"
        "print('ok')\n"
    )
    env = {**os.environ, "ARMSTFT_FASTSTFT": "off"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_without_native_engine_the_committed_bundle_verifies() -> None:
    """Every variant, the armstft log-mel ones included (their scripted calls leave trailing arguments at
    the schema's defaults, which the dispatcher does not pass to a Python kernel), through torch's ops."""
    env = {**os.environ, "ARMSTFT_FASTSTFT": "off"}
    argv = [sys.executable, "-m", "armstft", "verify", str(DEFAULT_BUNDLE)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "log_mel_reference" not in out.stderr
