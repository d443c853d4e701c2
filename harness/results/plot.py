"""The latency plot: p50 and p99 per benchmark case, one bar series per variant x backend.

One panel per stage and mode (STFT whole clip, STFT streaming, whole model), each on a log axis: a streaming
call of armstft's STFT (one hop, ~0.05 ms on the emulated board) sits beside a one-frame torch.stft call
(~5 ms) and would be an invisible bar on a linear one.
fp32 vs int8 and ATen STFT vs armstft's own STFT path sit side by side in each thread-count group, so a
regression or a speed-up is visible at a glance.  p50 is the bar, p99 the black tick above it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: CI and SSH sessions have no display
import matplotlib.pyplot as plt

from harness.results.boardjson import BenchRow

MODE_TITLE = {"clip": "whole clip per call", "stream": "streaming, one hop per call"}


def _panel(ax, rows: list[BenchRow], colors: dict[str, str], title: str) -> None:
    threads = sorted({r.threads for r in rows})
    series = sorted({r.series for r in rows})
    width = 0.8 / max(len(series), 1)
    for s_index, name in enumerate(series):
        xs, p50, p99 = [], [], []
        for t_index, t in enumerate(threads):
            match = [r for r in rows if r.series == name and r.threads == t]
            if match:
                xs.append(t_index - 0.4 + width * (s_index + 0.5))
                p50.append(match[0].p50_ms)
                p99.append(match[0].p99_ms)
        ax.bar(xs, p50, width=width * 0.9, label=f"{name} p50", color=colors[name])
        ax.scatter(xs, p99, marker="_", s=300, color="black", zorder=3)
    ax.scatter([], [], marker="_", s=300, color="black", label="p99")
    ax.set_xticks(range(len(threads)), [f"{t} thread{'s' if t > 1 else ''}" for t in threads])
    ax.set_ylabel("latency [ms], log scale")
    ax.set_yscale("log")
    ax.set_ylim(top=max(r.p99_ms for r in rows) * 6)  # room for the legend above the tallest p99 tick
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", ncols=2)


def plot_latency(rows: list[BenchRow], out: Path, title: str) -> Path | None:
    """Write the PNG and return its path; None when there is nothing to plot."""
    if not rows:
        return None
    panels = sorted({(r.stage, r.mode) for r in rows}, key=lambda p: (p[0] != "stft", p[1] != "clip", p))
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colors = {name: palette[i % len(palette)] for i, name in enumerate(sorted({r.series for r in rows}))}
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.4 * len(panels)), squeeze=False)
    for ax, (stage, mode) in zip(axes[:, 0], panels, strict=True):
        mine = [r for r in rows if (r.stage, r.mode) == (stage, mode)]
        _panel(ax, mine, colors, f"{title}: {stage}, {MODE_TITLE.get(mode, mode)}")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
