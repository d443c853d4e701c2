"""Bad audio gets one line naming the file/field and what was expected, through the CLI a user runs."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from armstft.audio.clips import check_audio
from armstft.core.config import StftConfig
from armstft.core.errors import InputError
from tests.unit.conftest import (
    DEFAULT_BUNDLE,
    MALFORMED_NPY_HEADERS,
    npy_with_header,
    rehash,
    rewrite_manifest,
    run_measured,
)

CONFIG = StftConfig()


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (np.zeros(16000, dtype=np.float64), "audio.dtype: expected float32, got float64"),
        (np.zeros(16000, dtype=np.int16), "audio.dtype: expected float32, got int16"),
        (
            np.zeros((1, 1, 1, 16000), dtype=np.float32),
            "audio.shape: expected (samples,), (batch, samples) or (batch, channels, samples)",
        ),
        (np.zeros(0, dtype=np.float32), "audio.shape: expected a non-empty array, got (0,)"),
        (np.zeros(100, dtype=np.float32), "audio.length: expected >= 257 samples, got 100"),
        (
            np.zeros(160001, dtype=np.float32),
            "audio.length: expected <= 160000 samples (10 s at 16000 Hz: the config's max_seconds, which may "
            "be raised up to 600), got 160001",
        ),
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
    from armstft.audio.synth import make_clip

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


# --- WAV files whose header lies, and the ones that are fine ----------------------------------------------


def _pcm(seconds: float = 1.0, label: str = "chirp") -> bytes:
    from armstft.audio.synth import make_clip

    clip = make_clip(label, np.random.default_rng(7), seconds=seconds)
    return (np.clip(clip, -1, 1) * 32767).astype("<i2").tobytes()


def _wav(
    data: bytes,
    *,
    tag: int = 1,
    rate: int = 16000,
    channels: int = 1,
    bits: int = 16,
    guid: bytes | None = None,
    extra_chunks: bytes = b"",
    data_size: int | None = None,
    riff_size: int | None = None,
) -> bytes:
    """A RIFF/WAVE file built field by field, so that a test can make any one of them lie."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    if tag == 0xFFFE:
        from armstft.audio.wav import PCM_GUID

        fmt += struct.pack("<HHI", 22, bits, 4) + (guid if guid is not None else PCM_GUID)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    body += b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


def _run_wav(run_cli, tmp_path: Path, content: bytes, name: str = "clip.wav", bundle: Path = DEFAULT_BUNDLE):
    path = tmp_path / name
    path.write_bytes(content)
    return run_cli("run", str(bundle), str(path))


def test_a_wave_format_extensible_pcm_file_is_accepted(run_cli, tmp_path: Path) -> None:
    """Before: refused ("unknown format: 65534"), though it is plain 16-bit PCM mono."""
    code, plain, err = _run_wav(run_cli, tmp_path, _wav(_pcm()), "plain.wav")
    assert code == 0, err
    code, extensible, err = _run_wav(run_cli, tmp_path, _wav(_pcm(), tag=0xFFFE), "ext.wav")
    assert code == 0, err
    assert extensible["predicted"] == plain["predicted"] == ["chirp"]
    assert extensible["logits"] == plain["logits"]


def test_a_list_chunk_and_an_odd_sized_chunk_are_skipped(run_cli, tmp_path: Path) -> None:
    extra = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0"  # odd size, then its pad byte
    code, doc, err = _run_wav(run_cli, tmp_path, _wav(_pcm(), extra_chunks=extra))
    assert code == 0 and doc["predicted"] == ["chirp"], err


@pytest.mark.parametrize(
    ("seconds", "what"),
    [(10, "10 s"), (4 * 1024**3 / 32000 - 1, "4 GiB"), (36000, "10 h")],
)
def test_a_header_declaring_more_than_the_file_holds_is_refused(
    run_cli, tmp_path: Path, seconds, what
) -> None:
    """Before: `wave` read the 1 s that was there and classified it (exit 0) whatever the header said."""
    data = _pcm()
    declared = int(seconds * 32000) & ~1
    content = _wav(data, data_size=declared, riff_size=36 + declared)
    code, doc, err = _run_wav(run_cli, tmp_path, content)
    assert code == 2 and doc["ok"] is False, what
    assert "clip.wav: RIFF.size: expected the file's size - 8" in err, err


