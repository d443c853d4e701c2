"""Runs inside the emulated aarch64 process for zoo.py (case Z): each zoo model's TorchScript file, one
forward call at a time between marker syscalls, acceleration off then on, and the model's own STFT/ISTFT calls
replayed alone (acceleration off, then on).

The zoo folder (ARMSTFT_BENCH_MODELS, written by zoo.py on the host) holds per model ``NAME.pt`` (the
TorchScript file), ``NAME.inputs.pt`` (the positional arguments of one forward call) and ``NAME.calls.pt``
(every ``aten::stft`` / ``aten::istft`` call that forward makes: overload name and arguments, recorded on the
host at the dispatcher). Only torch and armstft are imported. Every row is a distribution as in guest.py's
case W: ``mark, mark`` (the marker alone), then a mark after each of ``repeats`` calls.

    zoo_guest.py NAME[:REPEATS],NAME[:REPEATS],...
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch
from marks import mark  # beside this script: sys.path[0]

import armstft.faststft as fast

WARMUP = 2  # uncounted calls before each row (the first call of a TorchScript module optimises its graph)


def replay(calls: list) -> None:
    """The recorded calls alone, each through the dispatcher as the model made it."""
    for overload, args, kwargs in calls:
        packet, _, name = overload.partition(".")
        getattr(getattr(torch.ops.aten, packet), name or "default")(*args, **kwargs)


def main() -> None:
    torch.set_num_threads(1)
    folder = Path(os.environ["ARMSTFT_BENCH_MODELS"])
    plan: list[dict] = []
    for spec in sys.argv[1].split(","):
        name, _, repeats_text = spec.partition(":")
        repeats = int(repeats_text or 5)
        module = torch.jit.load(str(folder / f"{name}.pt"), map_location="cpu")
        inputs = torch.load(folder / f"{name}.inputs.pt", weights_only=False)
        calls = torch.load(folder / f"{name}.calls.pt", weights_only=False)
        rows = [
            ("model", False, lambda m=module, a=inputs: m(*a)),
            ("model (accelerated)", True, lambda m=module, a=inputs: m(*a)),
            ("stft+istft calls alone", False, lambda c=calls: replay(c)),
            ("stft+istft calls alone (accelerated)", True, lambda c=calls: replay(c)),
        ]
        for impl, accelerated, fn in rows:
            before = fast.engine_calls()
            fast.accelerate(accelerated)
            with torch.inference_mode():
                for _ in range(WARMUP):
                    fn()
                mark()
                mark()
                for _ in range(repeats):
                    fn()
                    mark()
            fast.accelerate(False)
            after = fast.engine_calls()  # which engine kernels answered this row's calls (none when off)
            engine = {k: after[k] - before[k] for k in after if after[k] != before[k]}
            plan.append(
                {"case": "Z", "model": name, "impl": impl, "repeats": repeats, "frames": 1,
                 "distribution": True, "engine_calls": engine}
            )  # fmt: skip
    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "simd": fast.simd(),
        "native": fast.available(),
        "time": time.time(),
    }
    print(json.dumps({"info": info, "plan": plan}))


main()
