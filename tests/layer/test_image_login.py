"""The production image's SSH login, with a real sshd configured as the image's (issue #10).

armstft_image.bbclass creates user ``armstft`` with useradd, whose password field is the locked ``!``. The
distro has no pam, so the image's OpenSSH is built without PAM, and such an sshd refuses locked accounts
even with a valid key. This test builds the image's passwd/shadow lines with the class's own commands
(useradd -R on a scratch root, then the class's ROOTFS_POSTPROCESS function), prepares oe-core's
sshd_config the way the openssh recipe and the class do, and logs in with a key against a real sshd
(Debian's OpenSSH, ``UsePAM no`` as a PAM-less build behaves) that sees those lines: in a private mount
namespace, /etc/passwd and /etc/shadow are the host's plus the image's armstft lines, /home is a tmpfs.
sshd runs in inetd mode on a connection to a loopback port the OS chose. With the old class (no
``armstft_key_login_only``) the login must fail with sshd's "account is locked".

Needs root (mount namespace, useradd -R), ARMSTFT_BITBAKE_CHECKOUT (oe-core's sshd_config) and an sshd:
on PATH, else Debian's openssh-server package unpacked into the download cache (never installed).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from harness import paths

from . import sources
from .bbmeta import LAYER, expand_with, parse, shell_function

CLASS = LAYER / "classes/armstft_image.bbclass"


def _sshd() -> Path:
    for cand in (shutil.which("sshd"), "/usr/sbin/sshd"):
        if cand and Path(cand).is_file():
            return Path(cand)
    dest = paths.downloads() / "openssh-server"
    sshd = dest / "root/usr/sbin/sshd"
    if not sshd.is_file():
        dest.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["apt-get", "download", "openssh-server"], cwd=dest, capture_output=True, text=True
        )
        debs = sorted(dest.glob("openssh-server_*.deb"))
        if proc.returncode != 0 or not debs:
            pytest.skip(f"no sshd, and apt-get download openssh-server failed: {proc.stderr[-300:]}")
        subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(dest / "root")], check=True)
    return sshd


def _image_user_lines(tmp: Path, fixed: bool) -> tuple[str, str]:
    """The image's passwd and shadow lines for ARMSTFT_USER, made by the class's own commands."""
    cls = parse(CLASS)
    user = cls.get("ARMSTFT_USER")
    rootfs = tmp / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "home").mkdir()
    # base-passwd's first lines: what the image has before extrausers runs
    (rootfs / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (rootfs / "etc/group").write_text("root:x:0:\n")
    (rootfs / "etc/shadow").write_text("root:*:1:0:99999:7:::\n")
    (rootfs / "etc/gshadow").write_text("root:*::\n")
    for cmd in filter(None, (c.strip() for c in cls.get("EXTRA_USERS_PARAMS").split(";"))):
        name, *args = cmd.split()
        assert name == "useradd", f"EXTRA_USERS_PARAMS: {cmd}: this test knows useradd only"
        subprocess.run([name, "-R", str(rootfs), *args], check=True, capture_output=True)
    if fixed:
        body = shell_function(CLASS, "armstft_key_login_only")
        script = 'bbfatal() { echo "$*" >&2; exit 1; }\n' + expand_with(
            body, {"IMAGE_ROOTFS": str(rootfs), "sysconfdir": "/etc", "ARMSTFT_USER": user}
        )
        subprocess.run(["sh", "-e", "-c", script], check=True)
    passwd = next(ln for ln in (rootfs / "etc/passwd").read_text().splitlines() if ln.startswith(f"{user}:"))
    shadow = next(ln for ln in (rootfs / "etc/shadow").read_text().splitlines() if ln.startswith(f"{user}:"))
    return passwd, shadow


def _image_sshd_config(tmp: Path, host_key: Path) -> Path:
    """oe-core's sshd_config with the openssh recipe's HostKey handling and the class's keys-only lines."""
    conf = tmp / "sshd_config"
    base = sources.checkout() / "openembedded-core/meta/recipes-connectivity/openssh/openssh/sshd_config"
    text = "".join(
        ln for ln in base.read_text().splitlines(keepends=True) if "HostKey" not in ln.split("#")[0]
    )
    conf.write_text(text + f"HostKey {host_key}\n")
    body = shell_function(CLASS, "armstft_sshd_keys_only")
    values = {
        "IMAGE_ROOTFS": "",
        "sysconfdir": str(tmp),
        "ARMSTFT_PERMIT_ROOT_LOGIN": parse(CLASS).get("ARMSTFT_PERMIT_ROOT_LOGIN"),
    }
    script = expand_with(body, values).replace(f"{tmp}/ssh/sshd_config", str(conf))
    subprocess.run(["sh", "-e", "-c", script], check=True)
    env_body = shell_function(CLASS, "armstft_session_env")
    env_values = {**values, "ARMSTFT_ACCELERATE": parse(CLASS).get("ARMSTFT_ACCELERATE")}
    script = expand_with(env_body, env_values).replace(f"{tmp}/ssh/sshd_config", str(conf))
    subprocess.run(["sh", "-e", "-c", script], check=True)
    assert (tmp / "profile.d/armstft.sh").read_text() == "export ARMSTFT_ACCELERATE=1\n"
    assert not re.search(r"^\s*UsePAM\s+yes", conf.read_text(), re.M | re.I), "the image's sshd has no PAM"
    return conf


