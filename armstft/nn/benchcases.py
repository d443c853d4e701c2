"""What ``armstft bench`` times, built and timed inside the model worker (armstft.sandbox.child).

Modes: ``clip`` processes one whole clip per call; ``stream`` pushes one hop of new samples per call and
computes the one new frame, as a real-time front end does. Streaming applies to the STFT stage: the
classifier consumes a whole clip, so its per-hop cost is its clip latency (reported once, in ``clip``).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from armstft.core.config import StftConfig
from armstft.nn.frontend import make_window


@dataclass(frozen=True)
class Case:
    stage: str
    variant: str
    backend: str
    mode: str
    audio_seconds: float
    call: Callable[[], object]
    # A whole-model case is timed with acceleration (armstft.faststft.accelerate) off and on, call by call
    # in turn: two rows of one run, each with the same machine state beside it.
    paired: bool = False

    def describe(self) -> dict[str, Any]:
        return {"stage": self.stage, "variant": self.variant, "backend": self.backend, "mode": self.mode}


def percentile(samples_ms: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples_ms), q))


def measure(call: Callable[[], object], seconds: float, iterations: int, warmup: int) -> list[float]:
    """Latencies in ms after warm-up; stops at N iterations or T seconds, whichever first (at least 1)."""
    for _ in range(warmup):
        call()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples) < iterations:
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1e6)
        if time.perf_counter() >= deadline:
            break
    return samples


def peak_rss_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # Linux reports KiB


class StreamingAtenStft:
    """One new frame per hop with torch.stft on a sliding n_fft buffer: what a user writes without armstft."""

    def __init__(self, config: StftConfig) -> None:
        self.config = config
        self.buffer = torch.zeros(config.n_fft)
        self.window = make_window(config.window, config.win_length)

    def push(self, hop: torch.Tensor) -> torch.Tensor:
        n = hop.shape[-1]
        self.buffer = torch.cat([self.buffer[n:], hop])
        return torch.stft(
            self.buffer,
            n_fft=self.config.n_fft,
            hop_length=self.config.hop_length,
            win_length=self.config.win_length,
            window=self.window,
            center=False,
            normalized=self.config.normalized,
            return_complex=True,
        )


def fast_stft_cases(config: StftConfig, clip: torch.Tensor, hop: torch.Tensor) -> list[Case]:
    """armstft's fast STFT beside ATen's, when its native part is present on this device."""
    try:
        from armstft import faststft
    except ImportError:
        return []
    available = getattr(faststft, "available", None)
    if available is None or not available():
        return []
    window = make_window(config.window, config.win_length)
    seconds = clip.shape[-1] / config.sample_rate

    def clip_call() -> object:
        return faststft.stft(
            clip,
            config.n_fft,
            config.hop_length,
            config.win_length,
            window,
            config.center,
            config.pad_mode,
            config.normalized,
            return_complex=True,
        )

    stream = faststft.StreamingStft(config.n_fft, config.hop_length, window)
    return [
        Case("stft", "fp32", "armstft", "clip", seconds, clip_call),
        Case(
            "stft",
            "fp32",
            "armstft",
            "stream",
            config.hop_length / config.sample_rate,
            lambda: stream.push(hop),
        ),
    ]


def _model_call(
    model: Any, clip: torch.Tensor, engine: str | None, arguments: dict[str, Any]
) -> Callable[[], Any]:
    """One whole-model call (the manifest's constant ``arguments`` after the audio), under the variant's
    quantized engine when it names one (static int8)."""
    if engine is None:
        return lambda: model(clip, **arguments)
    from armstft.nn import quantize

    def call() -> Any:
        with quantize.engine(engine):
            return model(clip, **arguments)

    return call


def build(
    models: dict[str, Any], plan: dict[str, Any], clip_array: np.ndarray, extras: dict[str, np.ndarray]
) -> list[Case]:
    """The cases for the loaded ``models``; ``plan`` is what the parent read from the validated manifest;
    ``extras``: the first case's tensor inputs beside the audio (then its whole batch is timed)."""
    config = StftConfig.from_dict(plan["config"])
    backends = plan["backends"]
    # one batch row: (1, samples) or (1, channels, samples); all rows when other inputs come with them
    clip = torch.from_numpy(np.array(clip_array if extras else clip_array[:1]))
    keywords = {n: torch.from_numpy(np.array(a)) for n, a in extras.items()}
    keywords.update(dict(plan.get("arguments", [])))
    seconds = clip.shape[-1] / config.sample_rate
    hop = clip.reshape(-1)[: config.hop_length].contiguous()
    cases: list[Case] = []
    stft = plan.get("stft")
    if stft is not None and "aten" in backends:
        aten = [m for m in stft["models"] if plan["variants"][m]["stft_backend"] == "aten"]
        if aten:
            method = getattr(models[aten[0]], stft["method"])
            cases.append(Case("stft", "fp32", "aten", "clip", seconds, lambda: method(clip)))
        streaming = StreamingAtenStft(config)
        hop_seconds = config.hop_length / config.sample_rate
        cases.append(Case("stft", "fp32", "aten", "stream", hop_seconds, lambda: streaming.push(hop)))
    if stft is not None and "armstft" in backends:
        cases.extend(fast_stft_cases(config, clip, hop))
    for name, variant in plan["variants"].items():
        if variant["stft_backend"] in backends:
            call = _model_call(models[name], clip, variant.get("engine"), keywords)
            precision, backend = variant["precision"], variant["stft_backend"]
            cases.append(Case("model", precision, backend, "clip", seconds, call, paired=True))
    return cases


def measure_paired(
    call: Callable[[], object], seconds: float, iterations: int, warmup: int
) -> list[list[float]]:
    """Latencies in ms with acceleration off and on, alternating call by call (warm-up for both first)."""
    from armstft import faststft

    samples: list[list[float]] = [[], []]
    was_on = faststft.accelerated()
    try:
        for enable in (False, True):
            faststft.accelerate(enable)
            for _ in range(warmup):
                call()
        deadline = time.perf_counter() + seconds
        while len(samples[1]) < iterations:
            for i, enable in enumerate((False, True)):
                faststft.accelerate(enable)
                start = time.perf_counter_ns()
                call()
                samples[i].append((time.perf_counter_ns() - start) / 1e6)
            if time.perf_counter() >= deadline:
                break
    finally:
        faststft.accelerate(was_on)
    return samples


def _row(case: Case, threads: int, samples: list[float], accelerate: bool | None) -> dict[str, Any]:
    """One row; a whole-model row timed with acceleration on is labelled ``<backend>+accelerate`` (its
    torch.stft calls ran on armstft's engine), so every row's (stage, variant, backend, mode, threads) is
    its own."""
    p50 = percentile(samples, 50)
    row = case.describe()
    if case.paired and accelerate:
        row["backend"] = f"{case.backend}+accelerate"
    return {
        **row,
        "accelerate": accelerate,
        "threads": threads,
        "iterations": len(samples),
        "p50_ms": p50,
        "p90_ms": percentile(samples, 90),
        "p99_ms": percentile(samples, 99),
        "max_ms": max(samples),
        "mean_ms": float(np.mean(samples)),
        "rtf": p50 / 1000.0 / case.audio_seconds,
        "audio_ms_per_call": case.audio_seconds * 1000.0,
        "peak_rss_kb": peak_rss_kb(),
    }


def measure_rows(case: Case, settings: dict[str, Any], threads: int) -> list[dict[str, Any]]:
    """The result rows of the bench JSON for ``case`` at ``threads`` threads: one, or for a whole-model
    case two (``accelerate`` false, then true) measured in turn. Without armstft's engine on this device
    acceleration cannot be on: one row, ``accelerate`` false."""
    from armstft import faststft

    torch.set_num_threads(threads)
    timing = (settings["seconds"], settings["iterations"], settings["warmup"])
    if case.paired:
        with torch.inference_mode():
            if not faststft.available():
                return [_row(case, threads, measure(case.call, *timing), False)]
            off, on = measure_paired(case.call, *timing)
        return [_row(case, threads, off, False), _row(case, threads, on, True)]
    # An "aten" row measures torch's own kernels even on an image with acceleration on (ARMSTFT_ACCELERATE):
    # otherwise the aten and armstft rows would time the same engine.
    was_on = faststft.accelerate(False) if case.backend == "aten" else False
    try:
        with torch.inference_mode():
            samples = measure(case.call, *timing)
    finally:
        if was_on:
            faststft.accelerate(True)
    return [_row(case, threads, samples, False if case.backend == "aten" else None)]
