"""armstft.accelerate() and the rest of torchaudio's MelSpectrogram: torch.stft's reflect padding (aten::pad)
and the complex magnitude (aten::abs of complex64), both answered exactly as torch answers them.

Why exact, not within a tolerance: both kernels are used by every caller of F.pad / Tensor.abs once
acceleration is on, so neither may change a result.  The pad is pure data movement (the same bits and
strides as torch's reflection_pad1d).  The magnitude follows glibc's hypotf (what torch's complex abs
calls on aarch64): for finite parts the float32 rounding of sqrt(re^2 + im^2) computed in float64 with
each square exact, +inf when a part is infinite, NaN otherwise for NaN.  We check it bit for bit against
NumPy's float64 hypot rounded to float32 (equal to that rule but in double-rounding ties, which the data
below does not hit: any mismatch fails) and against torch's own result with acceleration off: bit for bit
on aarch64 (glibc's hypotf there); on x86 torch's complex abs is SLEEF's vector hypot (0.5 ULP), which
differs from the correctly rounded value by one ULP on some subnormal results, so there within 1 ULP.
"""

from __future__ import annotations

import platform

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchaudio
from torch.utils._python_dispatch import TorchDispatchMode

import armstft.faststft as fast
from tests.unit.faststft.acceleration import accelerated

pytestmark = pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")


def delta(before: dict[str, int]) -> dict[str, int]:
    now = fast.engine_calls()
    return {k: now[k] - before[k] for k in now}


def awkward_complex(n: int = 6000) -> torch.Tensor:
    """Magnitudes over 80 decades, subnormals, parts near float32's largest, infinities and NaNs."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(n, dtype=torch.complex64, generator=g) * torch.logspace(-40, 38, n)
    inf, nan = float("inf"), float("nan")
    z[:4] = torch.tensor([complex(inf, nan), complex(nan, 1.0), complex(-inf, 0.0), complex(1e-45, 0.0)])
    z[4:8] = torch.tensor([complex(3e38, 3e38), complex(0.0, -0.0), complex(nan, -inf), complex(-2.5, 6.0)])
    return z


def hypot_rule(z: torch.Tensor) -> np.ndarray:
    zz = z.numpy().astype(np.complex128)
    with np.errstate(over="ignore"):
        return np.hypot(zz.real, zz.imag).astype(np.float32)


def same_bits(a: torch.Tensor, b: torch.Tensor | np.ndarray) -> bool:
    """Equal bit for bit (the sign of zero included); NaN where the other has NaN (payloads aside)."""
    b = torch.from_numpy(b) if isinstance(b, np.ndarray) else b
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    bits = torch.int64 if a.dtype == torch.float64 else torch.int32
    na, nb = a.isnan(), b.isnan()
    return torch.equal(na, nb) and torch.equal(a[~na].view(bits), b[~nb].view(bits))


def within_one_ulp(a: torch.Tensor, b: torch.Tensor) -> bool:
    na, nb = a.isnan(), b.isnan()
    steps = (a[~na].view(torch.int32).long() - b[~nb].view(torch.int32).long()).abs()
    return torch.equal(na, nb) and int(steps.max()) <= 1


@pytest.mark.parametrize("conj", [False, True], ids=["plain", "conj-view"])
def test_complex_abs_is_hypotf_bit_for_bit(conj: bool) -> None:
    z = awkward_complex().conj() if conj else awkward_complex()  # a conj view reaches the kernel resolved
    ref = z.abs()
    with accelerated():
        before = fast.engine_calls()
        got = z.abs()
        assert delta(before)["complex_abs"] == 1
    assert same_bits(got, hypot_rule(z.resolve_conj()))
    assert same_bits(got, ref) if platform.machine() == "aarch64" else within_one_ulp(got, ref)


def test_complex_abs_keeps_the_layout_of_a_spectrum() -> None:
    spec = torch.stft(torch.randn(2, 8000), 512, 256, window=torch.hann_window(512), return_complex=True)
    ref = spec.abs()
    with accelerated():
        before = fast.engine_calls()
        got = spec.abs()
        assert delta(before)["complex_abs"] == 1
    assert got.stride() == ref.stride() and same_bits(got, hypot_rule(spec).reshape(ref.shape))
    assert same_bits(got, ref) if platform.machine() == "aarch64" else within_one_ulp(got, ref)


UNCOVERED_ABS = {
    "strided-gaps": lambda z: z[::2],
    "complex128": lambda z: z.to(torch.complex128),
    "real": lambda z: z.real,
}


@pytest.mark.parametrize("view", UNCOVERED_ABS.values(), ids=UNCOVERED_ABS.keys())
def test_other_abs_calls_are_torchs_own(view) -> None:  # type: ignore[no-untyped-def]
    z = view(awkward_complex(1000))
    ref = z.abs()
    with accelerated():
        before = fast.engine_calls()
        got = z.abs()
        assert delta(before)["complex_abs"] == 0
    assert same_bits(got, ref)


def test_complex_abs_gradient_is_torchs() -> None:
    """The kernel sits below autograd: abs is still recorded, its backward is torch's own."""
    z0 = torch.randn(300, dtype=torch.complex64, generator=torch.Generator().manual_seed(1))
    grads = []
    for on in (False, True):
        z = z0.clone().requires_grad_()
        with accelerated(on):
            (z.abs() * torch.arange(300)).sum().backward()
        grads.append(z.grad)
    assert torch.equal(grads[0], grads[1])