def _login(
    tmp: Path, sshd: Path, passwd_line: str, shadow_line: str
) -> tuple[subprocess.CompletedProcess, str]:
    user = passwd_line.split(":")[0]
    uid, gid = (int(x) for x in passwd_line.split(":")[2:4])
    home = passwd_line.split(":")[5]
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "host_key")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "user_key")], check=True)
    conf = _image_sshd_config(tmp, tmp / "host_key")
    # the host's accounts plus the image's user; sshd's privilege-separation user for Debian's sshd
    passwd = Path("/etc/passwd").read_text() + passwd_line + "\n"
    if not re.search(r"^sshd:", passwd, re.M):
        passwd += "sshd:x:65533:65534:privsep:/run/sshd:/usr/sbin/nologin\n"
    (tmp / "passwd").write_text(passwd)
    (tmp / "shadow").write_text(Path("/etc/shadow").read_text() + shadow_line + "\n")
    (tmp / "authorized_keys").write_text((tmp / "user_key.pub").read_text())
    empty = tmp / "empty"
    empty.mkdir()
    mounts = [
        f"mount --bind {tmp}/passwd /etc/passwd",
        f"mount --bind {tmp}/shadow /etc/shadow",
        "mount -t tmpfs tmpfs /home",
        "mount -t tmpfs tmpfs /run",
        "mkdir -p -m 0755 /run/sshd",
        f"install -d -m 0755 -o {uid} -g {gid} {home}",
        f"install -d -m 0700 -o {uid} -g {gid} {home}/.ssh",
        f"install -m 0600 -o {uid} -g {gid} {tmp}/authorized_keys {home}/.ssh/authorized_keys",
    ]
    if Path("/etc/ssh/sshd_config.d").is_dir():  # the image ships none: hide the host's drop-ins
        mounts.append(f"mount --bind {empty} /etc/ssh/sshd_config.d")
    inner = " && ".join(mounts) + f" && exec {sshd} -i -e -f {conf} -o UsePAM=no"
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        (tmp / "known_hosts").write_text(f"[127.0.0.1]:{port} " + (tmp / "host_key.pub").read_text())
        client = subprocess.Popen(
            [
                "ssh",
                "-F",
                "/dev/null",
                "-i",
                str(tmp / "user_key"),
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                f"UserKnownHostsFile={tmp}/known_hosts",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "ConnectTimeout=20",
                "-p",
                str(port),
                f"{user}@127.0.0.1",
                "echo logged-in-as-uid-$(id -u) accelerate=$ARMSTFT_ACCELERATE",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        srv.settimeout(30)
        conn, _ = srv.accept()
        with conn:
            server = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner],
                stdin=conn.fileno(),
                stdout=conn.fileno(),
                stderr=subprocess.PIPE,
                text=True,
            )
            out, err = client.communicate(timeout=60)
            _, server_log = server.communicate(timeout=30)
    return subprocess.CompletedProcess(client.args, client.returncode, out, err), server_log


@pytest.mark.parametrize("fixed", [False, True], ids=["old-class-locked", "class"])
def test_production_image_accepts_its_key(tmp_path: Path, fixed: bool) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: a private mount namespace and useradd -R")
    sources.checkout()
    sshd = _sshd()
    passwd_line, shadow_line = _image_user_lines(tmp_path, fixed)
    field = shadow_line.split(":")[1]
    client, server_log = _login(tmp_path, sshd, passwd_line, shadow_line)
    if fixed:
        assert field == "*", shadow_line
        assert client.returncode == 0, f"{client.stderr}\nsshd: {server_log}"
        # the session has the image's acceleration setting (SetEnv from armstft_session_env)
        assert client.stdout.strip() == f"logged-in-as-uid-{passwd_line.split(':')[2]} accelerate=1"
    else:
        assert field.startswith("!"), shadow_line  # useradd's locked password: the bug being shown
        assert client.returncode != 0
        assert "not allowed because account is locked" in server_log, server_log


def test_production_image_has_no_password_to_guess() -> None:
    """'*' is no crypt(3) hash, so no password matches it; the class sets none, and sshd takes keys only."""
    cls = parse(CLASS)
    assert not re.search(r"(^|\s)(-p|--password|-P)\s", cls.get("EXTRA_USERS_PARAMS"))
    body = shell_function(CLASS, "armstft_key_login_only")
    assert re.search(r"s/\^\$\{ARMSTFT_USER\}:!\[\^:\]\*:/\$\{ARMSTFT_USER\}:\*:/", body), body
    keys_only = shell_function(CLASS, "armstft_sshd_keys_only")
    assert "PasswordAuthentication no" in keys_only and "KbdInteractiveAuthentication no" in keys_only
