"""meta-armstft's oeqa runtime module, run by oe-core's own runner against the emulated board.

``python -m harness.oeqa CHECKOUT [MODULE...]`` (default modules: ping ssh armstft) boots the built board
(``python -m harness.image.build``) the way the farm does, waits until root can log in, runs
``oe-test runtime`` (simpleremote target) from the bitbake checkout CHECKOUT, and stops the board. It is what
``bitbake armstft-image-dev -c testimage`` runs on a built image, without building one. oe-test's log and
JSON results go to ``$ARMSTFT_BUILD/oeqa-board/<UTC time>/``; the exit status is oe-test's.

Why ssh/scp wrappers: oe-test's simpleremote target runs plain ``ssh -l root HOST`` with
``UserKnownHostsFile=/dev/null`` and ``StrictHostKeyChecking=no``; wrappers first on PATH give it the board's
key and pin its host key (ssh takes the first value of an option, so theirs win).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from armstft.core.version import __version__
from harness import paths
from harness.errors import StageError
from harness.farm.board import EmulatedBoard
from harness.farm.processset import ProcessSet

DEFAULT_MODULES = ("ping", "ssh", "armstft")
LOGIN_TIMEOUT_S = 300.0
#: seconds the module's verify may take on the emulated board (the oeqa case reads it from the test data)
VERIFY_TIMEOUT_S = 1800


def package_manifest() -> str:
    """What the images install, under the images' package names: the emulated board is Debian with the same
    armstft, bundle and torch wheels, so the versions are the project's own pins."""
    pins = dict(
        d.split("==", 1)
        for d in tomllib.loads((paths.repo_root() / "pyproject.toml").read_text())["project"]["dependencies"]
        if "==" in d
    )
    lines = [
        "openssh-sshd aarch64 board",
        "python3-core aarch64 board",
        f"python3-torch aarch64 {pins['torch']}",
        f"python3-torchaudio aarch64 {pins['torchaudio']}",
        f"python3-armstft aarch64 {__version__}",
        f"armstft-model all {__version__}",
    ]
    return "\n".join(lines) + "\n"


def write_ssh_wrappers(out: Path, key: Path, known_hosts: Path) -> Path:
    """``out/bin/ssh`` and ``scp`` that add the board's key and pin its host key; returns the folder."""
    bin_dir = out / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in ("ssh", "scp"):
        wrapper = bin_dir / tool
        wrapper.write_text(
            f'#!/bin/sh\nexec /usr/bin/{tool} -i "{key}" -o IdentitiesOnly=yes -o BatchMode=yes '
            f'-o UserKnownHostsFile="{known_hosts}" -o StrictHostKeyChecking=yes "$@"\n'
        )
        wrapper.chmod(0o755)
    return bin_dir


def wait_login(board: EmulatedBoard, bin_dir: Path, timeout: float = LOGIN_TIMEOUT_S) -> float:
    """Seconds until ``ssh root@board true`` succeeds through the pinning wrapper (the board is up)."""
    started = time.monotonic()
    board.wait_ssh(timeout)
    argv = [
        str(bin_dir / "ssh"),
        "-o",
        "ConnectTimeout=5",
        "-p",
        str(board.ssh_port),
        "root@127.0.0.1",
        "true",
    ]
    while subprocess.run(argv, capture_output=True, timeout=60).returncode != 0:
        if not board.alive():
            raise StageError("booting", "QEMU exited before root could log in")
        if time.monotonic() - started > timeout:
            raise StageError("ssh", f"root could not log in within {timeout:.0f} s")
        time.sleep(3)
    return time.monotonic() - started


def oe_test_argv(checkout: Path, out: Path, port: int, modules: list[str]) -> list[str]:
    return [
        str(checkout / "openembedded-core/scripts/oe-test"), "runtime",
        "--target-type", "simpleremote", "--target-ip", f"127.0.0.1:{port}", "--server-ip", "127.0.0.1",
        "--packages-manifest", str(out / "manifest"), "--test-data-file", str(out / "testdata.json"),
        "--output-log", str(out / "oe-test.log"), "--json-result-dir", str(out),
        "--run-tests", *modules, "--",
        str(checkout / "openembedded-core/meta/lib/oeqa/runtime/cases"),
        str(paths.repo_root() / "meta-armstft/lib/oeqa/runtime/cases"),
    ]  # fmt: skip


def run(checkout: Path, modules: list[str]) -> int:
    """Boot, log in, run oe-test, stop the board; oe-test's exit status."""
    board_json = paths.board_out() / "board.json"
    facts = json.loads(board_json.read_text())
    out = paths.build_root() / "oeqa-board" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True)
    procs = ProcessSet(out)
    board = EmulatedBoard(paths.board_out(), procs)
    (out / "known_hosts").write_text(
        facts["ssh"]["known_hosts_line_template"].replace("{port}", str(board.ssh_port)) + "\n"
    )
    (out / "manifest").write_text(package_manifest())
    data = {"MACHINE": "qemuarm64", "MLPREFIX": "", "ARMSTFT_BUNDLE_DIR": facts["board_paths"]["bundle"]}
    (out / "testdata.json").write_text(json.dumps({**data, "ARMSTFT_VERIFY_TIMEOUT": str(VERIFY_TIMEOUT_S)}))
    bin_dir = write_ssh_wrappers(out, Path(facts["paths"]["ssh_key"]), out / "known_hosts")
    print(f"[oeqa-board] booting the emulated board (ssh on 127.0.0.1:{board.ssh_port})", file=sys.stderr)
    try:
        board.start()
        print(f"[oeqa-board] root logged in after {wait_login(board, bin_dir):.0f} s", file=sys.stderr)
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{checkout / 'bitbake/bin'}:{os.environ['PATH']}",
            "PYTHONPATH": str(checkout / "bitbake/lib"),
        }
        code = subprocess.run(
            oe_test_argv(checkout, out, board.ssh_port, modules), cwd=out, env=env
        ).returncode
    finally:
        procs.stop_all()
    print(f"[oeqa-board] oe-test exit {code}; log: {out / 'oe-test.log'}", file=sys.stderr)
    print(out)
    return code


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.oeqa", description=__doc__.splitlines()[0])
    p.add_argument("checkout", type=Path, help="the bitbake checkout (openembedded-core/ inside)")
    p.add_argument("modules", nargs="*", default=list(DEFAULT_MODULES), help="oeqa modules to run")
    args = p.parse_args(argv)
    oe_test = args.checkout / "openembedded-core/scripts/oe-test"
    if not os.access(oe_test, os.X_OK):
        print(f"harness.oeqa: error: {oe_test}: expected oe-core's oe-test, got none", file=sys.stderr)
        return 2
    if not (paths.board_out() / "board.json").is_file():
        print(
            f"harness.oeqa: error: {paths.board_out() / 'board.json'}: expected the built board "
            "(python -m harness.image.build), got none",
            file=sys.stderr,
        )
        return 2
    try:
        return run(args.checkout.resolve(), args.modules)
    except StageError as err:
        print(f"harness.oeqa: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
