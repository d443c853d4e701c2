"""Runs inside the emulated aarch64 process for compare_torch.py: torch's own kernels between marker syscalls.

The same marker protocol as guest.py (``mark, 1 call, mark, R calls, mark``; the host takes the difference
per call), so measure.run_guest pairs the marks with the plan printed here. ``import torch`` is the first
entry: ``mark, nothing, mark, import torch, mark`` with R = 2 gives the import's count alone. Only torch is
needed: the model rows load the bundle's TorchScript files, the conv2d and Linear rows the model's layers
with the committed weights (models/default-weights.pt).

    torch_guest.py BUNDLE_DIR WEIGHTS   (argv[1]: one string "BUNDLE_DIR,WEIGHTS" as run_guest passes it)
"""

from __future__ import annotations

import json
import os
import sys
import time

from marks import mark  # beside this script: sys.path[0]

plan: list[dict] = []
mark()
mark()
import torch  # noqa: E402 - counted: the first plan entry

mark()
plan.append({"name": "import torch", "repeats": 2, "frames": 1})


def measure(name: str, fn, repeats: int) -> None:
    with torch.no_grad():
        for _ in range(3):
            fn()
        mark()
        fn()
        mark()
        for _ in range(repeats):
            fn()
        mark()
    plan.append({"name": name, "repeats": repeats + 1, "frames": 1})


def main() -> None:
    bundle, weights = sys.argv[1].split(",")
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(256, 256, generator=gen)
    b = torch.randn(256, 256, generator=gen)
    measure("torch.mm 256x256", lambda: torch.mm(a, b), 5)
    audio = torch.randn(1, 16000, generator=gen)
    window = torch.hann_window(512)
    # case A of guest.py: 1 s at 16 kHz, n_fft 512, hop 256, centred, complex output
    measure(
        "torch.stft case A", lambda: torch.stft(audio[0], 512, 256, window=window, return_complex=True), 20
    )
    # the model's first conv2d and first Linear with their committed weights, on inputs of the shapes
    # the model feeds them (log-mel of 1 s: n_mels x (1 + samples // hop) frames); torch only
    saved = torch.load(weights, map_location="cpu", weights_only=True)
    state, config = saved["state_dict"], saved["config"]
    w, bias = state["features.0.weight"], state["features.0.bias"]
    feats = torch.randn(1, 1, config["n_mels"], 1 + 16000 // config["hop_length"], generator=gen)
    conv = torch.nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), padding=w.shape[2] // 2)
    conv.load_state_dict({"weight": w, "bias": bias})
    measure(f"model conv2d {tuple(w.shape)} on {tuple(feats.shape)}", lambda: conv(feats), 10)
    w, bias = state["head.1.weight"], state["head.1.bias"]
    linear = torch.nn.Linear(w.shape[1], w.shape[0])
    linear.load_state_dict({"weight": w, "bias": bias})
    x = torch.randn(1, w.shape[1], generator=gen)
    measure(f"model nn.Linear {w.shape[1]}->{w.shape[0]}", lambda: linear(x), 50)
    for variant in ("fp32", "int8"):
        path = os.path.join(bundle, f"model_{variant}.pt")
        if os.path.isfile(path):
            if variant == "int8":
                torch.backends.quantized.engine = "qnnpack"
            scripted = torch.jit.load(path, map_location="cpu")
            measure(f"whole model {variant}", lambda m=scripted: m(audio), 5)
    config = torch.__config__.show()
    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_file": torch.__file__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "blas": next((ln.strip() for ln in config.splitlines() if "BLAS_INFO" in ln), ""),
        "cxx_flags": next((ln.strip() for ln in config.splitlines() if "CXX_FLAGS" in ln), "")[:400],
        "time": time.time(),
    }
    print(json.dumps({"info": info, "plan": plan}))


main()
