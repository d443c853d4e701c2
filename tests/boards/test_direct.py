"""The direct-SSH path (``python -m harness.direct --host user@address``) against the emulated board's SSH.

Real faults, each caused for real: a key the board does not accept, a port nobody listens on, and a connection
that drops in the middle of the bundle upload (a TCP relay between us and the board that cuts both sockets
after 1 MB).  After the drop the board must hold no bundle a later run would use: the half-written file sits
in an ``.incoming-*`` folder that the next run deletes, and that next run passes.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

from harness.bundlepush import bundle_digest, local_hashes
from harness.sshboard import ParamikoBoard, SSHTarget

from harness.farm.board import free_port

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "models" / "default"
WORKDIR = "/tmp/armstft-direct-test"


def direct(board, tmp_path: Path, *args: str, port: int | None = None, key: Path | None = None):
    """Run the CLI as a user would; returns (process, the run folder or None)."""
    root = tmp_path / "results"
    argv = [
        sys.executable,
        "-m",
        "harness.direct",
        "--host",
        f"root@127.0.0.1:{port or board.ssh_port}",
        "-i",
        str(key or board.key),
        "--known-hosts",
        str(board.known_hosts),
        "--workdir",
        WORKDIR,
        "--results-root",
        str(root),
        "--board-name",
        "direct-test",
        "--connect-timeout",
        "20",
        *args,
    ]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=1200)
    runs = sorted((root / "direct-test").glob("*"))
    return proc, (runs[-1] if runs else None)


def on_board(board, *argv: str) -> str:
    """A command on the board over a fresh, direct connection (what a later run would see)."""
    ssh = ParamikoBoard(
        SSHTarget("root", "127.0.0.1", board.ssh_port), board.key, known_hosts=board.known_hosts
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


def test_wrong_key_is_refused_clearly(emulated_board, tmp_path):
    wrong = tmp_path / "wrong_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    proc, run = direct(emulated_board, tmp_path, key=wrong)
    assert proc.returncode == 1, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("harness.direct: error: stage 'ssh' failed:"), error
    assert "refused the key" in error and str(wrong) in error, error
    assert "Traceback" not in proc.stderr
    assert json.loads((run / "run.json").read_text())["failure"]["stage"] == "ssh"
    assert (run / "report.md").is_file() and (run / "junit.xml").is_file()


def test_closed_port_is_reported_as_refused(emulated_board, tmp_path):
    closed = free_port()  # bound and released a moment ago: nothing listens there
    proc, _ = direct(emulated_board, tmp_path, port=closed)
    assert proc.returncode == 1, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert f"127.0.0.1:{closed} refused the connection" in error, error
    assert "Traceback" not in proc.stderr


def test_bad_host_argument_is_bad_input(emulated_board, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "harness.direct", "--host", "no-user-here"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "harness.direct: error: --host: expected user@address[:port], got 'no-user-here'"
    )


def test_drop_mid_upload_leaves_nothing_trusted_then_a_clean_run_passes(emulated_board, tmp_path):
    board = emulated_board
    digest = bundle_digest(local_hashes(BUNDLE))
    on_board(board, "rm", "-rf", WORKDIR)
    relay = CuttingRelay(board.ssh_port, cut_after=1_000_000)
    try:
        proc, run = direct(board, tmp_path / "dropped", port=relay.port)
    finally:
        relay.close()
    assert relay.cut.is_set(), "the relay never cut the connection"
    assert proc.returncode == 1, proc.stdout[-2000:]
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("harness.direct: error: stage 'pushing' failed:"), error
    assert "Traceback" not in proc.stderr
    assert json.loads((run / "run.json").read_text())["failure"]["stage"] == "pushing"

    listing = on_board(board, "sh", "-c", f"cd {WORKDIR} && find . -type f | xargs -r ls -l")
    assert f"bundle-{digest}" not in listing, f"a bundle was kept after the drop:\n{listing}"
    partial = [ln for ln in listing.splitlines() if "/.incoming-" in ln and ln.endswith("golden.npz")]
    assert partial, f"expected the cut-off upload in an .incoming-* folder:\n{listing}"
    assert int(partial[0].split()[4]) < (BUNDLE / "golden.npz").stat().st_size, (
        "the upload was not cut mid-file"
    )

    lean_bench = "--quick --threads 1 --iterations 3 --seconds 0.1"  # rows are enough here (CI time)
    proc, run = direct(board, tmp_path / "clean", "--bench-args", lean_bench)
    assert proc.returncode == 0, proc.stderr[-2000:]
    tests = [json.loads(line) for line in (run / "tests.jsonl").read_text().splitlines()]
    assert {t["outcome"] for t in tests} == {"passed"}, tests
    assert len(tests) == 6
    assert (run / "board" / "bench.json").is_file() and (run / "board" / "info.json").is_file()
    listing = on_board(board, "sh", "-c", f"cd {WORKDIR} && ls -a")
    assert ".incoming-" not in listing, f"the partial upload survived the next run:\n{listing}"
    sums = on_board(board, "sh", "-c", f"cd {WORKDIR}/bundle-{digest} && sha256sum *")
    board_sums = {line.split()[1]: line.split()[0] for line in sums.splitlines()}
    assert board_sums == local_hashes(BUNDLE)


def test_limits_file_errors_are_bad_input(emulated_board, tmp_path):
    bad = tmp_path / "limits.yaml"
    bad.write_text("schema: something-else\np99_ms: {}\n")
    proc, _ = direct(emulated_board, tmp_path, "--limits", str(bad))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"harness.direct: error: {bad}: schema: expected armstft.limits/1, got something-else"
    )
