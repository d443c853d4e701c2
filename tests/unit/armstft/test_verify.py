"""``armstft verify``: passes on the committed bundle; every kind of bad bundle fails with one clear line,
and nothing verify cannot know passes silently (NaN golden data, tolerances, configs, unknown keys)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.unit.conftest import DEFAULT_BUNDLE, rehash, rewrite_golden, rewrite_manifest, verify_refuses


def test_default_bundle_verifies(run_cli) -> None:
    code, doc, err = run_cli("verify", str(DEFAULT_BUNDLE))
    assert code == 0, err
    assert doc["schema"] == "armstft.verify/1" and doc["ok"] is True and doc["error"] is None
    stages = {(c["stage"], c["variant"]) for c in doc["cases"]}
    assert stages == {
        ("stft", "fp32"),
        ("stft", "fp32_armstft"),
        ("model", "fp32"),
        ("model", "int8"),
        ("model", "fp32_armstft"),
        ("model", "int8_static"),
        ("model", "log_mel_armstft"),
    }
    for case in doc["cases"]:
        assert case["ok"] and case["max_abs"] is not None
    stft = [c for c in doc["cases"] if c["stage"] == "stft"]
    assert max(c["max_rel"] for c in stft) <= 1e-5
    assert doc["warnings"] == [], doc["warnings"]  # every model states its config, and it matches


def test_tampered_model_fails_naming_the_file(run_cli, bundle_copy: Path) -> None:
    model = bundle_copy / "model_fp32.pt"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2
    assert doc["ok"] is False and "model_fp32.pt: sha256: expected" in doc["error"]
    assert err.strip().splitlines()[-1].startswith("armstft: error: ")
    assert "model_fp32.pt" in err and "Traceback" not in err
    from armstft.bundle.hashing import sha256_bytes

    want = json.loads((bundle_copy / "manifest.json").read_text())["files"]["model_fp32.pt"]
    got = sha256_bytes(model.read_bytes())
    assert f"sha256: expected {want}, got {got} (differs from hex digit" in err  # both digests in full


def test_hash_message_shows_where_two_digests_part() -> None:
    """Digests alike in their first 16 hex digits used to read the same ("383ed39bfcf72304…" twice)."""
    from armstft.bundle.hashing import digest_difference

    want = "383ed39bfcf72304" + "0" * 48
    got = "383ed39bfcf72304" + "1" + "0" * 47
    text = digest_difference(want, got)
    assert text.startswith(got) and "differs from hex digit 17 of 64" in text


def test_missing_file(run_cli, bundle_copy: Path) -> None:
    (bundle_copy / "golden.npz").unlink()
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["ok"] is False
    assert "golden.npz: file: expected present (listed in manifest.json), got missing" in err


def test_corrupt_file_with_matching_hash_is_refused_at_load(run_cli, bundle_copy: Path) -> None:
    """A file replaced *and* re-hashed (e.g. a broken copy step that also rewrote the manifest)."""
    from armstft.bundle.hashing import sha256_file

    model = bundle_copy / "model_int8.pt"
    model.write_bytes(b"this is not a TorchScript archive")
    rewrite_manifest(bundle_copy, lambda m: m["files"].update({"model_int8.pt": sha256_file(model)}))
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["error"] is not None
    assert "model_int8.pt: file: expected a TorchScript archive, got unloadable" in err


def test_golden_with_pickled_objects_is_refused(run_cli, bundle_copy: Path) -> None:
    rewrite_golden(bundle_copy, lambda a: a.update({"tone.input": np.array([object()], dtype=object)}))
    message = (
        "golden.npz: tone.input: expected an array without Python objects (no pickles), got dtype object"
    )
    verify_refuses(run_cli, bundle_copy, message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m.pop("files"),
            "manifest.json: files: expected present, got missing",
        ),
        (
            lambda m: m.update(schema="other/9"),
            'manifest.json: schema: expected "armstft.bundle/1" or "armstft.bundle/2", got',
        ),
        (
            lambda m: m["config"].update(n_fft="512"),
            "manifest.json: config.n_fft: expected an integer in 4..32768",
        ),
        (
            lambda m: m["config"].pop("hop_length"),
            "manifest.json: config.hop_length: expected present, got missing",
        ),
        (lambda m: m["config"].update(window="kaiser"), "config.window: expected one of hann"),
        (
            lambda m: m["models"]["int8"]["tolerance"].update(atol=-1),
            "models.int8.tolerance.atol: expected a number in [0, 1e+06], got -1",
        ),
        (lambda m: m["models"]["fp32"].pop("file"), "models.fp32.file: expected present, got missing"),
        (lambda m: m["golden"].update(cases=[]), "golden.cases: expected a list of 1..128 case names, got 0"),
        (
            lambda m: m["files"].update({"golden.npz": "abc"}),
            "files.golden.npz: expected a sha256 hex digest",
        ),
        (lambda m: m["files"].pop("model_int8.pt"), "files: expected an entry for model_int8.pt"),
        (lambda m: m["stft"].update(models=["fp16"]), "stft.models[0]: expected one of fp32, "),
        (
            lambda m: m["models"]["fp32"].update(stft_backend="cufft"),
            "fp32.stft_backend: expected one of aten",
        ),
        (
            lambda m: m["models"]["int8_static"].update(quantized_engine="mkldnn"),
            "models.int8_static.quantized_engine: expected one of qnnpack, x86, fbgemm, onednn",
        ),
        (
            lambda m: m["models"]["log_mel_armstft"].update(stage="mfcc"),
            "models.log_mel_armstft.stage: expected one of logits, log_mel",
        ),
        (
            lambda m: m["models"]["log_mel_armstft"]["tolerance"].update(argmax_matches="fp32"),
            "models.log_mel_armstft.tolerance.argmax_matches: expected none for a non-logits stage",
        ),
        (
            lambda m: m["models"]["fp32"].update(file="model_fp32.pkl"),
            "models.fp32.file: expected a name ending in .pt or .pt2, got model_fp32.pkl",
        ),
    ],
)
def test_bad_manifest_fields(run_cli, bundle_copy: Path, change, message: str) -> None:
    rewrite_manifest(bundle_copy, change)
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and message in doc["error"]
    assert message in err, err
    assert len(err.strip().splitlines()) == 1


def test_manifest_not_json(run_cli, bundle_copy: Path) -> None:
    (bundle_copy / "manifest.json").write_text("{ not json")
    code, _, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and "manifest.json: document: expected standard JSON" in err


def test_missing_golden_case(run_cli, bundle_copy: Path) -> None:
    rewrite_manifest(bundle_copy, lambda m: m["golden"]["cases"].append("no_such_case"))
    code, _, err = run_cli("verify", str(bundle_copy))
    assert (
        code == 2
        and "golden.npz: no_such_case.input: expected an array the manifest names, got missing" in err
    )


def test_other_torch_version_warns_but_still_runs(run_cli, bundle_copy: Path) -> None:
    rewrite_manifest(bundle_copy, lambda m: m.update(torch="2.7.0"))
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 0 and doc["ok"]
    assert any("torch: bundle made with 2.7.0" in w for w in doc["warnings"])
    assert "warning:" in err


def test_out_of_tolerance_output_is_a_mismatch(run_cli, bundle_copy: Path) -> None:
    """Shift one golden logit: verify must report exit 1 and name the case (proves the check can fail)."""
    rewrite_golden(
        bundle_copy, lambda a: a.update({"chirp.out.fp32": a["chirp.out.fp32"] + np.float32(0.01)})
    )
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 1 and doc["ok"] is False
    failed = [c for c in doc["cases"] if not c["ok"]]
    assert [(c["name"], c["variant"]) for c in failed] == [("chirp", "fp32")]
    assert "MISMATCH" in err


def test_nan_input_is_refused(run_cli, bundle_copy: Path) -> None:
    def poison(arrays: dict) -> None:
        arrays["tone.input"] = arrays["tone.input"].copy()
        arrays["tone.input"][0, 5] = np.nan

    rewrite_golden(bundle_copy, poison)
    code, _, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and "tone.input[0, 5]: expected finite samples, got nan" in err


def test_no_bundle_directory(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("verify", str(tmp_path / "nope"))
    assert code == 2 and "nope: bundle: expected a bundle directory, got no such directory" in err


def test_python_dash_m_reports_one_line_without_traceback(bundle_copy: Path) -> None:
    (bundle_copy / "model_fp32.pt").write_bytes(b"x")
    proc = subprocess.run(
        [sys.executable, "-m", "armstft", "verify", str(bundle_copy)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "Traceback" not in proc.stderr and "model_fp32.pt: sha256" in proc.stderr


# --- silent passes: verify must not say "verified" when it cannot know ------------------------------------


@pytest.mark.parametrize(
    ("key", "index", "value"),
    [
        ("chirp.out.fp32", (0, 2), np.nan),
        ("tone.out.int8", (0, 0), np.inf),
        ("batch4.out.fp32_armstft", (3, 5), -np.inf),
        ("short.stft_ref", (0, 3, 1), complex(np.nan, 0.0)),
    ],
)
def test_nan_or_inf_in_golden_data_is_refused(run_cli, bundle_copy: Path, key: str, index, value) -> None:
    """Before: `max_abs nan` compared as "not greater than tol", so a NaN golden output passed."""

    def poison(arrays: dict) -> None:
        arrays[key] = arrays[key].copy()
        arrays[key][index] = value

    rewrite_golden(bundle_copy, poison)
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["ok"] is False
    where = ", ".join(str(i) for i in index)
    assert f"golden.npz: {key}[{where}]: expected finite values, got" in err, err


@pytest.mark.parametrize(
    ("constant", "why"),
    [
        ("NaN", "NaN (not standard JSON"),
        ("Infinity", "Infinity (not standard JSON"),
        ("-Infinity", "-Infinity (not standard JSON"),
        ("1e400", "a number out of range (1e400)"),
    ],
)
def test_non_finite_tolerances_are_refused(run_cli, bundle_copy: Path, constant: str, why: str) -> None:
    """Before: Python's json read `NaN`/`Infinity`, and a NaN/Infinity tolerance passed every fp32 golden
    output shifted by +50; then they were refused as "document: ..." without naming the key."""
    rewrite_golden(
        bundle_copy,
        lambda a: a.update({k: v + np.float32(50) for k, v in a.items() if k.endswith(".out.fp32")}),
    )
    path = bundle_copy / "manifest.json"
    data = json.loads(path.read_text())
    data["models"]["fp32"]["tolerance"] = {"atol": "@", "rtol": "@"}
    path.write_text(json.dumps(data).replace('"@"', constant))
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["ok"] is False
    assert (
        "manifest.json: models.fp32.tolerance.atol: expected standard JSON within the manifest's bounds, "
        f"got {why}" in err
    ), err


def test_a_tolerance_that_accepts_an_all_zero_output_is_refused(run_cli, bundle_copy: Path) -> None:
    rewrite_manifest(bundle_copy, lambda m: m["models"]["fp32"]["tolerance"].update(atol=1000.0))
    message = (
        "manifest.json: models.fp32.tolerance: expected a tolerance that would notice an all-zero output"
    )
    verify_refuses(run_cli, bundle_copy, message)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sample_rate", 8000, "config.sample_rate: expected 16000 (as model_fp32.pt was built), got 8000"),
        ("n_mels", 20, "config.n_mels: expected 40 (as model_fp32.pt was built), got 20"),
        ("f_max", 4000.0, "config.f_max: expected None (as model_fp32.pt was built), got 4000.0"),
        ("max_seconds", 5.0, "config.max_seconds: expected 10.0 (as model_fp32.pt was built), got 5.0"),
        ("n_fft", 1024, "golden.npz: tone.stft_ref.shape: expected (1, 513, 63) (from the input and config)"),
        (
            "hop_length",
            128,
            "golden.npz: tone.stft_ref.shape: expected (1, 257, 126) (from the input and config)",
        ),
        ("window", "hamming", "golden.npz: tone.stft_ref: expected the float64 STFT of tone.input under the"),
        ("pad_mode", "constant", "golden.npz: tone.stft_ref: expected the float64 STFT of tone.input under"),
        ("normalized", True, "golden.npz: tone.stft_ref: expected the float64 STFT of tone.input under"),
        (
            "stft_backend",
            "armstft",
            "config.stft_backend: expected 'aten' (as model_fp32.pt was built: no quantized:: or armstft:: "
            "operator), got 'armstft'",
        ),
    ],
)
def test_a_manifest_config_the_models_were_not_built_with_is_refused(
    run_cli, bundle_copy: Path, field: str, value, message: str
) -> None:
    """Before: the manifest's config was never checked against the model (8000 Hz, n_fft 1024, hamming...
    all verified as OK)."""
    rewrite_manifest(bundle_copy, lambda m: m["config"].update({field: value}))
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["ok"] is False
    assert message in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_variant_backend_its_model_does_not_call_is_refused(run_cli, bundle_copy: Path) -> None:
    rewrite_manifest(bundle_copy, lambda m: m["models"]["fp32_armstft"].update(stft_backend="aten"))
    code, _, err = run_cli("verify", str(bundle_copy))
    assert code == 2
    assert "models.fp32_armstft.stft_backend: expected 'armstft' (as model_fp32_armstft.pt was built: " in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m["models"]["int8"]["tolerance"].update(
                argmax_match=m["models"]["int8"]["tolerance"].pop("argmax_matches")
            ),
            "models.int8.tolerance.argmax_match: expected one of the keys atol, rtol, argmax_matches",
        ),
        (lambda m: m.update(sftf=m.pop("stft")), "manifest.json: sftf: expected one of the keys"),
        (lambda m: m["golden"].update(case=["tone"]), "golden.case: expected one of the keys file, cases"),
        (lambda m: m["config"].update(nfft=512), "config.nfft: expected one of the fields"),
        (
            lambda m: m["models"]["fp32"].update(precission="fp32"),
            "models.fp32.precission: expected one of the keys",
        ),
        (
            lambda m: m["files"].update({"notes.txt": "0" * 64}),
            "files.notes.txt: expected only files the manifest",
        ),
    ],
)
def test_unknown_or_misspelled_keys_are_refused(run_cli, bundle_copy: Path, change, message: str) -> None:
    """Before: `argmax_match` silently turned off the int8 class check, `sftf` dropped the STFT stage
    (27/27 checks instead of 45)."""
    rewrite_manifest(bundle_copy, change)
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["ok"] is False and doc["cases"] == []
    assert message in err, err


class Plain(torch.nn.Module):
    """A user's wrapper: the inner model states its config, the wrapper (what gets saved) does not."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.inner(audio)

    @torch.jit.export
    def stft(self, audio: torch.Tensor) -> torch.Tensor:
        return self.inner.stft(audio)


