"""The STFT stage against the float64 NumPy reference over a grid of parameters (peak-relative error <= 1e-5).

The reference is itself checked against a direct O(N^2) DFT, so the two cannot share a mistake.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from armstft.audio.reference import peak_relative_error, stft64, window64
from armstft.core.config import PAD_MODES, WINDOWS, StftConfig
from armstft.nn.frontend import make_frontend

TOLERANCE = 1e-5


def test_reference_matches_direct_dft() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(301)
    n_fft, hop, win = 64, 17, 50
    got = stft64(x, n_fft, hop, win, window="hann", center=False)
    w = np.zeros(n_fft)
    w[(n_fft - win) // 2 : (n_fft - win) // 2 + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    k = np.arange(n_fft // 2 + 1)[:, None]
    n = np.arange(n_fft)[None, :]
    basis = np.exp(-2j * np.pi * k * n / n_fft)
    frames = [x[s : s + n_fft] * w for s in range(0, len(x) - n_fft + 1, hop)]
    want = np.stack([basis @ f for f in frames], axis=-1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("window", WINDOWS)
def test_reference_windows_match_torch_periodic(window: str) -> None:
    from armstft.nn.frontend import make_window

    np.testing.assert_allclose(window64(window, 400), make_window(window, 400).double().numpy(), atol=1e-6)


def _grid() -> list[tuple[int, int, int, bool, str, str, int, int]]:
    """n_fft x hop x win_length x center x pad_mode x window x batch x length, thinned to stay quick."""
    cases = []
    rows = itertools.product(
        (256, 512, 1024, 400),
        (0.25, 0.5),
        (1.0, 0.75),
        (True, False),
        PAD_MODES,
        WINDOWS,
        (1, 3),
        (4001, 16000),
    )
    for i, (n_fft, hop_frac, win_frac, center, pad, window, batch, length) in enumerate(rows):
        if not center and pad != "reflect":
            continue  # pad_mode only matters with center=True
        if i % 7:  # a deterministic 1-in-7 sample of the full product still covers every value
            continue
        cases.append(
            (
                n_fft,
                int(n_fft * hop_frac),
                int(n_fft * win_frac) - (1 if win_frac < 1 else 0),
                center,
                pad,
                window,
                batch,
                length,
            )
        )
    return cases


@pytest.mark.parametrize(("n_fft", "hop", "win", "center", "pad_mode", "window", "batch", "length"), _grid())
def test_stft_stage_matches_float64_reference(
    n_fft: int, hop: int, win: int, center: bool, pad_mode: str, window: str, batch: int, length: int
) -> None:
    config = StftConfig(
        n_fft=n_fft,
        hop_length=hop,
        win_length=win,
        center=center,
        pad_mode=pad_mode,
        window=window,
        n_mels=40,
    )
    rng = np.random.default_rng(n_fft + hop + win + batch + length)
    audio = rng.standard_normal((batch, length)).astype(np.float32)
    with torch.inference_mode():
        got = make_frontend(config)(torch.from_numpy(audio)).numpy()
    want = stft64(audio.astype(np.float64), n_fft, hop, win, window, center, pad_mode)
    assert got.shape == want.shape
    assert peak_relative_error(got, want) <= TOLERANCE


def test_grid_covers_every_value() -> None:
    grid = _grid()
    assert {c[0] for c in grid} == {256, 512, 1024, 400}
    assert {c[3] for c in grid} == {True, False}
    assert {c[4] for c in grid} == set(PAD_MODES)
    assert {c[5] for c in grid} == set(WINDOWS)
    assert {c[6] for c in grid} == {1, 3}
    assert any(c[2] < c[0] for c in grid)


def test_normalized_and_single_channel() -> None:
    config = StftConfig(normalized=True)
    audio = np.random.default_rng(3).standard_normal(8001).astype(np.float32)
    with torch.inference_mode():
        got = make_frontend(config)(torch.from_numpy(audio)).numpy()
    want = stft64(audio[None].astype(np.float64), 512, 256, 512, normalized=True)
    assert peak_relative_error(got, want) <= TOLERANCE


def test_peak_relative_error_detects_a_wrong_spectrum() -> None:
    audio = np.random.default_rng(4).standard_normal((1, 4000))
    want = stft64(audio, 512, 256, 512)
    wrong = want.copy()
    wrong[0, 10, 3] += 1e-3 * np.abs(want).max()
    assert peak_relative_error(wrong, want) > TOLERANCE
