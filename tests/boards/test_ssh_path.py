"""The SSH path (``--armstft-ssh user@address``, ``python -m harness.run --ssh``) against the emulated board.

The same ``tests/hil`` suite as every labgrid env, and the same test ids in its JUnit; plus real faults,
each caused for real: a key the board does not accept, a port nobody listens on, a connection that drops in
the middle of the bundle upload (a TCP relay that cuts both sockets after 1 MB), a host key other than the
pinned one, and trust on first use (recorded once, enforced after).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

from labgrid.util.helper import get_free_port

from harness import paths
from harness.drivers.sshclient import SSHConnection, SSHTarget
from harness.steps.push import bundle_digest, local_hashes
from tests.boards.conftest import REPO, junit_outcomes, run_pytest, ssh_args

BUNDLE = REPO / paths.REPO_BUNDLE
SSH_TEST = "tests/hil/test_boot.py::test_ssh_reaches_an_aarch64_board"


def harness_run(board, tmp_path: Path, *args: str, port: int | None = None, key: Path | None = None):
    """``python -m harness.run --ssh`` as a user would run it; (process, its run folder or None)."""
    root = tmp_path / "results"
    argv = [
        sys.executable, "-m", "harness.run", "--plain", "--ssh", f"root@127.0.0.1:{port or board.ssh_port}",
        "--key", str(key or board.key), "--known-hosts", str(board.known_hosts), "--results-root", str(root),
        "--board", "ssh-test", *args,
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=1200)
    runs = sorted((root / "ssh-test").glob("*"))
    return proc, (runs[-1] if runs else None)


def on_board(board, *argv: str) -> str:
    """A command on the board over a fresh, pinned connection (what a later run would see)."""
    ssh = SSHConnection(
        SSHTarget("root", "127.0.0.1", board.ssh_port),
        board.key,
        known_hosts=board.known_hosts,
        tofu_file=Path(),
    )
    try:
        return ssh.connect().run(list(argv), stage="check", timeout=60).stdout
    finally:
        ssh.close()


class CuttingRelay:
    """A TCP relay to the board that drops both connections once ``cut_after`` bytes went to the board."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.sent = 0
        self.cut = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        client, _ = self.server.accept()
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self._pump(client, upstream, True)

    def _pump(self, src: socket.socket, dst: socket.socket, to_board: bool) -> None:
        try:
            while not self.cut.is_set():
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if to_board:
                    self.sent += len(data)
                    if self.sent >= self.cut_after:
                        self.cut.set()
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.cut.set()
        self.server.close()


def test_ssh_path_runs_the_whole_suite(ssh_suite_run):
    proc, run = ssh_suite_run
    assert proc.returncode == 0, proc.stdout[-4000:]
    outcomes = junit_outcomes(run)
    skipped = {name for (_, name), kind in outcomes.items() if kind == "skipped"}
    assert skipped == {
        "test_console_answers",
        "test_machine_is_aarch64_on_console",
        "test_console_and_ssh_are_the_same_boot",
        "test_p99_within_board_limits",
    }, outcomes
    assert {kind for kind in outcomes.values()} == {"passed", "skipped"}
    assert (run / "board" / "bench.json").is_file() and (run / "board" / "verify-installed.json").is_file()
    assert "Failed in stage" not in (run / "report.md").read_text()


def test_ssh_and_labgrid_paths_give_the_same_test_ids(ssh_suite_run, farm_suite_run):
    ssh_ids = set(junit_outcomes(ssh_suite_run[1]))
    labgrid_ids = set(junit_outcomes(farm_suite_run[1]))
    assert ssh_ids == labgrid_ids
    assert len(ssh_ids) >= 15


def test_wrong_key_is_refused_clearly(emulated_board, tmp_path):
    wrong = tmp_path / "wrong_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    proc, run = harness_run(emulated_board, tmp_path, "--pytest-args=-x", key=wrong)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "FAILED in stage 'ssh':" in proc.stderr and "refused the key" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert json.loads((run / "run.json").read_text())["failure"]["stage"] == "ssh"
    assert (run / "report.md").is_file() and (run / "junit.xml").is_file()


