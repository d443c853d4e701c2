"""armstft.accelerate() and torch.istft: unmodified calls (torchaudio's InverseSpectrogram and GriffinLim
among them) run on the engine's inverse STFT for the calls it covers, torch's own kernel for the rest.

Correctness is checked against a float64 NumPy inverse STFT written here from the definition (irfft of
each frame, window, overlap-add, division by the overlap-added squared window, centre trim / length).
Tolerance, from an error model of the float32 computation (not fitted on this machine): with eps = 2**-24,
a frame's inverse real FFT of n points errs by at most g = 5 * eps * log2(n) of the frame's 2-norm (the
usual FFT bound: a few eps per butterfly stage), so by at most g * F2 per sample (F2 the largest frame
2-norm); each output sample sums at most K = ceil(n / hop) windowed frames (max |w| = W), the sum adds
K * eps * W * Finf (Finf the largest frame sample), and the division by the envelope (at least E on the
kept samples) and the final rounding add eps * |y|.  So

    max |got - ref| <= (K * W * (g * F2 + K * eps * Finf)) / E + eps * max |ref|

where F2, Finf, E come from the float64 reference itself.  torch's own float32 istft is held to the same
bound (so the bound is not tailored to our engine); NaN never passes (comparisons are `not err <= tol`).

Inputs that need grad go to torch's own istft (as they do for stft's acceleration): the engine's inverse
has no backward, so the gradients are torch's exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchaudio

import armstft.faststft as fast
from tests.unit.faststft.acceleration import accelerated

pytestmark = pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")
EPS = 2.0**-24


def istft_calls() -> int:
    return fast.engine_calls()["istft"]


def reference(spec: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, *, center: bool,
              normalized: bool, length: int | None) -> tuple[np.ndarray, float]:  # fmt: skip
    """torch.istft's definition in float64 NumPy, and the error model's tolerance for a float32 result."""
    s = spec.resolve_conj().numpy().astype(np.complex128)
    s = s[None] if s.ndim == 2 else s
    wl = window.numel()
    w = np.zeros(n_fft)
    w[(n_fft - wl) // 2 : (n_fft - wl) // 2 + wl] = window.double().numpy()
    frames = np.fft.irfft(s, n_fft, axis=-2) * (math.sqrt(n_fft) if normalized else 1.0)  # (B, n, T)
    n_frames = s.shape[-1]
    full = n_fft + hop * (n_frames - 1)
    y = np.zeros((s.shape[0], full))
    env = np.zeros(full)
    for t in range(n_frames):
        y[:, t * hop : t * hop + n_fft] += frames[:, :, t] * w
        env[t * hop : t * hop + n_fft] += w * w
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else (full - n_fft // 2 if center else full)
    y, env = y[:, start:end] / env[start:end], env[start:end]
    big_k, big_w = math.ceil(n_fft / hop), float(np.abs(w).max())
    f2 = float(np.sqrt((frames**2).sum(axis=1)).max())
    finf = float(np.abs(frames).max())
    g = 5 * EPS * math.log2(n_fft)
    tol = big_k * big_w * (g * f2 + big_k * EPS * finf) / float(env.min()) + EPS * float(np.abs(y).max())
    return (y if spec.dim() == 3 else y[0]), tol


def within(got: torch.Tensor, ref: np.ndarray, tol: float) -> bool:
    err = float(np.abs(got.double().numpy() - ref).max()) if ref.size else 0.0
    return got.shape == ref.shape and got.dtype == torch.float32 and err <= tol  # NaN: False


def spectrum(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, dtype=torch.complex64, generator=torch.Generator().manual_seed(seed))


CASES = {
    # id: (n_fft, hop, window, center, normalized, length, batch)
    "center-hann": (512, 128, torch.hann_window(512), True, False, None, None),
    "no-center-hamming": (400, 160, torch.hamming_window(400), False, False, None, None),
    "normalized": (512, 256, torch.hann_window(512), True, True, None, None),
    "batched-length": (256, 64, torch.hann_window(256), True, False, 1000, 3),
    "custom-short-window": (
        480,
        100,
        torch.rand(300, generator=torch.Generator().manual_seed(1)) + 0.5,
        True,
        False,
        2000,
        2,
    ),
    "onesided-explicit-no-center": (64, 16, torch.ones(64), False, False, 200, None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_covered_calls_run_on_the_engine_within_the_error_bound(case: tuple) -> None:
    n_fft, hop, w, center, normalized, length, batch = case
    shape = (n_fft // 2 + 1, 30) if batch is None else (batch, n_fft // 2 + 1, 30)
    spec = spectrum(shape, n_fft)
    kwargs = dict(window=w, center=center, normalized=normalized, length=length, onesided=True)
    ref, tol = reference(spec, n_fft, hop, w, center=center, normalized=normalized, length=length)
    assert within(torch.istft(spec, n_fft, hop, w.numel(), **kwargs), ref, tol)  # torch meets the bound too
    with accelerated():
        before = istft_calls()
        got = torch.istft(spec, n_fft, hop, w.numel(), **kwargs)
        assert istft_calls() == before + 1
    assert within(got, ref, tol)


def test_strided_and_conjugated_spectra_from_stft() -> None:
    """A spectrum as torch.stft(return_complex=True) gives it, a transposed view, and a lazy conj view."""
    x = torch.randn(2, 8000, generator=torch.Generator().manual_seed(3))
    w = torch.hann_window(512)
    spec = torch.stft(x, 512, 128, window=w, return_complex=True)
    views = [spec, spec.transpose(-1, -2).contiguous().transpose(-1, -2), spec.conj()]
    for view in views:
        ref, tol = reference(view, 512, 128, w, center=True, normalized=False, length=8000)
        with accelerated():
            before = istft_calls()
            got = torch.istft(view, 512, 128, window=w, length=8000)
            assert istft_calls() == before + 1
        assert within(got, ref, tol)


def test_nan_in_the_spectrum_is_never_within_tolerance() -> None:
    spec = spectrum((257, 10), 0)
    spec[3, 4] = complex(float("nan"), 0.0)
    w = torch.hann_window(512)
    ref, tol = reference(spec.nan_to_num(), 512, 128, w, center=True, normalized=False, length=None)
    with accelerated():
        got = torch.istft(spec, 512, 128, window=w)
    assert torch.isnan(got).any() and not within(got, ref, tol)


UNCOVERED = {
    "no-window": lambda s, w: torch.istft(s, 512, 128),  # torch warns and uses ones: left to torch
    "two-sided-complex-out": lambda s, w: torch.istft(
        torch.cat([s, s[1:-1].flip(0).conj()]), 512, 128, window=w, onesided=False, return_complex=True
    ),
    "two-sided-real-out": lambda s, w: torch.istft(
        torch.cat([s, s[1:-1].flip(0).conj()]), 512, 128, window=w, onesided=False
    ),
    "complex128": lambda s, w: torch.istft(s.to(torch.complex128), 512, 128, window=w.double()),
    "no-plan": lambda s, w: torch.istft(spectrum((38, 10), 2), 74, 18, window=torch.hann_window(74)),
    "length-padded": lambda s, w: torch.istft(s, 512, 128, window=w, length=5000),  # longer than the signal
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("call", UNCOVERED.values(), ids=UNCOVERED.keys())
def test_uncovered_calls_are_torchs_own(call) -> None:  # type: ignore[no-untyped-def]
    s, w = spectrum((257, 20), 5), torch.hann_window(512)
    ref = call(s, w)
    with accelerated():
        before = fast.engine_calls()
        got = call(s, w)
        after = fast.engine_calls()
    assert after["istft"] == before["istft"]
    if after["fft_c2r"] == before["fft_c2r"]:
        assert torch.equal(got, ref)
    else:  # torch's istft, whose inner irfft (aten::_fft_c2r) the acceleration answers, as before this change
        assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max())


def test_errors_are_torchs() -> None:
    s = spectrum((257, 20), 6)
    with pytest.raises(RuntimeError) as ref:
        torch.istft(s, 512, 128, window=torch.zeros(512))  # NOLA violated
    with accelerated(), pytest.raises(RuntimeError) as got:
        torch.istft(s, 512, 128, window=torch.zeros(512))
    assert str(got.value).split("\n")[0] == str(ref.value).split("\n")[0]


def test_gradients_are_torchs() -> None:
    """Inputs that need grad are handed to torch's own istft (the engine's inverse is not called).

    torch's istft stays differentiable; its inner FFT primitives (aten::_fft_c2r forward, _fft_r2c in the
    backward) are answered by the FFT acceleration below autograd as before this change, so values and
    gradients agree with acceleration off within that acceleration's 1e-5 of the peak.
    """
    w = torch.hann_window(512)
    grads, outs = [], []
    for on in (False, True):
        spec = spectrum((257, 20), 7).requires_grad_()
        with accelerated(on):
            before = istft_calls()
            y = torch.istft(spec, 512, 128, window=w)
            assert istft_calls() == before
        (y * torch.arange(y.numel())).sum().backward()
        grads.append(spec.grad)
        outs.append(y.detach())
    for off, on in ((outs[0], outs[1]), (grads[0], grads[1])):
        assert float((on - off).abs().max()) <= 1e-5 * float(off.abs().max())


def test_inference_mode_and_torchscript_reach_the_engine() -> None:
    def call(spec: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return torch.istft(spec, 512, 128, window=w)

    scripted = torch.jit.script(call)
    spec, w = spectrum((257, 20), 8), torch.hann_window(512)
    ref, tol = reference(spec, 512, 128, w, center=True, normalized=False, length=None)
    with accelerated():
        before = istft_calls()
        with torch.inference_mode():
            a = call(spec, w)
        b = scripted(spec, w)
        assert istft_calls() == before + 2
    assert within(a, ref, tol) and within(b, ref, tol)


def test_torchaudio_inverse_spectrogram_unchanged_code() -> None:
    inv = torchaudio.transforms.InverseSpectrogram(n_fft=512, hop_length=128)
    spec = spectrum((2, 257, 40), 9)
    ref, tol = reference(spec, 512, 128, torch.hann_window(512), center=True, normalized=False, length=None)
    with accelerated():
        before = istft_calls()
        got = inv(spec)
        assert istft_calls() == before + 1
    assert within(got, ref, tol)


def test_torchaudio_griffin_lim_unchanged_code() -> None:
    """Every istft of GriffinLim's iterations reaches the engine (its stfts reach the accelerated stft).

    Compared with acceleration off: each of the 2 * n_iter + 1 transforms errs by at most ~1e-5 of its
    peak (the stft and istft bounds), and the phase update angles / |angles| passes an error on relatively
    (it can amplify it only at bins whose magnitude is tiny, and those carry no weight in the output): so
    the outputs agree within (2 * n_iter + 1) * 1e-5 of the peak.
    """
    n_iter = 4
    x = torch.randn(16000, generator=torch.Generator().manual_seed(10))
    mag = torch.stft(x, 512, 128, window=torch.hann_window(512), return_complex=True).abs().pow(2)
    gl = torchaudio.transforms.GriffinLim(n_fft=512, hop_length=128, n_iter=n_iter, rand_init=False)
    ref = gl(mag)
    with accelerated():
        before = fast.engine_calls()
        got = gl(mag)
        after = fast.engine_calls()
    assert after["istft"] == before["istft"] + n_iter + 1
    assert after["aten_stft"] == before["aten_stft"] + n_iter
    err = float((got - ref).abs().max())
    assert got.shape == ref.shape and err <= (2 * n_iter + 1) * 1e-5 * float(ref.abs().max())


def test_torch_compile_runs_the_engine_without_graph_break() -> None:
    """torch.compile (fullgraph) traces the accelerated aten::istft (the internal op's Meta kernel) and the
    compiled call runs the engine's CPU kernel."""
    w = torch.hann_window(512)

    def call(spec: torch.Tensor) -> torch.Tensor:
        return torch.istft(spec, 512, 128, window=w)

    spec = spectrum((257, 20), 11)
    ref, tol = reference(spec, 512, 128, w, center=True, normalized=False, length=None)
    with accelerated():
        compiled = torch.compile(call, fullgraph=True)
        compiled(spec)  # compiles
        before = istft_calls()
        got = compiled(spec)
        assert istft_calls() == before + 1
    assert within(got, ref, tol)