def test_a_user_model_that_states_no_config_is_verified_with_a_warning(run_cli, tmp_path: Path) -> None:
    """What cannot be checked is said: sample rate, mel bands... only a model's own statement confirms."""
    from armstft.core.config import StftConfig
    from armstft.nn.model import StftClassifier

    config = StftConfig(n_fft=256, hop_length=128, win_length=256, n_mels=16, max_seconds=1.0)
    torch.manual_seed(0)
    model = torch.jit.script(Plain(StftClassifier(config, n_classes=3).eval()))
    torch.jit.save(model, str(tmp_path / "mine.pt"))
    np.savez(tmp_path / "in.npz", a=np.random.default_rng(0).standard_normal((1, 8000)).astype(np.float32))
    (tmp_path / "cfg.json").write_text(json.dumps(config.to_dict()))
    args = ["--inputs", str(tmp_path / "in.npz"), "--config", str(tmp_path / "cfg.json")]
    code, _, err = run_cli("bundle", str(tmp_path / "mine.pt"), *args, "--out", str(tmp_path / "b"))
    assert code == 0, err
    code, doc, err = run_cli("verify", str(tmp_path / "b"))
    assert code == 0 and doc["ok"], err
    assert any("no model states the config it was built with" in w for w in doc["warnings"]), doc["warnings"]


