"""What the suite knows about the board under test, from the env file's ``options:`` or the ``--armstft-*``
options of a board reached by address: one object, so no test ever branches on how the board was reached."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from labgrid.config import Config
from labgrid.environment import Environment

from harness.drivers.sshclient import SSHTarget
from harness.results.limits import LimitsError, load_limits


@dataclass(frozen=True)
class BoardFacts:
    """The board under test: its results name, how it is reached, its features and its limits file."""

    name: str
    reached_by: str  # the env file, or "ssh user@host:port"
    installed_bundle: str | None
    features: frozenset[str] = field(default_factory=frozenset)
    limits: Path | None = None
    ssh: SSHTarget | None = None  # set when reached by --armstft-ssh


def env_path(config: pytest.Config) -> str | None:
    return config.option.lg_env or os.environ.get("LG_ENV")


def _limits(configured: Path | None) -> Path | None:
    """The limits file (``ARMSTFT_LIMITS`` overrides the board's), parsed now: a bad file is bad input."""
    override = os.environ.get("ARMSTFT_LIMITS")
    path = Path(override).resolve() if override else configured
    if path is not None:
        try:
            load_limits(path)
        except LimitsError as e:
            raise pytest.UsageError(str(e)) from None
    return path


def from_env(path: str) -> BoardFacts:
    config = Config(path)
    env = Environment(path)  # features as labgrid's own lg_feature handling reads them
    limits = config.get_option("armstft_limits", "")
    return BoardFacts(
        name=config.get_option("armstft_board", Path(path).stem),
        reached_by=str(Path(path).resolve()),
        installed_bundle=config.get_option("armstft_bundle", "") or None,
        features=frozenset(env.get_features() | env.get_target_features()),
        limits=_limits(Path(config.resolve_path(limits)) if limits else None),
    )


def from_ssh(config: pytest.Config) -> BoardFacts:
    try:
        target = SSHTarget.parse(config.option.armstft_ssh)
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None
    limits = _limits(config.option.armstft_limits)
    return BoardFacts(
        name=config.option.armstft_board or target.board_name,
        reached_by=f"ssh {target}",
        installed_bundle=config.option.armstft_installed_bundle or None,
        features=frozenset({"latency-limits"} if limits else set()),
        limits=limits,
        ssh=target,
    )


def board_facts_of(config: pytest.Config) -> BoardFacts | None:
    """The facts for this session, or None when neither an env nor --armstft-ssh names a board."""
    if config.option.armstft_ssh:
        if env_path(config):
            raise pytest.UsageError("--armstft-ssh and --lg-env/LG_ENV name two boards: choose one")
        return from_ssh(config)
    path = env_path(config)
    return from_env(path) if path else None
