"""Root tree pieces: apt output parsing, busybox applet table, ELF dependency check, system config, ext4."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.image import apt, elfcheck, ext4, keys, rootfs, sysconfig, wheels
from harness.image.layout import Layout

SIM = """\
NOTE: This is only a simulation!
Inst gcc-12-base (12.2.0-14+deb12u1 Debian:12.11/stable [arm64])
Inst libc6 (2.36-9+deb12u10 Debian:12.11/stable, Debian-Security:12/stable-security [arm64])
Inst busybox-static [1:1.35.0-4] (1:1.35.0-4+deb12u1+b1 Debian:12.11/stable [arm64])
Inst media-types (10.0.0 Debian:12.11/stable [all])
Conf libc6 (2.36-9+deb12u10 Debian:12.11/stable [arm64])
"""


def test_simulation_output_gives_the_closure_with_file_names() -> None:
    debs = apt.parse_simulation(SIM)
    assert [d.name for d in debs] == ["busybox-static", "gcc-12-base", "libc6", "media-types"]
    bb = debs[0]
    assert bb.version == "1:1.35.0-4+deb12u1+b1"
    assert bb.filename == "busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb"
    assert debs[-1].filename == "media-types_10.0.0_all.deb"


def test_busybox_applet_table_is_found_in_the_binary() -> None:
    names = ["[", "[[", *sorted(f"app{i:02d}" for i in range(60)), "sh", "udhcpc"]
    blob = b"\x7fELF junk\0more\0" + b"\0".join(n.encode() for n in names) + b"\0\0tail"
    assert rootfs.busybox_applets(blob) == names
    with pytest.raises(rootfs.RootfsError, match="applet table"):
        rootfs.busybox_applets(b"no table here")


def test_busybox_applets_of_the_real_debian_binary() -> None:
    bb = Layout.default().rootfs / "usr/bin/busybox"
    if not bb.is_file():
        pytest.skip("no board root tree in the cache yet (run python -m harness.image.build)")
    names = rootfs.busybox_applets(bb.read_bytes())
    for needed in ("sh", "init", "udhcpc", "switch_root", "insmod", "ip", "mount", "hostname", "poweroff"):
        assert needed in names


def test_elf_reader_on_a_host_binary() -> None:
    """The parser is architecture-neutral: read the host's python (x86-64, EM 62) to prove it."""
    exe = Path(os.path.realpath("/usr/bin/python3"))
    dyn = elfcheck.read_dynamic(exe, machine=62)
    assert dyn is not None and "libc.so.6" in dyn.needed
    assert elfcheck.read_dynamic(exe) is None  # not AArch64
    assert elfcheck.elf_machine(exe) == 62
    assert elfcheck.elf_machine(Path(__file__)) is None


def test_elf_check_finds_a_missing_library_and_a_host_binary(tmp_path: Path) -> None:
    tree = Layout.default().rootfs
    libstdcxx = sorted((tree / "usr/lib/aarch64-linux-gnu").glob("libstdc++.so.6.*"))
    if not libstdcxx:
        pytest.skip("no board root tree in the cache yet (run python -m harness.image.build)")
    root = tmp_path / "root"
    libdir = root / "usr/lib/aarch64-linux-gnu"
    libdir.mkdir(parents=True)
    shutil.copy2(libstdcxx[0], libdir / "libstdc++.so.6")
    report = elfcheck.check(root)
    assert report.checked == 1
    assert {s for _p, s in report.missing} >= {"libc.so.6", "libm.so.6", "libgcc_s.so.1"}
    for lib in ("libc.so.6", "libm.so.6", "libgcc_s.so.1", "ld-linux-aarch64.so.1"):
        shutil.copy2(os.path.realpath(tree / "usr/lib/aarch64-linux-gnu" / lib), libdir / lib)
    shutil.copy2(os.path.realpath("/usr/bin/python3"), root / "usr/hostpython")
    report = elfcheck.check(root)
    assert report.missing == []
    assert report.foreign == ["/usr/hostpython"]


