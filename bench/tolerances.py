"""Measure how far the bundle's outputs move for reasons other than a broken device, to justify the
tolerances written into every manifest (armstft/host/export.py).

    python bench/tolerances.py [--weights models/default-weights.pt]

- fp32: the model in float32 vs the same model in float64 on every golden input (rounding alone).
- int8: dynamic-int8 outputs under each quantized engine this host has (x86/fbgemm vs qnnpack, the ARM
  default) vs the host's golden int8 outputs, and whether the predicted class still matches fp32.
- static int8: the static-int8 model calibrated with each engine's own qconfig and run under that engine,
  on both front ends (aten, armstft): max |int8 - fp32| in the model's own logit steps
  (armstft.nn.quantize.output_step), the error model behind quantize.STATIC_INT8_STEPS. Run it again under
  ``ATEN_CPU_CAPABILITY=default|avx2`` (and ``ONEDNN_MAX_CPU_ISA``) to see the lower ISA paths.
Prints a table; the figures quoted in docs/bundle.md come from this script.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from armstft.host.export import build_model, golden_inputs, load_weights, script_frozen
from armstft.nn import quantize
from armstft.nn.quantize import dynamic_int8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=Path("models/default-weights.pt"))
    args = parser.parse_args()
    weights = load_weights(args.weights)
    cases = golden_inputs(weights.config)
    fp32, fp64 = build_model(weights), build_model(weights).double()
    with torch.inference_mode():
        ref32 = {c: fp32(torch.from_numpy(a)).numpy() for c, a in cases.items()}
        ref64 = {c: fp64(torch.from_numpy(a).double()).numpy() for c, a in cases.items()}
    worst = max(float(np.abs(ref32[c] - ref64[c]).max()) for c in cases)
    print(f"fp32 vs float64 model, max |diff| over {len(cases)} golden cases: {worst:.2e}")
    default_engine = torch.backends.quantized.engine
    outputs: dict[str, dict[str, np.ndarray]] = {}
    for engine in torch.backends.quantized.supported_engines:
        if engine == "none":
            continue
        torch.backends.quantized.engine = engine
        module = script_frozen(dynamic_int8(build_model(weights)))
        with torch.inference_mode():
            outputs[engine] = {c: module(torch.from_numpy(a)).numpy() for c, a in cases.items()}
    torch.backends.quantized.engine = default_engine
    base = outputs[default_engine]
    print(f"int8, each engine vs this host's default ({default_engine}):")
    print(f"{'engine':10s} {'max |diff|':>10s} {'max |logit|':>11s} {'argmax = fp32':>14s}")
    for engine, outs in outputs.items():
        diff = max(float(np.abs(outs[c] - base[c]).max()) for c in cases)
        scale = max(float(np.abs(base[c]).max()) for c in cases)
        same = all(np.array_equal(outs[c].argmax(-1), ref32[c].argmax(-1)) for c in cases)
        print(f"{engine:10s} {diff:10.3f} {scale:11.1f} {'yes' if same else 'NO':>14s}")
    static_int8_by_engine(weights, cases)


def static_int8_by_engine(weights, cases: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    """Static int8 against fp32, in logit steps, for each engine's qconfig and both front ends."""
    print(f"static int8 vs fp32 (ATen CPU capability {torch.backends.cpu.get_cpu_capability()}):")
    head = ("front end", "engine", "step", "max |diff|", "steps", "argmax = fp32")
    print("{:9s} {:8s} {:>7s} {:>10s} {:>6s} {:>14s}".format(*head))
    clips = quantize.calibration_clips(weights.config)
    for backend in ("aten", "armstft"):
        model = build_model(weights, backend=backend)
        for engine in (e for e in torch.backends.quantized.supported_engines if e != "none"):
            static = quantize.static_int8(model, clips, engine)
            step = quantize.output_step(static)
            with quantize.engine(engine), torch.inference_mode():
                scripted = script_frozen(static)
                pairs = [(scripted(torch.from_numpy(a)), model(torch.from_numpy(a))) for a in cases.values()]
            diff = max(float((got - ref).abs().max()) for got, ref in pairs)
            same = all(torch.equal(got.argmax(-1), ref.argmax(-1)) for got, ref in pairs)
            verdict = "yes" if same else "NO"
            print(f"{backend:9s} {engine:8s} {step:7.4f} {diff:10.3f} {diff / step:6.2f} {verdict:>14s}")


if __name__ == "__main__":
    main()