def test_reflect_pad_is_torchs_bit_for_bit() -> None:
    x = torch.randn(2, 3, 1000, generator=torch.Generator().manual_seed(2))
    calls = [lambda: F.pad(x, [256, 256], "reflect"), lambda: F.pad(x[0], [5, 999], "reflect"),
             lambda: F.pad(x[0, :1], [0, 3], "reflect")]  # fmt: skip
    refs = [c() for c in calls]
    with accelerated():
        before = fast.engine_calls()
        gots = [c() for c in calls]
        assert delta(before)["reflect_pad"] == 3
        with torch.inference_mode():
            assert torch.equal(calls[0](), refs[0])
    assert all(torch.equal(g, r) and g.stride() == r.stride() for g, r in zip(gots, refs, strict=True))


class _Seen(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


UNCOVERED_PAD = {
    "constant": lambda x: F.pad(x, [3, 3]),
    "replicate": lambda x: F.pad(x, [3, 3], "replicate"),
    "2-d-pad": lambda x: F.pad(x[None], [3, 3, 1, 1], "reflect"),
    "float64": lambda x: F.pad(x.double(), [3, 3], "reflect"),
    "non-contiguous": lambda x: F.pad(x.transpose(0, 1), [3, 3], "reflect"),
    "zero-pad": lambda x: F.pad(x, [0, 0], "reflect"),
}


@pytest.mark.parametrize("call", UNCOVERED_PAD.values(), ids=UNCOVERED_PAD.keys())
def test_other_pad_calls_are_torchs_own(call) -> None:  # type: ignore[no-untyped-def]
    x = torch.randn(4, 50, generator=torch.Generator().manual_seed(3))
    ref = call(x)
    with accelerated():
        before = fast.engine_calls()
        got = call(x)
        assert delta(before)["reflect_pad"] == 0
    assert torch.equal(got, ref) and got.stride() == ref.stride()


def test_pad_errors_grad_modes_and_fake_tensors_are_torchs() -> None:
    x = torch.randn(1, 1, 100)
    with pytest.raises(RuntimeError) as ref:
        F.pad(x, [100, 0], "reflect")
    with accelerated():
        with pytest.raises(RuntimeError) as got:
            F.pad(x, [100, 0], "reflect")
        assert str(got.value) == str(ref.value)
        before = fast.engine_calls()
        a = x.clone().requires_grad_()
        (F.pad(a, [7, 7], "reflect") * torch.arange(114)).sum().backward()
        with _Seen() as seen:  # a dispatch mode sees torch's own kernels, as without acceleration
            F.pad(x, [7, 7], "reflect")
        from torch._subclasses.fake_tensor import FakeTensorMode

        with FakeTensorMode():
            assert F.pad(torch.empty(1, 1, 100), [7, 7], "reflect").shape == (1, 1, 114)
        assert delta(before)["reflect_pad"] == 0
    b = x.clone().requires_grad_()
    (F.pad(b, [7, 7], "reflect") * torch.arange(114)).sum().backward()
    assert torch.equal(a.grad, b.grad)
    assert any("reflection_pad1d" in op for op in seen.ops)


def test_mel_spectrogram_reaches_pad_stft_and_abs() -> None:
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, hop_length=256, n_mels=40)
    x = torch.randn(2, 16000, generator=torch.Generator().manual_seed(4))
    ref = mel(x)
    with accelerated():
        before = fast.engine_calls()
        got = mel(x)
        moved = delta(before)
    assert moved["reflect_pad"] == moved["aten_stft"] == moved["complex_abs"] == 1
    # only the STFT is not exact: its 1e-5 of the peak, squared (2e-5), through the filterbank's sums
    assert float((got - ref).abs().max()) <= 1e-4 * float(ref.abs().max())


def test_vmap_and_forward_ad_give_torchs_results() -> None:
    """functorch wrappers and dual tensors: torch's kernels (pad) or the exact kernel on the unwrapped
    tensor (abs under vmap); either way torch's values and tangents."""
    x = torch.randn(5, 1, 100, generator=torch.Generator().manual_seed(5))
    z = torch.randn(5, 300, dtype=torch.complex64, generator=torch.Generator().manual_seed(6))

    def run() -> list[torch.Tensor]:
        pad = torch.vmap(lambda t: F.pad(t, [7, 7], "reflect"))(x)
        mag = torch.vmap(torch.abs)(z)
        primal, tangent = torch.func.jvp(lambda t: F.pad(t, [7, 7], "reflect"), (x,), (torch.ones_like(x),))
        return [pad, mag, primal, tangent]

    ref = run()
    with accelerated():
        got = run()
    assert all(torch.equal(g, r) for g, r in zip(got, ref, strict=True))
