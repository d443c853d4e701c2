"""The bundle's torch.export program (``log_mel_armstft.pt2``): it holds armstft's fused operator, serves
every clip length, verifies like the TorchScript variants, and a ``.pt2`` that ``torch.export.load`` would
unpickle any part of is refused before it is loaded."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import armstft.faststft  # noqa: F401  (registers armstft::log_mel, which the program calls)
from armstft.bundle import pt2file
from armstft.core.errors import BundleError
from armstft.host import export
from tests.unit.conftest import DEFAULT_BUNDLE, DEFAULT_WEIGHTS, rehash, verify_refuses

PT2 = "log_mel_armstft.pt2"


def test_the_program_holds_armstft_log_mel_and_serves_any_length() -> None:
    program = torch.export.load(str(DEFAULT_BUNDLE / PT2))
    targets = {str(n.target) for n in program.graph.nodes if n.op == "call_function"}
    assert "armstft.log_mel.default" in targets, targets
    model = export.build_model(export.load_weights(DEFAULT_WEIGHTS), backend="armstft").eval()
    for batch, samples in [(1, 4000), (3, 12345), (2, 160000)]:
        x = torch.from_numpy(np.random.default_rng(samples).standard_normal((batch, samples), np.float32))
        with torch.inference_mode():
            got, want = program.module()(x), model.log_mel(x)
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5, rtol=1e-5)


def test_the_archive_has_no_pickled_member() -> None:
    pt2file.check((DEFAULT_BUNDLE / PT2).read_bytes(), PT2)  # raises if it had
    with zipfile.ZipFile(DEFAULT_BUNDLE / PT2) as archive:
        sizes = {i.filename: i.file_size for i in archive.infolist()}
    assert [size for name, size in sizes.items() if "sample_inputs" in name] == [0]


def _with_sample_inputs(path: Path) -> None:
    """Re-save the bundle's program the way plain ``torch.export.save`` does: sample inputs pickled in."""
    program = torch.export.load(str(path))
    program.example_inputs = ((torch.zeros(1, 4000),), {})
    torch.export.save(program, str(path))


def test_a_program_with_pickled_sample_inputs_is_refused(run_cli, bundle_copy: Path) -> None:
    _with_sample_inputs(bundle_copy / PT2)
    rehash(bundle_copy, PT2)
    verify_refuses(
        run_cli, bundle_copy, f"{PT2}: {PT2[:-4]}/data/sample_inputs/model.pt: expected no sample inputs"
    )


def test_a_pickled_weight_payload_is_refused() -> None:
    data = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO((DEFAULT_BUNDLE / PT2).read_bytes())) as src,
        zipfile.ZipFile(data, "w") as dst,
    ):
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("weights_config.json"):
                body = body.replace(b'"use_pickle": false', b'"use_pickle": true')
            dst.writestr(info, body)
    with pytest.raises(BundleError, match="expected plain tensors only"):
        pt2file.check(data.getvalue(), PT2)


def test_not_a_zip_is_refused(run_cli, bundle_copy: Path) -> None:
    (bundle_copy / PT2).write_bytes(b"not an archive")
    rehash(bundle_copy, PT2)
    verify_refuses(run_cli, bundle_copy, f"{PT2}: file: expected a torch.export archive (zip)")


def test_run_refuses_a_variant_that_outputs_features(run_cli, tmp_path: Path) -> None:
    clip = tmp_path / "tone.npy"
    np.save(clip, np.zeros((1, 16000), np.float32))
    code, _, err = run_cli("run", str(DEFAULT_BUNDLE), str(clip), "--variant", "log_mel_armstft")
    assert code == 2, err
    assert "models.log_mel_armstft.stage: expected a variant that outputs class logits, got log_mel" in err