def test_a_data_size_beyond_the_end_is_refused(run_cli, tmp_path: Path) -> None:
    data = _pcm()
    content = _wav(data, data_size=len(data) * 10)  # RIFF size right, data size lying
    code, _, err = _run_wav(run_cli, tmp_path, content)
    assert (
        code == 2
        and "clip.wav: 'data'.size: expected at most 32000 (the rest of the file), got 320000" in err
    )


@pytest.mark.parametrize("keep", [0.6, 0.999])
def test_a_truncated_file_is_refused(run_cli, tmp_path: Path, keep: float) -> None:
    """Before: a clip cut short was classified (wrongly) with exit 0."""
    content = _wav(_pcm())
    code, _, err = _run_wav(run_cli, tmp_path, content[: int(len(content) * keep)])
    assert code == 2 and "clip.wav: RIFF.size: expected the file's size - 8" in err, err


def test_bytes_after_the_riff_chunk_are_refused(run_cli, tmp_path: Path) -> None:
    code, _, err = _run_wav(run_cli, tmp_path, _wav(_pcm()) + b"ID3\x03junk")
    assert code == 2 and "clip.wav: RIFF.size: expected the file's size - 8" in err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tag": 3}, "fmt.format: expected PCM (1) or WAVE_FORMAT_EXTENSIBLE (65534), got 3"),
        ({"tag": 0xFFFE, "guid": bytes(16)}, "fmt.SubFormat: expected the PCM GUID (integer samples)"),
        ({"bits": 8}, "sample_width: expected 2 bytes (16-bit PCM), got 8 bits"),
        ({"rate": 8000}, "sample_rate: expected 16000 Hz, got 8000 Hz"),
        ({"channels": 2}, "channels: expected 1 (mono), got 2"),
    ],
)
def test_formats_other_than_16_bit_pcm_mono_are_refused(
    run_cli, tmp_path: Path, kwargs, message: str
) -> None:
    code, _, err = _run_wav(run_cli, tmp_path, _wav(_pcm(), **kwargs))
    assert code == 2 and message in err, err


def test_data_before_fmt_is_refused(run_cli, tmp_path: Path) -> None:
    data = _pcm()
    good = _wav(data)
    fmt_chunk = good[12:36]
    data_chunk = good[36:]
    content = (
        b"RIFF" + struct.pack("<I", 4 + len(data_chunk) + len(fmt_chunk)) + b"WAVE" + data_chunk + fmt_chunk
    )
    code, _, err = _run_wav(run_cli, tmp_path, content)
    assert code == 2 and "clip.wav: data: expected a fmt chunk before it, got none" in err


def test_a_real_ten_hour_wav_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """10 h of 16 kHz silence (1.15 GB, sparse on disk): before, read in full first (6.3 GB peak)."""
    path = tmp_path / "ten_hours.wav"
    samples = 10 * 3600 * 16000
    path.write_bytes(_wav(b"", data_size=samples * 2, riff_size=36 + samples * 2))
    with path.open("r+b") as stream:
        stream.truncate(44 + samples * 2)
    code, err, peak_kb = run_measured(["run", str(DEFAULT_BUNDLE), str(path)], tmp_path)
    assert code == 2, err
    assert "ten_hours.wav: size: expected at most 128 MiB, got 1152000044 bytes" in err
    assert peak_kb < 600 * 1024, f"peak RSS {peak_kb} KiB"


def test_a_wav_longer_than_max_seconds_is_refused_from_its_header(run_cli, tmp_path: Path) -> None:
    code, _, err = _run_wav(run_cli, tmp_path, _wav(_pcm(seconds=30.0)))
    assert (
        code == 2
        and "clip.wav: audio.length: expected <= 160000 samples (10 s at 16000 Hz: the config's max_seconds, "
        "which may be raised up to 600), got 480000"
        in err
    )


