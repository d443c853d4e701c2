"""``armstft bundle`` on what real models need (issue 17): state, constant arguments, tuple/dict and complex
outputs, multi-channel inputs, partial configs, clip length, sizes, and no folder left by a refusal. Each
refusal happens at bundle time, one line naming the file, the field, expected and got."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from armstft.core import bounds
from tests.unit.conftest import rewrite_golden, rewrite_manifest


class Counter(torch.nn.Module):
    """Keeps state between calls: its output depends on how often it ran."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = torch.zeros(1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        self.calls += 1.0
        return audio[:, :8] * 0.0 + self.calls + audio[:, :8]


class WithRate(torch.nn.Module):
    def forward(self, audio: torch.Tensor, sr: int) -> torch.Tensor:
        torch._assert(sr == 16000, "expected 16 kHz")
        return audio[..., :16] * 2.0 + 1.0


class Pair(torch.nn.Module):
    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spec = torch.stft(audio, 256, 128, window=torch.hann_window(256), return_complex=True)
        return spec, audio[..., :16] + 1.0


class Nested(torch.nn.Module):
    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        return audio + 1.0, (audio, audio)


class Noisy(torch.nn.Module):
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return audio[:, :8] + torch.rand(1) + 1.0


class Gain(torch.nn.Module):
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return audio[..., :8] * 2.0 + 1.0


class Channels(torch.nn.Module):
    """(batch, channels, samples) -> (batch, channels): one value per channel."""

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return audio.abs().mean(-1) + torch.arange(audio.shape[1]).to(audio.dtype) + 1.0


def _user(tmp_path: Path, module: torch.nn.Module, inputs: dict[str, np.ndarray], config: dict | None = None):
    torch.jit.save(torch.jit.script(module), str(tmp_path / "m.pt"))
    np.savez(tmp_path / "in.npz", **inputs)
    args = [
        "bundle",
        str(tmp_path / "m.pt"),
        "--inputs",
        str(tmp_path / "in.npz"),
        "--out",
        str(tmp_path / "b"),
    ]
    if config is not None:
        (tmp_path / "cfg.json").write_text(json.dumps(config))
        args += ["--config", str(tmp_path / "cfg.json")]
    return args


