"""Runs inside the emulated aarch64 process: each implementation on every case between syscall markers.

Why this shape: the instruction-counting plugin records its counter at every marker syscall (MARK).  For each
(case, implementation) we run warm-up calls, then ``mark, 1 call, mark, R calls, mark``; the host takes
``(R calls - 1 call) / (R - 1)``, which cancels the marker, loop set-up and first-call costs.  Only torch,
torchaudio, numpy (scipy when present) and armstft are imported, and the order of measurements is printed
as JSON so the host can pair it with the recorded marks.

Cases: A-E are STFTs (clip, batch, long clip, one frame, n_fft 400); M is the log-mel front end (fused
armstft.log_mel beside armstft.stft alone and torchaudio's MelSpectrogram with and without acceleration);
I is the inverse STFT of case A's spectrum (torch.istft, armstft.istft, torchaudio's InverseSpectrogram and a
4-iteration GriffinLim from A's power spectrogram, with and without acceleration);
Q counts one QNNPACK convolution on a kept or a changing input (what makes W's static int8 counts vary).
W is the whole default model: the bundle's own TorchScript files (the bundle folder named by
ARMSTFT_BENCH_MODELS), each loaded *and called* under the quantized engine its manifest names.  W rows are
distributions: a marker between every call (``mark, mark, call, mark, call, mark, ...``: the first pair
measures the marker itself), so the host reports median, min and max of W_CALLS single calls instead of one
mean that hides a count which changes from call to call.  An implementation named "... (accelerated)" runs
with armstft.accelerate() on.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

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
    "M": (None, 16000, 512, 256, 40),  # log-mel front end of the default model: 40 mels, 16 kHz
    "I": (None, 16000, 512, 256, 6),  # inverse STFT of A's spectrum: torch.istft, torchaudio's inverses
    "W": (1, 16000, 512, 256, 17),  # the whole default model on a 1 s clip: 17 calls, each counted
    "Q": (1, 2520, 0, 0, 16),  # one QNNPACK int8 convolution (the model's first), input kept or not
}
DISTRIBUTION_CASES = {"W", "Q"}  # cases whose calls are counted one by one
WARMUP = 3
TS_LOOP_FRAMES = 64  # frames per call of the TorchScript loops (case D)
# W rows: the bundle variant each runs (its file and quantized engine come from the bundle's manifest);
# "(accelerated)" rows run with armstft.accelerate() on
MODEL_VARIANTS = {
    "ATen fp32": "fp32",
    "ATen fp32 (accelerated)": "fp32",
    "armstft fp32": "fp32_armstft",
    "dynamic int8 (ATen front end)": "int8",
    "static int8 (armstft front end)": "int8_static",
}


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
    return torch.ops.armstft.stft(x, n_fft, hop, n_fft, w, center, "reflect", False, True, True, None)


@torch.jit.script
def ts_op_loop(frames: torch.Tensor, w: torch.Tensor) -> int:
    """One-frame operator calls inside the TorchScript interpreter (no Python between them)."""
    n = 0
    for i in range(frames.shape[0]):
        n += torch.ops.armstft.stft(
            frames[i], 512, 256, 512, w, False, "reflect", False, True, True, None
        ).shape[1]
    return n


@torch.jit.script
def ts_select_loop(frames: torch.Tensor, w: torch.Tensor) -> int:
    """The same loop without the operator: what ts_op_loop costs besides the calls."""
    n = 0
    for i in range(frames.shape[0]):
        n += frames[i].shape[0] - 511
    return n


def make_calls(case: str, models: Path | None = None) -> dict[str, tuple[Callable[[], object], int]]:
    """The per-implementation calls for one case, each with the frames (or clips) one call produces."""
    if case == "Q":
        return qnnpack_input_calls(torch.Generator().manual_seed(0))
    batch, n, n_fft, hop, _ = CASES[case]
    g = torch.Generator().manual_seed(0)
    x = torch.randn((batch, n) if batch else (n,), generator=g)
    w = torch.hann_window(n_fft)
    if case == "W":
        return model_calls(x, models)
    if case == "M":
        return log_mel_calls(x, w, n_fft, hop)
    if case == "I":
        return istft_calls(x, w, n_fft, hop)
    xn, wn = x.numpy(), w.numpy()
    center = case != "D"

    frames = (batch or 1) * (1 + ((n + (n_fft if center else 0)) - n_fft) // hop)
    stft = (lambda: torch.stft(x, n_fft, hop, window=w, center=center, return_complex=True), frames)
    calls: dict[str, tuple[Callable[[], object], int]] = {
        "torch.stft": stft,
        "torch.stft (accelerated)": stft,
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
        loop_frames = torch.randn(TS_LOOP_FRAMES, n_fft, generator=g)
        calls["TorchScript loop: op"] = (lambda: ts_op_loop(loop_frames, w), TS_LOOP_FRAMES)
        calls["TorchScript loop: select"] = (lambda: ts_select_loop(loop_frames, w), TS_LOOP_FRAMES)
    elif batch is None:
        stream = fast.StreamingStft(n_fft, hop, w, max_frames=4)
        blocks = list(x.split(hop))

        def push_all() -> None:  # a live stream of the clip: one push per hop-sized block
            stream.reset()
            for b in blocks:
                stream.push(b)

        calls["armstft streaming"] = (push_all, 1 + (n - n_fft) // hop)  # center=False framing
    return calls


def log_mel_calls(x: torch.Tensor, w: torch.Tensor, n_fft: int, hop: int) -> dict:
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(16000, n_fft=n_fft, hop_length=hop, n_mels=40)
    fb = mel.mel_scale.fb
    frames = 1 + x.shape[-1] // hop
    spectrogram = (lambda: mel(x), frames)
    return {
        "armstft.stft": (lambda: fast.stft(x, n_fft, hop, window=w, return_complex=True), frames),
        "armstft.log_mel (fused)": (lambda: fast.log_mel(x, fb, n_fft, hop, window=w), frames),
        "torchaudio MelSpectrogram": spectrogram,
        "torchaudio MelSpectrogram (accelerated)": spectrogram,
    }


GRIFFIN_LIM_ITERS = 4  # case I: a few iterations (each one istft and one stft)


def istft_calls(x: torch.Tensor, w: torch.Tensor, n_fft: int, hop: int) -> dict:
    """Case I: the spectrum of case A back to samples; torchaudio's inverse transforms, unmodified."""
    import torchaudio

    spec = torch.stft(x, n_fft, hop, window=w, return_complex=True)
    power = spec.abs().pow(2)
    inverse = torchaudio.transforms.InverseSpectrogram(n_fft=n_fft, hop_length=hop)
    iters = GRIFFIN_LIM_ITERS
    gl = torchaudio.transforms.GriffinLim(n_fft=n_fft, hop_length=hop, n_iter=iters, rand_init=False)
    frames = spec.shape[-1]
    istft = (lambda: torch.istft(spec, n_fft, hop, window=w, length=x.shape[-1]), frames)
    inv = (lambda: inverse(spec, x.shape[-1]), frames)
    griffin = (lambda: gl(power), frames)
    name = f"torchaudio GriffinLim ({GRIFFIN_LIM_ITERS} iterations)"
    return {
        "torch.istft": istft,
        "torch.istft (accelerated)": istft,
        "armstft.istft": (lambda: fast.istft(spec, n_fft, hop, window=w, length=x.shape[-1]), frames),
        "torchaudio InverseSpectrogram": inv,
        "torchaudio InverseSpectrogram (accelerated)": inv,
        name: griffin,
        f"{name} (accelerated)": griffin,
    }


