"""The one STFT config: round-trips through JSON and names the field that is wrong."""

from __future__ import annotations

import json

import pytest

from armstft.core.config import StftConfig
from armstft.core.errors import InputError


def test_round_trip_through_json() -> None:
    config = StftConfig(n_fft=400, hop_length=160, win_length=400, f_max=7600.0, window="hamming")
    assert StftConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"win_length": 1024}, "config.win_length: expected an integer in 1..n_fft (512), got 1024"),
        ({"hop_length": 0}, "config.hop_length: expected an integer in 1..n_fft (512), got 0"),
        ({"pad_mode": "zeros"}, "config.pad_mode: expected one of reflect, constant, replicate, circular"),
        ({"center": 1}, "config.center: expected true or false, got 1"),
        ({"f_max": 9000.0}, "config.f_max: expected null or a number in (f_min, sample_rate/2]"),
        ({"stft_backend": "cuda"}, "config.stft_backend: expected one of aten, armstft"),
        ({"n_fft": True}, "config.n_fft: expected an integer in 4..32768, got True"),
        ({"max_seconds": float("inf")}, "config.max_seconds: expected a number in (0, 600], got inf"),
        ({"max_seconds": float("nan")}, "config.max_seconds: expected a number in (0, 600], got nan"),
        (
            {"f_min": 10**400},
            "config.f_min: expected a number in [0, sample_rate/2), got an integer of 1329 bits",
        ),
        ({"sample_rate": 0}, "config.sample_rate: expected an integer in 1..384000, got 0"),
    ],
)
def test_bad_values_name_the_field(changes: dict, message: str) -> None:
    data = {**StftConfig().to_dict(), **changes}
    with pytest.raises(InputError) as info:
        StftConfig.from_dict(data, "cfg.json")
    assert str(info.value).startswith("cfg.json: " + message)


def test_unknown_and_missing_fields() -> None:
    data = StftConfig().to_dict()
    with pytest.raises(InputError, match=r"cfg\.json: config\.nfft: expected one of the fields"):
        StftConfig.from_dict({**data, "nfft": 512}, "cfg.json")
    data.pop("window")
    with pytest.raises(InputError, match=r"cfg\.json: config\.window: expected present, got missing"):
        StftConfig.from_dict(data, "cfg.json")
    with pytest.raises(InputError, match=r"cfg\.json: config: expected a JSON object, got list"):
        StftConfig.from_dict([], "cfg.json")


def test_to_json_is_what_a_model_states() -> None:
    config = StftConfig()
    assert json.loads(config.to_json()) == config.to_dict()
    assert config.to_json() == StftConfig.from_dict(json.loads(config.to_json())).to_json()
