"""Export: reproducible, both variants present, the committed bundle re-made from the committed weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from armstft.host.export import export_bundle, exporting_host
from tests.unit.conftest import DEFAULT_BUNDLE, DEFAULT_WEIGHTS


def _arrays(bundle: Path) -> dict[str, np.ndarray]:
    with np.load(bundle / "golden.npz") as data:
        return {k: data[k] for k in data.files}


def test_export_twice_is_bit_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    export_bundle(DEFAULT_WEIGHTS, a)
    export_bundle(DEFAULT_WEIGHTS, b)
    first, second = _arrays(a), _arrays(b)
    assert first.keys() == second.keys()
    for key in first:
        assert np.array_equal(first[key], second[key]), key


def test_reexport_reproduces_committed_bundle(tmp_path: Path) -> None:
    """Bit-identical on the kind of host that made it; within the bundle's own tolerances elsewhere."""
    export_bundle(DEFAULT_WEIGHTS, tmp_path / "again")
    committed, again = _arrays(DEFAULT_BUNDLE), _arrays(tmp_path / "again")
    manifest = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
    same_host = manifest["exported_on"] == exporting_host()
    assert committed.keys() == again.keys()
    for key, want in committed.items():
        if key.endswith((".input", ".stft_ref")) or same_host:
            assert np.array_equal(again[key], want), f"{key} differs (same host kind: {same_host})"
        else:
            variant = key.rsplit(".", 1)[-1]
            tol = manifest["models"][variant]["tolerance"]
            np.testing.assert_allclose(again[key], want, atol=tol["atol"], rtol=tol["rtol"])


def test_manifest_has_config_versions_hashes_and_tolerances() -> None:
    manifest = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
    assert manifest["config"]["n_fft"] == 512 and manifest["config"]["stft_backend"] == "aten"
    assert manifest["torch"].startswith("2.9.1") and manifest["torchaudio"].startswith("2.9.1")
    assert set(manifest["files"]) == {
        "model_fp32.pt",
        "model_int8.pt",
        "model_fp32_armstft.pt",
        "model_int8_static.pt",
        "log_mel_armstft.pt2",
        "golden.npz",
    }
    assert manifest["models"]["int8_static"]["quantized_engine"] == "qnnpack"
    assert manifest["models"]["log_mel_armstft"]["stage"] == "log_mel"
    assert manifest["models"]["fp32_armstft"]["stft_backend"] == "armstft"
    assert manifest["stft"]["models"] == ["fp32", "fp32_armstft"]
    fp32, int8 = manifest["models"]["fp32"]["tolerance"], manifest["models"]["int8"]["tolerance"]
    assert int8["atol"] > fp32["atol"] and int8["argmax_matches"] == "fp32"
    assert manifest["stft"]["tolerance"]["peak_rel"] == 1e-5
    assert manifest["training"]["held_out_accuracy"] >= 0.95


def test_fast_variant_calls_the_armstft_operator() -> None:
    import armstft.faststft  # noqa: F401  (registers the operator the model calls)

    fast = torch.jit.load(str(DEFAULT_BUNDLE / "model_fp32_armstft.pt"))
    # forward runs the fused log-mel operator, the exported stft stage the STFT operator; no aten::stft
    assert "armstft::log_mel" in str(fast.graph) and "armstft::stft" in str(fast.stft.graph)
    assert "aten::stft" not in str(fast.graph) + str(fast.stft.graph)
    aten = torch.jit.load(str(DEFAULT_BUNDLE / "model_fp32.pt"))
    assert "aten::stft" in str(aten.graph)


def test_int8_variant_is_quantized() -> None:
    fp32 = torch.jit.load(str(DEFAULT_BUNDLE / "model_fp32.pt"))
    int8 = torch.jit.load(str(DEFAULT_BUNDLE / "model_int8.pt"))
    assert "quantized" not in str(fp32.graph)
    assert "quantized::linear_dynamic" in str(int8.graph)