def qnnpack_input_calls(g: torch.Generator) -> dict:
    """Why case W's static int8 counts change from call to call: QNNPACK keeps a convolution's indirection
    buffer (pointers into its input) and rebuilds it whenever the input tensor's address differs from the
    last call's.  The same convolution (the default model's first: 1 -> 8 channels, 3x3, a 40 x 63 log-mel
    image) called on one input every time, or on two inputs in turn (two addresses)."""
    from armstft.nn import quantize

    with quantize.engine("qnnpack"):
        weight = torch.quantize_per_tensor(torch.randn(8, 1, 3, 3, generator=g), 0.02, 0, torch.qint8)
        packed = torch.ops.quantized.conv2d_prepack(weight, None, [1, 1], [1, 1], [1, 1], 1)
    images = [
        torch.quantize_per_tensor(torch.randn(1, 1, 40, 63, generator=g), 0.1, 128, torch.quint8)
        for _ in range(2)
    ]
    turn = [0]

    def conv(alternate: bool) -> object:
        if alternate:
            turn[0] ^= 1
        with quantize.engine("qnnpack"):
            return torch.ops.quantized.conv2d_relu(images[turn[0]], packed, 0.05, 0)

    return {
        "int8 conv, the same input each call": (lambda: conv(False), 1),
        "int8 conv, two inputs in turn": (lambda: conv(True), 1),
    }


