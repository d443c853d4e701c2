"""A zoo model as a user hands it to ``armstft bundle`` — its TorchScript file, inputs and partial config —
and, from the command line, the bundle itself (CI takes one through the HIL suite on the emulated board):

    python -m tests.unit.zoo.make open_unmix OUT      # OUT/bundle, plus the files it was made from
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from armstft.cli import main as armstft_main
from tests.unit.zoo.models import ZOO, ZooModel


def make_user_files(model: ZooModel, folder: Path) -> list[str]:
    """The files a user hands to ``armstft bundle``; returns its arguments."""
    torch.jit.save(model.build(), str(folder / f"{model.name}.pt"))
    np.savez(folder / "inputs.npz", **model.inputs())
    (folder / "config.json").write_text(json.dumps(model.config))
    args = [str(folder / f"{model.name}.pt"), "--inputs", str(folder / "inputs.npz")]
    args += ["--config", str(folder / "config.json"), "--out", str(folder / "bundle")]
    for argument in model.arguments:
        args += ["--arg", argument]
    return args


def main(argv: list[str]) -> int:
    names = {m.name: m for m in ZOO}
    if len(argv) != 2 or argv[0] not in names:
        print(f"usage: python -m tests.unit.zoo.make {{{','.join(names)}}} OUT", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    return armstft_main(["bundle", *make_user_files(names[argv[0]], out)])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
