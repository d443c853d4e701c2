"""Run several ``armstft`` CLI invocations in ONE Python process on the board and print all results as JSON.

Why: ``import torch`` costs ~15 s on the emulated board; ``info`` + ``verify`` + ``verify <corrupted>`` as
separate processes would pay it three times.  Each step goes through ``python -m armstft`` (runpy), i.e. the
CLI's documented entry, with its own argv, stdout, stderr and exit status, exactly as a shell would see them.

Usage on the board: ``python3 runsteps.py '[{"name": "info", "argv": ["info"]}, ...]'``.
Copied to the board by the harness; it must only need the standard library and armstft.
"""

from __future__ import annotations

import io
import json
import runpy
import sys
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout


def run_step(argv: list[str]) -> dict:
    """One CLI run: exit status from SystemExit (0 if the CLI returns normally), captured streams."""
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    saved_argv = sys.argv
    sys.argv = ["armstft", *argv]
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            runpy.run_module("armstft", run_name="__main__", alter_sys=False)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            err.write(f"{e.code}\n")
    except BaseException:
        code = 70  # the CLI crashed instead of exiting: keep the traceback for the report
        err.write(traceback.format_exc())
    finally:
        sys.argv = saved_argv
    return {
        "argv": argv,
        "returncode": code,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "seconds": round(time.monotonic() - started, 3),
    }


def main() -> int:
    started = time.monotonic()
    plan = json.loads(sys.argv[1])
    steps = []
    for item in plan:
        result = run_step(list(item["argv"]))
        result["name"] = item["name"]
        steps.append(result)
    doc = {
        "schema": "armstft-hil.steps/1",
        "seconds": round(time.monotonic() - started, 3),
        "steps": steps,
    }
    sys.stdout.write(json.dumps(doc) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