def model_calls(x: torch.Tensor, bundle: Path | None) -> dict:
    """The bundle's own files, each loaded and called under its manifest's quantized engine (a static int8
    model called outside its engine block runs on the platform default, onednn on aarch64)."""
    if bundle is None:
        return {}
    from armstft.nn import quantize

    variants = json.loads((bundle / "manifest.json").read_text())["models"]
    calls = {}
    for impl, variant in MODEL_VARIANTS.items():
        engine = variants[variant].get("quantized_engine")
        with quantize.engine(engine) if engine else nullcontext():
            module = torch.jit.load(str(bundle / variants[variant]["file"]))

        def run(module: torch.jit.ScriptModule = module, engine: str | None = engine) -> object:
            with quantize.engine(engine) if engine else nullcontext(), torch.inference_mode():
                return module(x)

        calls[impl] = (run, 1)
    return calls


def check(case: str, models: Path | None) -> float | None:
    """The armstft result vs torch's on this case: max |diff| / max |torch| (printed, never assumed)."""
    calls = make_calls(case, models)
    pairs = {
        "M": ("torchaudio MelSpectrogram", "armstft.log_mel (fused)"),
        "W": ("ATen fp32", "armstft fp32"),
        "I": ("torch.istft", "armstft.istft"),
    }
    ref_impl, got_impl = pairs.get(case, ("torch.stft", "armstft.stft"))
    if ref_impl not in calls:
        return None
    ref, got = calls[ref_impl][0](), calls[got_impl][0]()
    if case == "M":
        ref = torch.log(ref + 1e-6)
    return float((got - ref).abs().max() / ref.abs().max())


def main() -> None:
    torch.set_num_threads(1)
    only = set(sys.argv[1].split(",")) if len(sys.argv) > 1 and sys.argv[1] else set(CASES)
    models = Path(os.environ["ARMSTFT_BENCH_MODELS"]) if os.environ.get("ARMSTFT_BENCH_MODELS") else None
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
        calls = make_calls(case, models)
        repeats = CASES[case][4]
        info[f"rel_err_{case}"] = check(case, models)
        for impl, (fn, frames) in calls.items():
            accelerated = "(accelerated)" in impl
            fast.accelerate(accelerated)
            for _ in range(WARMUP):
                fn()
            distribution = case in DISTRIBUTION_CASES
            if distribution:  # mark, mark (the marker alone), then a mark after every call
                MARK()
                MARK()
                for _ in range(repeats):
                    fn()
                    MARK()
            else:
                MARK()
                fn()
                MARK()
                for _ in range(repeats):
                    fn()
                MARK()
            fast.accelerate(False)
            plan.append(
                {
                    "case": case,
                    "impl": impl,
                    "repeats": repeats,
                    "frames": frames,
                    "distribution": distribution,
                }
            )
    print(json.dumps({"info": info, "plan": plan}))


if __name__ == "__main__":
    main()
