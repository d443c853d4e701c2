"""Seeded synthetic audio for training and golden vectors: no downloads, same clips on every machine.

Six classes that differ in their time-frequency shape (what an STFT front end sees), each drawn with random
frequency, level, timing and background noise so the classifier has to generalise.
"""

from __future__ import annotations

import numpy as np

LABELS = ("tone", "chirp", "noise_burst", "clicks", "am_tone", "background")


def _noise(rng: np.random.Generator, n: int, level: float) -> np.ndarray:
    return rng.standard_normal(n) * level


def make_clip(
    label: str, rng: np.random.Generator, sample_rate: int = 16000, seconds: float = 1.0
) -> np.ndarray:
    """One float32 clip of class ``label`` with random parameters from ``rng``."""
    n = round(sample_rate * seconds)
    t = np.arange(n) / sample_rate
    amp = rng.uniform(0.1, 0.9)
    x = _noise(rng, n, rng.uniform(0.001, 0.03))
    if label == "tone":
        f = rng.uniform(100, sample_rate * 0.4)
        x += amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    elif label == "chirp":
        f0, f1 = rng.uniform(100, sample_rate * 0.4, size=2)
        if abs(f1 - f0) < 1000:
            f1 = min(f0 + 2000, sample_rate * 0.45)
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
        x += amp * np.sin(phase)
    elif label == "noise_burst":
        start = rng.integers(0, n // 2)
        length = rng.integers(n // 8, n // 2)
        env = np.zeros(n)
        env[start : start + length] = np.hanning(length)[: n - start]
        x += amp * env * rng.standard_normal(n)
    elif label == "clicks":
        period = rng.integers(sample_rate // 40, sample_rate // 6)
        for pos in range(int(rng.integers(0, period)), n, int(period)):
            x[pos] += amp * rng.choice([-1.0, 1.0])
    elif label == "am_tone":
        f = rng.uniform(200, sample_rate * 0.35)
        fm = rng.uniform(3, 12)
        x += amp * (0.5 + 0.5 * np.sin(2 * np.pi * fm * t)) * np.sin(2 * np.pi * f * t)
    elif label == "background":
        x += _noise(rng, n, rng.uniform(0.01, 0.1))
    else:
        raise ValueError(f"unknown label {label!r}")
    return x.astype(np.float32)


def make_dataset(
    per_class: int, seed: int, sample_rate: int = 16000, seconds: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(clips (N, samples) float32, labels (N,) int64), shuffled, fully determined by ``seed``."""
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for index, label in enumerate(LABELS):
        for _ in range(per_class):
            clips.append(make_clip(label, rng, sample_rate, seconds))
            labels.append(index)
    order = rng.permutation(len(clips))
    return np.stack(clips)[order], np.asarray(labels, dtype=np.int64)[order]
