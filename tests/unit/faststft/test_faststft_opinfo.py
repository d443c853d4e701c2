"""PyTorch's own spectral-op tests, run with armstft's acceleration on.

The torch wheel ships its OpInfo database (torch.testing._internal): every fft.* op, stft and istft, each
with generated sample inputs.  For every float32 / complex64 sample we compare the accelerated result with
the same call with acceleration off and with torch's float64 answer to the same sample (torch's own
test_numpy_ref checks that float64 answer against NumPy), within 1e-5 of the result's peak (the
project's float32 tolerance); and the gradient of every differentiable sample with acceleration on and
off.  The engine's counters prove the samples really reached it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

import armstft.faststft as fast

pytest.importorskip("expecttest", reason="torch.testing._internal needs expecttest (pip, a dev dependency)")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}"),
]

SKIP = {"fft.fftshift", "fft.ifftshift"}  # no transform inside


def spectral_ops() -> list:
    from torch.testing._internal.common_methods_invocations import op_db

    return [
        op
        for op in op_db
        if (op.name.startswith("fft.") or op.name in ("stft", "istft")) and op.name not in SKIP
    ]


OPS = spectral_ops()


def samples(op, requires_grad: bool = False) -> Iterator:  # type: ignore[no-untyped-def]
    for dtype in (torch.float32, torch.complex64):
        if dtype in op.supported_dtypes("cpu"):
            yield from op.sample_inputs("cpu", dtype, requires_grad=requires_grad)


def run(op, sample):  # type: ignore[no-untyped-def]
    return op(sample.input, *sample.args, **sample.kwargs)


def run64(op, sample):  # type: ignore[no-untyped-def]
    """The same sample in float64 / complex128 (never on the engine): the reference."""

    def up(v):  # type: ignore[no-untyped-def]
        if isinstance(v, torch.Tensor):
            return (
                v.to(torch.complex128 if v.is_complex() else torch.float64)
                if v.is_floating_point() or v.is_complex()
                else v
            )
        return v

    return op(up(sample.input), *[up(a) for a in sample.args], **{k: up(v) for k, v in sample.kwargs.items()})


def assert_near(got: torch.Tensor, ref: torch.Tensor, what: str, rtol: float = 1e-5) -> None:
    assert got.shape == ref.shape, f"{what}: shape {tuple(got.shape)} != {tuple(ref.shape)}"
    if ref.numel() == 0:
        return
    ref = ref.to(got.dtype) if not ref.dtype.is_complex or got.dtype.is_complex else ref.real.to(got.dtype)
    err, peak = float((got - ref).abs().max()), float(ref.abs().max())
    assert err <= rtol * peak + 1e-6, f"{what}: max |diff| {err:.3g} > {rtol} * peak {peak:.3g}"


def check_sample(op, sample, what: str) -> None:  # type: ignore[no-untyped-def]
    """The accelerated result against acceleration off and against float64 (acceleration stays on)."""
    with torch.no_grad():
        got = run(op, sample)
        fast.accelerate(False)
        ref = run(op, sample)
        fast.accelerate(True)
        ref64 = run64(op, sample)
    assert_near(got, ref, f"{op.name} {what} vs acceleration off")
    assert_near(got, ref64, f"{op.name} {what} vs float64")


@pytest.fixture
def accel() -> Iterator[None]:
    was = fast.accelerate(True)
    yield
    fast.accelerate(was)


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_samples_match_torch_and_numpy_with_acceleration(op, accel) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for sample in samples(op):
        check_sample(op, sample, str(sample.kwargs))
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("op", [op for op in OPS if op.supports_autograd], ids=lambda op: op.name)
def test_gradients_match_with_acceleration(op, accel) -> None:  # type: ignore[no-untyped-def]
    for sample in samples(op, requires_grad=True):
        grads = []
        for on in (True, False):
            fast.accelerate(on)
            inp = sample.input.detach().requires_grad_()
            out = op(inp, *sample.args, **sample.kwargs)
            (out.real if out.is_complex() else out).sum().backward()
            grads.append(inp.grad)
        fast.accelerate(True)
        assert_near(grads[0], grads[1], f"{op.name} {sample.kwargs} gradient")


def test_the_samples_reached_the_engine(accel) -> None:  # type: ignore[no-untyped-def]
    before = fast.engine_calls()
    for op in OPS:
        for sample in samples(op):
            with torch.no_grad():
                run(op, sample)
    after = fast.engine_calls()
    assert after["fft_c2r"] > before["fft_c2r"] and after["aten_stft"] > before["aten_stft"]


@pytest.mark.parametrize("op", [op for op in OPS if op.name.startswith("fft.")], ids=lambda op: op.name)
def test_samples_resized_to_engine_sizes(op, accel) -> None:  # type: ignore[no-untyped-def]
    """OpInfo's fft samples are 5-31 points (sizes without a plan): the same calls (dims, norms) with every
    dimension 64 points long, so the engine answers the r2c/c2r parts."""
    for sample in samples(op):
        x = sample.input
        if x.dim() == 0 or x.numel() <= 1:
            continue
        g = torch.Generator().manual_seed(x.dim())
        big = torch.randn((64,) * x.dim(), dtype=x.dtype, generator=g)
        kwargs = {k: v for k, v in sample.kwargs.items() if k not in ("n", "s")}
        check_sample(op, type(sample)(big, args=sample.args, kwargs=kwargs), f"{kwargs} (64-point)")


def test_resized_samples_reached_the_engine(accel) -> None:  # type: ignore[no-untyped-def]
    before = fast.engine_calls()
    for name in ("fft.rfft", "fft.irfft", "fft.hfft", "fft.ihfft"):
        op = next(o for o in OPS if o.name == name)
        dtype = torch.complex64 if name in ("fft.irfft", "fft.hfft") else torch.float32
        with torch.no_grad():
            op(torch.randn(3, 64, dtype=dtype))
    after = fast.engine_calls()
    assert after["fft_r2c"] >= before["fft_r2c"] + 2 and after["fft_c2r"] >= before["fft_c2r"] + 2
