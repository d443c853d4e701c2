"""The board's system configuration: users, init, networking, SSH, the ``armstft`` command.

Maintainer scripts never ran, so this is what they (and base-files, which we do not install) would have
set up, reduced to what a headless test board needs.  Security stance: root has no password at all
(``*`` in /etc/shadow); SSH accepts only the harness's key; the serial console logs in automatically, which is
acceptable only because this is an emulated *test* image (documented in harness/image/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

HOSTNAME = "armstft-qemu"
SITE_PACKAGES = "usr/local/lib/python3.11/dist-packages"
# Unmodified torch STFT/FFT calls run on armstft's engine in every session (armstft.faststft.accelerate),
# as on the Yocto images (meta-armstft's armstft_image class sets the same).
ACCELERATE = "ARMSTFT_ACCELERATE=1"

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
sshd:x:100:65534:sshd privilege separation:/run/sshd:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """\
root:x:0:
daemon:x:1:
tty:x:5:
shadow:x:42:
utmp:x:43:
staff:x:50:
nogroup:x:65534:
"""
# "*" = no password can ever match; unlike "!" it does not lock the account against key logins.
SHADOW = """\
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
sshd:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
"""
GSHADOW = "".join(f"{line.split(':')[0]}:*::\n" for line in GROUP.splitlines())

INITTAB = """\
# busybox init. The serial console auto-logs in as root: TEST IMAGE ONLY (see harness/image/README.md).
::sysinit:/etc/init.d/rcS
ttyAMA0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
"""

RCS = """\
#!/bin/sh
# Bring the board up: pseudo filesystems, hostname, DHCP on eth0, sshd. Runs once from busybox init.
# the initramfs hands over /dev (devtmpfs) already mounted; /proc and /sys are mounted here
mount -t proc proc /proc
mount -t sysfs sysfs /sys
grep -q " /dev devtmpfs " /proc/mounts || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/lock /run/sshd
mount -o remount,rw /
hostname -F /etc/hostname
for m in virtio_net virtio_rng; do modprobe -q "$m"; done
ip link set lo up
ip link set eth0 up 2>/dev/null && udhcpc -i eth0 -s /etc/udhcpc/default.script -q -n -t 20 -T 1 >/dev/null
/usr/sbin/sshd -f /etc/ssh/sshd_config || echo "rcS: sshd failed to start" >/dev/console
"""

RCK = """\
#!/bin/sh
# Shutdown: stop sshd, flush and unmount what can be unmounted, leave / read-only.
killall sshd udhcpc 2>/dev/null
sync
umount -a -r 2>/dev/null
mount -o remount,ro / 2>/dev/null
"""

UDHCPC = """\
#!/bin/sh
# udhcpc event hook: configure eth0 from the lease (busybox passes $ip, $mask as prefix bits, $router, $dns).
case "$1" in
    deconfig)
        ip addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
        : >/etc/resolv.conf
        for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
        ;;
esac
exit 0
"""

PROFILE = f"""\
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
export HOME=/root
export LANG=C.UTF-8
export {ACCELERATE}
export PS1='\\u@\\h:\\w\\$ '
[ "$(pwd)" = / ] && cd "$HOME"
"""

SSHD_CONFIG = f"""\
# Key-only root login for the test harness; no passwords, no PAM (maintainer scripts never configured it).
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
UsePAM no
UseDNS no
PrintMotd no
PidFile /run/sshd.pid
# labgrid multiplexes many channels over one connection
MaxSessions 64
MaxStartups 32:50:128
AcceptEnv LANG LC_*
SetEnv LANG=C.UTF-8 {ACCELERATE}
Subsystem sftp /usr/lib/openssh/sftp-server
"""

ARMSTFT = """\
#!/usr/bin/python3
# The armstft console script (pip's generated one would name the build host's interpreter).
import sys

from armstft.cli import main

sys.exit(main())
"""


def _write(root: Path, rel: str, text: str, mode: int = 0o644) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    path.write_text(text)
    os.chmod(path, mode)


def configure(root: Path, host_key: Path, authorized_key: Path, hostname: str = HOSTNAME) -> None:
    """Write every config file the board needs into ``root`` (an unpacked tree)."""
    _write(root, "etc/passwd", PASSWD)
    _write(root, "etc/group", GROUP)
    _write(root, "etc/shadow", SHADOW, 0o640)
    _write(root, "etc/gshadow", GSHADOW, 0o640)
    for rel in ("etc/shadow", "etc/gshadow"):
        os.chown(root / rel, 0, 42)
    _write(root, "etc/hostname", f"{hostname}\n")
    _write(root, "etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost\n")
    _write(root, "etc/nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n")
    _write(root, "etc/resolv.conf", "")
    _write(root, "etc/shells", "/bin/sh\n/usr/bin/sh\n")
    _write(root, "etc/fstab", "/dev/vda / ext4 rw 0 1\n")
    _write(root, "etc/inittab", INITTAB)
    _write(root, "etc/init.d/rcS", RCS, 0o755)
    _write(root, "etc/init.d/rcK", RCK, 0o755)
    _write(root, "etc/udhcpc/default.script", UDHCPC, 0o755)
    _write(root, "etc/profile", PROFILE)
    _write(root, "etc/ssh/sshd_config", SSHD_CONFIG)
    _write(root, "etc/ssh/ssh_host_ed25519_key", host_key.read_text(), 0o600)
    _write(root, "etc/ssh/ssh_host_ed25519_key.pub", host_key.with_suffix(".pub").read_text())
    (root / "root").mkdir(mode=0o700, exist_ok=True)
    _write(root, "root/.ssh/authorized_keys", authorized_key.read_text(), 0o600)
    os.chmod(root / "root/.ssh", 0o700)
    _write(root, "usr/bin/armstft", ARMSTFT, 0o755)
    for d, mode in (
        ("tmp", 0o1777),
        ("run", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("dev", 0o755),
        ("var/tmp", 0o1777),
        ("var/log", 0o755),
        ("mnt", 0o755),
    ):
        (root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(root / d, mode)
    for link, target in (("var/run", "../run"), ("var/lock", "../run/lock")):
        if not (root / link).is_symlink():
            if (root / link).exists():
                (root / link).rmdir()
            (root / link).symlink_to(target)
    (root / SITE_PACKAGES).mkdir(parents=True, exist_ok=True)