def test_closed_port_is_reported_as_refused(emulated_board, tmp_path):
    closed = get_free_port()  # bound and released a moment ago: nothing listens there
    proc, _ = harness_run(
        emulated_board, tmp_path, "--pytest-args=-x --armstft-connect-timeout=3", port=closed
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"root@127.0.0.1:{closed} refused the connection" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_bad_ssh_argument_and_limits_are_bad_input(emulated_board, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "harness.run", "--ssh", "no-user-here"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip() == "harness.run: error: --ssh: expected user@address[:port], got 'no-user-here'"
    )
    bad = tmp_path / "limits.yaml"
    bad.write_text("schema: something-else\np99_ms: {}\n")
    proc, _ = run_pytest(tmp_path, *ssh_args(emulated_board), f"--armstft-limits={bad}", SSH_TEST)
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert f"{bad}: schema: expected armstft.limits/1, got something-else" in proc.stderr


def test_drop_mid_upload_leaves_nothing_trusted_then_a_clean_run_passes(emulated_board, tmp_path):
    board = emulated_board
    digest = bundle_digest(local_hashes(BUNDLE))
    relay = CuttingRelay(board.ssh_port, cut_after=1_000_000)
    try:
        proc, run = harness_run(board, tmp_path / "dropped", "--pytest-args=-x", port=relay.port)
    finally:
        relay.close()
    assert relay.cut.is_set(), "the relay never cut the connection"
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "FAILED in stage 'pushing':" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    meta = json.loads((run / "run.json").read_text())
    assert meta["failure"]["stage"] == "pushing"
    workdir = meta["board_workdir"]
    listing = on_board(board, "sh", "-c", f"cd {workdir} && find . -type f | xargs -r ls -l")
    assert f"bundle-{digest}" not in listing, f"a bundle was kept after the drop:\n{listing}"
    partial = [ln for ln in listing.splitlines() if "/.incoming-" in ln and ln.endswith("golden.npz")]
    assert partial, f"expected the cut-off upload in an .incoming-* folder:\n{listing}"
    assert int(partial[0].split()[4]) < (BUNDLE / "golden.npz").stat().st_size, (
        "the upload was not cut mid-file"
    )
    on_board(board, "rm", "-rf", workdir)

    lean = "--quick --threads 1 --iterations 3 --seconds 0.1"
    proc, run = harness_run(board, tmp_path / "clean", f"--bench-args={lean}", "--pytest-args=-k test_push")
    assert proc.returncode == 0, proc.stderr[-2000:]
    workdir = json.loads((run / "run.json").read_text())["board_workdir"]
    assert on_board(board, "sh", "-c", f"test -e {workdir} && echo kept || echo removed").strip() == "removed"


def test_a_wrong_pinned_host_key_fails_the_run(emulated_board, tmp_path):
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    pin = tmp_path / "known_hosts"
    pin.write_text(" ".join(other.with_suffix(".pub").read_text().split()[:2]) + "\n")
    proc, run = run_pytest(tmp_path, *ssh_args(emulated_board, pin=pin), SSH_TEST)
    assert proc.returncode == 1, proc.stdout[-2000:]
    failure = json.loads((run / "run.json").read_text())["failure"]
    assert failure["stage"] == "ssh"
    assert f"{pin}: host key: expected a pinned key, got a different ssh-ed25519 key" in failure["message"]


def test_unpinned_host_key_is_trusted_on_first_use_then_enforced(emulated_board, tmp_path):
    cache = tmp_path / "cache"
    env = {"ARMSTFT_CACHE": str(cache), "ARMSTFT_BUILD": str(Path(emulated_board.board_out).parents[1])}
    first, run = run_pytest(tmp_path / "1", *ssh_args(emulated_board, pin=False), SSH_TEST, env=env)
    assert first.returncode == 0, first.stdout[-2000:]
    recorded = (cache / "ssh" / "known_hosts").read_text()
    board_key = emulated_board.known_hosts.read_text().split()[1]
    assert recorded.split() == [f"[127.0.0.1]:{emulated_board.ssh_port}", "ssh-ed25519", board_key]
    assert "trusted on first use" in " ".join(json.loads((run / "run.json").read_text())["notes"])
    again, _ = run_pytest(tmp_path / "2", *ssh_args(emulated_board, pin=False), SSH_TEST, env=env)
    assert again.returncode == 0, again.stdout[-2000:]
    assert (cache / "ssh" / "known_hosts").read_text() == recorded  # enforced, not re-recorded

    impostor = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True)
    fake = impostor.with_suffix(".pub").read_text().split()[1]
    (cache / "ssh" / "known_hosts").write_text(recorded.replace(board_key, fake))
    changed, run = run_pytest(tmp_path / "3", *ssh_args(emulated_board, pin=False), SSH_TEST, env=env)
    assert changed.returncode == 1, changed.stdout[-2000:]
    message = json.loads((run / "run.json").read_text())["failure"]["message"]
    assert "expected the ssh-ed25519 key recorded on first use, got a different one" in message


# stdin/stdout <-> one TCP connection: what ``ssh -W host:port proxy`` gives labgrid's drivers
RELAY = """
import os, socket, sys, threading
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    while data := os.read(0, 65536):
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := s.recv(65536):
    os.write(1, data)
"""


def test_a_proxy_command_reaches_the_board_and_the_host_key_stays_the_boards(emulated_board, tmp_path):
    """A board behind a proxy: the named address (TEST-NET, unroutable) is never dialled; the stream goes
    through the proxy command, and trust on first use records the key under the board's own name."""
    tofu = tmp_path / "known_hosts"
    ssh = SSHConnection(
        SSHTarget("root", "192.0.2.7", 2222),
        emulated_board.key,
        known_hosts=None,
        tofu_file=tofu,
        connect_timeout=60,
        proxy_command=[sys.executable, "-c", RELAY, "127.0.0.1", str(emulated_board.ssh_port)],
    )
    try:
        assert ssh.connect().run(["uname", "-m"], stage="check", timeout=60).stdout.strip() == "aarch64"
    finally:
        ssh.close()
    board_key = emulated_board.known_hosts.read_text().split()[1]
    assert tofu.read_text().split() == ["[192.0.2.7]:2222", "ssh-ed25519", board_key]