# --- .npy files, and what the model makes of the audio -----------------------------------------------------


def test_a_npy_header_that_lies_about_its_shape(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "clip.npy"
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": "<f4", "fortran_order": False, "shape": (16000,)})
    path.write_bytes(stream.getvalue() + bytes(1000))
    code, _, err = run_cli("run", str(DEFAULT_BUNDLE), str(path))
    assert (
        code == 2 and "clip.npy: file: expected 64000 bytes of data for shape (16000,), got 1000 bytes" in err
    )


@pytest.mark.parametrize("kind", MALFORMED_NPY_HEADERS)
def test_a_npy_whose_header_is_not_a_header(run_cli, tmp_path: Path, kind: str) -> None:
    """Before: a header that is not a dict, or has unbalanced brackets, was exit 3 (numpy's TokenError)."""
    text, why = MALFORMED_NPY_HEADERS[kind]
    path = tmp_path / "clip.npy"
    path.write_bytes(npy_with_header(text) + bytes(64))
    code, doc, err = run_cli("run", str(DEFAULT_BUNDLE), str(path))
    assert code == 2 and doc["ok"] is False, err
    assert f"clip.npy: file: expected a NumPy .npy array, got unreadable ({why}" in err, err


def test_a_fifo_is_refused_without_blocking(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    os.mkfifo(path)
    code, _, err = run_cli("run", str(DEFAULT_BUNDLE), str(path))
    assert code == 2 and "clip.wav: file: expected a regular .npy or .wav file, got not a regular file" in err


@pytest.mark.parametrize("samples", [257, 500, 767])
def test_audio_the_model_cannot_take_is_one_clear_line(tmp_path: Path, samples: int) -> None:
    """Before: an 18-line TorchScript traceback with the exporting host's paths, exit 3."""
    path = tmp_path / "short.npy"
    np.save(path, np.zeros(samples, dtype=np.float32))
    proc = subprocess.run(
        [sys.executable, "-m", "armstft", "run", str(DEFAULT_BUNDLE), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr and 'File "' not in proc.stderr
    assert (
        f"short.npy: audio: expected an input model_fp32.pt accepts, got {samples} samples (RuntimeError"
        in lines[0]
    )
    assert json.loads(proc.stdout)["ok"] is False


def test_run_refuses_a_model_that_outputs_nan(run_cli, bundle_copy: Path, tmp_path: Path) -> None:
    """Before: `run` printed a class for NaN logits and wrote non-standard JSON (`NaN`)."""
    import torch

    class NanModel(torch.nn.Module):
        def forward(self, audio: torch.Tensor) -> torch.Tensor:
            return torch.full((audio.shape[0], 6), float("nan"))

    torch.jit.save(torch.jit.script(NanModel()), str(bundle_copy / "model_fp32.pt"))
    rehash(bundle_copy, "model_fp32.pt")
    path = tmp_path / "clip.npy"
    np.save(path, np.zeros(16000, dtype=np.float32))
    code, doc, err = run_cli("run", str(bundle_copy), str(path))  # run_cli parses stdout strictly
    assert code == 1 and doc["ok"] is False
    assert "model_fp32.pt: output[0, 0]: expected finite logits, got nan (NaN/Inf): no class predicted" in err


def test_run_refuses_a_manifest_config_the_model_was_not_built_with(
    run_cli, bundle_copy: Path, tmp_path: Path
) -> None:
    """Before: a manifest edited to 8000 Hz made `run` classify 8 kHz audio with the 16 kHz model."""
    rewrite_manifest(bundle_copy, lambda m: m["config"].update(sample_rate=8000))
    code, _, err = _run_wav(run_cli, tmp_path, _wav(_pcm(), rate=8000), bundle=bundle_copy)
    assert code == 2
    assert "manifest.json: config.sample_rate: expected 16000 (as model_fp32.pt was built), got 8000" in err