def _clips(*shapes: tuple[int, ...]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {f"c{i}": rng.standard_normal(s).astype(np.float32) for i, s in enumerate(shapes)}


def _refused(run_cli, tmp_path: Path, args: list[str], message: str) -> str:
    code, doc, err = run_cli(*args)
    assert code == 2 and doc["ok"] is False, err
    assert message in err, err
    lines = [line for line in err.splitlines() if "config completed from the defaults" not in line]
    assert "Traceback" not in err and len(lines) == 1, err
    assert not (tmp_path / "b").exists() and not list(tmp_path.glob(".b.partial-*")), list(tmp_path.iterdir())
    return err


def test_a_stateful_model_is_saved_before_any_input_runs_and_verified_per_fresh_load(
    run_cli, tmp_path
) -> None:
    args = _user(tmp_path, Counter(), _clips((1, 4000), (1, 4000), (1, 4000)))
    code, _, err = run_cli(*args)
    assert code == 0, err
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["call"]["state"] == "fresh_load_per_case"
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 0 and doc["ok"], err
    # the rule is what makes it pass: one shared load for all cases counts up and mismatches
    rewrite_manifest(tmp_path / "b", lambda m: m["call"].update(state="shared"))
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 1 and [c["ok"] for c in doc["cases"]] == [True, False, False], err


def test_a_constant_argument_is_declared_and_passed(run_cli, tmp_path: Path) -> None:
    args = _user(tmp_path, WithRate(), _clips((1, 4000)))
    err = _refused(run_cli, tmp_path, args, "m.pt: forward(c0): expected to run on a float32 1x4000 input")
    assert "forward() is missing value for argument 'sr'" in err, err
    code, _, err = run_cli(*args, "--arg", "sr=16000")
    assert code == 0, err
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["call"]["arguments"] == [{"name": "sr", "value": 16000}]
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 0 and doc["ok"], err
    rewrite_manifest(tmp_path / "b", lambda m: m["call"]["arguments"][0].update(value=8000))
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 1 and "expected 16 kHz" in doc["cases"][0]["problem"], err


def test_a_wrong_argument_is_refused_when_bundled(run_cli, tmp_path: Path) -> None:
    args = _user(tmp_path, WithRate(), _clips((1, 4000)))
    _refused(
        run_cli, tmp_path, [*args, "--arg", "sr=8000"], "m.pt: forward(c0): expected to run on a float32"
    )
    _refused(run_cli, tmp_path, [*args, "--arg", "16000"], "--arg: 16000: expected NAME=VALUE")


def test_tuple_and_complex_outputs_are_compared_per_tensor(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli(*_user(tmp_path, Pair(), _clips((2, 4000))))
    assert code == 0, err
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["schema"] == "armstft.bundle/2" and manifest["models"]["fp32"]["outputs"] == ["0", "1"]
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 0 and [(c["variant"], c["output"]) for c in doc["cases"]] == [("fp32", "0"), ("fp32", "1")]

    def nudge_imaginary(arrays: dict[str, np.ndarray]) -> None:
        arrays["c0.out.fp32.0"] = arrays["c0.out.fp32.0"] + 0.01j * np.abs(arrays["c0.out.fp32.0"]).max()

    rewrite_golden(tmp_path / "b", nudge_imaginary)
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 1 and [c["ok"] for c in doc["cases"]] == [False, True], err


def test_a_nested_output_is_refused_when_bundled(run_cli, tmp_path: Path) -> None:
    _refused(
        run_cli,
        tmp_path,
        _user(tmp_path, Nested(), _clips((1, 4000))),
        "m.pt: forward(c0) output[1]: expected a tensor (one level of tuple/dict), got a tuple",
    )


def test_a_model_that_is_not_reproducible_is_refused(run_cli, tmp_path: Path) -> None:
    _refused(
        run_cli,
        tmp_path,
        _user(tmp_path, Noisy(), _clips((1, 4000))),
        "m.pt: output(c0): expected the same output from two fresh loads of the saved model",
    )


def test_channels_stay_channels(run_cli, tmp_path: Path) -> None:
    """(1, 2, n) is one stereo clip, not a batch of two: verify compares (1, 2) outputs."""
    code, _, err = run_cli(*_user(tmp_path, Channels(), _clips((1, 2, 4000), (3, 2, 4000))))
    assert code == 0, err
    with np.load(tmp_path / "b" / "golden.npz") as golden:
        assert golden["c0.out.fp32"].shape == (1, 2) and golden["c1.out.fp32"].shape == (3, 2)
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 0 and doc["ok"], err


def test_a_partial_config_is_completed_and_bounds_the_clip(run_cli, tmp_path: Path) -> None:
    clip = _clips((1, 16000 * 12))
    args = _user(tmp_path, Gain(), clip, config={"n_mels": 32})
    _refused(
        run_cli,
        tmp_path,
        args,
        "in.npz: c0.length: expected <= 160000 samples (10 s at 16000 Hz: the config's max_seconds, "
        "which may be raised up to 600), got 192000",
    )
    (tmp_path / "cfg.json").write_text(json.dumps({"n_mels": 32, "max_seconds": 12}))
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert "cfg.json: config completed from the defaults:" in err and "defaulted: center, f_max" in err
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["config"]["max_seconds"] == 12 and manifest["config"]["n_fft"] == 512
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 0 and doc["ok"], err
    assert "STFT stage checks the rest" not in err and "no STFT stage either" in err


def test_a_model_over_the_size_ceiling_is_refused_when_bundled(run_cli, tmp_path: Path) -> None:
    args = _user(tmp_path, Gain(), _clips((1, 4000)))
    with (tmp_path / "m.pt").open("r+b") as stream:
        stream.truncate(bounds.MODEL_FILE_CEILING_BYTES + 1)
    size = bounds.MODEL_FILE_CEILING_BYTES + 1
    _refused(run_cli, tmp_path, args, f"m.pt: size: expected at most 768 MiB, got {size} bytes")


def test_sizes_are_declared_and_are_the_limit(run_cli, tmp_path: Path) -> None:
    """A /2 bundle declares each file's size: a file beyond it is refused before its bytes are read, and no
    declaration may pass the ceilings (bundle checks its bundle with verify's code: the same rule)."""
    assert run_cli(*_user(tmp_path, Gain(), _clips((1, 4000))))[0] == 0
    bundle = tmp_path / "b"
    sizes = json.loads((bundle / "manifest.json").read_text())["sizes"]
    assert sizes == {n: (bundle / n).stat().st_size for n in ("golden.npz", "model_fp32.pt")}
    with (bundle / "model_fp32.pt").open("ab") as stream:
        stream.write(b"x")
    code, _, err = run_cli("verify", str(bundle))
    want = sizes["model_fp32.pt"]
    assert code == 2 and f"model_fp32.pt: size: expected at most {want} bytes, got {want + 1} bytes" in err, (
        err
    )
    rewrite_manifest(
        bundle, lambda m: m["sizes"].update({"model_fp32.pt": bounds.MODEL_FILE_CEILING_BYTES + 1})
    )
    code, _, err = run_cli("verify", str(bundle))
    assert (
        code == 2 and "sizes.model_fp32.pt: expected a whole number of bytes in 1..805306368 (768 MiB)" in err
    ), err


def test_out_must_be_new_empty_or_an_earlier_bundle(run_cli, tmp_path: Path) -> None:
    args = _user(tmp_path, Gain(), _clips((1, 4000)))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    code, _, err = run_cli(*args)
    assert code == 2 and "b: --out: expected a new folder, an empty one or an earlier bundle" in err, err
    (tmp_path / "b" / "notes.txt").unlink()
    assert run_cli(*args)[0] == 0
    assert run_cli(*args)[0] == 0  # an earlier bundle is replaced
    assert not list(tmp_path.glob(".b.partial-*"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m.update(schema="armstft.bundle/1"),
            'schema: expected "armstft.bundle/2" (the manifest has call)',
        ),
        (
            lambda m: m["call"].update(state="sometimes"),
            "call.state: expected one of fresh_load_per_case, shared",
        ),
        (
            lambda m: m["call"].update(arguments=[{"name": "sr", "value": [1]}]),
            "call.arguments[0].value: expected an integer, a finite number, true/false or a short string",
        ),
        (
            lambda m: m["models"]["fp32"].update(outputs=["0", "0"]),
            "models.fp32.outputs[1]: expected names that",
        ),
    ],
)
def test_schema_2_fields_are_checked(run_cli, tmp_path: Path, change, message: str) -> None:
    assert run_cli(*_user(tmp_path, Pair(), _clips((1, 4000))))[0] == 0
    rewrite_manifest(tmp_path / "b", change)
    code, _doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 2 and message in err, err


class Prompted(torch.nn.Module):
    """Audio plus token ids and a constant, as a speech decoder takes them."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(10, 4)

    def forward(self, audio: torch.Tensor, tokens: torch.Tensor, sr: int) -> torch.Tensor:
        torch._assert(sr == 16000, "expected 16 kHz")
        return self.embed(tokens).sum(1) + audio.abs().mean(-1, keepdim=True) + 1.0


def test_several_named_inputs_go_to_forward_by_name(run_cli, tmp_path: Path) -> None:
    inputs = _clips((2, 4000), (1, 4000))
    inputs["c0.tokens"] = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    inputs["c1.tokens"] = np.array([[7, 8, 9]], dtype=np.int64)
    args = [*_user(tmp_path, Prompted(), inputs), "--arg", "sr=16000"]
    code, _, err = run_cli(*args)
    assert code == 0, err
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["call"]["inputs"] == ["tokens"]
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 0 and doc["ok"] and len(doc["cases"]) == 2, err
    out = tmp_path / "bench.json"
    code, doc, err = run_cli("bench", str(tmp_path / "b"), "--out", str(out), "--quick", "--threads", "1")
    assert code == 0 and doc["results"], err

    def other_tokens(arrays: dict[str, np.ndarray]) -> None:
        arrays["c1.input.tokens"] = np.array([[1, 1, 1]], dtype=np.int64)

    rewrite_golden(tmp_path / "b", other_tokens)
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 1 and [c["ok"] for c in doc["cases"]] == [True, False], err


def test_an_input_forward_does_not_take_is_refused(run_cli, tmp_path: Path) -> None:
    inputs = _clips((1, 4000))
    inputs["c0.mask"] = np.ones((1, 3), dtype=np.int64)
    args = [*_user(tmp_path, Prompted(), inputs), "--arg", "sr=16000"]
    _refused(
        run_cli, tmp_path, args, "m.pt: forward(mask): expected one of forward's parameters after the audio"
    )
    inputs = _clips((1, 4000), (1, 4000))
    inputs["c0.tokens"] = np.ones((1, 3), dtype=np.int64)
    args = [*_user(tmp_path, Prompted(), inputs), "--arg", "sr=16000"]
    _refused(run_cli, tmp_path, args, "in.npz: c1: expected the inputs tokens, got")
