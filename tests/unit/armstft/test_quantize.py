"""armstft.nn.quantize: the static int8 variant quantizes the convolutions, keeps the float front end and the
model's stage methods, and predicts fp32's class on every golden case within its stated tolerance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from armstft.host import export
from armstft.nn import quantize
from tests.unit.conftest import DEFAULT_WEIGHTS


@pytest.fixture(scope="module")
def weights() -> export.Weights:
    return export.load_weights(DEFAULT_WEIGHTS)


@pytest.mark.parametrize("backend", ["aten", "armstft"])
def test_static_int8_agrees_with_fp32(weights: export.Weights, backend: str) -> None:
    model = export.build_model(weights, backend=backend)
    scripted = export.script_frozen(quantize.static_int8(model, quantize.calibration_clips(weights.config)))
    tol = quantize.STATIC_INT8_TOLERANCE
    for case, audio in export.golden_inputs(weights.config).items():
        x = torch.from_numpy(audio)
        with torch.inference_mode():
            ref, got = model(x), scripted(x)
        assert torch.equal(got.argmax(-1), ref.argmax(-1)), case
        assert bool(((got - ref).abs() <= tol["atol"] + tol["rtol"] * ref.abs()).all()), case
        # the float front end is the model's own: its stages are exactly fp32's
        assert torch.equal(scripted.log_mel(x), model.log_mel(x))
        assert torch.allclose(scripted.stft(x), model.stft(x))


def test_convolutions_really_are_int8(weights: export.Weights) -> None:
    model = export.build_model(weights)
    scripted = export.script_frozen(quantize.static_int8(model, quantize.calibration_clips(weights.config)))
    code = "\n".join(str(m.graph) for m in [scripted, *scripted.modules()] if hasattr(m, "graph"))
    assert code.count("quantized::conv2d") >= 3 and "quantized::linear" in code
    dynamic = export.script_frozen(quantize.dynamic_int8(model))
    dyn_code = str(dynamic.graph) + "".join(str(m.graph) for m in dynamic.modules() if hasattr(m, "graph"))
    assert "quantized::conv2d" not in dyn_code  # dynamic int8: the Linear head only


def test_calibration_clips_are_seeded_and_cover_every_class(weights: export.Weights) -> None:
    a, b = quantize.calibration_clips(weights.config), quantize.calibration_clips(weights.config)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert sum(x.shape[0] for x in a) == quantize.CALIBRATION_CLIPS_PER_CLASS * 6
    assert np.isfinite(torch.cat(a).numpy()).all()


def test_no_calibration_is_an_error(weights: export.Weights) -> None:
    with pytest.raises(ValueError, match="calibration"):
        quantize.static_int8(export.build_model(weights), [])


def test_engine_setting_is_restored(weights: export.Weights) -> None:
    before = torch.backends.quantized.engine
    quantize.static_int8(export.build_model(weights), quantize.calibration_clips(weights.config, 1))
    assert torch.backends.quantized.engine == before
