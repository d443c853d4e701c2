"""Prints the instruction-count tables (markdown) from a measure.py JSON document: every figure per case
and implementation for each emulated CPU, then the goals (issue 12) with the measured figure beside each.

    python bench/instructions/table.py bench/instructions/measured.json

Why separate: the committed JSON can be re-rendered (docs/fast-stft.md) without re-running QEMU.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

CASE_TEXT = {
    "A": "A: 1 s @16 kHz, n_fft 512, hop 256, hann, center",
    "B": "B: batch 8 of A",
    "C": "C: 10 s @44.1 kHz, n_fft 1024, hop 256",
    "D": "D: one 512-sample frame per call",
    "E": "E: 1 s @16 kHz, n_fft 400, hop 160 (mixed radix)",
    "M": "M: log-mel front end, 1 s @16 kHz, n_fft 512, hop 256, 40 mels",
    "I": "I: inverse STFT of A's spectrum (n_fft 512, hop 256, hann, 63 frames)",
    "W": "W: whole default model, 1 s clip (TorchScript, frozen)",
    "Q": "Q: one QNNPACK int8 convolution, input address kept vs changing (why W's static int8 varies)",
}

Rows = dict[tuple[str, str], dict]


def per_frame(rows: Rows, case: str, impl: str) -> float | None:
    r = rows.get((case, impl))
    return None if r is None else r["per_frame"]


def per_call(rows: Rows, case: str, impl: str) -> float | None:
    r = rows.get((case, impl))
    return None if r is None else r["per_call"]


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def ts_per_op(rows: Rows) -> float | None:
    """One-frame operator call inside the TorchScript interpreter: (op loop - select loop) per frame."""
    op, sel = rows.get(("D", "TorchScript loop: op")), rows.get(("D", "TorchScript loop: select"))
    return None if op is None or sel is None else (op["per_call"] - sel["per_call"]) / op["frames"]


def best_static(rows: Rows, key: str = "per_call") -> float | None:
    """The static int8 row's ``key`` (median per call; ``per_call_max``: its slowest call)."""
    found = [
        r.get(key, r["per_call"]) for (c, i), r in rows.items() if c == "W" and i.startswith("static int8")
    ]
    return min(found) if found else None


# (goal text, target text, value from rows, met when)
GOALS: list[tuple[str, str, Callable[[Rows], float | None], Callable[[float], bool], str]] = [
    ("STFT case A, armstft.stft", "≤ 5.0k/frame", lambda r: per_frame(r, "A", "armstft.stft"),
     lambda v: v <= 5000, "count"),
    ("STFT case C, armstft.stft", "≤ 10.5k/frame", lambda r: per_frame(r, "C", "armstft.stft"),
     lambda v: v <= 10500, "count"),
    ("STFT n_fft 400 (case E), armstft.stft", "≤ 5.0k/frame", lambda r: per_frame(r, "E", "armstft.stft"),
     lambda v: v <= 5000, "count"),
    ("one-frame call from Python (armstft.stft, D)", "≤ 15k/call", lambda r: per_call(r, "D", "armstft.stft"),
     lambda v: v <= 15000, "count"),
    ("one-frame call from TorchScript (op in the interpreter, D)", "≤ 15k/call", ts_per_op,
     lambda v: v <= 15000, "count"),
    ("  (for reference: Python calling a scripted one-frame function)", "—",
     lambda r: per_call(r, "D", "torch.ops.armstft.stft (TorchScript)"), lambda v: True, "count"),
    ("streaming push (one frame, D)", "≤ 6.5k/call", lambda r: per_call(r, "D", "armstft streaming"),
     lambda v: v <= 6500, "count"),
    ("fused log-mel / armstft.stft alone (M)", "≤ 1.3x",
     lambda r: ratio(per_call(r, "M", "armstft.log_mel (fused)"), per_call(r, "M", "armstft.stft")),
     lambda v: v <= 1.3, "ratio"),
    ("torchaudio MelSpectrogram: off / accelerated (M; issue 17)", "≥ 2.5x",
     lambda r: ratio(per_call(r, "M", "torchaudio MelSpectrogram"),
                     per_call(r, "M", "torchaudio MelSpectrogram (accelerated)")),
     lambda v: v >= 2.5, "ratio"),
    ("whole model: ATen fp32 / armstft fp32 (W)", "≥ 1.45x",
     lambda r: ratio(per_call(r, "W", "ATen fp32"), per_call(r, "W", "armstft fp32")),
     lambda v: v >= 1.45, "ratio"),
    ("whole model: ATen fp32 / static int8 (W, best front end)", "≥ 2x",
     lambda r: ratio(per_call(r, "W", "ATen fp32"), best_static(r)), lambda v: v >= 2.0, "ratio"),
    ("  the same against static int8's slowest call (W)", "≥ 2x",
     lambda r: ratio(per_call(r, "W", "ATen fp32"), best_static(r, "per_call_max")),
     lambda v: v >= 2.0, "ratio"),
    ("torch.istft: off / accelerated (I)", "—",
     lambda r: ratio(per_call(r, "I", "torch.istft"), per_call(r, "I", "torch.istft (accelerated)")),
     lambda v: True, "ratio"),
    ("torchaudio InverseSpectrogram: off / accelerated (I)", "—",
     lambda r: ratio(per_call(r, "I", "torchaudio InverseSpectrogram"),
                     per_call(r, "I", "torchaudio InverseSpectrogram (accelerated)")),
     lambda v: True, "ratio"),
    ("torchaudio GriffinLim, 4 iterations: off / accelerated (I)", "—",
     lambda r: ratio(per_call(r, "I", "torchaudio GriffinLim (4 iterations)"),
                     per_call(r, "I", "torchaudio GriffinLim (4 iterations) (accelerated)")),
     lambda v: True, "ratio"),
    ("whole model: ATen fp32 / ATen fp32 accelerated (W)", "—",
     lambda r: ratio(per_call(r, "W", "ATen fp32"), per_call(r, "W", "ATen fp32 (accelerated)")),
     lambda v: True, "ratio"),
]  # fmt: skip


