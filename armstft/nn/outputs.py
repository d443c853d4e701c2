"""What a model returns, as named arrays: a tensor, or a tuple/list/dict of tensors (one level).

Why in the nn layer: ``armstft bundle`` (host) records these outputs and the model worker (sandbox) sends
them back to verify; both must name them the same way, and both sit above this layer.
"""

from __future__ import annotations

import re

import torch

from armstft.core.bounds import MAX_OUTPUTS

# One output's name in golden.npz (``<case>.out.<variant>.<name>``): the manifest's name pattern.
OUTPUT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
OUTPUT_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)


class OutputStructureError(ValueError):
    """The output is not a tensor nor a flat tuple/list/dict of tensors: which ``field``, ``expected``,
    ``got``."""

    def __init__(self, field: str, expected: str, got: str) -> None:
        super().__init__(f"{field}: expected {expected}, got {got}")
        self.field = field
        self.expected = expected
        self.got = got


def named_outputs(value: object) -> tuple[list[str], list[torch.Tensor]]:
    """``([], [t])`` for a single tensor; ``(names, tensors)`` for a tuple/list (``0``, ``1``, ...) or a
    dict (its keys, in its order). Nested containers and non-tensors are refused, naming the element."""
    if isinstance(value, torch.Tensor):
        return [], [_tensor("output", value)]
    if isinstance(value, tuple | list):
        items = [(str(i), v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        items = [(k, v) for k, v in value.items()]
    else:
        raise OutputStructureError(
            "output", "a tensor, or a tuple/dict of tensors", f"a {type(value).__name__}"
        )
    if not 1 <= len(items) <= MAX_OUTPUTS:
        raise OutputStructureError("output", f"1..{MAX_OUTPUTS} tensors", f"{len(items)}")
    names: list[str] = []
    tensors: list[torch.Tensor] = []
    for name, item in items:
        if not isinstance(name, str) or len(name) > 64 or not OUTPUT_NAME.fullmatch(name):
            raise OutputStructureError("output", f"keys matching {OUTPUT_NAME.pattern}", repr(name))
        if not isinstance(item, torch.Tensor):
            raise OutputStructureError(
                f"output[{name}]", "a tensor (one level of tuple/dict)", f"a {type(item).__name__}"
            )
        names.append(name)
        tensors.append(_tensor(f"output[{name}]", item))
    return names, tensors


def _tensor(field: str, value: torch.Tensor) -> torch.Tensor:
    if value.dtype not in OUTPUT_DTYPES:
        raise OutputStructureError(field, "float32/float64/complex64/complex128", f"dtype {value.dtype}")
    return value.detach().cpu().resolve_conj()
