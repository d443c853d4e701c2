"""Runs inside the emulated aarch64 process: each STFT implementation on cases A-D between syscall markers.

Why this shape: the instruction-counting plugin records its counter at every marker syscall (MARK).  For each
(case, implementation) we run warm-up calls, then ``mark, 1 call, mark, R calls, mark``; the host takes
``(R calls - 1 call) / (R - 1)``, which cancels the marker, loop set-up and first-call costs.  Only torch,
numpy and armstft are imported (all three from the aarch64 root tree), and the order of measurements is
printed as JSON so the host can pair it with the recorded marks.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import numpy as np
import torch

try:
    import scipy.fft as scipy_fft
except ImportError:  # the guest tree may lack scipy: its row is then left out
    scipy_fft = None

import armstft.faststft as fast

MARK_BASE = 0x4D400000  # the plugin's default: marks are sched_get_priority_max(MARK_BASE + i)
_next_mark = 0


def MARK() -> None:
    """Marker syscall number i (i = 0, 1, ...): sched_get_priority_max(MARK_BASE + i) fails with EINVAL."""
    global _next_mark
    try:
        os.sched_get_priority_max(MARK_BASE + _next_mark)
    except OSError:
        pass
    _next_mark += 1


# name: (batch, samples, n_fft, hop, repeats)
CASES = {
    "A": (None, 16000, 512, 256, 40),
    "B": (8, 16000, 512, 256, 10),
    "C": (None, 441000, 1024, 256, 3),
    "D": (None, 512, 512, 256, 1000),
    "E": (None, 16000, 400, 160, 20),  # n_fft 400: the mixed-radix engine (4 * 2 * 5 * 5)
}
WARMUP = 3


def numpy_stft(x: np.ndarray, n_fft: int, hop: int, window: np.ndarray, center: bool, rfft=np.fft.rfft):
    """The plain NumPy way: reflect-pad, strided frames, rfft along the last axis (numpy's or scipy's)."""
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        x = np.pad(x, pad, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=-1)[..., ::hop, :]
    return rfft(frames * window, axis=-1)


@torch.jit.script
def scripted(x: torch.Tensor, w: torch.Tensor, n_fft: int, hop: int, center: bool) -> torch.Tensor:
    """The call a scripted model makes with stft_backend == "armstft"."""
    return torch.ops.armstft.stft(x, n_fft, hop, n_fft, w, center, "reflect", False, True)


def make_calls(case: str) -> dict[str, tuple[Callable[[], object], int]]:
    """The per-implementation calls for one case, each with the frames one call produces."""
    batch, n, n_fft, hop, _ = CASES[case]
    g = torch.Generator().manual_seed(0)
    x = torch.randn((batch, n) if batch else (n,), generator=g)
    w = torch.hann_window(n_fft)
    xn, wn = x.numpy(), w.numpy()
    center = case != "D"

    frames = (batch or 1) * (1 + ((n + (n_fft if center else 0)) - n_fft) // hop)
    calls: dict[str, tuple[Callable[[], object], int]] = {
        "torch.stft": (
            lambda: torch.stft(x, n_fft, hop, window=w, center=center, return_complex=True),
            frames,
        ),
        "armstft.stft": (
            lambda: fast.stft(x, n_fft, hop, window=w, center=center, return_complex=True),
            frames,
        ),
        "torch.ops.armstft.stft (TorchScript)": (lambda: scripted(x, w, n_fft, hop, center), frames),
        "numpy.fft": (lambda: numpy_stft(xn, n_fft, hop, wn, center), frames),
    }
    if scipy_fft is not None:
        calls["scipy.fft"] = (lambda: numpy_stft(xn, n_fft, hop, wn, center, scipy_fft.rfft), frames)
    if case == "D":
        stream = fast.StreamingStft(n_fft, hop, w)
        block = x[:hop].contiguous()
        stream.push(x)  # history primed: every push of `hop` samples now completes exactly one frame
        calls["armstft streaming"] = (lambda: stream.push(block), 1)
    elif batch is None:
        stream = fast.StreamingStft(n_fft, hop, w, max_frames=4)
        blocks = list(x.split(hop))

        def push_all() -> None:  # a live stream of the clip: one push per hop-sized block
            stream.reset()
            for b in blocks:
                stream.push(b)

        calls["armstft streaming"] = (push_all, 1 + (n - n_fft) // hop)  # center=False framing
    return calls


def check(case: str) -> float:
    """armstft.stft vs torch.stft on this case: max |diff| / max |torch| (printed, never assumed)."""
    calls = make_calls(case)
    ref = calls["torch.stft"][0]()
    got = calls["armstft.stft"][0]()
    return float((got - ref).abs().max() / ref.abs().max())


def main() -> None:
    torch.set_num_threads(1)
    only = set(sys.argv[1].split(",")) if len(sys.argv) > 1 and sys.argv[1] else set(CASES)
    plan = []
    info = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "simd": fast.simd(),
        "native": fast.available(),
    }
    for case in CASES:
        if case not in only:
            continue
        calls = make_calls(case)
        repeats = CASES[case][4]
        info[f"rel_err_{case}"] = check(case)
        for impl, (fn, frames) in calls.items():
            for _ in range(WARMUP):
                fn()
            MARK()
            fn()
            MARK()
            for _ in range(repeats):
                fn()
            MARK()
            plan.append({"case": case, "impl": impl, "repeats": repeats, "frames": frames})
    print(json.dumps({"info": info, "plan": plan}))


if __name__ == "__main__":
    main()
