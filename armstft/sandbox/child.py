"""The model worker's side of armstft.sandbox: load TorchScript from bytes, call it, measure it.

Runs in a child process only (forked by armstft.sandbox.parent, or ``python -m armstft.sandbox.child
PARENT_PID``). It answers one request at a time; whatever a model does wrong comes back as an error reply
of one line, never a traceback: the last line of a TorchScript error is the actual error, the lines above
it are serialized code and the exporting host's file paths. It speaks armstft.sandbox.protocol and imports
nothing of the parent's side.
"""

from __future__ import annotations

import ctypes
import io
import os
import signal
import sys
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from armstft.bundle import asbuilt
from armstft.sandbox.protocol import encode, receive_blocking, write_all

PR_SET_PDEATHSIG = 1
DETAIL_MAX_CHARS = 300


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to SIGKILL us when the parent goes (a looping model must not outlive its command)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


def _quiet(debug: bool) -> None:
    """Nothing the worker (or a C++ kernel inside it) prints may reach the command's stdout/stderr."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    if not debug:
        os.dup2(null, 2)
    os.close(null)


def last_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[-1] if lines else type(err).__name__
    return text if len(text) <= DETAIL_MAX_CHARS else text[: DETAIL_MAX_CHARS - 3] + "..."


class Failure(Exception):
    """An error reply: ``kind`` (what failed) and a one-line ``detail``."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def to_arrays(value: object, max_bytes: int) -> tuple[list[str], list[np.ndarray]]:
    """A model's output as named NumPy arrays (armstft.nn.outputs: a tensor, or a flat tuple/dict of
    tensors), or :class:`Failure` saying why it is not usable."""
    from armstft.nn.outputs import OutputStructureError, named_outputs

    try:
        names, tensors = named_outputs(value)
    except OutputStructureError as err:
        raise Failure("output", str(err)) from None
    size = sum(t.numel() * t.element_size() for t in tensors)
    if size > max_bytes:
        raise Failure("output", f"{size} bytes (at most {max_bytes})")
    return names, [np.ascontiguousarray(t.numpy()) for t in tensors]


def _engine(name: str | None) -> AbstractContextManager[None]:
    """The variant's quantized engine for a load or call (armstft.nn.quantize.engine); ``None`` leaves it
    as it is, and an engine this torch build lacks is a load failure naming it."""
    import torch

    from armstft.nn import quantize

    if name is None:
        return nullcontext()
    if name not in torch.backends.quantized.supported_engines:
        have = ", ".join(torch.backends.quantized.supported_engines)
        raise Failure("load", f"quantized engine {name} is not in this torch build (it has {have})")
    return quantize.engine(name)


def _keywords(header: dict[str, Any], blobs: list[Any]) -> dict[str, Any]:
    """Forward's keyword arguments: tensor inputs beside the audio (``inputs``, blobs after the first) and
    constants (``arguments``: [name, value] pairs)."""
    import torch

    tensors = {
        n: torch.from_numpy(np.array(b)) for n, b in zip(header.get("inputs", []), blobs[1:], strict=True)
    }
    return {**tensors, **dict(header.get("arguments", []))}


