"""From C++ with no Python at all: a tiny program (armstft/faststft/cpp/run_model.cpp) linked against the
torch wheel's libtorch and libarmstft_ops.so loads scripted models and runs them on the engine.

The program is built once per source/torch version into $ARMSTFT_CACHE/cpp (a libtorch translation unit
takes about a minute on a busy 2-core machine) and run without any Python in its process; its outputs are
compared with the same models run from Python.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torchaudio

import armstft
import armstft.faststft as fast
from armstft.faststft import _loader
from harness import paths

SOURCE = Path(fast.__file__).parent / "cpp" / "run_model.cpp"
DEFAULT_BUNDLE = Path(__file__).resolve().parents[3] / paths.REPO_BUNDLE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}"),
    pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++ (apt: build-essential)"),
]


@pytest.fixture(scope="module")
def run_model() -> Path:
    torch_dir = Path(torch.__file__).parent
    lib_dir = _loader.library_path().parent
    key = hashlib.sha256(SOURCE.read_bytes() + torch.__version__.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("ARMSTFT_CACHE", Path.home() / ".cache" / "armstft")) / "cpp"
    exe = cache / f"run_model-{key}"
    if not exe.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = exe.with_suffix(".tmp")
        cmd = [
            "nice", "-n", "10", "g++", "-O1", "-std=c++17", str(SOURCE), f"-I{torch_dir}/include",
            f"-I{torch_dir}/include/torch/csrc/api/include", f"-L{torch_dir}/lib", f"-L{lib_dir}",
            "-Wl,--no-as-needed", "-larmstft_ops", "-ltorch", "-ltorch_cpu", "-lc10",
            f"-Wl,-rpath,{torch_dir}/lib", "-o", str(tmp),
        ]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=1200)
        tmp.rename(exe)
    return exe


def run(exe: Path, model: Path, audio: np.ndarray, tmp: Path, method: str = "forward", **env: str):
    """(output array, counters) from the C++ program."""
    (tmp / "in.f32").write_bytes(audio.astype(np.float32).tobytes())
    lib_dir = _loader.library_path().parent
    environ = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(lib_dir), "OMP_NUM_THREADS": "1", **env}
    cmd = [str(exe), str(model), str(tmp / "in.f32"), str(audio.size), str(tmp / "out.f32"), method]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=environ)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    shape = [int(v) for v in lines["shape"].split()]
    counters = dict(
        zip(fast.accelerate.__globals__["COUNTERS"], map(int, lines["counters"].split()), strict=True)
    )
    return np.fromfile(tmp / "out.f32", dtype=np.float32).reshape(shape), counters


def test_the_program_loads_no_python(run_model: Path) -> None:
    """Every library the program loads, transitively (ldd): ours and libtorch, no (torch_)python."""
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(_loader.library_path().parent)}
    libs = subprocess.run(["ldd", str(run_model)], capture_output=True, text=True, check=True, env=env).stdout
    names = [line.split()[0] for line in libs.splitlines() if line.strip()]
    assert "libarmstft_ops.so" in names and "libtorch_cpu.so" in names
    assert not [n for n in names if "python" in n], names


def test_bundle_model_with_the_armstft_front_end(run_model: Path, tmp_path: Path) -> None:
    model = DEFAULT_BUNDLE / "model_fp32_armstft.pt"
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    got, counters = run(run_model, model, audio, tmp_path)
    with torch.inference_mode():
        ref = torch.jit.load(str(model))(torch.from_numpy(audio).unsqueeze(0)).numpy()
    assert got.shape == ref.shape and np.abs(got - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())
    assert counters["stft"] + counters["log_mel"] >= 1  # the engine answered, in a process without Python
    spec, counters = run(run_model, model, audio, tmp_path, method="stft")
    assert counters["stft"] >= 1 and spec.shape == (1, 257, 63, 2)  # (re, im) pairs


class Pipeline(torch.nn.Module):
    """stft -> istft and log-mel through the public functions, scripted."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(400))
        self.register_buffer("fb", torchaudio.functional.melscale_fbanks(201, 0.0, 8000.0, 40, 16000))

    @torch.jit.export
    def roundtrip(self, x: torch.Tensor) -> torch.Tensor:
        spec = armstft.stft(x, 400, 160, window=self.window, return_complex=True)
        return armstft.istft(spec, 400, 160, window=self.window, length=x.shape[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return armstft.log_mel(x, self.fb, 400, 160, window=self.window)


def test_scripted_pipeline_stft_istft_log_mel(run_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "pipeline.pt"
    torch.jit.script(Pipeline()).save(str(path))
    audio = np.random.default_rng(1).standard_normal(16000).astype(np.float32)
    back, counters = run(run_model, path, audio, tmp_path, method="roundtrip")
    assert counters["stft"] == 1 and counters["istft"] == 1
    assert np.abs(back[0] - audio).max() <= 1e-5 * np.abs(audio).max()
    feats, counters = run(run_model, path, audio, tmp_path)
    assert counters["log_mel"] == 1
    with torch.inference_mode():
        ref = Pipeline()(torch.from_numpy(audio).unsqueeze(0)).numpy()
    assert np.abs(feats - ref).max() <= 1e-4


def test_acceleration_from_the_environment_in_cpp(run_model: Path, tmp_path: Path) -> None:
    """The ATen model (torch.stft inside) runs on the engine with ARMSTFT_ACCELERATE=1, off without it."""
    model = DEFAULT_BUNDLE / "model_fp32.pt"
    audio = np.random.default_rng(2).standard_normal(16000).astype(np.float32)
    off, c_off = run(run_model, model, audio, tmp_path)
    on, c_on = run(run_model, model, audio, tmp_path, ARMSTFT_ACCELERATE="1")
    assert c_off["aten_stft"] == 0 and c_on["aten_stft"] >= 1
    assert np.abs(on - off).max() <= 1e-3 * max(1.0, np.abs(off).max())
