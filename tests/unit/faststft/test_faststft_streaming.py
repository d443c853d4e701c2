"""StreamingStft: pushed in any chunking, the frames equal torch.stft(center=False) of the whole signal;
flush() adds the frame of the last samples; bad arguments and inputs are clear errors, never a crash."""

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
    hop_frac=st.floats(0.05, 2.5),  # hop > n_fft too: torch.stft skips the samples between frames
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
    assert len(ptrs) == 1


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
    with pytest.raises(ValueError, match="window"):
        fast.StreamingStft(256, 64, torch.ones(300))
    with pytest.raises(ValueError, match="max_frames"):
        fast.StreamingStft(256, 64, max_frames=(1 << 24) + 1)


@pytest.mark.parametrize("n_fft", [512, 74])  # engine, and the torch.stft fallback (no plan for 74)
@pytest.mark.parametrize("length", [0, 100, 511, 512, 700, 1000, 1024, 1300])
def test_flush_gives_the_frame_of_the_trailing_samples(n_fft: int, length: int) -> None:
    """flush(): what torch.stft(center=False) gives once just enough zeros are appended for the last frame."""
    hop = n_fft // 2
    w = torch.hann_window(n_fft)
    x = torch.randn(length, generator=torch.Generator().manual_seed(length))
    s = fast.StreamingStft(n_fft, hop, w)
    frames = [s.push(c).clone() for c in x.split(97)]
    tail = s.flush().clone()
    got = torch.cat([*frames, tail], dim=1)
    covered = 0 if length < n_fft else (1 + (length - n_fft) // hop - 1) * hop + n_fft
    expect_tail = 1 if length > covered else 0
    assert tail.shape == (n_fft // 2 + 1, expect_tail)
    if got.shape[1] == 0:
        return
    padded = torch.cat([x, torch.zeros(n_fft)])
    ref = reference(padded, n_fft, hop, w, False)[:, : got.shape[1]]
    assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max())
    assert s.flush().shape[1] == 0  # flush also reset the stream
    again = s.push(x).clone()  # and a new stream starts from scratch
    if length >= n_fft:
        assert float((again - reference(x, n_fft, hop, w, False)).abs().max()) <= 1e-5 * float(
            ref.abs().max()
        )


@pytest.mark.parametrize("n_fft,hop", [(512, 700), (256, 1000), (74, 100)])
def test_hop_longer_than_frame_like_torch(n_fft: int, hop: int) -> None:
    """torch.stft allows hop > n_fft (samples between frames are skipped): so does the stream."""
    x = torch.randn(9000, generator=torch.Generator().manual_seed(3))
    w = torch.hann_window(n_fft)
    s = fast.StreamingStft(n_fft, hop, w)
    assert s.available() == fast.covers(n_fft)
    got = torch.cat([s.push(c).clone() for c in x.split([1, 333, 2000, 17, 4000, 2649])], dim=1)
    ref = reference(x, n_fft, hop, w, False)
    assert got.shape == ref.shape
    assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max())


def test_complex_window_is_refused_not_truncated() -> None:
    """A complex window has no one-sided STFT; silently dropping its imaginary part was a wrong answer."""
    w = torch.hann_window(256) * (1 + 1j)
    with pytest.raises(ValueError, match="window: expected a real floating-point tensor"):
        fast.StreamingStft(256, 64, w)


@pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")
def test_large_max_frames_stays_on_the_engine() -> None:
    """max_frames above 2^20 used to fall back to torch.stft silently; now the engine takes it."""
    s = fast.StreamingStft(32, 8, torch.hann_window(32), max_frames=(1 << 20) + 1)
    assert s.available()
    x = torch.randn(5000)
    ref = reference(x, 32, 8, torch.hann_window(32), False)
    got = s.push(x)
    assert got.shape == ref.shape
    assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max())


@pytest.mark.parametrize("n_fft", [512, 74])
def test_samples_on_another_device_are_an_error_not_a_crash(n_fft: int) -> None:
    """A meta (or fake) tensor has no data: reading it natively segfaulted; now it is a clear error."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    s = fast.StreamingStft(n_fft, n_fft // 2)
    with pytest.raises((ValueError, RuntimeError), match="CPU"):
        s.push(torch.empty(2000, device="meta"))
    with FakeTensorMode() as mode:
        fake = mode.from_tensor(torch.randn(2000))
    with pytest.raises((ValueError, RuntimeError), match=r"FakeTensor|CPU|subclass"):
        s.push(fake)
    with pytest.raises((ValueError, RuntimeError), match="real"):
        s.push(torch.randn(600, dtype=torch.complex64))
    s.push(torch.randn(700))  # the stream itself is still usable