def test_system_config_allows_key_login_only(tmp_path: Path) -> None:
    keyset = keys.ensure(tmp_path / "keys")
    root = tmp_path / "root"
    root.mkdir()
    sysconfig.configure(root, keyset.host, keyset.harness.with_suffix(".pub"))
    shadow = (root / "etc/shadow").read_text().splitlines()
    assert all(line.split(":")[1] == "*" for line in shadow)  # no password hash for anyone
    assert (root / "etc/shadow").stat().st_mode & 0o777 == 0o640
    sshd = (root / "etc/ssh/sshd_config").read_text()
    for line in (
        "PasswordAuthentication no",
        "PermitRootLogin prohibit-password",
        "KbdInteractiveAuthentication no",
    ):
        assert line in sshd.splitlines()
    assert (root / "root/.ssh/authorized_keys").read_text() == keyset.harness.with_suffix(".pub").read_text()
    assert (root / "root/.ssh/authorized_keys").stat().st_mode & 0o777 == 0o600
    assert (root / "etc/ssh/ssh_host_ed25519_key").stat().st_mode & 0o777 == 0o600
    inittab = (root / "etc/inittab").read_text()
    assert "ttyAMA0::respawn:-/bin/sh" in inittab and "TEST IMAGE ONLY" in inittab
    assert (root / "usr/bin/armstft").read_text().startswith("#!/usr/bin/python3\n")
    assert os.readlink(root / "var/run") == "../run"


def test_keys_are_generated_once(tmp_path: Path) -> None:
    first = keys.ensure(tmp_path)
    before = first.host.read_bytes(), first.harness.read_bytes()
    again = keys.ensure(tmp_path)
    assert (again.host.read_bytes(), again.harness.read_bytes()) == before
    kind, blob = again.host_public().split()
    assert kind == "ssh-ed25519" and len(blob) > 60
    out = tmp_path / "out"
    keys.publish(again, out)
    assert (out / "known_hosts_entry").read_text() == again.host_public() + "\n"
    assert (out / "id_ed25519").stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(shutil.which("mke2fs") is None or shutil.which("e2fsck") is None, reason="no e2fsprogs")
def test_ext4_image_from_a_tree_is_clean_and_reproducible(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "usr/bin").mkdir(parents=True)
    (tree / "usr/bin/hello").write_text("#!/bin/sh\necho hello\n")
    (tree / "usr/bin/hello").chmod(0o755)
    (tree / "bin").symlink_to("usr/bin")
    img = tmp_path / "a.ext4"
    ext4.make_image(tree, img, "armstft-root", "key1")
    subprocess.run(["e2fsck", "-fn", str(img)], check=True, capture_output=True)
    listing = subprocess.run(
        ["debugfs", "-R", "ls -l /usr/bin", str(img)], capture_output=True, text=True, check=True
    ).stdout
    assert "hello" in listing and "100755" in listing
    label = subprocess.run(["e2label", str(img)], capture_output=True, text=True, check=True).stdout.strip()
    assert label == "armstft-root"
    first = img.read_bytes()
    ext4.make_image(tree, img, "armstft-root", "key1")
    assert img.read_bytes() == first


def test_wheel_list_pins_torch_and_has_no_cuda() -> None:
    reqs = {r.name: r.version for r in wheels.requirements()}
    assert reqs["torch"] == "2.9.1" and reqs["torchaudio"] == "2.9.1"
    assert not any(n.startswith(("nvidia", "triton")) for n in reqs)
    assert {"numpy", "sympy", "mpmath", "networkx", "jinja2", "markupsafe", "fsspec", "filelock"} <= set(reqs)
    assert "manylinux_2_28_aarch64" in wheels.PLATFORMS and "manylinux2014_aarch64" in wheels.PLATFORMS