def fmt(n: float) -> str:
    return f"{n / 1e6:.3f} M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def fmt_value(v: float | None, kind: str) -> str:
    if v is None:
        return "—"
    return f"{v:.2f}x" if kind == "ratio" else fmt(v)


def case_table(cpu: str, run: dict, qemu: str) -> list[str]:
    rows = run["rows"]
    guest = run["guest"]
    by = {(r["case"], r["impl"]): r for r in rows}
    lines = [
        f"Guest instructions per call (per frame), {qemu}, -cpu {cpu}, 1 thread; torch {guest['torch']}, "
        f"engine {guest['simd']}; runs agree within {run['max_run_spread']:.1e}.",
        "",
    ]
    for c in dict.fromkeys(r["case"] for r in rows):
        impls = [r["impl"] for r in rows if r["case"] == c]
        spread = any("calls" in by[(c, i)] for i in impls)  # counted call by call: median (min-max, n)
        lines += [
            f"**{CASE_TEXT.get(c, c)}**",
            "",
            "| implementation | per call (median) | min | max | calls |" if spread else
            "| implementation | per call | per frame |",
            "|---|---:|---:|---:|---:|" if spread else "|---|---:|---:|",
        ]  # fmt: skip
        for i in impls:
            r = by[(c, i)]
            if "calls" in r:
                lines.append(
                    f"| {i} | {fmt(r['per_call'])} | {fmt(r['per_call_min'])} | {fmt(r['per_call_max'])} "
                    f"| {len(r['calls'])} |"
                )
            else:
                lines.append(f"| {i} | {fmt(r['per_call'])} | {fmt(r['per_frame'])} |")
        lines.append("")
    return lines


def goal_table(doc: dict) -> list[str]:
    cpus = list(doc["cpus"])
    rows = {cpu: {(r["case"], r["impl"]): r for r in run["rows"]} for cpu, run in doc["cpus"].items()}
    lines = ["| goal | target | " + " | ".join(cpus) + " | met |", "|---|---|" + "---:|" * len(cpus) + "---|"]
    for text, target, value, met, kind in GOALS:
        values = [value(rows[c]) for c in cpus]
        if target == "—":
            verdict = "—"
        elif any(v is None for v in values):
            verdict = "not measured"
        else:
            verdict = "yes" if all(met(v) for v in values) else "NO"
        lines.append(
            f"| {text} | {target} | " + " | ".join(fmt_value(v, kind) for v in values) + f" | {verdict} |"
        )
    host = doc.get("host")
    if host and "A" in host["median_us"]:
        med = host["median_us"]["A"]
        r = med["torch.stft"] / med["armstft.stft"]
        lines.append(f"| x86 host case A: torch.stft (MKL) / armstft.stft, wall-clock | ≥ 1.5x | {r:.2f}x |"
                     + " |" * (len(cpus) - 1) + f" {'yes' if r >= 1.5 else 'NO'} |")  # fmt: skip
    return lines


def host_table(host: dict) -> list[str]:
    lines = ["", f"x86 host wall-clock medians (µs per call, 1 thread, {host['cpu']}):", ""]
    himpls = list(dict.fromkeys(i for c in host["median_us"].values() for i in c))
    lines.append("| case | " + " | ".join(himpls) + " |")
    lines.append("|---|" + "---:|" * len(himpls))
    for c, med in host["median_us"].items():
        lines.append(f"| {c} | " + " | ".join(f"{med[i]:.1f}" if i in med else "—" for i in himpls) + " |")
    return lines


def render(doc: dict) -> str:
    if doc.get("schema") != "armstft.insn-bench/2":
        raise ValueError(f"schema: expected armstft.insn-bench/2, got {doc.get('schema')!r}")
    lines = ["Goals (issue 12), guest instructions under QEMU; ratios are fewer-instructions factors:", ""]
    lines += goal_table(doc)
    for cpu, run in doc["cpus"].items():
        lines += ["", *case_table(cpu, run, doc["qemu"])]
    if doc.get("host"):
        lines += host_table(doc["host"])
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: table.py MEASURED.json")
    path = Path(sys.argv[1])
    try:
        doc = json.loads(path.read_text())
        text = render(doc)
    except (OSError, ValueError, KeyError) as exc:
        sys.exit(f"table: error: {path}: expected a measure.py JSON document (schema 2), got {exc}")
    print(text)


if __name__ == "__main__":
    main()
