"""A whole labgrid farm on 127.0.0.1: coordinator, exporter, the emulated board and its place.

``python -m harness.farm.loopback up`` keeps one running until Ctrl-C (try the farm without hardware);
``tests/boards/test_farm.py`` uses the same class to prove in CI that the HIL suite runs through a
``RemotePlace`` and that two clients cannot hold one place at once.

Everything runs as real labgrid 26 programs (``labgrid-coordinator``, ``labgrid-exporter`` with ser2net,
``labgrid-client``) from the venv that runs this module; every process is started through a ``ProcessSet`` so
``stop()`` ends all of them, including the exporter's ser2net children, and ``strays()`` proves it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labgrid.util.helper import get_free_port

from harness import paths
from harness.errors import StageError
from harness.farm.board import EmulatedBoard
from harness.farm.processset import ProcessSet, processes_mentioning

HERE = Path(__file__).resolve().parent
EXPORTER_CONFIG = HERE / "exporter-qemu.yaml"
PLACE = "armstft-qemu"
EXPORTER_NAME = "farm-loopback"
BIN = Path(sys.executable).parent


def labgrid_tool(name: str) -> str:
    """labgrid's programs from the same venv as this Python (CI does not activate the venv)."""
    tool = BIN / name
    return str(tool) if tool.exists() else name


class LoopbackFarm:
    """Coordinator + exporter (+ optionally the emulated board) on loopback; use as a context manager."""

    def __init__(self, workdir: Path, board_out: Path) -> None:
        self.workdir = Path(workdir)
        self.procs = ProcessSet(self.workdir / "logs")
        self.board = EmulatedBoard(board_out, self.procs)
        self.port = get_free_port()
        self.address = f"127.0.0.1:{self.port}"

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> LoopbackFarm:
        try:
            self.board.start()
            self._start_coordinator()
            self._start_exporter()
            self._create_place()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.procs.stop_all()

    def strays(self) -> list[str]:
        """Anything still alive from this farm: our sessions, plus any process that names its ports or pty."""
        found = self.procs.strays()
        needles = [self.address, f"-p {self.board.ssh_port} ", f":{self.board.ssh_port}"]
        if self.board.serial:
            needles.append(f"{self.board.serial},")  # ser2net's connector argument
        for needle in needles:
            found += [p for p in processes_mentioning(needle) if p not in found]
        return found

    def __enter__(self) -> LoopbackFarm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- clients -----------------------------------------------------------------------------------------

    def client_env(self, user: str | None = None, host: str | None = None) -> dict[str, str]:
        """Environment of a labgrid client of this farm; ``user``/``host`` give it another identity."""
        env = {**os.environ, "LG_COORDINATOR": self.address}
        if user:
            env["LG_USERNAME"] = user
        if host:
            env["LG_HOSTNAME"] = host
        return env

    def client(
        self, *args: str, user: str | None = None, host: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``labgrid-client -p <place> ARGS`` (no exception on failure: callers judge the result)."""
        return subprocess.run(
            [labgrid_tool("labgrid-client"), "-p", PLACE, *args],
            env=self.client_env(user, host),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # --- steps -------------------------------------------------------------------------------------------

    def _wait_log(self, name: str, pattern: str, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.procs.log(name)):
                return
            proc = self.procs.procs.get(name)
            if proc is None or proc.poll() is not None:
                break
            time.sleep(0.2)
        tail = " | ".join(self.procs.log(name).strip().splitlines()[-3:]) or "no output"
        raise StageError("farm", f"{what} not ready within {timeout:.0f} s: {tail}")

    def _start_coordinator(self) -> None:
        cwd = self.workdir / "coordinator"  # it keeps places.yaml/resources in its working directory
        cwd.mkdir(parents=True, exist_ok=True)
        self.procs.start(
            "coordinator", [labgrid_tool("labgrid-coordinator"), "--listen", self.address], cwd=cwd
        )
        self._wait_log("coordinator", r"listening on", 30, f"labgrid-coordinator on {self.address}")

    def _start_exporter(self) -> None:
        env = {
            **os.environ,
            "ARMSTFT_FARM_SERIAL": str(self.board.serial),
            "ARMSTFT_FARM_SSH_PORT": str(self.board.ssh_port),
        }
        self.procs.start(
            "exporter",
            [
                labgrid_tool("labgrid-exporter"),
                "--coordinator",
                self.address,
                "--name",
                EXPORTER_NAME,
                "--hostname",
                "127.0.0.1",
                str(EXPORTER_CONFIG),
            ],
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = subprocess.run(
                [labgrid_tool("labgrid-client"), "resources"],
                env=self.client_env(),
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
            if f"{EXPORTER_NAME}/{PLACE}/NetworkSerialPort" in out and "NetworkService" in out:
                return
            if self.procs.procs["exporter"].poll() is not None:
                break
            time.sleep(0.5)
        tail = " | ".join(self.procs.log("exporter").strip().splitlines()[-3:]) or "no output"
        raise StageError("farm", f"labgrid-exporter did not publish the board's resources: {tail}")

    def _create_place(self) -> None:
        for args in (("create",), ("add-match", f"{EXPORTER_NAME}/{PLACE}/*")):
            done = self.client(*args)
            if done.returncode != 0:
                raise StageError("farm", f"labgrid-client {' '.join(args)}: {done.stderr.strip()[-300:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.farm.loopback", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["up"], help="up: start the farm and keep it until Ctrl-C")
    parser.add_argument(
        "--board-out",
        type=Path,
        default=paths.board_out(),
        help="the built emulated board (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="armstft-farm-") as tmp:
        farm = LoopbackFarm(Path(tmp), args.board_out)
        try:
            farm.start()
        except StageError as e:
            print(f"harness.farm.loopback: error: {e}", file=sys.stderr)
            return 1
        print(f"export LG_COORDINATOR={farm.address}")
        print(
            f"# place {PLACE}: serial {farm.board.serial}, ssh 127.0.0.1:{farm.board.ssh_port} (Ctrl-C stops)"
        )
        try:
            while farm.board.alive():
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            farm.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
