"""The output contract other parts rely on (harness/envs, bench sysroot): paths, board.json, QEMU command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.farm.board import qemu_argv
from harness.image.layout import Layout


def test_board_paths_follow_armstft_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARMSTFT_CACHE", str(tmp_path))
    monkeypatch.delenv("ARMSTFT_BUILD", raising=False)
    lay = Layout.default()
    assert lay.out == tmp_path / "build/board/out"
    assert lay.rootfs == tmp_path / "build/board/rootfs"
    names = [
        p.relative_to(lay.out).as_posix()
        for p in (
            lay.kernel,
            lay.initrd,
            lay.image,
            lay.ssh_key,
            lay.ssh_pubkey,
            lay.known_hosts_entry,
            lay.board_json,
        )
    ]
    assert names == [
        "vmlinuz",
        "initrd.img",
        "rootfs.ext4",
        "ssh/id_ed25519",
        "ssh/id_ed25519.pub",
        "ssh/known_hosts_entry",
        "board.json",
    ]


def test_the_env_file_is_the_one_qemu_definition(tmp_path: Path) -> None:
    """The farm's QEMU command comes from harness/envs/qemu-aarch64.yaml through labgrid itself."""
    (tmp_path / "rootfs.ext4").write_bytes(b"")
    argv = qemu_argv(tmp_path, 2222)
    joined = " ".join(argv)
    assert argv[0].endswith("qemu-system-aarch64")
    assert "-cpu cortex-a72" in joined and "-machine virt" in joined and "-m 2048M" in joined
    assert f"file={tmp_path}/rootfs.ext4,snapshot=on" in joined
    assert f"-initrd {tmp_path}/initrd.img" in joined
    assert "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:2222-:22" in argv
    assert argv[-6:] == ["-display", "none", "-monitor", "none", "-serial", "pty"]


def test_built_board_matches_its_contract() -> None:
    lay = Layout.default()
    if not lay.board_json.exists():
        pytest.skip("no board built yet (run python -m harness.image.build)")
    doc = json.loads(lay.board_json.read_text())
    assert doc["schema"] == "armstft.board/1" and doc["arch"] == "aarch64"
    for key, path in doc["paths"].items():
        assert Path(path).exists(), key
    assert Path(doc["paths"]["ssh_key"]).stat().st_mode & 0o777 == 0o600
    host_key = (lay.known_hosts_entry).read_text().strip()
    assert host_key == doc["ssh"]["host_key"] and host_key.startswith("ssh-ed25519 ")
    assert doc["ssh"]["known_hosts_line_template"].format(port=2222) == f"[127.0.0.1]:2222 {host_key}"
    assert "qemu" not in doc  # how the board boots lives in the env file only
    assert Path(doc["paths"]["rootfs"]).stat().st_mode & 0o777 == 0o600  # holds the host private key
    assert doc["kernel_version"].endswith("-arm64")
    assert any(w.startswith("torch-2.9.1-") for w in doc["wheels"])
    assert not any(w.startswith(("nvidia", "triton")) for w in doc["wheels"])
    tree = Path(doc["paths"]["rootfs_tree"])
    assert (tree / "usr/bin/python3.11").exists() and (tree / "usr/bin/armstft").exists()
    assert (tree / "lib").is_symlink() and (tree / "lib/ld-linux-aarch64.so.1").exists()
    image = json.loads((tree / "etc/armstft-image.json").read_text())
    assert image["build_key"] == doc["hashes"]["build_key"]
