"""armstft.stft under every PyTorch transform: the result is torch.stft's (or a clear error), the engine
runs where it should, and nothing crashes.

Each test reproduces a defect of the former Python-kernel operator (issue 12): jit.trace recorded only
aten::empty, FakeTensor segfaulted, forward AD dropped the tangent, a neg view lost its sign,
__torch_function__ was bypassed, torch.compile/torch.export failed or silently compiled torch's stft.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import pytest
import torch
import torch.autograd.forward_ad as fwAD
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.overrides import TorchFunctionMode

import armstft
import armstft.faststft as fast

pytestmark = pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")

N_FFT, HOP = 512, 128
RTOL = 1e-5


def call(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return armstft.stft(x, 512, 128, window=w, return_complex=True)  # literals: TorchScript scripts this


def torch_call(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return torch.stft(x, N_FFT, HOP, window=w, return_complex=True)


def close(got: torch.Tensor, ref: torch.Tensor) -> bool:
    return got.shape == ref.shape and float((got - ref).abs().max()) <= RTOL * float(ref.abs().max())


@contextmanager
def engine_runs(times: int | None = None) -> Iterator[None]:
    """The engine answered inside the block (``times`` calls, or at least one)."""
    before = fast.engine_calls()["stft"]
    yield
    ran = fast.engine_calls()["stft"] - before
    assert ran == times if times is not None else ran >= 1, f"engine ran {ran} times"


@pytest.fixture
def xw() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(2, 4000, generator=torch.Generator().manual_seed(0)), torch.hann_window(N_FFT)


def test_eager(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    with engine_runs(1):
        got = call(*xw)
    assert close(got, torch_call(*xw))


def test_jit_script(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    scripted = torch.jit.script(call)
    assert "armstft::stft" in str(scripted.graph)
    with engine_runs(1):
        got = scripted(*xw)
    assert close(got, torch_call(*xw))


def test_jit_trace_records_the_operator_and_reruns_on_new_input(
    xw: tuple[torch.Tensor, torch.Tensor],
) -> None:
    x, w = xw
    traced = torch.jit.trace(call, (x, w))
    assert "armstft::stft" in str(traced.graph)
    x2 = torch.randn(2, 4000)
    with engine_runs(1):
        got = traced(x2, w)
    assert close(got, torch_call(x2, w))


@pytest.mark.slow
def test_torch_compile_runs_the_engine_without_graph_break(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    torch._dynamo.reset()
    compiled = torch.compile(call, fullgraph=True)  # fullgraph: a graph break is an error
    with engine_runs():
        got = compiled(*xw)
    assert close(got, torch_call(*xw))
    with engine_runs(1):  # the compiled code calls our kernel, not torch's stft
        compiled(*xw)


class Frontend(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return call(x, self.window).abs()


@pytest.mark.slow
@pytest.mark.parametrize("strict", [True, False])
def test_torch_export_holds_armstft_ops(
    xw: tuple[torch.Tensor, torch.Tensor], strict: bool, tmp_path: Path
) -> None:
    x, _ = xw
    ep = torch.export.export(Frontend(), (x,), strict=strict)
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    assert "armstft.stft.default" in targets, targets
    assert not any("aten.stft" in t or "_fft_r2c" in t for t in targets), targets
    ref = torch_call(x, torch.hann_window(N_FFT)).abs()
    with engine_runs(1):
        assert close(ep.module()(x), ref)
    path = tmp_path / "frontend.pt2"
    torch.export.save(ep, path)
    torch.save(x, tmp_path / "x.pt")
    code = (
        "import sys, torch, armstft.faststft as f\n"
        "ep = torch.export.load(sys.argv[1]); x = torch.load(sys.argv[2])\n"
        "before = f.engine_calls()['stft']\n"
        "y = ep.module()(x)\n"
        "ref = torch.stft(x, 512, 128, window=torch.hann_window(512), return_complex=True).abs()\n"
        "assert f.engine_calls()['stft'] == before + 1\n"
        "assert (y - ref).abs().max() <= 1e-5 * ref.abs().max()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "x.pt")], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]


def test_fake_tensor_mode_gives_torchs_shapes_without_touching_data(
    xw: tuple[torch.Tensor, torch.Tensor],
) -> None:
    ref = torch_call(*xw)
    with FakeTensorMode() as mode:
        fx, fw = mode.from_tensor(xw[0]), mode.from_tensor(xw[1])
        got = call(fx, fw)
        theirs = torch_call(fx, fw)
    assert got.shape == ref.shape == theirs.shape
    assert got.dtype == theirs.dtype and got.stride() == theirs.stride()


def test_meta_tensors(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, w = (t.to("meta") for t in xw)
    got = call(x, w)
    theirs = torch_call(x, w)
    assert got.device.type == "meta"
    assert got.shape == theirs.shape and got.dtype == theirs.dtype and got.stride() == theirs.stride()


def test_vmap(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    w = xw[1]
    batched = torch.randn(3, 2, 4000)
    got = torch.vmap(lambda a: call(a, w))(batched)
    assert close(got, torch.stack([torch_call(b, w) for b in batched]))


def test_forward_ad_keeps_the_tangent(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, w = xw
    tangent = torch.randn_like(x)
    results = []
    for fn in (call, torch_call):
        with fwAD.dual_level():
            primal, tan = fwAD.unpack_dual(fn(fwAD.make_dual(x, tangent), w))
        assert tan is not None
        results.append((primal, tan))
    assert close(results[0][0], results[1][0]) and close(results[0][1], results[1][1])


def test_func_jvp_and_vjp(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, w = xw
    t = torch.randn_like(x)
    ours = torch.func.jvp(lambda a: call(a, w), (x,), (t,))
    theirs = torch.func.jvp(lambda a: torch_call(a, w), (x,), (t,))
    assert close(ours[1], theirs[1])
    g = torch.randn_like(theirs[0])
    _, vjp_ours = torch.func.vjp(lambda a: call(a, w), x)
    _, vjp_theirs = torch.func.vjp(lambda a: torch_call(a, w), x)
    assert close(vjp_ours(g)[0], vjp_theirs(g)[0])


def test_backward_matches_torch(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, w = xw
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    wa = w.clone().requires_grad_()
    wb = w.clone().requires_grad_()
    call(a, wa).abs().sum().backward()
    torch_call(b, wb).abs().sum().backward()
    assert close(a.grad, b.grad) and close(wa.grad, wb.grad)


def test_neg_view_and_conj_inputs(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, w = xw
    with engine_runs():
        got = call(torch._neg_view(x), torch._neg_view(w))
    assert close(got, torch_call(-x, -w))
    z = torch.randn(2, 4000, dtype=torch.complex64)
    got = armstft.stft(z.conj(), N_FFT, HOP, window=w, return_complex=True)
    assert close(got, torch.stft(z.conj().resolve_conj(), N_FFT, HOP, window=w, return_complex=True))


class Logged(torch.Tensor):
    """A __torch_function__ subclass that records what it is called with."""

    seen: ClassVar[list] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        cls.seen.append(func)
        return super().__torch_function__(func, types, args, kwargs or {})


def test_torch_function_subclass_sees_armstft_stft(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, w = xw
    Logged.seen.clear()
    got = call(x.as_subclass(Logged), w)
    assert armstft.stft in Logged.seen
    assert close(got.as_subclass(torch.Tensor), torch_call(x, w))


def test_torch_function_mode_sees_armstft_stft(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    seen = []

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            seen.append(func)
            return func(*args, **(kwargs or {}))

    with Mode():
        got = call(*xw)
    assert armstft.stft in seen
    assert close(got, torch_call(*xw))


def test_inference_mode_and_no_grad_use_the_engine(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    x = xw[0].clone().requires_grad_()
    with engine_runs(2):
        with torch.inference_mode():
            call(xw[0], xw[1])
        with torch.no_grad():
            call(x, xw[1])


@pytest.mark.slow
def test_torch_export_with_a_dynamic_length(xw: tuple[torch.Tensor, torch.Tensor]) -> None:
    """The Meta kernel works on symbolic lengths: one exported program serves every clip length."""
    length = torch.export.Dim("length", min=1024, max=100000)
    ep = torch.export.export(Frontend(), (xw[0],), dynamic_shapes={"x": {1: length}})
    for n in (1500, 20000):
        x = torch.randn(2, n)
        ref = torch_call(x, torch.hann_window(N_FFT)).abs()
        with engine_runs(1):
            assert close(ep.module()(x), ref)