def test_user_model_bundle_round_trip(run_cli, tmp_path: Path) -> None:
    """A user's own TorchScript model + inputs → bundle → verify passes; STFT stage checked with a config."""
    from armstft.core.config import StftConfig
    from armstft.nn.model import StftClassifier

    config = StftConfig(n_fft=400, hop_length=160, win_length=400, n_mels=32)
    model = torch.jit.script(StftClassifier(config, n_classes=3).eval())
    torch.jit.save(model, str(tmp_path / "mine.pt"))
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "inputs.npz", a=rng.standard_normal((2, 8000)).astype(np.float32))
    (tmp_path / "cfg.json").write_text(json.dumps(config.to_dict()))
    code, doc, err = run_cli(
        "bundle",
        str(tmp_path / "mine.pt"),
        "--inputs",
        str(tmp_path / "inputs.npz"),
        "--config",
        str(tmp_path / "cfg.json"),
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 0, err
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 0, err
    assert {c["stage"] for c in doc["cases"]} == {"stft", "model"}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"x": np.zeros(8000, dtype=np.float64)}, "inputs.npz: x.dtype: expected float32, got float64"),
        ({"x": np.full((1, 8000), np.nan, dtype=np.float32)}, "inputs.npz: x[0, 0]: expected finite samples"),
        ({}, "inputs.npz: arrays: expected at least one input array, got none"),
        (
            {"a.b": np.zeros(8000, dtype=np.float32)},
            "inputs.npz: a.b: expected an input beside an audio array named a, got no such array",
        ),
        (
            {"a.b.c": np.zeros(8000, dtype=np.float32)},
            "inputs.npz: arrays: expected case names (or case.input)",
        ),
        ({"x" * 65: np.zeros(8000, dtype=np.float32)}, "inputs.npz: arrays: expected case names matching"),
    ],
)
def test_user_bundle_rejects_bad_inputs(run_cli, tmp_path: Path, inputs: dict, message: str) -> None:
    np.savez(tmp_path / "inputs.npz", **inputs)
    code, _, err = run_cli(
        "bundle",
        str(DEFAULT_BUNDLE / "model_fp32.pt"),
        "--inputs",
        str(tmp_path / "inputs.npz"),
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 2 and message in err, err


def test_user_bundle_rejects_non_torchscript(run_cli, tmp_path: Path) -> None:
    (tmp_path / "m.pt").write_bytes(b"nope")
    np.savez(tmp_path / "inputs.npz", x=np.zeros(8000, dtype=np.float32))
    code, _, err = run_cli(
        "bundle",
        str(tmp_path / "m.pt"),
        "--inputs",
        str(tmp_path / "inputs.npz"),
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 2 and "m.pt: file: expected a TorchScript model" in err


def test_export_rejects_bad_weights(run_cli, tmp_path: Path) -> None:
    (tmp_path / "w.pt").write_bytes(b"junk")
    code, _, err = run_cli("export", "--weights", str(tmp_path / "w.pt"), "--out", str(tmp_path / "o"))
    assert code == 2 and "w.pt: file: expected a torch weights archive" in err
    torch.save({"evil": 1}, tmp_path / "w2.pt")
    code, _, err = run_cli("export", "--weights", str(tmp_path / "w2.pt"), "--out", str(tmp_path / "o"))
    assert code == 2 and "w2.pt: state_dict: expected present, got missing" in err


def test_a_fresh_export_is_byte_identical_to_the_committed_bundle(tmp_path: Path) -> None:
    """Every file, manifest included, on the kind of host that made it (a fresh process: TorchScript's
    name mangling counts per process)."""
    import subprocess
    import sys

    manifest = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
    if manifest["exported_on"] != exporting_host():
        pytest.skip(f"bundle exported on {manifest['exported_on']}, this host is {exporting_host()}")
    out = tmp_path / "again"
    subprocess.run(
        [sys.executable, "-m", "armstft", "export", "--weights", str(DEFAULT_WEIGHTS), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    for name in ("manifest.json", *manifest["files"]):
        assert (out / name).read_bytes() == (DEFAULT_BUNDLE / name).read_bytes(), name


def test_the_exported_models_state_their_config() -> None:
    """What verify checks the manifest's config against (armstft.nn.model keeps it through freezing)."""
    import armstft.faststft  # noqa: F401

    manifest = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
    scripted = {v: e for v, e in manifest["models"].items() if e["file"].endswith(".pt")}
    assert len(scripted) == 4  # the .pt2 program holds no attributes: its config is the STFT stage's check
    for variant, entry in scripted.items():
        module = torch.jit.load(str(DEFAULT_BUNDLE / entry["file"]))
        stated = json.loads(module.armstft_config)
        backend = entry.get("stft_backend", "aten")
        assert stated == {**manifest["config"], "stft_backend": backend}, variant


def _bundle_default_model(run_cli, tmp_path: Path, config_text: str) -> tuple[int, str]:
    np.savez(tmp_path / "inputs.npz", x=np.zeros((1, 8000), dtype=np.float32))
    (tmp_path / "cfg.json").write_text(config_text)
    inputs, config = str(tmp_path / "inputs.npz"), str(tmp_path / "cfg.json")
    model = str(DEFAULT_BUNDLE / "model_fp32.pt")
    code, _, err = run_cli(
        "bundle", model, "--inputs", inputs, "--config", config, "--out", str(tmp_path / "b")
    )
    return code, err


def test_user_bundle_refuses_a_config_the_model_was_not_built_with(run_cli, tmp_path: Path) -> None:
    from armstft.core.config import StftConfig

    code, err = _bundle_default_model(run_cli, tmp_path, json.dumps(StftConfig(sample_rate=8000).to_dict()))
    assert code == 2 and "model_fp32.pt: armstft_config: expected the config given" in err, err


def test_a_config_file_with_nan_is_refused(run_cli, tmp_path: Path) -> None:
    from armstft.core.config import StftConfig

    code, err = _bundle_default_model(
        run_cli, tmp_path, json.dumps(StftConfig().to_dict()).replace("10.0", "NaN")
    )
    assert code == 2 and "cfg.json: max_seconds: expected a JSON STFT config, got NaN" in err, err


@pytest.mark.slow
def test_export_bytes_do_not_depend_on_the_clone_folder(tmp_path: Path) -> None:
    """The same sources in two folders export the same bytes: no host path inside the TorchScript files
    (torch.jit.save's debug records name the exporting clone's files; armstft.bundle.tsfile leaves them
    out)."""
    import shutil
    import subprocess
    import sys
    import zipfile

    package = Path(__file__).resolve().parents[3] / "armstft"
    outs = []
    for clone in ("first-clone", "second/clone"):
        root = tmp_path / clone
        shutil.copytree(package, root / "armstft", ignore=shutil.ignore_patterns("__pycache__"))
        out = tmp_path / f"bundle-{len(outs)}"
        subprocess.run(
            [sys.executable, "-m", "armstft", "export", "--weights", str(DEFAULT_WEIGHTS), "--out", str(out)],
            check=True, capture_output=True, timeout=600, cwd=root,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(root)},
        )  # fmt: skip
        outs.append(out)
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == sorted(p.name for p in outs[1].iterdir())
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
        if name.endswith(".pt"):
            with zipfile.ZipFile(outs[0] / name) as z:
                blob = b"".join(z.read(n) for n in z.namelist())
            assert str(tmp_path).encode() not in blob and b"first-clone" not in blob, name


def test_user_bundle_describes_its_model_from_the_graph(run_cli, tmp_path: Path) -> None:
    """`armstft bundle` writes precision and STFT backend as read from the model's graph, so the bundle it
    makes passes verify's as-built check: a dynamic int8 model on the armstft front end."""
    from armstft.core.config import StftConfig
    from armstft.nn import quantize
    from armstft.nn.model import StftClassifier

    config = StftConfig(stft_backend="armstft")
    model = torch.jit.script(quantize.dynamic_int8(StftClassifier(config, n_classes=3).eval()))
    torch.jit.save(model, str(tmp_path / "mine.pt"))
    np.savez(tmp_path / "inputs.npz", a=np.random.default_rng(0).standard_normal(8000).astype(np.float32))
    (tmp_path / "cfg.json").write_text(config.to_json())
    args = ["bundle", str(tmp_path / "mine.pt"), "--inputs", str(tmp_path / "inputs.npz")]
    code, _, err = run_cli(*args, "--config", str(tmp_path / "cfg.json"), "--out", str(tmp_path / "b"))
    assert code == 0, err
    entry = json.loads((tmp_path / "b" / "manifest.json").read_text())["models"]["fp32"]
    assert (entry["precision"], entry["stft_backend"]) == ("int8", "armstft")
    code, _, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 0, err


def test_user_bundle_refuses_a_static_int8_model(run_cli, tmp_path: Path) -> None:
    """Refused when bundled, not when verified: static int8 needs the engine its weights were packed for."""
    shutil.copy(DEFAULT_BUNDLE / "model_int8_static.pt", tmp_path / "mine.pt")
    np.savez(tmp_path / "inputs.npz", a=np.zeros(8000, dtype=np.float32))
    args = ["bundle", str(tmp_path / "mine.pt"), "--inputs", str(tmp_path / "inputs.npz")]
    code, _, err = run_cli(*args, "--out", str(tmp_path / "b"))
    assert code == 2 and "mine.pt: quantized_engine: expected a float or dynamic int8 model" in err, err