# --- names and messages ----------------------------------------------------------------------------------


def test_a_newline_in_a_manifest_name_cannot_forge_output_lines(run_cli, bundle_copy: Path) -> None:
    forged = "model_fp32.pt\nok   model fp32  tone  max_abs 0\nverified: 45/45 checks within tolerance"
    rewrite_manifest(bundle_copy, lambda m: m["models"]["fp32"].update(file=forged))
    code, _doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "models.fp32.file: expected a plain file name inside the bundle" in err and "\\n" in err


def test_a_newline_in_the_bundle_path_stays_on_one_line(run_cli, bundle_copy: Path) -> None:
    odd = bundle_copy.with_name("bundle\nverified: 45 of 45 checks within tolerance")
    bundle_copy.rename(odd)
    (odd / "golden.npz").unlink()
    code, _, err = run_cli("verify", str(odd))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("armstft: error: '") and "bundle\\nverified" in err


# --- each variant's description against what its file was built as (armstft.bundle.asbuilt) -----------------


@pytest.mark.parametrize(
    ("variant", "impostor", "message"),
    [
        # the independent generator's case: verified "63/63 within tolerance" before
        (
            "int8_static",
            "model_fp32_armstft.pt",
            "manifest.json: models.int8_static.precision: expected 'fp32' (as model_int8_static.pt was built",
        ),
        (
            "int8_static",
            "model_int8.pt",
            "models.int8_static.quantized_engine: expected none (as model_int8_static.pt was built",
        ),
        ("int8", "model_fp32.pt", "models.int8.precision: expected 'fp32' (as "),
        ("int8", "model_int8_static.pt", "models.int8.quantized_engine: expected the engine its static int8"),
        ("fp32", "model_fp32_armstft.pt", "config.stft_backend: expected 'armstft' (as "),
        ("fp32_armstft", "model_fp32.pt", "models.fp32_armstft.stft_backend: expected 'aten' (as "),
    ],
)
def test_a_variant_whose_file_is_another_variant_is_refused(
    run_cli, bundle_copy: Path, variant: str, impostor: str, message: str
) -> None:
    """A variant's file replaced by another variant's (and re-hashed): refused from the file's own graph,
    whatever tolerance would have let its outputs through."""
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    target = manifest["models"][variant]["file"]
    shutil.copy(bundle_copy / impostor, bundle_copy / target)
    rehash(bundle_copy, target)
    err = verify_refuses(run_cli, bundle_copy, message)
    assert target in err  # the evidence names the file


