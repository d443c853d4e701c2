"""kas.yml and its overlays: valid against kas's own schema, pinned, consistent with the checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .bbmeta import REPO

yaml = pytest.importorskip("yaml")
jsonschema = pytest.importorskip("jsonschema")
kas = pytest.importorskip("kas", reason="kas is not installed (pip extra 'dev')")

KAS_FILES = [REPO / "kas.yml", *sorted((REPO / "kas").glob("*.yml"))]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads((Path(kas.__file__).parent / "schema-kas.json").read_text())


@pytest.mark.parametrize("path", KAS_FILES, ids=lambda p: p.name)
def test_valid_against_kas_schema(path: Path, schema: dict) -> None:
    jsonschema.validate(load(path), schema)


def test_schema_rejects_a_broken_file(schema: dict) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"header": {"version": 18}, "repos": {"x": {"commit": 5}}}, schema)


def _repos() -> dict[str, dict]:
    repos: dict[str, dict] = {}
    for path in KAS_FILES:
        repos.update({k: v or {} for k, v in (load(path).get("repos") or {}).items()})
    return repos


def test_every_remote_repo_is_pinned_by_commit() -> None:
    repos = _repos()
    assert {"bitbake", "openembedded-core", "meta-openembedded", "meta-raspberrypi"} <= set(repos)
    for name, repo in repos.items():
        if "url" in repo:
            assert re.fullmatch(r"[0-9a-f]{40}", repo.get("commit", "")), name


def test_main_config() -> None:
    main = load(REPO / "kas.yml")
    assert main["machine"] == "qemuarm64"
    assert main["distro"] == "armstft"
    assert main["target"] == "armstft-image"
    repos = main["repos"]
    assert set(repos["meta-openembedded"]["layers"]) == {"meta-oe", "meta-python"}
    assert "meta-armstft" in repos["armstft"]["layers"]


@pytest.mark.parametrize("board", ["raspberrypi4-64", "raspberrypi5"])
def test_board_overlays(board: str) -> None:
    overlay = load(REPO / "kas" / f"{board}.yml")
    assert overlay["machine"] == board
    for inc in overlay["header"].get("includes", []):
        assert (REPO / inc).is_file(), inc  # kas resolves local includes from the repository root


def test_offline_overlay_matches_the_bitbake_check() -> None:
    conf = load(REPO / "kas/offline.yml")["local_conf_header"]["offline"]
    assert re.search(r'^BB_NO_NETWORK = "1"$', conf, re.M)
    assert re.search(r'^CONNECTIVITY_CHECK_URIS = ""$', conf, re.M)
    script = (REPO / "scripts/check-bitbake.sh").read_text()
    for line in (
        'BB_NO_NETWORK = "1"',
        'CONNECTIVITY_CHECK_URIS = ""',
        'write_local_conf "$build/conf/local.conf" armstft',
    ):
        assert line in script


def test_prebuilt_overlay_selects_the_bin_recipes() -> None:
    """kas/prebuilt-torch.yml swaps both providers; the distro's defaults name the source recipes."""
    conf = load(REPO / "kas/prebuilt-torch.yml")["local_conf_header"]["prebuilt-torch"]
    for pkg in ("python3-torch", "python3-torchaudio"):
        for var in ("PREFERRED_PROVIDER", "PREFERRED_RPROVIDER"):
            assert re.search(rf'^{var}_{pkg} = "{pkg}-bin"$', conf, re.M), (var, pkg)
            assert (REPO / f"recipes-ml/{pkg}-bin").is_dir()
    distro = (REPO / "meta-armstft/conf/distro/armstft.conf").read_text()
    assert 'PREFERRED_PROVIDER_python3-torch ?= "python3-torch"' in distro
