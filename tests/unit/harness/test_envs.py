"""Every labgrid env file under harness/envs loads with labgrid's own config code and its drivers bind.

What this can and cannot prove: the SD mux, the power switch and the serial adapter of the Raspberry Pi envs
cannot be exercised without the hardware.  What labgrid does *before* touching hardware is checked here for
real: YAML + templates parse, every resource and driver class exists and takes the given arguments, every
driver (and the strategy) finds what it binds to, hardware resources show as unavailable and labgrid refuses
to wait for them.  Envs that name a farm place (RemotePlace) need a coordinator to expand their resources:
their config is loaded here, their binding is proven for real by tests/boards/test_farm.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from labgrid import Environment
from labgrid.exceptions import NoResourceFoundError
from labgrid.factory import target_factory
from labgrid.remote.config import ResourceConfig
from labgrid.remote.exporter import exports
from labgrid.resource.common import ManagedResource
from labgrid.util.yaml import load as labgrid_yaml

from harness.results.limits import load_limits

REPO = Path(__file__).resolve().parents[3]
ENVS = sorted((REPO / "harness" / "envs").glob("*.yaml"))
EXPORTER_CONFIGS = sorted((REPO / "harness" / "farm").glob("exporter-*.yaml"))
STRATEGIES = {"QEMUBoardStrategy", "SDMuxBoardStrategy"}


def _declared(path: Path) -> dict:
    """The env file as written (labgrid's YAML loader: it knows the !template tag)."""
    return labgrid_yaml(path.read_text())["targets"]["main"]


@pytest.fixture(autouse=True)
def _lg_vars(monkeypatch, tmp_path):
    # the only LG_* variable our envs use; binding does not need the board files to exist
    monkeypatch.setenv("LG_ARMSTFT_BOARD_OUT", str(tmp_path / "board-out"))


def test_envs_found():
    names = {p.name for p in ENVS}
    assert {"qemu-aarch64.yaml", "rpi4.yaml", "rpi5.yaml", "farm-qemu.yaml"} <= names


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_env_loads_and_declares_board_options(path):
    env = Environment(str(path))
    assert env.config.get_option("armstft_board"), f"{path.name}: options.armstft_board missing"
    assert env.config.get_option("armstft_bundle", "").startswith("/")
    features = env.get_features() | env.get_target_features()  # what labgrid's lg_feature marker reads
    if "latency-limits" in features:
        limits = env.config.get_option("armstft_limits", None)
        assert limits, f"{path.name}: declares latency-limits but has no options.armstft_limits"
        assert load_limits(Path(env.config.resolve_path(limits)))  # parses, one-line errors otherwise


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_env_drivers_bind_with_resources_unavailable(path):
    declared = _declared(path)
    if "RemotePlace" in declared.get("resources", {}):
        pytest.skip(
            "farm place: resources come from a coordinator (bound for real in tests/boards/test_farm.py)"
        )
    env = Environment(str(path))
    target = env.get_target("main")
    try:
        bound = {type(d).__name__: d for d in target.drivers}
        assert set(declared["drivers"]) == set(bound), "a declared driver was not created"
        assert all(d.state.name == "bound" for d in target.drivers)
        strategy = target.get_strategy()
        assert type(strategy).__name__ in STRATEGIES
        hardware = [r for r in target.resources if isinstance(r, ManagedResource)]
        for resource in hardware:
            assert not resource.avail, f"{type(resource).__name__} claims to be present on a CI host"
        if hardware:  # labgrid refuses to use a board whose adapters are not plugged in
            with pytest.raises(NoResourceFoundError):
                target.await_resources(hardware, timeout=0.2)
    finally:
        target.cleanup()


def test_only_real_or_real_tagged_boards_are_judged():
    features = {p.name: Environment(str(p)).get_target_features() for p in ENVS}
    assert "latency-limits" not in features["qemu-aarch64.yaml"]  # the emulated board records, never judges
    for name in ("rpi4.yaml", "rpi5.yaml", "farm-qemu.yaml"):
        assert "latency-limits" in features[name], name


def test_real_boards_have_the_hardware_drivers():
    for name in ("rpi4.yaml", "rpi5.yaml"):
        drivers = set(_declared(REPO / "harness" / "envs" / name)["drivers"])
        assert "USBStorageDriver" in drivers and "SDMuxBoardStrategy" in drivers
        assert drivers & {"USBSDMuxDriver", "USBSDWireDriver"}, f"{name}: no SD mux driver"
        assert drivers & {"NetworkPowerDriver", "USBPowerDriver", "ExternalPowerDriver"}, f"{name}: no power"


def test_sd_card_image_comes_from_the_kas_deploy_folder(monkeypatch):
    env = Environment(str(REPO / "harness" / "envs" / "rpi4.yaml"))
    target = env.get_target("main")
    try:
        strategy = target.get_strategy()
        assert strategy.image_path() == Path(
            env.config.resolve_path(
                "../../build/tmp/deploy/images/raspberrypi4-64/armstft-image-dev-raspberrypi4-64.rootfs.wic.bz2"
            )
        )
        monkeypatch.setenv("ARMSTFT_IMAGE", "/srv/images/test.wic.bz2")
        assert strategy.image_path() == Path("/srv/images/test.wic.bz2")
    finally:
        target.cleanup()


@pytest.mark.parametrize("path", EXPORTER_CONFIGS, ids=lambda p: p.name)
def test_exporter_config_names_only_env_files_that_exist(path):
    named = set(re.findall(r"harness/envs/[\w.-]+\.yaml", path.read_text()))
    assert all((REPO / n).is_file() for n in named), named


@pytest.mark.parametrize("path", EXPORTER_CONFIGS, ids=lambda p: p.name)
def test_exporter_config_renders_and_exports_known_resources(path, monkeypatch):
    monkeypatch.setenv("ARMSTFT_FARM_SERIAL", "/dev/pts/99")
    monkeypatch.setenv("ARMSTFT_FARM_SSH_PORT", "2222")
    config = ResourceConfig(
        str(path), {"env": os.environ, "isolated": False, "hostname": "farm", "name": "x"}
    )
    assert config.data, f"{path.name} rendered to nothing"
    for group, resources in config.data.items():
        for cls in resources:
            if cls == "location":
                continue
            # classes without a special export (a PDU port, a network service) are passed on as they are
            known = cls in exports or cls in target_factory.resources
            assert known, f"{path.name}: {group}/{cls} is not a labgrid resource"
    text = path.read_text()
    assert not [
        ln for ln in text.splitlines() if ln.lstrip().startswith("#") and not ln.lstrip().startswith("##")
    ]


def test_limits_files_parse():
    files = sorted((REPO / "harness" / "limits").glob("*.yaml"))
    assert {"rpi4.yaml", "rpi5.yaml", "qemu-aarch64.yaml"} <= {f.name for f in files}
    for f in files:
        doc = yaml.safe_load(f.read_text())
        limits = load_limits(f)
        assert {lim.stage for lim in limits} == {"stft", "model"}, f.name
        assert {"fp32", "int8"} <= {lim.variant for lim in limits if lim.stage == "model"}, f.name
        assert doc["board"] == f.stem


def test_bringup_names_the_missing_part(capsys):
    from harness import bringup

    assert bringup.main([str(REPO / "harness" / "envs" / "rpi4.yaml"), "mux", "host"]) == 1
    err = capsys.readouterr().err.strip()
    missing = "USBSDMuxDevice @ID_PATH=FILL-pci-0000:00:14.0-usb-0:1.2"
    assert err == f"harness.bringup: error: not found: {missing} (plugged in? udev match?)"
    assert bringup.main([str(REPO / "harness" / "envs" / "rpi4.yaml"), "power", "sideways"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "harness.bringup: error: power: expected on | off | cycle, got sideways"
    )
