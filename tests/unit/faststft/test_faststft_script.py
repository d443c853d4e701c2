"""torch.ops.armstft.stft: callable from TorchScript, survives save/load, keeps autograd through fallback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

import armstft.faststft  # noqa: F401  (loads the operator library)


class Frontend(torch.nn.Module):
    """The call the model frontend makes when stft_backend == "armstft"."""

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.ops.armstft.stft(
            x, self.n_fft, self.hop, self.n_fft, self.window, True, "reflect", False, True, True
        )
        return spec.abs().pow(2)


def test_schema_is_torch_stfts() -> None:
    """The operator takes torch 2.9's full stft signature (align_to_window included), arg for arg."""
    ours = torch.ops.armstft.stft.default._schema
    theirs = torch.ops.aten.stft.center._schema
    assert [(a.name, str(a.type), a.default_value) for a in ours.arguments] == [
        (a.name, str(a.type), a.default_value) for a in theirs.arguments
    ]


def test_scripted_module_matches_torch() -> None:
    m = torch.jit.script(Frontend(512, 256))
    x = torch.randn(2, 16000)
    ref = torch.stft(x, 512, 256, window=torch.hann_window(512), return_complex=True).abs().pow(2)
    got = m(x)
    assert got.shape == ref.shape
    assert float((got - ref).abs().max()) <= 1e-5 * float(ref.abs().max())


def test_saved_script_loads_in_a_fresh_process(tmp_path: Path) -> None:
    path = tmp_path / "frontend.pt"
    torch.jit.script(Frontend(1024, 256)).save(str(path))
    code = (
        "import sys, torch, armstft.faststft\n"
        "m = torch.jit.load(sys.argv[1])\n"
        "x = torch.randn(44100)\n"
        "ref = torch.stft(x, 1024, 256, window=torch.hann_window(1024), return_complex=True).abs().pow(2)\n"
        "got = m(x)\n"
        "assert (got - ref).abs().max() <= 1e-5 * ref.abs().max()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_gradient_flows_through_the_operator() -> None:
    x = torch.randn(3000, requires_grad=True)
    w = torch.hann_window(256)
    torch.ops.armstft.stft(x, 256, 64, 256, w, True, "reflect", False, True, True).abs().sum().backward()
    x2 = x.detach().clone().requires_grad_(True)
    torch.stft(x2, 256, 64, window=w, return_complex=True).abs().sum().backward()
    assert torch.allclose(x.grad, x2.grad, rtol=1e-5, atol=1e-5)
