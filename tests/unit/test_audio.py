"""Bad audio gets one line naming the file/field and what was expected, through the CLI a user runs."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from armstft.audio import check_audio
from armstft.config import StftConfig
from armstft.errors import InputError
from tests.unit.conftest import DEFAULT_BUNDLE

CONFIG = StftConfig()


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (np.zeros(16000, dtype=np.float64), "audio.dtype: expected float32, got float64"),
        (np.zeros(16000, dtype=np.int16), "audio.dtype: expected float32, got int16"),
        (np.zeros((1, 1, 16000), dtype=np.float32), "audio.shape: expected (samples,) or (batch, samples)"),
        (np.zeros(0, dtype=np.float32), "audio.shape: expected a non-empty array, got (0,)"),
        (np.zeros(100, dtype=np.float32), "audio.length: expected >= 257 samples, got 100"),
        (np.zeros(160001, dtype=np.float32), "audio.length: expected <= 160000 samples (10.0 s), got 160001"),
        (
            np.array([0.0] * 999 + [np.inf], dtype=np.float32),
            "audio[0, 999]: expected finite samples, got inf",
        ),
        ([0.0] * 1000, "audio: expected a float32 array, got list"),
    ],
)
def test_check_audio_rejects(audio: object, message: str) -> None:
    with pytest.raises(InputError) as info:
        check_audio(audio, CONFIG, "clip.npy")
    assert str(info.value).startswith("clip.npy: ") and message in str(info.value)


def test_check_audio_accepts_and_batches() -> None:
    out = check_audio(np.zeros(16000, dtype=np.float32), CONFIG, "x")
    assert out.shape == (1, 16000) and out.dtype == np.float32


def test_run_classifies_a_wav(run_cli, tmp_path: Path) -> None:
    from armstft.synth import make_clip

    clip = make_clip("chirp", np.random.default_rng(7))
    pcm = (np.clip(clip, -1, 1) * 32767).astype("<i2")
    path = tmp_path / "chirp.wav"
    with wave.open(str(path), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(16000)
        stream.writeframes(pcm.tobytes())
    code, doc, _ = run_cli("run", str(DEFAULT_BUNDLE), str(path))
    assert code == 0 and doc["predicted"] == ["chirp"]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.full(16000, np.nan, dtype=np.float32), "audio[0, 0]: expected finite samples, got nan"),
        (np.zeros(16000, dtype=np.float64), "audio.dtype: expected float32, got float64"),
        (np.zeros(200000, dtype=np.float32), "audio.length: expected <= 160000 samples"),
    ],
)
def test_run_rejects_bad_npy(run_cli, tmp_path: Path, array: np.ndarray, message: str) -> None:
    path = tmp_path / "clip.npy"
    np.save(path, array)
    code, doc, err = run_cli("run", str(DEFAULT_BUNDLE), str(path))
    assert code == 2 and doc["ok"] is False
    assert err.strip() == f"armstft: error: {path}: {message}" or message in err


def test_run_rejects_stereo_and_wrong_rate(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as stream:
        stream.setnchannels(2)
        stream.setsampwidth(2)
        stream.setframerate(44100)
        stream.writeframes(b"\0" * 4 * 1000)
    code, _, err = run_cli("run", str(DEFAULT_BUNDLE), str(path))
    assert code == 2 and "stereo.wav: channels: expected 1 (mono), got 2" in err


def test_run_rejects_unknown_suffix_and_missing_file(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("run", str(DEFAULT_BUNDLE), str(tmp_path / "a.mp3"))
    assert code == 2 and "a.mp3: file: expected an existing .npy or .wav file, got missing" in err
    (tmp_path / "b.mp3").write_bytes(b"ID3")
    code, _, err = run_cli("run", str(DEFAULT_BUNDLE), str(tmp_path / "b.mp3"))
    assert code == 2 and "b.mp3: suffix: expected .npy or .wav, got .mp3" in err
