"""armstft.faststft.stft against torch.stft over a generated grid of parameters (hypothesis).

Every drawn call must give torch.stft's result (max |diff| <= 1e-5 * max |torch|, same shape, dtype and
strides) or, where torch rejects the arguments, the same exception type.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import armstft.faststft as fast

RTOL = 1e-5
SIZES = [32, 64, 128, 256, 512, 1024, 2048]
MIXED_SIZES = [16, 20, 30, 100, 400, 480, 882, 1000, 1200]  # even, n/2 with prime factors <= 31
NO_PLAN_SIZES = [15, 33, 74, 401]  # odd, or n/2 with a prime factor > 31 (37): torch.stft answers


def assert_same(got: torch.Tensor, ref: torch.Tensor) -> None:
    assert got.shape == ref.shape
    assert got.dtype == ref.dtype
    # same memory layout (strides of size-1 dimensions carry no meaning and torch's vary)
    assert [st for st, n in zip(got.stride(), got.shape, strict=True) if n > 1] == [
        st for st, n in zip(ref.stride(), ref.shape, strict=True) if n > 1
    ]
    scale = float(ref.abs().max()) if ref.numel() else 0.0
    err = float((got - ref).abs().max()) if ref.numel() else 0.0
    assert err <= RTOL * scale + 1e-30, f"max |diff| {err:.3g} > {RTOL} * {scale:.3g}"


@st.composite
def stft_calls(draw: st.DrawFn, sizes: list[int]) -> tuple[torch.Tensor, dict]:
    n_fft = draw(st.sampled_from(sizes))
    center = draw(st.booleans())
    pad_mode = draw(st.sampled_from(["reflect", "constant", "replicate", "circular"]))
    length = draw(st.integers(n_fft // 2 + 1 if center else n_fft, 4 * n_fft + 17))
    batch = draw(st.sampled_from([None, 1, 3]))
    hop = draw(st.one_of(st.none(), st.integers(1, n_fft + 7)))
    win_length = draw(st.one_of(st.none(), st.integers(1, n_fft)))
    wl = n_fft if win_length is None else win_length
    kind = draw(st.sampled_from(["none", "hann", "random"]))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    window = {"none": None, "hann": torch.hann_window(wl), "random": torch.rand(wl, generator=g)}[kind]
    x = torch.randn((length,) if batch is None else (batch, length), generator=g)
    kwargs = dict(
        n_fft=n_fft, hop_length=hop, win_length=win_length, window=window, center=center, pad_mode=pad_mode,
        normalized=draw(st.booleans()), onesided=draw(st.sampled_from([None, True, False])),
        return_complex=draw(st.booleans()),
    )  # fmt: skip
    return x, kwargs


def compare(x: torch.Tensor, kwargs: dict) -> None:
    try:
        ref = torch.stft(x, **kwargs)
    except RuntimeError as exc:
        with pytest.raises(type(exc)):
            fast.stft(x, **kwargs)
        return
    assert_same(fast.stft(x, **kwargs), ref)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(stft_calls(SIZES))
def test_parity_grid_power_of_two(call: tuple[torch.Tensor, dict]) -> None:
    compare(*call)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(stft_calls(MIXED_SIZES))
def test_parity_grid_mixed_radix(call: tuple[torch.Tensor, dict]) -> None:
    compare(*call)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=40, deadline=None, database=None)
@given(stft_calls(NO_PLAN_SIZES))
def test_parity_grid_sizes_without_plan(call: tuple[torch.Tensor, dict]) -> None:
    compare(*call)


@pytest.mark.parametrize("n_fft", NO_PLAN_SIZES)
def test_sizes_without_plan_are_not_claimed(n_fft: int) -> None:
    assert not fast.covers(n_fft)


@pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")
@pytest.mark.parametrize("n_fft", SIZES + MIXED_SIZES)
def test_engine_takes_the_fast_path(n_fft: int) -> None:
    """The grid above could pass by falling back everywhere: show the covered sizes really run native."""
    x = torch.randn(2, 3 * n_fft)
    w = torch.hann_window(n_fft)
    before = fast.engine_calls()["stft"]
    got = fast.stft(x, n_fft, n_fft // 4, window=w, return_complex=True)
    assert fast.engine_calls()["stft"] == before + 1
    assert_same(got, torch.stft(x, n_fft, n_fft // 4, window=w, return_complex=True))


def test_long_signal_accuracy_against_float64() -> None:
    """10 s at 44.1 kHz, n_fft 1024 (case C): error of both float32 paths vs a float64 reference."""
    x = torch.randn(441000, generator=torch.Generator().manual_seed(1))
    w = torch.hann_window(1024)
    ref64 = torch.stft(x.double(), 1024, 256, window=w.double(), return_complex=True)
    ours = fast.stft(x, 1024, 256, window=w, return_complex=True).to(torch.complex128)
    theirs = torch.stft(x, 1024, 256, window=w, return_complex=True).to(torch.complex128)
    scale = float(ref64.abs().max())
    assert float((ours - ref64).abs().max()) <= 1e-6 * scale
    assert float((theirs - ref64).abs().max()) <= 1e-6 * scale