class Handler:
    """What the worker does for each request ``op``."""

    def __init__(self, optimized: bool) -> None:
        self.models: dict[str, Any] = {}
        self.engines: dict[str, str | None] = {}
        self.bench: Any = None
        self.optimized = optimized

    def load(self, header: dict[str, Any], blobs: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        """A TorchScript archive or (``format: exported_program``) a torch.export program, from bytes, under
        the variant's quantized engine (static int8 packs its weights for the engine current at load)."""
        import torch

        name = header["model"]
        self.engines[name] = header.get("engine")
        try:
            with _engine(self.engines[name]):
                if header.get("format") == "exported_program":
                    module: Any = torch.export.load(io.BytesIO(blobs[0])).module()
                else:
                    module = torch.jit.load(io.BytesIO(blobs[0]), map_location="cpu")
        except Failure:
            raise
        except Exception as err:  # torch raises many types for a bad archive; all mean "not loadable"
            raise Failure("load", type(err).__name__) from None
        self.models[name] = module
        methods = [
            m for m in header.get("methods", []) if isinstance(getattr(module, m, None), torch.ScriptMethod)
        ]
        declared = getattr(module, "armstft_config", None)
        try:
            operators = asbuilt.graph_operators(module, methods)
        except Exception as err:  # a graph torch cannot print or inline: the model is not what it claims
            raise Failure("load", f"graph unreadable ({type(err).__name__})") from None
        return {
            "methods": methods,
            "armstft_config": declared if isinstance(declared, str) else None,
            "operators": operators,
        }, []

    def call(self, header: dict[str, Any], blobs: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        import torch

        module = self.models[header["model"]]
        method = getattr(module, header["method"])
        try:
            with (
                _engine(self.engines[header["model"]]),
                torch.inference_mode(),
                torch.jit.optimized_execution(self.optimized),
            ):
                out = method(torch.from_numpy(np.array(blobs[0])), **_keywords(header, blobs))
        except Exception as err:
            raise Failure(type(err).__name__, last_line(err)) from None
        names, arrays = to_arrays(out, int(header["max_bytes"]))
        return {"outputs": names}, list(arrays)

    def info(self, header: dict[str, Any], blobs: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        from armstft.nn import runtime

        return {"info": runtime.collect()}, []

    def bench_cases(self, header: dict[str, Any], blobs: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        from armstft.nn import benchcases

        extras = dict(zip(header["plan"].get("inputs", []), blobs[1:], strict=True))
        self.bench = benchcases.build(self.models, header["plan"], blobs[0], extras)
        return {"cases": [case.describe() for case in self.bench]}, []

    def measure(self, header: dict[str, Any], blobs: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        from armstft.nn import benchcases

        case = self.bench[int(header["case"])]
        try:
            rows = benchcases.measure_rows(case, header["settings"], int(header["threads"]))
        except Exception as err:
            raise Failure(type(err).__name__, last_line(err)) from None
        return {"rows": rows}, []


def serve(
    recv_fd: int,
    send_fd: int,
    parent: int,
    threads: int | None,
    optimized: bool = True,
    preload_export: bool = False,
) -> None:
    """Answer requests until the parent closes the pipe (or kills us).

    ``optimized=False`` runs calls in TorchScript's plain interpreter (``torch.jit.optimized_execution``):
    the same ATen kernels and numbers, without the profiling runs and graph passes that make each model's
    first calls in a fresh process cost ~0.2 s on the host (seconds on an emulated board). verify and run
    call each model a few times per process, so they use it; bench measures the optimized path users get.
    """
    _die_with_parent(parent)
    _quiet(bool(os.environ.get("ARMSTFT_DEBUG")))
    import torch
    import torchaudio

    import armstft.faststft  # noqa: F401  (registers armstft::stft for models whose front end calls it)

    if preload_export:  # torch.export.load's deserializer, imported before the hello (see Worker)
        import torch._export.serde.serialize
        import torch.export.pt2_archive._package

    if threads:
        torch.set_num_threads(threads)
    write_all(send_fd, encode({"torch": str(torch.__version__), "torchaudio": str(torchaudio.__version__)}))
    handler = Handler(optimized)
    while True:
        message = receive_blocking(recv_fd)
        if message is None:
            return
        header, blobs = message
        try:
            reply, out = getattr(handler, header["op"])(header, blobs)
        except Failure as failure:
            reply, out = {"error": {"kind": failure.kind, "detail": failure.detail}}, []
        except Exception as err:  # a bug of ours, reported rather than hanging the parent
            reply, out = {"error": {"kind": f"internal {type(err).__name__}", "detail": last_line(err)}}, []
        write_all(send_fd, encode(reply, out))


def main() -> None:
    """``python -m armstft.sandbox.child PARENT_PID``: requests on stdin, replies on stdout (moved off
    fd 0/1)."""
    recv_fd, send_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    serve(
        recv_fd, send_fd, parent=int(sys.argv[1]), threads=None, preload_export="--preload-export" in sys.argv
    )


if __name__ == "__main__":
    main()
