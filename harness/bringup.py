"""``python -m harness.bringup ENV ACTION``: drive one part of a desk board by hand, through its env file.

For bringing a board up part by part before the first suite run (``labgrid-client`` only works on farm
places, not on a local env file):

    python -m harness.bringup harness/envs/rpi4.yaml power off|on|cycle
    python -m harness.bringup harness/envs/rpi4.yaml mux host|dut       # the SD card to the host / the board
    python -m harness.bringup harness/envs/rpi4.yaml flash              # off, host, bmaptool write, dut
    python -m harness.bringup harness/envs/rpi4.yaml shell              # boot to the serial shell, uname -a
    python -m harness.bringup harness/envs/rpi4.yaml ssh                # ... and open SSH

A part that is not plugged in (udev match finds nothing) or not reachable ends in one line naming it.
Exit status: 0 done, 1 the part failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labgrid import Environment
from labgrid.exceptions import InvalidConfigError, NoResourceFoundError

from harness.errors import StageError

#: udev keys labgrid adds to a resource's match itself (device class), not written by the user
LABGRID_MATCH = ("SUBSYSTEM", "ID_VENDOR_ID", "ID_MODEL_ID", "DEVTYPE", "DRIVER")

ACTIONS = {
    "power": ("on", "off", "cycle"),
    "mux": ("host", "dut"),
    "flash": (),
    "shell": (),
    "ssh": (),
}


def _run(target, action: str, arg: str | None) -> str:
    if action == "power":
        power = target.get_driver("PowerProtocol")
        getattr(power, arg)()
        return f"power {arg}"
    if action == "mux":
        mux = next(
            (d for d in target.drivers if type(d).__name__ in ("USBSDMuxDriver", "USBSDWireDriver")), None
        )
        if mux is None:
            raise StageError("flashing", "this env has no SD mux driver")
        target.activate(mux)
        mux.set_mode(arg)
        return f"SD card switched to {arg}"
    strategy = target.get_strategy()
    state = {"flash": "flashed", "shell": "shell", "ssh": "ssh"}[action]
    strategy.transition(state)
    if action == "flash":
        return f"written: {strategy.flashed_image or 'nothing (no SD mux or ARMSTFT_SKIP_FLASH=1)'}"
    shell = target.get_driver("ShellDriver")
    out = shell.run_check("uname -a")
    return f"{state}: {' '.join(out)} (boot to shell {strategy.boot_seconds or 0:.1f} s)"


def _describe(resource) -> str:
    """``USBSDMuxDevice @ID_PATH=...``: the class and the match the user wrote (not labgrid's defaults)."""
    match = getattr(resource, "match", {}) or {}
    mine = [f"{k}={v}" for k, v in match.items() if k.lstrip("@") not in LABGRID_MATCH]
    return f"{type(resource).__name__} {' '.join(mine)}".strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bringup", description=__doc__.split("\n")[0])
    parser.add_argument("env", type=Path, help="a labgrid env file, e.g. harness/envs/rpi4.yaml")
    parser.add_argument("action", choices=sorted(ACTIONS))
    parser.add_argument("arg", nargs="?", help="power: on/off/cycle; mux: host/dut")
    args = parser.parse_args(argv)
    allowed = ACTIONS[args.action]
    if (args.arg is None) != (not allowed) or (allowed and args.arg not in allowed):
        print(
            f"harness.bringup: error: {args.action}: expected {' | '.join(allowed) or 'no argument'}, "
            f"got {args.arg or 'nothing'}",
            file=sys.stderr,
        )
        return 2
    if not args.env.is_file():
        print(f"harness.bringup: error: {args.env}: env file: expected a file, got missing", file=sys.stderr)
        return 2
    try:
        target = Environment(str(args.env)).get_target("main")
    except InvalidConfigError as e:
        print(f"harness.bringup: error: {args.env}: {e}", file=sys.stderr)
        return 2
    try:
        print(_run(target, args.action, args.arg))
        return 0
    except NoResourceFoundError as e:
        # labgrid's message lists the resources it waited for; name those the way the env file does
        missing = [_describe(r) for r in target.resources if not r.avail and f"{type(r).__name__}(" in str(e)]
        print(
            f"harness.bringup: error: not found: {'; '.join(missing)} (plugged in? udev match?)",
            file=sys.stderr,
        )
    except StageError as e:
        print(f"harness.bringup: error: {e}", file=sys.stderr)
    except Exception as e:  # a power switch that does not answer, a tool that is missing, ...
        text = str(e).strip().splitlines()
        print(f"harness.bringup: error: {type(e).__name__}: {text[0] if text else ''}", file=sys.stderr)
    finally:
        target.cleanup()
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
