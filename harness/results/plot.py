"""The latency plot: p50 and p99 per benchmark case, one bar series per variant x backend.

fp32 vs int8 and ATen STFT vs armstft's own STFT path sit side by side in each case group, so a regression or
a speed-up is visible at a glance.  p50 is the bar, p99 the black tick above it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: CI and SSH sessions have no display
import matplotlib.pyplot as plt

from harness.results.boardjson import BenchRow


def plot_latency(rows: list[BenchRow], out: Path, title: str) -> Path | None:
    """Write the PNG and return its path; None when there is nothing to plot."""
    if not rows:
        return None
    stages = sorted({r.stage for r in rows}, key=lambda s: (s != "stft", s))
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colors = {name: palette[i % len(palette)] for i, name in enumerate(sorted({r.series for r in rows}))}
    fig, axes = plt.subplots(len(stages), 1, figsize=(10, 3.6 * len(stages)), squeeze=False)
    for ax, stage in zip(axes[:, 0], stages, strict=True):
        mine = [r for r in rows if r.stage == stage]
        cases = sorted({(r.mode, r.threads) for r in mine})
        series = sorted({r.series for r in mine})
        width = 0.8 / max(len(series), 1)
        for s_index, name in enumerate(series):
            xs, p50, p99 = [], [], []
            for c_index, (mode, threads) in enumerate(cases):
                match = [r for r in mine if r.series == name and (r.mode, r.threads) == (mode, threads)]
                if match:
                    xs.append(c_index - 0.4 + width * (s_index + 0.5))
                    p50.append(match[0].p50_ms)
                    p99.append(match[0].p99_ms)
            ax.bar(xs, p50, width=width * 0.9, label=f"{name} p50", color=colors[name])
            ax.scatter(xs, p99, marker="_", s=300, color="black", zorder=3)
        ax.scatter([], [], marker="_", s=300, color="black", label="p99")
        ax.set_xticks(range(len(cases)), [f"{m}, {t} thread{'s' if t > 1 else ''}" for m, t in cases])
        ax.set_ylabel("latency [ms]")
        ax.set_title(f"{title}: {stage}")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize="small", ncols=2)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