def test_the_default_bundle_reads_as_described() -> None:
    """Every variant of the committed bundle, read from its graph, is what the manifest says."""
    import armstft.faststft  # noqa: F401  (registers the armstft:: operators the files call)
    from armstft.bundle import asbuilt
    from armstft.bundle.manifest import load_manifest
    from armstft.nn import quantize

    manifest = load_manifest(DEFAULT_BUNDLE)
    for variant in manifest.variants.values():
        path = DEFAULT_BUNDLE / variant.file
        with quantize.engine():
            if variant.format == "exported_program":
                module = torch.export.load(str(path)).module()
            else:
                module = torch.jit.load(str(path))
        built = asbuilt.check(manifest, variant.name, asbuilt.graph_operators(module, []))
        assert (built.precision, built.static_int8) == (
            variant.precision,
            variant.quantized_engine is not None,
        )


@pytest.mark.parametrize("engine", [e for e in torch.backends.quantized.supported_engines if e != "none"])
def test_the_committed_dynamic_int8_variant_holds_under_every_engine(engine: str) -> None:
    """The dynamic int8 variant names no engine, so it runs on whatever a board defaults to (onednn on
    torch's aarch64 wheel, qnnpack elsewhere, x86 here): every engine this torch has must stay within the
    manifest's tolerance of the host's golden outputs and keep fp32's class. (The static variant is pinned
    to the engine its weights were packed for, QNNPACK, and is run so in every verify.)"""
    from armstft.bundle.manifest import load_manifest
    from armstft.device.verify import compare_outputs
    from armstft.nn import quantize

    manifest = load_manifest(DEFAULT_BUNDLE)
    tol = manifest.variants["int8"].tolerance
    with np.load(DEFAULT_BUNDLE / "golden.npz") as golden, quantize.engine(engine):
        module = torch.jit.load(str(DEFAULT_BUNDLE / manifest.variants["int8"].file))
        for case in manifest.cases:
            with torch.inference_mode():
                got = module(torch.from_numpy(golden[f"{case}.input"])).numpy()
            want, fp32 = golden[f"{case}.out.int8"], golden[f"{case}.out.fp32"]
            max_abs, _, problem = compare_outputs(got, want, tol)
            assert problem is None, (engine, case, max_abs, problem)
            assert np.array_equal(got.argmax(-1), fp32.argmax(-1)), (engine, case)
