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
    """Run as it is deployed: under its pinned quantized engine (the packed weights are QNNPACK's), and held
    to the tolerance its manifest would state (quantize.STATIC_INT8_STEPS of its own logit step)."""
    model = export.build_model(weights, backend=backend)
    static = quantize.static_int8(model, quantize.calibration_clips(weights.config))
    with quantize.engine():
        scripted = export.script_frozen(static)
    tol = quantize.static_int8_tolerance(static)
    assert tol["rtol"] == 0.0 and tol["atol"] == round(
        quantize.STATIC_INT8_STEPS * quantize.output_step(static), 4
    )
    for case, audio in export.golden_inputs(weights.config).items():
        x = torch.from_numpy(audio)
        with torch.inference_mode(), quantize.engine():
            ref, got = model(x), scripted(x)
        assert torch.equal(got.argmax(-1), ref.argmax(-1)), case
        worst = float((got - ref).abs().max())
        assert worst <= tol["atol"], f"{case}: |int8 - fp32| {worst:.3f} > {tol['atol']}"
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


def test_output_step_is_the_logits_quantum(weights: export.Weights) -> None:
    """Every static int8 logit is a whole number of output steps from the zero point: the unit the
    tolerance is stated in really is the one the logits move by."""
    static = quantize.static_int8(export.build_model(weights), quantize.calibration_clips(weights.config, 1))
    step = quantize.output_step(static)
    with quantize.engine(), torch.inference_mode():
        logits = static(torch.from_numpy(next(iter(export.golden_inputs(weights.config).values()))))
    levels = logits / step
    assert 0.01 < step < 100 and torch.allclose(
        levels - levels.round(), levels[0, 0] - levels[0, 0].round(), atol=1e-3
    )
