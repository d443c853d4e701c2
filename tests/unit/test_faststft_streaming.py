"""StreamingStft: pushed in any chunking, the frames equal torch.stft(center=False) of the whole signal."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.profiler import ProfilerActivity, profile

import armstft.faststft as fast


def reference(x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, normalized: bool) -> torch.Tensor:
    return torch.stft(x, n_fft, hop, window=window, center=False, normalized=normalized, return_complex=True)


@settings(max_examples=120, deadline=None, database=None)
@given(
    n_fft=st.sampled_from([32, 64, 256, 512, 1024, 400, 480, 74]),
    hop_frac=st.floats(0.05, 1.0),
    wl_frac=st.floats(0.3, 1.0),
    normalized=st.booleans(),
    chunks=st.lists(st.integers(0, 1500), min_size=1, max_size=12),
    max_frames=st.sampled_from([1, 3, 64]),
    seed=st.integers(0, 2**31 - 1),
)
def test_any_chunking_matches_torch(
    n_fft: int,
    hop_frac: float,
    wl_frac: float,
    normalized: bool,
    chunks: list[int],
    max_frames: int,
    seed: int,
) -> None:
    hop = max(1, int(n_fft * hop_frac))
    window = torch.hann_window(max(1, int(n_fft * wl_frac)))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(sum(chunks), generator=g)
    s = fast.StreamingStft(n_fft, hop, window, normalized=normalized, max_frames=max_frames)
    parts = [s.push(c).clone() for c in x.split(chunks)]
    got = torch.cat(parts, dim=1)
    if x.numel() < n_fft:
        assert got.shape == (n_fft // 2 + 1, 0)
        return
    full = torch.zeros(n_fft)
    left = (n_fft - window.numel()) // 2
    full[left : left + window.numel()] = window
    ref = reference(x, n_fft, hop, full, normalized)
    assert got.shape == ref.shape
    assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max()) + 1e-30


def test_available_reports_the_engine() -> None:
    assert fast.StreamingStft(512, 256).available() == fast.available()
    assert fast.StreamingStft(400, 160).available() == fast.available()  # mixed-radix plan
    assert not fast.StreamingStft(74, 20).available()  # no plan (37 is prime > 31): fallback, still correct


def test_reset_starts_a_new_stream() -> None:
    x = torch.randn(3000)
    s = fast.StreamingStft(512, 128, torch.hann_window(512))
    s.push(torch.randn(777))
    s.reset()
    got = s.push(x).clone()
    ref = reference(x, 512, 128, torch.hann_window(512), False)
    assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max())


@pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")
def test_push_returns_views_of_one_preallocated_buffer() -> None:
    s = fast.StreamingStft(512, 256, torch.hann_window(512), max_frames=8)
    s.push(torch.randn(256))
    block = torch.randn(256)
    ptrs = {s.push(block).data_ptr() for _ in range(50)}
    assert ptrs == {s._out.data_ptr()}


@pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")
def test_push_allocates_nothing() -> None:
    """Measured with torch's profiler (CPU allocator events); a torch.stft call is the probe's control."""
    w = torch.hann_window(512)
    s = fast.StreamingStft(512, 256, w)
    block = torch.randn(256)
    s.push(torch.randn(512))
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        for _ in range(100):
            s.push(block)
    pushes = [e for e in prof.events() if e.name == "[memory]"]
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        torch.stft(torch.randn(512), 512, 256, window=w, center=False, return_complex=True)
    control = [e for e in prof.events() if e.name == "[memory]"]
    assert control, "the profiler saw no allocation even in torch.stft: probe not working"
    assert pushes == []


def test_bad_arguments_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match="hop_length"):
        fast.StreamingStft(512, 0)
    with pytest.raises(ValueError, match="hop_length"):
        fast.StreamingStft(512, 600)
    with pytest.raises(ValueError, match="window"):
        fast.StreamingStft(256, 64, torch.ones(300))
