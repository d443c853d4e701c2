"""The torch in a built image against PyPI's aarch64 wheel, side by side in exact instruction counts under
qemu-aarch64: ``torch.mm`` 256x256, the model's ``nn.Linear`` and first conv2d, ``torch.stft`` case A, the
whole model fp32 and int8 (the bundle's TorchScript files), and ``import torch`` itself.

    python bench/instructions/compare_torch.py --rootfs IMAGE_ROOT [--baseline-rootfs TREE] [--out FILE]

IMAGE_ROOT is a root tree with a CPython and torch in it: a Yocto image's rootfs (bitbake's
``tmp/work/<machine>/armstft-image/1.0/rootfs``, or the ``.ext4`` unpacked), or the emulated board's tree.
The baseline is PyPI's 2.9.1 aarch64 torch wheel for that tree's CPython, unpacked and put first on the
guest's path in the same tree (same interpreter, libc, numpy, torchaudio: only torch differs); or, with
--baseline-rootfs, another whole tree. Each side runs in its own emulated process through
measure.run_guest with the counting plugin of measure.py, ``--runs`` times; runs must agree within
--tolerance. Prints a table with the ratio baseline / image per row (> 1: the image's torch needs fewer
instructions) and writes the counts as JSON. The bundle is the repository's models/default, the weights
models/default-weights.pt (the guest reads them through qemu-user from the host's file system).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import measure  # noqa: E402 - the plugin, the cache roots and the guest runner live there

REPO = measure.REPO
GUEST = HERE / "torch_guest.py"
TORCH_VERSION = "2.9.1"


def guest_python(root: Path) -> tuple[str, str]:
    """The tree's CPython (relative path, X.Y), the newest if several, or a clear error."""
    found = sorted(root.glob("usr/bin/python3.[0-9]*"), key=lambda p: [int(x) for x in p.name[6:].split(".")])
    found = [p for p in found if re.fullmatch(r"python3\.\d+", p.name)]
    if not found:
        sys.exit(f"compare_torch: error: {root}: usr/bin/python3.N: expected a CPython in the tree, got none")
    return str(found[-1].relative_to(root)), found[-1].name.removeprefix("python")


def pypi_torch(version: str) -> Path:
    """PyPI's torch wheel for cp{version} aarch64, unpacked once (under the bench build cache)."""
    tag = version.replace(".", "")
    dest = measure.CACHE / f"pypi-torch-{TORCH_VERSION}-cp{tag}"
    if (dest / "torch").is_dir():
        return dest
    wheels = measure.DOWNLOADS / "bench-wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--platform", "manylinux_2_28_aarch64", "--python-version", version, "--implementation", "cp",
         "--abi", f"cp{tag}", "-d", str(wheels), f"torch=={TORCH_VERSION}"],
        check=True,
    )  # fmt: skip
    wheel = next(wheels.glob(f"torch-{TORCH_VERSION}-cp{tag}-cp{tag}-*aarch64.whl"))
    partial = dest.with_name(dest.name + ".partial")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(partial)
    measure.compile_tree(partial)
    partial.rename(dest)
    return dest


def warn_without_bytecode(root: Path, version: str) -> None:
    """``import torch`` counts byte-compiling too when the tree ships no .pyc for its CPython."""
    tag = "cpython-" + version.replace(".", "")
    inits = [
        p
        for pre in ("usr", "usr/local")
        for p in root.glob(f"{pre}/lib/python3*/*-packages/torch/__init__.py")
    ]
    if inits and not list(inits[0].parent.glob(f"__pycache__/__init__.{tag}*.pyc")):
        measure.log(f"warning: {inits[0].parent}: no {tag} .pyc, so 'import torch' includes compiling it")


def run_side(
    plugin: Path, root: Path, site: list[Path], runs: int, cpu: str
) -> tuple[dict, dict[str, list[float]]]:
    """Per row name: the per-call counts of each run; plus the guest's torch facts."""
    python, version = guest_python(root)
    warn_without_bytecode(root, version)
    arg = f"{REPO / 'models/default'},{REPO / 'models/default-weights.pt'}"
    counts: dict[str, list[float]] = {}
    info: dict = {}
    for _ in range(runs):
        result = measure.run_guest(plugin, root, site, arg, cpu, script=GUEST, python=python)
        info = result[0]["info"]
        for row in result[1:]:
            counts.setdefault(row["name"], []).append(row["per_call"])
    return info, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rootfs", required=True, help="the image's root tree (CPython + torch)")
    ap.add_argument(
        "--baseline-rootfs", help="compare with this whole tree instead of PyPI's wheel in the image"
    )
    ap.add_argument("--out", default=str(measure.CACHE / "compare_torch.json"))
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--cpu", default="cortex-a76")
    ap.add_argument("--tolerance", type=float, default=0.001, help="max relative spread between runs")
    args = ap.parse_args()

    image = Path(args.rootfs).resolve()
    _, version = guest_python(image)
    if not measure.site_has(image, "torch"):
        sys.exit(
            f"compare_torch: error: {image}: torch: expected it in the tree's python{version} site, got none"
        )
    plugin = measure.build_plugin()
    if args.baseline_rootfs:
        base_root, base_site, base_name = (
            Path(args.baseline_rootfs).resolve(),
            [],
            f"tree {args.baseline_rootfs}",
        )
        guest_python(base_root)
        if not measure.site_has(base_root, "torch"):
            sys.exit(f"compare_torch: error: {base_root}: torch: expected it in the tree, got none")
    else:
        base_root, base_site, base_name = (
            image,
            [pypi_torch(version)],
            f"PyPI torch {TORCH_VERSION} cp{version}",
        )
    measure.log(f"image {image}; baseline {base_name}")
    image_info, image_counts = run_side(plugin, image, [], args.runs, args.cpu)
    base_info, base_counts = run_side(plugin, base_root, base_site, args.runs, args.cpu)

    rows, spread = [], 0.0
    for name in [n for n in image_counts if n in base_counts]:
        for counts in (image_counts[name], base_counts[name]):
            spread = max(spread, (max(counts) - min(counts)) / max(min(counts), 1.0))
        img, base = min(image_counts[name]), min(base_counts[name])
        ratio = base / img if img else None
        rows.append(
            {"row": name, "image": img, "baseline": base, "baseline_over_image": ratio,
             "image_runs": image_counts[name], "baseline_runs": base_counts[name]}
        )  # fmt: skip
    doc = {
        "schema": "armstft.compare-torch/1",
        "command": "python bench/instructions/compare_torch.py " + " ".join(sys.argv[1:]),
        "cpu_model": args.cpu,
        "image": {"rootfs": str(image), **image_info},
        "baseline": {
            "what": base_name,
            "rootfs": str(base_root),
            "site": [str(p) for p in base_site],
            **base_info,
        },
        "max_run_spread": spread,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"image:    torch {image_info['torch']} ({image_info['torch_file']}), {image_info['blas']}")
    print(f"baseline: {base_name}: torch {base_info['torch']} ({base_info['torch_file']})")
    print(f"{'row':48} {'image':>16} {'baseline':>16} {'base/image':>10}")
    for r in rows:
        ratio = f"{r['baseline_over_image']:.3f}" if r["baseline_over_image"] else "-"
        print(f"{r['row']:48} {r['image']:16,.0f} {r['baseline']:16,.0f} {ratio:>10}")
    measure.log(f"wrote {args.out}; largest spread between runs {spread:.2e}")
    if spread > args.tolerance:
        sys.exit(f"compare_torch: error: runs differ by {spread:.2e}, expected <= {args.tolerance}")


if __name__ == "__main__":
    main()
