"""Train the default classifier on synthetic clips (seeded; no downloads; about 25 s on 2 cores).

    python -m armstft.host.train --out models/default-weights.pt

Writes a weights file (state dict + config + labels + held-out accuracy) that :mod:`armstft.host.export` turns
into a bundle. The file holds only tensors and plain data, so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from armstft.audio.synth import LABELS, make_dataset
from armstft.core.config import StftConfig
from armstft.nn.model import StftClassifier

# Stated target on the held-out synthetic set; training fails loudly below it.
TARGET_ACCURACY = 0.95


def accuracy(model: torch.nn.Module, clips: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(chunk).argmax(dim=1) for chunk in clips.split(128)])
    return float((predicted == labels).float().mean())


def train(
    config: StftConfig, seed: int = 0, epochs: int = 30, per_class: int = 200, threads: int = 2
) -> tuple[StftClassifier, float]:
    """Train from scratch; returns the model and its held-out accuracy."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    x_train, y_train = (torch.from_numpy(a) for a in make_dataset(per_class, seed, config.sample_rate))
    x_test, y_test = (torch.from_numpy(a) for a in make_dataset(per_class // 2, seed + 1, config.sample_rate))
    model = StftClassifier(config, n_classes=len(LABELS))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for batch in order.split(32):
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        acc = accuracy(model, x_test, y_test)
        print(
            f"epoch {epoch + 1:2d}/{epochs}  loss {total / len(x_train):.4f}  held-out acc {acc:.3f}",
            file=sys.stderr,
        )
    return model, accuracy(model, x_test, y_test)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("models/default-weights.pt"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    started = time.monotonic()
    config = StftConfig()
    model, acc = train(config, seed=args.seed, epochs=args.epochs)
    elapsed = time.monotonic() - started
    print(f"held-out accuracy {acc:.3f} (target {TARGET_ACCURACY}) in {elapsed:.0f} s", file=sys.stderr)
    if acc < TARGET_ACCURACY:
        print(f"armstft train: error: accuracy {acc:.3f} below target {TARGET_ACCURACY}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "config": config.to_dict(),
            "labels": list(LABELS),
            "state_dict": model.state_dict(),
            "held_out_accuracy": acc,
            "seed": args.seed,
            "train_seconds": round(elapsed, 1),
            "torch": str(torch.__version__),
            "numpy": str(np.__version__),
        },
        args.out,
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
