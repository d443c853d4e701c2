"""``armstft bench BUNDLE``: latency of the STFT stage alone and of the whole model, per thread count.

Every case: warm-up, then N iterations or T seconds (whichever comes first); p50/p90/p99/max, real-time
factor (latency / audio duration handled per call) and the process's peak RSS so far. The JSON file is
rewritten after every case, so a run killed midway keeps what it measured (``complete`` stays false).

Modes: ``clip`` processes one whole clip per call; ``stream`` pushes one hop of new samples per call and
computes the one new frame, as a real-time front end does. Streaming applies to the STFT stage: the
classifier consumes a whole clip, so its per-hop cost is its clip latency (reported once, in ``clip``).
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from armstft import info as info_mod
from armstft.bundle import check_files, golden_key, load_manifest, version_warnings
from armstft.config import StftConfig
from armstft.errors import BundleError
from armstft.frontend import make_window
from armstft.verify import load_golden, load_model


@dataclass(frozen=True)
class BenchSettings:
    seconds: float = 2.0
    iterations: int = 200
    warmup: int = 3
    threads: tuple[int, ...] = ()
    backends: tuple[str, ...] = ("aten", "armstft")

    @classmethod
    def quick(cls) -> BenchSettings:
        return cls(seconds=0.5, iterations=20, warmup=2)


@dataclass(frozen=True)
class Case:
    stage: str
    variant: str
    backend: str
    mode: str
    audio_seconds: float
    call: Callable[[], object]


def percentile(samples_ms: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples_ms), q))


def measure(call: Callable[[], object], settings: BenchSettings) -> list[float]:
    """Latencies in ms after warm-up; stops at N iterations or T seconds, whichever first (at least 1)."""
    for _ in range(settings.warmup):
        call()
    samples: list[float] = []
    deadline = time.perf_counter() + settings.seconds
    while len(samples) < settings.iterations:
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


def build_cases(bundle: Path, settings: BenchSettings) -> tuple[list[Case], dict[str, Any]]:
    manifest = load_manifest(bundle)
    check_files(manifest)
    models = {
        n: load_model(manifest.root / v.file, str(manifest.root / v.file))
        for n, v in manifest.variants.items()
    }
    golden = load_golden(manifest)
    case = manifest.cases[0]
    key = golden_key(case, "input")
    if key not in golden:
        raise BundleError(str(manifest.root / manifest.golden_file), key, "an input array", "missing")
    clip = torch.from_numpy(golden[key][:1].copy())
    config = manifest.config or StftConfig()
    seconds = clip.shape[-1] / config.sample_rate
    cases: list[Case] = []
    if manifest.stft is not None and "aten" in settings.backends:
        aten_stft = [m for m in manifest.stft.models if manifest.variants[m].stft_backend == "aten"]
        stft_method = getattr(models[aten_stft[0]], manifest.stft.method) if aten_stft else None
        hop = clip[0, : config.hop_length].contiguous()
        streaming = StreamingAtenStft(config)
        if stft_method is not None:
            cases.append(Case("stft", "fp32", "aten", "clip", seconds, lambda: stft_method(clip)))
        hop_seconds = config.hop_length / config.sample_rate
        cases.append(Case("stft", "fp32", "aten", "stream", hop_seconds, lambda: streaming.push(hop)))
    if manifest.stft is not None and "armstft" in settings.backends:
        cases.extend(fast_stft_cases(config, clip, clip[0, : config.hop_length].contiguous()))
    for name, module in models.items():
        variant = manifest.variants[name]
        if variant.stft_backend in settings.backends:
            call = lambda m=module: m(clip)  # noqa: E731
            cases.append(Case("model", variant.precision, variant.stft_backend, "clip", seconds, call))
    meta = {
        "bundle": str(bundle),
        "case_input": case,
        "input_samples": int(clip.shape[-1]),
        "config": config.to_dict(),
        "warnings": version_warnings(manifest, torch.__version__, __import__("torchaudio").__version__),
    }
    return cases, meta


class ResultsFile:
    """The bench JSON, rewritten atomically after each case (write to a temp file, then rename)."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path = path
        self.document = document
        path.parent.mkdir(parents=True, exist_ok=True)
        self.flush()

    def flush(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.document, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def add(self, result: dict[str, Any]) -> None:
        self.document["results"].append(result)
        self.flush()


def run_bench(
    bundle: Path, out: Path, settings: BenchSettings, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    info = info_mod.collect()
    threads = settings.threads or tuple(range(1, (os.cpu_count() or 1) + 1))
    document: dict[str, Any] = {
        "schema": "armstft.bench/1",
        "complete": False,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "info": {
            k: info[k] for k in ("torch", "machine", "blas", "fft_backend", "cpu_capability", "nproc", "cpu")
        },
        "settings": {
            "seconds": settings.seconds,
            "iterations": settings.iterations,
            "warmup": settings.warmup,
            "threads": list(threads),
        },
        "results": [],
        "error": None,
    }
    results = ResultsFile(out, document)
    try:
        cases, meta = build_cases(bundle, settings)
        document.update(meta)
        results.flush()
        with torch.inference_mode():
            for count in threads:
                torch.set_num_threads(count)
                for case in cases:
                    samples = measure(case.call, settings)
                    p50 = percentile(samples, 50)
                    row = {
                        "stage": case.stage,
                        "variant": case.variant,
                        "backend": case.backend,
                        "mode": case.mode,
                        "threads": count,
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
                    results.add(row)
                    progress(
                        f"{case.stage:5s} {case.variant:4s} {case.backend:7s} {case.mode:6s} t={count} "
                        f"p50 {p50:8.3f} ms  p99 {row['p99_ms']:8.3f} ms  rtf {row['rtf']:.4f}"
                    )
        document["complete"] = True
    except BaseException as err:
        document["error"] = f"{type(err).__name__}: {err}"
        raise
    finally:
        document["peak_rss_kb"] = peak_rss_kb()
        document["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        results.flush()
    return document
