"""Prints the instruction-count table (markdown) from a measure.py JSON document.

    python bench/instructions/table.py bench/instructions/measured.json

Why separate: the committed JSON can be re-rendered (docs/fast-stft.md) without re-running QEMU.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GOALS = {"A": 7500, "B": 7500, "C": 14000}  # per frame
GOAL_D = 12000  # per call
CASE_TEXT = {
    "A": "A: 1 s @16 kHz, n_fft 512, hop 256, hann, center",
    "B": "B: batch 8 of A",
    "C": "C: 10 s @44.1 kHz, n_fft 1024, hop 256",
    "D": "D: one 512-sample frame per call",
    "E": "E: 1 s @16 kHz, n_fft 400, hop 160 (mixed radix)",
}


def fmt(n: float) -> str:
    return f"{n / 1e6:.3f} M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def render(doc: dict) -> str:
    rows = doc["rows"]
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    cases = list(dict.fromkeys(r["case"] for r in rows))
    by = {(r["case"], r["impl"]): r for r in rows}
    lines = [
        f"Guest instructions per call (per frame), {doc['qemu']}, -cpu {doc['cpu_model']}, 1 thread; "
        f"torch {doc['guest']['torch']}, engine {doc['guest']['simd']}; runs agree within "
        f"{doc['max_run_spread']:.1e}.",
        "",
        "| case | " + " | ".join(impls) + " | goal | met |",
        "|---|" + "---:|" * len(impls) + "---|---|",
    ]
    for c in cases:
        cells = []
        for i in impls:
            r = by.get((c, i))
            cells.append("—" if r is None else f"{fmt(r['per_call'])} ({fmt(r['per_frame'])}/frame)")
        fast = by.get((c, "armstft.stft"))
        if c not in GOALS and c != "D":
            goal, met = "—", None
        elif c == "D":
            best = min(by[(c, i)]["per_call"] for i in ("armstft.stft", "armstft streaming") if (c, i) in by)
            goal, met = f"≤ {fmt(GOAL_D)}/call", best <= GOAL_D
        else:
            goal, met = f"≤ {fmt(GOALS[c])}/frame", fast is not None and fast["per_frame"] <= GOALS[c]
        verdict = "—" if met is None else "yes" if met else "NO"
        lines.append(f"| {CASE_TEXT[c]} | " + " | ".join(cells) + f" | {goal} | {verdict} |")
    host = doc.get("host")
    if host:
        lines += ["", f"x86 host wall-clock medians (µs per call, 1 thread, {host['cpu']}):", ""]
        himpls = list(dict.fromkeys(i for c in host["median_us"].values() for i in c))
        lines.append("| case | " + " | ".join(himpls) + " | torch.stft / armstft.stft |")
        lines.append("|---|" + "---:|" * len(himpls) + "---:|")
        for c, med in host["median_us"].items():
            cells = [f"{med[i]:.1f}" if i in med else "—" for i in himpls]
            ratio = med["torch.stft"] / med["armstft.stft"]
            lines.append(f"| {c} | " + " | ".join(cells) + f" | {ratio:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: table.py MEASURED.json")
    path = Path(sys.argv[1])
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        sys.exit(f"table: error: {path}: expected a measure.py JSON document, got {exc}")
    print(render(doc))


if __name__ == "__main__":
    main()
