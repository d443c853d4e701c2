"""Boot the built image once and prove it works: ``python -m harness.board.smoke [--build]``.

Not the HIL suite (that goes through labgrid); this is the builder's own end-to-end check and the source of
its figures: time to a shell prompt on the serial console, ``uname -m``, key-only SSH with the baked-in host
key, ``import torch`` time and BLAS on the board, and ``armstft info`` once the CLI exists.
Prints one JSON document on stdout; the console log is kept next to the outputs.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
from pathlib import Path

import paramiko
import pexpect

from . import qemu
from .layout import Layout

IMPORT_PROBE = (
    "import time; t0 = time.monotonic(); import torch, torchaudio, numpy; t1 = time.monotonic(); "
    "import json; print(json.dumps({'import_s': t1 - t0, 'torch': torch.__version__, "
    "'torchaudio': torchaudio.__version__, 'numpy': numpy.__version__, 'config': torch.__config__.show()}))"
)


class SmokeError(RuntimeError):
    """A smoke step failed; the message names the step."""


def _ssh(port: int, key: Path, host_key: str, timeout: float) -> paramiko.SSHClient:
    """Connect as root with the harness key, accepting only the baked-in host key."""
    kind, blob = host_key.split()[:2]
    client = paramiko.SSHClient()
    client.get_host_keys().add(f"[127.0.0.1]:{port}", kind, paramiko.Ed25519Key(data=base64.b64decode(blob)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.connect(
                "127.0.0.1",
                port=port,
                username="root",
                key_filename=str(key),
                timeout=10,
                allow_agent=False,
                look_for_keys=False,
                banner_timeout=30,
                auth_timeout=30,
            )
            return client
        except (OSError, paramiko.SSHException) as exc:
            if time.monotonic() > deadline:
                raise SmokeError(f"ssh: root@127.0.0.1:{port}: expected a key login, got {exc!r}") from exc
            time.sleep(1)


def _run(client: paramiko.SSHClient, cmd: str, timeout: float) -> tuple[int, str, str]:
    _stdin, stdout, stderr = client.exec_command(cmd, timeout=timeout)
    out, err = stdout.read().decode(), stderr.read().decode()
    return stdout.channel.recv_exit_status(), out, err


def run(layout: Layout, boot_timeout: float = 120, cmd_timeout: float = 600) -> dict:
    """Boot, check, power off. Returns the measurements; raises SmokeError naming the failed step."""
    board = json.loads(layout.board_json.read_text())
    port = qemu.free_port()
    argv = qemu.args(layout.kernel, layout.initrd, layout.image, port)
    console_log = layout.board / "smoke-console.log"
    facts: dict = {"ssh_port": port, "console_log": str(console_log), "qemu": " ".join(argv)}
    with open(console_log, "w") as logf:
        t0 = time.monotonic()
        child = pexpect.spawn(
            argv[0], argv[1:], encoding="utf-8", codec_errors="replace", timeout=boot_timeout, logfile=logf
        )
        try:
            prompt = board["console"]["prompt_regex"]
            try:
                child.expect(prompt)
            except (pexpect.TIMEOUT, pexpect.EOF) as exc:
                raise SmokeError(
                    f"boot: expected a shell prompt within {boot_timeout:.0f} s, "
                    f"got {type(exc).__name__} (see {console_log})"
                ) from exc
            facts["boot_to_prompt_s"] = round(time.monotonic() - t0, 2)
            child.sendline("uname -m")
            child.expect(r"\n(\w+)\r+\n")  # the serial line echoes with "\r\r\n"
            facts["uname_m"] = child.match.group(1)
            if facts["uname_m"] != "aarch64":
                raise SmokeError(f"serial: uname -m: expected aarch64, got {facts['uname_m']}")
            child.expect(prompt)

            t1 = time.monotonic()
            client = _ssh(port, layout.ssh_key, board["ssh"]["host_key"], timeout=60)
            facts["ssh_login_s"] = round(time.monotonic() - t1, 2)
            try:
                rc, out, err = _run(client, "uname -m && id -u && hostname", 60)
                if rc != 0 or out.split()[:2] != ["aarch64", "0"]:
                    raise SmokeError(
                        f"ssh: uname/id: expected aarch64 and uid 0, got rc={rc} {out!r} {err!r}"
                    )
                t2 = time.monotonic()
                rc, out, err = _run(client, f'python3 -c "{IMPORT_PROBE}"', cmd_timeout)
                facts["python_import_wall_s"] = round(time.monotonic() - t2, 2)
                if rc != 0:
                    raise SmokeError(f"ssh: import torch: expected exit 0, got {rc}: {err.strip()[-400:]}")
                probe = json.loads(out.strip().splitlines()[-1])
                config = probe.pop("config")
                facts.update({k: (round(v, 2) if isinstance(v, float) else v) for k, v in probe.items()})
                m = re.search(r"BLAS_INFO=(\w+)", config)
                facts["blas"] = m.group(1) if m else None
                facts["cpu_capability"] = (re.search(r"CPU capability usage: (\w+)", config) or [None, None])[
                    1
                ]
                if not facts["blas"] or "open" not in facts["blas"].lower():
                    raise SmokeError(
                        f"ssh: torch.__config__: expected BLAS_INFO=open(blas), got {facts['blas']}"
                    )
                rc, out, err = _run(
                    client, "test -f /usr/local/lib/python3.11/dist-packages/armstft/cli.py", 30
                )
                if rc == 0:
                    t3 = time.monotonic()
                    rc, out, err = _run(client, "armstft info", cmd_timeout)
                    facts["armstft_info_s"] = round(time.monotonic() - t3, 2)
                    if rc != 0:
                        raise SmokeError(
                            f"ssh: armstft info: expected exit 0, got {rc}: {err.strip()[-400:]}"
                        )
                    facts["armstft_info"] = json.loads(out)
                else:
                    facts["armstft_info"] = "skipped: armstft/cli.py not in the image yet"
                rc, out, _ = _run(client, "df -k / | tail -1; cat /proc/meminfo | head -2", 30)
                facts["board_df_meminfo"] = out.strip().splitlines()
            finally:
                client.close()
            child.sendline("poweroff -f")
            child.expect(pexpect.EOF, timeout=30)
        finally:
            if child.isalive():
                child.terminate(force=True)
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.board.smoke", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--build", action="store_true", help="build (or bring up to date) the image first")
    parser.add_argument("--boot-timeout", type=float, default=120)
    args = parser.parse_args(argv)
    layout = Layout.default()
    if args.build:
        from .build import build_image

        build_image(layout=layout)
    if not layout.board_json.exists():
        print(
            f"armstft-board: error: {layout.board_json}: expected a built board, got nothing "
            "(run python -m harness.board.build)",
            file=sys.stderr,
        )
        return 2
    try:
        facts = run(layout, boot_timeout=args.boot_timeout)
    except SmokeError as exc:
        print(f"armstft-board: smoke failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(facts, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
