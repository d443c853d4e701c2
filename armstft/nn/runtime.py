"""``armstft info``: what this device's PyTorch will actually run on (BLAS, SIMD level, FFT, threads, CPU)."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any

import torch
import torchaudio

from armstft.core.version import __version__

_BLAS_NAMES = {
    "open": "OpenBLAS",
    "openblas": "OpenBLAS",
    "mkl": "MKL",
    "eigen": "Eigen",
    "accelerate": "Accelerate",
}


def build_setting(config_text: str, key: str) -> str | None:
    """Value of ``KEY=value`` in ``torch.__config__.show()``'s build settings."""
    match = re.search(rf"\b{re.escape(key)}=([^,\s]+)", config_text)
    return match.group(1) if match else None


def blas_backend(config_text: str) -> str:
    raw = build_setting(config_text, "BLAS_INFO")
    if raw is None:
        return "unknown"
    return _BLAS_NAMES.get(raw.lower(), raw)


def fft_backend() -> str:
    """ATen's CPU FFT: MKL when torch was built with it, else pocketfft (the aarch64 wheels' case)."""
    return "mkl" if torch.backends.mkl.is_available() else "pocketfft"


def cpu_info(text: str | None = None) -> dict[str, Any]:
    """CPU model and feature flags from /proc/cpuinfo (the first processor's)."""
    if text is None:
        path = Path("/proc/cpuinfo")
        text = path.read_text(errors="replace") if path.exists() else ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields.get("flags") or fields.get("Features"):
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    features = (fields.get("Features") or fields.get("flags") or "").split()
    model = fields.get("model name") or _arm_part(fields) or platform.processor() or "unknown"
    return {"model": model, "features": features}


_ARM_PARTS = {
    "0xd03": "Cortex-A53",
    "0xd08": "Cortex-A72",
    "0xd0b": "Cortex-A76",
    "0xd0c": "Neoverse-N1",
    "0xd05": "Cortex-A55",
    "0xd07": "Cortex-A57",
    "0xd40": "Neoverse-V1",
    "0xd4f": "Neoverse-V2",
}


def _arm_part(fields: dict[str, str]) -> str | None:
    part = fields.get("CPU part")
    if part is None:
        return None
    return _ARM_PARTS.get(part.lower(), f"ARM part {part}")


def faststft_status() -> dict[str, Any]:
    """Whether armstft's native STFT engine loaded here, with which SIMD path, and whether unmodified torch
    calls reach it (``accelerated``: ARMSTFT_ACCELERATE=1, which the images set)."""
    from armstft import faststft

    return {
        "available": faststft.available(),
        "simd": faststft.simd(),
        "accelerated": faststft.accelerated(),
        "error": faststft.load_error(),
    }


def collect() -> dict[str, Any]:
    config_text = torch.__config__.show()
    cpu = cpu_info()
    machine = platform.machine()
    features = set(cpu["features"])
    return {
        "schema": "armstft.info/1",
        "armstft": __version__,
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "torchaudio": str(torchaudio.__version__),
        "machine": machine,
        "blas": blas_backend(config_text),
        "lapack": build_setting(config_text, "LAPACK_INFO"),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        # Advanced SIMD is mandatory on AArch64; the kernel calls it "asimd" (32-bit ARM: "neon").
        "neon": machine in ("aarch64", "arm64") or bool(features & {"asimd", "neon"}),
        "sve": "sve" in features,
        "fft_backend": fft_backend(),
        "quantized_engine": torch.backends.quantized.engine,
        "faststft": faststft_status(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "nproc": os.cpu_count() or 1,
        "cpu": cpu,
    }


def summary(info: dict[str, Any]) -> str:
    return (
        f"torch {info['torch']} / torchaudio {info['torchaudio']} "
        f"on {info['machine']} ({info['cpu']['model']})\n"
        f"BLAS {info['blas']}, FFT {info['fft_backend']}, CPU capability {info['cpu_capability']}, "
        f"NEON {'yes' if info['neon'] else 'no'}, {info['threads']} threads of {info['nproc']} CPUs"
    )
