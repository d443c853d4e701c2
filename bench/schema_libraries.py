"""Should the bundle's manifest be checked by a well-kept schema library instead of our field parsers
(``armstft/bundle/fields.py``)? Two figures decide it, both printed by this script:

1. **Messages** (host): the same damaged manifests through ``armstft verify``'s reader and through
   jsonschema (oe-core wrynose ships python3-jsonschema 4.26.0; meta-python also has python3-fastjsonschema
   2.21.1) with a schema for the same fields. A user must read file, field, expected and got.
2. **Import time on the emulated board** (``--board``): ``python3 -X importtime`` of each library (its
   aarch64 wheels from PyPI, pinned to the layer versions, unpacked on the board) against importing our
   manifest reader, which the board already pays on every ``armstft`` command. Boots the board built by
   ``python -m harness.image.build``; three runs each, the median.

``python bench/schema_libraries.py [--board]``
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema

from armstft.bundle.manifest import load_manifest
from armstft.core import bounds
from armstft.core.config import WINDOWS
from armstft.core.errors import ArmstftError
from harness import paths
from harness.drivers.sshclient import SSHConnection, SSHTarget
from harness.farm.board import EmulatedBoard
from harness.farm.processset import ProcessSet
from harness.image.wheels import PLATFORMS

BUNDLE = paths.repo_root() / paths.REPO_BUNDLE
#: the versions the Yocto layers carry (oe-core wrynose, meta-python), as PyPI aarch64 wheels
WHEELS = ("jsonschema==4.26.0", "fastjsonschema==2.21.1")
IMPORTS = {
    "armstft manifest reader (ours)": "armstft.bundle.manifest",
    "jsonschema 4.26.0": "jsonschema",
    "fastjsonschema 2.21.1": "fastjsonschema",
}
CONFIG_SCHEMA = {  # the STFT fields of the manifest's "config" object, as JSON Schema can state them
    "type": "object",
    "required": ["n_fft", "hop_length", "win_length", "sample_rate", "window", "center"],
    "properties": {
        "n_fft": {"type": "integer", "minimum": 4, "maximum": bounds.MAX_N_FFT},
        "hop_length": {"type": "integer", "minimum": 1},  # "<= n_fft" has no JSON Schema form
        "win_length": {"type": "integer", "minimum": 1},
        "sample_rate": {"type": "integer", "minimum": 1, "maximum": bounds.MAX_SAMPLE_RATE},
        "window": {"enum": list(WINDOWS)},
        "center": {"type": "boolean"},
    },
}
DAMAGE = {  # what a hand-edited manifest gets wrong
    "n_fft as text": ("n_fft", "512"),
    "n_fft a float": ("n_fft", 512.5),
    "window unknown": ("window", "kaiser"),
    "center as 1": ("center", 1),
    "hop_length > n_fft": ("hop_length", 1024),
}


def _ours(tmp: Path, manifest: dict) -> str:
    """What ``armstft verify`` says of this manifest: ``load_manifest`` reads manifest.json and nothing else,
    so the folder needs no model files."""
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    try:
        load_manifest(tmp)
    except ArmstftError as err:
        return str(err)
    return "(accepted)"


def _theirs(config: dict) -> str:
    errors = list(jsonschema.Draft202012Validator(CONFIG_SCHEMA).iter_errors(config))
    if not errors:
        return "(accepted)"
    best = jsonschema.exceptions.best_match(errors)
    return f"{'/'.join(str(p) for p in best.absolute_path) or '(root)'}: {best.message}"


def messages() -> None:
    base = json.loads((BUNDLE / "manifest.json").read_text())
    print("| damage | armstft (ours) | jsonschema 4.26.0 |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for what, (key, value) in DAMAGE.items():
            manifest = copy.deepcopy(base)
            manifest["config"][key] = value
            print(f"| {what} | `{_ours(Path(tmp), manifest)}` | `{_theirs(manifest['config'])}` |")


#: run on the board: the wheels are zips; unpacked side by side they import as installed (no pip there)
UNPACK = "import sys, zipfile\nfor w in sys.argv[1:]: zipfile.ZipFile(w).extractall('/tmp/schema-libs')"


def _wheels(into: Path) -> list[Path]:
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--dest", str(into), "--only-binary=:all:",
         *(arg for plat in PLATFORMS for arg in ("--platform", plat)), "--python-version", "3.11", *WHEELS],
        check=True,
    )  # fmt: skip
    return sorted(into.glob("*.whl"))


def _median_import_ms(ssh: SSHConnection, module: str, pythonpath: str) -> float:
    """What importing ``module`` adds, from its own line of ``-X importtime``, once the ``armstft`` package
    is there (every armstft command has it; without ARMSTFT_ACCELERATE it does not import torch)."""
    runs = []
    code = f"import armstft.bundle; import {module}"
    for _ in range(3):
        argv = ["env", "-u", "ARMSTFT_ACCELERATE", f"PYTHONPATH={pythonpath}", "python3", "-X", "importtime"]
        done = ssh.run([*argv, "-c", code], stage="measuring", timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"board: `{code}` exited {done.returncode}: {done.stderr_lines()[-1:]}")
        lines = [ln.split("|") for ln in done.stderr.splitlines() if ln.startswith("import time:")]
        runs.append(int(next(ln for ln in lines if ln[2].strip() == module)[1]) / 1000)
    return statistics.median(runs)


def board_imports() -> None:
    wheels = _wheels(paths.downloads() / "wheels-schema-aarch64")
    with tempfile.TemporaryDirectory() as tmp:
        procs = ProcessSet(Path(tmp))
        board = EmulatedBoard(paths.board_out(), procs)
        try:
            board.start()
            board.wait_ssh(300)
            target = SSHTarget("root", "127.0.0.1", board.ssh_port)
            ssh = SSHConnection(target, board.key, known_hosts=board.known_hosts, tofu_file=Path(tmp) / "t")
            ssh.connect()
            for wheel in wheels:
                ssh.put(wheel, f"/tmp/{wheel.name}", stage="pushing")
            unpack = ["python3", "-c", UNPACK, *(f"/tmp/{w.name}" for w in wheels)]
            ssh.run(unpack, stage="pushing", timeout=300)
            print("| import on the emulated board | median of 3, ms |\n|---|---|")
            for label, module in IMPORTS.items():
                print(f"| {label} | {_median_import_ms(ssh, module, '/tmp/schema-libs'):.0f} |")
            ssh.close()
        finally:
            procs.stop_all()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--board", action="store_true", help="also measure import times on the emulated board")
    args = p.parse_args()
    messages()
    if args.board:
        board_imports()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
