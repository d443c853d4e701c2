"""What a model file really is, read from its own graph: precision, kind of int8, STFT backend.

A manifest *describes* each variant (``precision``, ``quantized_engine``, ``stft_backend``); tolerances
and bench rows are chosen from that description. A description that does not match the file is a wrong
bundle that can still pass: the fp32_armstft model filed (and re-hashed) as ``int8_static`` sits within
the static int8 tolerance of the int8 golden outputs. So every variant's description is checked against
the operators its graph calls — the forward graph with every call inlined, plus the stage methods verify
calls — in the worker that loaded it, for TorchScript and ``.pt2`` programs alike:

- ``quantized::*`` operators make a model int8; any of them but the ``*_dynamic*`` ones make it *static*
  int8, whose packed weights belong to one engine (so it must name one), and dynamic int8 or fp32 must
  not name one;
- an ``armstft::*`` operator makes the front end armstft's, none makes it ATen's.

``armstft bundle`` writes the description from the same reading, so a user's bundle is right when made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from armstft.core.errors import BundleError, describe

_OPERATOR = re.compile(r"\b((?:aten|quantized|armstft|prim)::[A-Za-z0-9_]+)")


def graph_operators(module: Any, methods: list[str]) -> list[str]:
    """Sorted ``namespace::name`` of every operator the module's forward (and ``methods``) call."""
    import torch

    names: set[str] = set()
    if isinstance(module, torch.jit.ScriptModule):
        graphs = [module.inlined_graph, *(getattr(module, m).inlined_graph for m in methods)]
        for graph in graphs:
            names.update(_OPERATOR.findall(str(graph)))
    else:  # a torch.export program's module: an FX graph of operator overloads
        for node in module.graph.nodes:
            if node.op == "call_function" and hasattr(node.target, "name"):
                names.add(node.target.name().split(".")[0])
    return sorted(names)


@dataclass(frozen=True)
class Built:
    """A model's precision, whether its int8 is static (engine-bound), and its STFT backend."""

    precision: str
    static_int8: bool
    stft_backend: str
    evidence: str  # the operators that decided it, for messages

    @classmethod
    def read(cls, operators: list[str]) -> Built:
        quantized = [op for op in operators if op.startswith("quantized::")]
        static = [op for op in quantized if "_dynamic" not in op]  # linear_dynamic, linear_dynamic_fp16
        armstft = [op for op in operators if op.startswith("armstft::")]
        shown = (static or quantized)[:2] + armstft[:1]
        return cls(
            precision="int8" if quantized else "fp32",
            static_int8=bool(static),
            stft_backend="armstft" if armstft else "aten",
            evidence=", ".join(shown) if shown else "no quantized:: or armstft:: operator",
        )


def check(manifest: Any, name: str, operators: list[str]) -> Built:
    """Refuse the manifest's entry for variant ``name`` (``manifest``: armstft.bundle.Manifest) when it does
    not describe its file. A backend the entry does not state is the config's, and is named so."""
    variant = manifest.variants[name]
    built = Built.read(operators)
    where = str(manifest.path)
    because = f"as {variant.file} was built: {built.evidence}"
    if variant.precision != built.precision:
        raise BundleError(
            where, f"models.{name}.precision", f"{describe(built.precision)} ({because})", variant.precision
        )
    if built.static_int8 != (variant.quantized_engine is not None):
        expected = "the engine its static int8 weights were packed for" if built.static_int8 else "none"
        raise BundleError(
            where, f"models.{name}.quantized_engine", f"{expected} ({because})", variant.quantized_engine
        )
    if variant.stft_backend != built.stft_backend:
        stated = "stft_backend" in manifest.raw["models"][name]
        field = f"models.{name}.stft_backend" if stated else "config.stft_backend"
        raise BundleError(
            where, field, f"{describe(built.stft_backend)} ({because})", describe(variant.stft_backend)
        )
    return built
