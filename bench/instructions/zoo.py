"""Case Z (issue 17): exact aarch64 guest instructions of one forward call of each zoo model
(tests/unit/zoo/models.py), acceleration off and on, and the model's STFT+ISTFT share under torch.

    python bench/instructions/zoo.py [--out bench/instructions/zoo.json] [--cpus cortex-a76,cortex-a72]
        [--runs 1] [--models whisper:3,vocos:9,open_unmix:5,torchaudio_spectral:9] [--rootfs TREE]
    python bench/instructions/zoo.py --table bench/instructions/zoo.json   # re-print, no QEMU

On the host (the zoo's packages live only there) each model is built, saved as TorchScript with the
positional arguments of one call, and that call is run once with a recorder registered for ``aten::stft``,
``aten::istft`` and ``aten::pad`` (Python kernels on the AutogradCPU and CPU keys, which call torch's own
composite kernel): the outermost STFT/ISTFT calls the model makes, each STFT with the centre padding that
produced its input (``torch.stft(center=True)`` pads with ``aten::pad`` before calling ``aten::stft``),
are saved with their arguments. In the guest (zoo_guest.py, run by measure.run_guest under the counting
plugin; the TorchScript files need only torch) every model is counted call by call: the model with
acceleration off, with ``armstft.accelerate()`` on, and the recorded calls replayed alone, off and on. Each
row is the median of N single calls (``--models NAME:N``). Share = replayed calls (off) / model off; ratio =
off / on; "saved by the calls" = what accelerating the replayed calls alone saves / what accelerating the
whole model saves (below 100 %: other accelerated kernels, e.g. the complex ``abs``, save the rest).
Goal: share >= 15 % -> ratio >= 1.15; every model ratio >= 1 / 1.01 (loses at most 1 %).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))  # tests.unit.zoo (the zoo's own definitions)
import measure  # noqa: E402 - the plugin, the root tree, the wheel and the guest runner

GUEST = HERE / "zoo_guest.py"
DEFAULT_MODELS = "whisper:3,vocos:9,open_unmix:5,torchaudio_spectral:9"
SHARE_GOAL, RATIO_GOAL, MAX_LOSS = 0.15, 1.15, 0.01
RECORDED = ("stft", "stft.center", "istft", "pad")


class Recorder:
    """Outermost aten::stft / aten::istft calls with their arguments (tensors cloned), each STFT preceded by
    the aten::pad call whose output it reads (torch.stft's centre padding), if any."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list, dict]] = []
        self.pads: dict[tuple[int, int], tuple[str, list, dict]] = {}
        self.depth = 0
        self.lib = torch.library.Library("aten", "IMPL")
        for name in RECORDED:
            for key in ("AutogradCPU", "CPU"):
                self.lib.impl(name, self.kernel(name), key)

    def kernel(self, name: str):
        packet, _, overload = name.partition(".")
        op = getattr(getattr(torch.ops.aten, packet), overload or "default")

        def record(*args, **kwargs):
            outer = self.depth == 0
            self.depth += 1
            try:
                out = op.decompose(*args, **kwargs)
            finally:
                self.depth -= 1
            if outer:
                kept = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
                if packet == "pad":
                    self.pads[(out.data_ptr(), out.numel())] = (name, kept, dict(kwargs))
                else:
                    x = args[0]
                    pad = self.pads.get((x.data_ptr(), x.numel())) if packet == "stft" else None
                    if pad is not None:
                        self.calls.append(pad)
                    self.calls.append((name, kept, dict(kwargs)))
            return out

        return record

    def close(self) -> None:
        self.lib._destroy()


def prepare(folder: Path, names: list[str]) -> dict:
    """Per model: NAME.pt, NAME.inputs.pt and NAME.calls.pt (see the module text); returns the facts."""
    from tests.unit.zoo.models import ZOO

    folder.mkdir(parents=True, exist_ok=True)
    zoo = {m.name: m for m in ZOO}
    facts = {}
    for name in names:
        model = zoo[name]
        module = model.build()
        torch.jit.save(module, str(folder / f"{name}.pt"))
        module = torch.jit.load(str(folder / f"{name}.pt"))  # what the guest runs
        inputs = model.inputs()
        first = sorted(inputs)[0]  # the zoo's first input case
        args = [torch.from_numpy(inputs[first])]
        args += [int(a.partition("=")[2]) for a in model.arguments]  # constant int --arg values
        torch.save(args, folder / f"{name}.inputs.pt")
        recorder = Recorder()
        try:
            with torch.inference_mode():
                for _ in range(3):  # the last call's record: the graph the profiling executor settled on
                    recorder.calls.clear()
                    recorder.pads.clear()
                    module(*args)
        finally:
            recorder.close()
        torch.save(recorder.calls, folder / f"{name}.calls.pt")
        facts[name] = {
            "input": f"{first} {tuple(args[0].shape)}",
            "arguments": model.arguments,
            "recorded_calls": [
                f"{op}({', '.join(describe(a) for a in args)})" for op, args, _ in recorder.calls
            ],
        }
        measure.log(f"{name}: {len(recorder.calls)} calls recorded: {facts[name]['recorded_calls']}")
    return facts


def describe(value: object) -> str:
    return f"Tensor{tuple(value.shape)}" if isinstance(value, torch.Tensor) else repr(value)


def rows_of(doc: dict) -> list[dict]:
    """Per CPU and model: share, off, on, ratio and whether the goal is met."""
    out = []
    for cpu, run in doc["cpus"].items():
        by = {(r["model"], r["impl"]): r for r in run["rows"]}
        for model in dict.fromkeys(r["model"] for r in run["rows"]):
            off = by[(model, "model")]["per_call"]
            on = by[(model, "model (accelerated)")]["per_call"]
            alone = by[(model, "stft+istft calls alone")]["per_call"]
            alone_on = by[(model, "stft+istft calls alone (accelerated)")]["per_call"]
            share, ratio, saved = alone / off, off / on, (alone - alone_on) / (off - on) if off != on else 0.0
            met = ratio >= 1 / (1 + MAX_LOSS) and (share < SHARE_GOAL or ratio >= RATIO_GOAL)
            out.append(
                {"cpu": cpu, "model": model, "share": share, "off": off, "on": on, "ratio": ratio,
                 "saved": saved, "met": met, "calls": len(by[(model, "model")]["calls"]),
                 "spread": max((by[(model, i)]["per_call_max"] - by[(model, i)]["per_call_min"])
                               / by[(model, i)]["per_call"]
                               for i in ("model", "model (accelerated)", "stft+istft calls alone",
                                         "stft+istft calls alone (accelerated)"))}
            )  # fmt: skip
    return out


def fmt(n: float) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def table(doc: dict) -> str:
    lines = [
        "| CPU | model | STFT+ISTFT share (torch) | off | accelerated | off / on | saved by the calls "
        "| goal met |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows_of(doc):
        goal = "yes" if r["met"] else "NO"
        if r["share"] < SHARE_GOAL:
            goal += " (share < 15 %: only no loss > 1 %)"
        lines.append(
            f"| {r['cpu']} | {r['model']} | {100 * r['share']:.1f} % | {fmt(r['off'])} | {fmt(r['on'])} "
            f"| {r['ratio']:.3f}x | {100 * r['saved']:.0f} % | {goal} |"
        )
    lines.append("")
    for cpu, run in doc["cpus"].items():
        if "max_run_spread" in run:
            runs = len(run["rows"][0]["per_call_runs"])
            lines.append(f"{cpu}: {runs} emulated runs, their medians differ by {run['max_run_spread']:.1e}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "zoo.json"))
    ap.add_argument("--cpus", default="cortex-a76")
    ap.add_argument("--runs", type=int, default=1, help="emulated runs per CPU (to show the counts repeat)")
    ap.add_argument("--models", default=DEFAULT_MODELS, help="NAME:CALLS,... (counted calls per row)")
    ap.add_argument("--rootfs", default=None)
    ap.add_argument("--table", metavar="JSON", help="only print the table of a written document")
    args = ap.parse_args()
    if args.table:
        print(table(json.loads(Path(args.table).read_text())))
        return

    t0 = time.monotonic()
    folder = measure.CACHE / "zoo"
    facts = prepare(folder, [spec.partition(":")[0] for spec in args.models.split(",")])
    plugin, root = measure.build_plugin(), measure.find_rootfs(args.rootfs)
    site = [measure.unpack_wheel()]
    measure.log(f"plugin {plugin}, rootfs {root}, guest path {site[0]}, zoo files {folder}")
    doc: dict = {
        "schema": "armstft.zoo-insn/1",
        "command": "python bench/instructions/zoo.py " + " ".join(sys.argv[1:]),
        "qemu": subprocess.run(
            ["qemu-aarch64", "--version"], stdout=subprocess.PIPE, text=True
        ).stdout.splitlines()[0],
        "models": facts,
        "cpus": {},
    }
    for cpu in args.cpus.split(","):
        runs = [
            measure.run_guest(plugin, root, site, args.models, cpu, models=folder, script=GUEST)
            for _ in range(args.runs)
        ]
        rows, spread = runs[0][1:], 0.0
        for i, row in enumerate(rows):
            row["per_call_runs"] = [r[i + 1]["per_call"] for r in runs]
            spread = max(spread, (max(row["per_call_runs"]) - min(row["per_call_runs"])) / row["per_call"])
        doc["cpus"][cpu] = {"guest": runs[0][0]["info"], "max_run_spread": spread, "rows": rows}
        measure.log(f"{cpu}: medians of the {args.runs} runs differ by at most {spread:.2e}")
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")  # kept even if a later CPU fails
    doc["seconds"] = round(time.monotonic() - t0)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    measure.log(f"wrote {args.out} in {doc['seconds']} s")
    print(table(doc))


if __name__ == "__main__":
    main()
