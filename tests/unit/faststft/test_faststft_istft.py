"""armstft.istft against torch.istft over a generated grid (hypothesis), and the stft -> istft round trip."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import armstft
import armstft.faststft as fast


@st.composite
def istft_calls(draw: st.DrawFn) -> tuple[torch.Tensor, dict]:
    n_fft = draw(st.sampled_from([32, 64, 256, 512, 400, 480, 74]))
    win_length = draw(st.integers(max(1, n_fft // 3), n_fft))
    hop = draw(st.integers(1, win_length + 8))  # torch refuses hop > win_length: so must we
    n_frames = draw(st.integers(1, 12))
    batch = draw(st.sampled_from([None, 1, 3]))
    center = draw(st.booleans())
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    shape = (n_fft // 2 + 1, n_frames) if batch is None else (batch, n_fft // 2 + 1, n_frames)
    spec = torch.randn(shape, dtype=torch.complex64, generator=g)
    window = draw(st.sampled_from(["hann", "ones", "rand"]))
    w = {"hann": torch.hann_window(win_length), "ones": torch.ones(win_length),
         "rand": torch.rand(win_length, generator=g) + 0.1}[window]  # fmt: skip
    expected = n_fft + hop * (n_frames - 1)
    length = draw(st.one_of(st.none(), st.integers(0, expected + 10)))
    kwargs = dict(n_fft=n_fft, hop_length=hop, win_length=win_length, window=w, center=center,
                  normalized=draw(st.booleans()), length=length)  # fmt: skip
    return spec, kwargs


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(istft_calls())
def test_parity_grid(call: tuple[torch.Tensor, dict]) -> None:
    spec, kwargs = call
    try:
        ref = torch.istft(spec, **kwargs)
    except RuntimeError as exc:
        with pytest.raises(type(exc)) as got:
            armstft.istft(spec, **kwargs)
        assert str(got.value).split("\n")[0] == str(exc).split("\n")[0]
        return
    got = armstft.istft(spec, **kwargs)
    assert got.shape == ref.shape and got.dtype == ref.dtype
    if ref.numel():
        assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max()) + 1e-6


@pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")
@pytest.mark.parametrize("n_fft,hop", [(512, 128), (400, 160), (1024, 256)])
def test_round_trip_on_the_engine(n_fft: int, hop: int) -> None:
    x = torch.randn(2, 16000, generator=torch.Generator().manual_seed(n_fft))
    w = torch.hann_window(n_fft)
    before = fast.engine_calls()
    spec = armstft.stft(x, n_fft, hop, window=w, return_complex=True)
    back = armstft.istft(spec, n_fft, hop, window=w, length=16000)
    after = fast.engine_calls()
    assert after["stft"] == before["stft"] + 1 and after["istft"] == before["istft"] + 1
    assert float((back - x).abs().max()) <= 1e-5 * float(x.abs().max())


def test_gradient_falls_back_to_torch() -> None:
    spec = torch.randn(257, 20, dtype=torch.complex64, requires_grad=True)
    w = torch.hann_window(512)
    armstft.istft(spec, 512, 128, window=w).sum().backward()
    spec2 = spec.detach().clone().requires_grad_()
    torch.istft(spec2, 512, 128, window=w).sum().backward()
    assert torch.allclose(spec.grad, spec2.grad, rtol=1e-5, atol=1e-6)
