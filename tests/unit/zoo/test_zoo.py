"""Third-party models through the user's flow: ``armstft bundle`` → ``verify`` → ``bench --quick`` on this
host (tests/unit/zoo/models.py builds them: tiny, seeded, nothing downloaded).

Each must bundle, verify with every check within tolerance, and bench with whole-model rows timed with
acceleration off and on, at the bundle's own sample rate. The packages are in pyproject.toml's ``dev``
extra (what scripts/bootstrap.sh installs): a missing one fails here rather than skipping the zoo.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.unit.zoo.models import ZOO, ZooModel


def make_user_files(model: ZooModel, folder: Path) -> list[str]:
    """The files a user hands to ``armstft bundle``; returns its arguments."""
    torch.jit.save(model.build(), str(folder / f"{model.name}.pt"))
    np.savez(folder / "inputs.npz", **model.inputs())
    (folder / "config.json").write_text(json.dumps(model.config))
    args = [str(folder / f"{model.name}.pt"), "--inputs", str(folder / "inputs.npz")]
    args += ["--config", str(folder / "config.json"), "--out", str(folder / "bundle")]
    for argument in model.arguments:
        args += ["--arg", argument]
    return args


@pytest.mark.parametrize("model", ZOO, ids=[m.name for m in ZOO])
def test_a_zoo_model_bundles_verifies_and_benches(run_cli, tmp_path: Path, model: ZooModel) -> None:
    code, doc, err = run_cli("bundle", *make_user_files(model, tmp_path))
    assert code == 0, err
    assert "config completed from the defaults" in err
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["schema"] == "armstft.bundle/2"
    assert manifest["call"]["state"] == "fresh_load_per_case"
    assert manifest["models"]["fp32"].get("outputs", []) == model.outputs
    for key, value in model.config.items():
        assert manifest["config"][key] == value, key

    code, doc, err = run_cli("verify", str(tmp_path / "bundle"))
    assert code == 0 and doc["ok"], err
    assert "the STFT stage checks the rest" not in err
    cases = {c["name"] for c in doc["cases"]}
    assert cases == set(model.inputs())
    assert len(doc["cases"]) == len(cases) * max(1, len(model.outputs))

    out = tmp_path / "bench.json"
    code, doc, err = run_cli(
        "bench", str(tmp_path / "bundle"), "--out", str(out), "--quick", "--threads", "1",
        "--seconds", "0.2", "--iterations", "3", "--warmup", "1",
    )  # fmt: skip
    assert code == 0, err
    rows = [r for r in doc["results"] if r["stage"] == "model"]
    assert [r["accelerate"] for r in rows] in ([False, True], [False])
    rate = manifest["config"]["sample_rate"]
    first = model.inputs()[sorted(model.inputs())[0]]
    assert rows[0]["audio_ms_per_call"] == pytest.approx(first.shape[-1] / rate * 1000)
