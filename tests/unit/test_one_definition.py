"""Facts the project states once, and the copies that cannot import them (YAML, BitBake, shell, an oeqa case
that runs on the board) held to that one definition, the way tests/unit/harness/test_paths.py holds
scripts/lib/paths.sh to harness/paths.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from armstft.audio.reference import WINDOWS64
from armstft.core.config import WINDOWS
from armstft.device.benchsettings import BenchSettings
from armstft.nn.frontend import TORCH_WINDOWS
from harness import paths
from harness.image import stages
from harness.oeqa import package_manifest
from harness.pytestplugin.options import OPTIONS
from harness.steps.push import local_hashes
from tests.unit.conftest import REPO


def test_the_board_bundle_path_is_harness_paths_everywhere():
    assert {o.name: o.default for o in OPTIONS}["installed-bundle"] == paths.BOARD_BUNDLE
    assert "/" + stages.BUNDLE_ON_BOARD == paths.BOARD_BUNDLE
    envs = sorted((REPO / "harness" / "envs").glob("*.yaml"))
    # read as text: labgrid's env files carry tags (!template) a plain YAML loader refuses
    stated = {
        e.name: m.group(1)
        for e in envs
        if (m := re.search(r"^\s+armstft_bundle:\s*(\S+)\s*$", e.read_text(), re.MULTILINE))
    }
    assert stated and stated == {name: paths.BOARD_BUNDLE for name in stated}
    oeqa = (REPO / "meta-armstft/lib/oeqa/runtime/cases/armstft.py").read_text()
    assert f'DEFAULT_BUNDLE = "{paths.BOARD_BUNDLE}"' in oeqa
    ptest = (REPO / "recipes-ml/python3-armstft/files/run-ptest").read_text()
    assert f"bundle={paths.BOARD_BUNDLE}\n" in ptest
    recipe = (REPO / "recipes-ml/armstft-model/armstft-model_0.1.0.bb").read_text()
    datadir = "/usr/share"  # BitBake's ${datadir} (prefix /usr)
    assert f'ARMSTFT_BUNDLE_DIR = "${{datadir}}{paths.BOARD_BUNDLE.removeprefix(datadir)}"' in recipe


def test_the_repository_bundle_is_harness_paths_everywhere():
    assert stages.BUNDLE_REL == paths.REPO_BUNDLE
    recipe = (REPO / "recipes-ml/armstft-model/armstft-model_0.1.0.bb").read_text()
    folder, name = paths.REPO_BUNDLE.rsplit("/", 1)
    assert f'FILESEXTRAPATHS:prepend := "${{ARMSTFT_TOPDIR}}/{folder}:"' in recipe
    assert f'SRC_URI = "file://{name};' in recipe


def test_a_manifest_without_config_falls_back_in_one_place():
    """``manifest.config or StftConfig()`` is Manifest.input_config, written once."""
    found = [
        f"{p.relative_to(REPO)}:{n}"
        for p in sorted((REPO / "armstft").rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"config or StftConfig\(\)", line)
    ]
    assert len(found) == 2, found  # Manifest.input_config, and a user's --config in armstft bundle
    assert any(f.startswith("armstft/bundle/manifest.py") for f in found)


def test_every_window_name_has_its_torch_and_float64_window():
    assert list(TORCH_WINDOWS) == list(WINDOWS) == list(WINDOWS64)


def test_bench_help_states_the_settings_defaults():
    out = subprocess.run(
        [sys.executable, "-m", "armstft", "bench", "--help"], capture_output=True, text=True, check=True
    ).stdout
    text = " ".join(out.split())
    full, quick = BenchSettings(), BenchSettings.quick()
    assert f"(default {full.seconds:g}, --quick {quick.seconds:g})" in text
    assert f"(default {full.iterations}, --quick {quick.iterations})" in text
    assert f"(default {full.warmup}, --quick {quick.warmup})" in text
    assert f"(default {','.join(full.backends)})" in text


def test_the_harness_hashes_a_bundle_as_the_manifest_does():
    """push.py's digests are the bundle format's (armstft.bundle.hashing), byte for byte the manifest's."""
    bundle = REPO / paths.REPO_BUNDLE
    manifest = json.loads((bundle / "manifest.json").read_text())
    hashes = local_hashes(bundle)
    assert {n: d for n, d in hashes.items() if n != "manifest.json"} == manifest["files"]


def test_the_torch_version_is_pyprojects_everywhere():
    """pyproject.toml pins torch and torchaudio; the scripts, the bench, the Yocto distro and recipes, and
    the board's oeqa case state the same versions."""
    import tomllib

    pins = dict(
        d.split("==")
        for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
        if "==" in d
    )
    torch, audio = pins["torch"], pins["torchaudio"]
    text = {
        rel: (REPO / rel).read_text()
        for rel in (
            "scripts/bootstrap.sh",
            "scripts/build-aarch64-wheel.sh",
            "bench/instructions/compare_torch.py",
            "meta-armstft/conf/distro/armstft.conf",
            "meta-armstft/lib/oeqa/runtime/cases/armstft.py",
        )
    }
    assert f"torch=={torch} torchaudio=={audio}" in text["scripts/bootstrap.sh"]
    assert f"torch_version={torch}\n" in text["scripts/build-aarch64-wheel.sh"]
    shipped = package_manifest().splitlines()  # harness.oeqa derives it from the same pins
    assert f"python3-torch aarch64 {torch}" in shipped and f"python3-torchaudio aarch64 {audio}" in shipped
    assert f'TORCH_VERSION = "{torch}"' in text["bench/instructions/compare_torch.py"]
    distro = text["meta-armstft/conf/distro/armstft.conf"]
    assert f'PREFERRED_VERSION_python3-torch = "{torch}"' in distro
    assert f'PREFERRED_VERSION_python3-torchaudio = "{audio}"' in distro
    assert f'startswith("{torch}")' in text["meta-armstft/lib/oeqa/runtime/cases/armstft.py"]
    for recipe in ("python3-torch", "python3-torch-bin"):
        assert (REPO / f"recipes-ml/{recipe}/{recipe}_{torch}.bb").is_file(), recipe
    for recipe in ("python3-torchaudio", "python3-torchaudio-bin"):
        assert (REPO / f"recipes-ml/{recipe}/{recipe}_{audio}.bb").is_file(), recipe
