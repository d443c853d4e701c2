"""armstft.stft as a drop-in for torch.stft: torch 2.9's signature, torch's errors and warnings.

Each test is one defect of the former drop-in (issue 12): no align_to_window (so patching torch.stft broke
Tensor.stft), onesided=0 and hop_length=True accepted, other errors than torch's for float hop/win, the
rectangular-window and return_complex=False warnings missing.  Comparisons are with torch's own call.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import armstft
import armstft.faststft as fast

X = torch.randn(3000, generator=torch.Generator().manual_seed(7))
W = torch.hann_window(256)


def outcome(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """(result, None) or (None, (exception type, message))."""
    try:
        return fn(*args, **kwargs), None
    except (TypeError, RuntimeError, ValueError) as exc:
        return None, (type(exc), str(exc))


def test_public_name_is_armstft_stft() -> None:
    assert armstft.stft is fast.stft and armstft.istft is fast.istft and armstft.log_mel is fast.log_mel
    assert armstft.accelerate is fast.accelerate and armstft.StreamingStft is fast.StreamingStft


def test_signature_is_torch_stfts() -> None:
    import inspect

    ours, theirs = inspect.signature(armstft.stft), inspect.signature(torch.stft)
    assert [(p.name, p.default) for p in ours.parameters.values()] == [
        (p.name, p.default) for p in theirs.parameters.values()
    ]


def test_patched_torch_stft_keeps_tensor_stft_working(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tensor.stft passes align_to_window: with torch.stft patched to ours, every call must still work."""
    ref = X.stft(256, 64, window=W, return_complex=True)
    monkeypatch.setattr(torch, "stft", armstft.stft)
    before = fast.engine_calls()["stft"]
    got = X.stft(256, 64, window=W, return_complex=True)
    assert torch.allclose(got, ref, rtol=1e-4, atol=1e-4)
    assert fast.engine_calls()["stft"] == before + int(fast.available())


@pytest.mark.parametrize("align", [True, False])
@pytest.mark.parametrize("win_length", [256, 200, 129])  # 129: (n_fft - win) odd, which torch rejects
def test_align_to_window(align: bool, win_length: int) -> None:
    kwargs = dict(n_fft=256, hop_length=50, win_length=win_length, window=torch.hann_window(win_length),
                  center=False, return_complex=True, align_to_window=align)  # fmt: skip
    ref, ref_err = outcome(torch.stft, X, **kwargs)
    got, got_err = outcome(armstft.stft, X, **kwargs)
    if ref_err:
        assert got_err is not None and got_err[0] is ref_err[0]
    else:
        assert got.shape == ref.shape
        assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max())


def test_align_to_window_with_center_is_torchs_error() -> None:
    _, ref_err = outcome(torch.stft, X, 256, window=W, return_complex=True, align_to_window=True)
    _, got_err = outcome(armstft.stft, X, 256, window=W, return_complex=True, align_to_window=True)
    assert ref_err is not None and got_err == ref_err


@pytest.mark.parametrize(
    "bad",
    [
        dict(onesided=0),
        dict(hop_length=True),
        dict(hop_length=64.0),
        dict(win_length=256.0),
        dict(n_fft=256.0),
        dict(normalized="yes"),
        dict(return_complex=1),
        dict(align_to_window=0, center=False),
    ],
    ids=lambda d: ",".join(f"{k}={v!r}" for k, v in d.items()),
)
def test_wrongly_typed_arguments_get_torchs_error(bad: dict) -> None:
    kwargs = {"n_fft": 256, "window": W, "return_complex": True, **bad}
    _, ref_err = outcome(torch.stft, X, **kwargs)
    _, got_err = outcome(armstft.stft, X, **kwargs)
    assert ref_err is not None, f"torch accepts {bad}: test premise wrong"
    assert got_err == ref_err


def test_numpy_integer_sizes_behave_as_in_torch() -> None:
    kwargs = dict(n_fft=np.int64(256), hop_length=np.int64(64), window=W, return_complex=True)
    ref, ref_err = outcome(torch.stft, X, **kwargs)
    got, got_err = outcome(armstft.stft, X, **kwargs)
    assert got_err == ref_err
    if ref is not None:
        assert torch.equal(got, ref)


def warnings_of(fn: str, args: str) -> list[str]:
    """Python warnings of one call in a fresh process (torch warns once per process)."""
    code = (
        "import json, warnings, torch, armstft\n"
        "x = torch.randn(3000)\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    {fn}(x, {args})\n"
        "print(json.dumps([str(w.message).split(' (Triggered internally')[0] for w in caught]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_missing_window_warns_as_torch() -> None:
    ref = warnings_of("torch.stft", "256, return_complex=True")
    got = warnings_of("armstft.stft", "256, return_complex=True")
    assert ref and got == ref
    assert "A window was not provided" in got[0]


def test_return_complex_false_warns_and_matches() -> None:
    ref = warnings_of("torch.stft", "256, window=torch.hann_window(256), return_complex=False")
    got = warnings_of("armstft.stft", "256, window=torch.hann_window(256), return_complex=False")
    assert ref and got == ref
    a = armstft.stft(X, 256, window=W, return_complex=False)
    b = torch.stft(X, 256, window=W, return_complex=False)
    assert a.shape == b.shape and a.stride() == b.stride()
    assert float((a - b).abs().max()) <= 1e-5 * float(b.abs().max())


def test_missing_return_complex_is_torchs_error() -> None:
    _, ref_err = outcome(torch.stft, X, 256, window=W)
    _, got_err = outcome(armstft.stft, X, 256, window=W)
    assert ref_err is not None and got_err == ref_err


def test_operator_warns_once_from_torchscript_too() -> None:
    """Called through the operator (TorchScript, C++), the engine path warns as torch's TorchScript stft does:
    once per process, on stderr (an operator's warning does not reach Python's warnings from there)."""
    if not fast.available():
        pytest.skip(f"native engine not built: {fast.load_error()}")
    code = (
        "import torch, armstft.faststft\n"
        "cu = torch.jit.CompilationUnit('def f(x: Tensor) -> Tensor:\\n    return "
        "torch.ops.armstft.stft(x, 256, 64, None, None, True, \\'reflect\\', False, None, True, None)\\n')\n"
        "f = cu.f\n"
        "x = torch.randn(3000)\n"
        "for _ in range(3): y = f(x)\n"
        "ref = torch.stft(x, 256, 64, window=torch.ones(256), return_complex=True)\n"
        "assert (y - ref).abs().max() <= 1e-5 * ref.abs().max()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stderr.count("A window was not provided") == 1, out.stderr
