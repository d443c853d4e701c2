"""``armstft bench BUNDLE``: latency of the STFT stage alone and of the whole model, per thread count.

Every case: warm-up, then N iterations or T seconds (whichever comes first); p50/p90/p99/max, real-time
factor (latency / audio duration handled per call) and the measuring process's peak RSS so far. The JSON
file is rewritten after every case, so a run killed midway keeps what it measured (``complete`` stays
false); armstft.device.outfile keeps it whole, unshared and refuses a read-only or full disk clearly.

The bundle gets the same checks as ``verify`` before anything is timed (hashes, golden arrays, the models'
stated config). The timing runs in a fresh worker process (armstft.sandbox, ``spawn``: its OpenMP thread
pool is its own, whatever this process did before) under a watchdog: a case that does not finish within
its budget (warm-up and each call within ``--case-seconds``, plus ``--seconds``) stops the run, exit 2.
The cases themselves live in armstft.nn.benchcases.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from armstft.bundle.checked import check_bundle
from armstft.bundle.versions import version_warnings
from armstft.core.errors import ArmstftError, BundleError, OutputError
from armstft.device.benchsettings import BenchSettings
from armstft.device.outfile import JsonOut
from armstft.sandbox.parent import Worker, WorkerError, WorkerStopped
from armstft.sandbox.variants import has_programs, load_models

INFO_KEYS = ("torch", "machine", "blas", "fft_backend", "cpu_capability", "nproc", "cpu")


def peak_rss_kb() -> int:
    """Peak RSS of this process or its largest finished child (the worker, once reaped), in KiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))


def _plan(manifest: Any, settings: BenchSettings) -> dict[str, Any]:
    stft = manifest.stft
    return {
        "config": manifest.input_config.to_dict(),
        "arguments": [list(pair) for pair in manifest.call.arguments],
        "inputs": list(manifest.call.inputs),
        "backends": list(settings.backends),
        "stft": None if stft is None else {"models": stft.models, "method": stft.method},
        "variants": {
            n: {"precision": v.precision, "stft_backend": v.stft_backend, "engine": v.quantized_engine}
            for n, v in manifest.variants.items()
            if v.stage == "logits"  # whole-model rows; a features-only program is the STFT rows' work
        },
    }


def _line(row: dict[str, Any], threads: int) -> str:
    """One progress line (a whole-model row timed with acceleration on: backend ``<backend>+accelerate``)."""
    return (
        f"{row['stage']:5s} {row['variant']:4s} {row['backend']:18s} {row['mode']:6s} "
        f"t={threads} p50 {row['p50_ms']:8.3f} ms  p99 {row['p99_ms']:8.3f} ms  rtf {row['rtf']:.4f}"
    )


def run_bench(
    bundle: Path, out: Path, settings: BenchSettings, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    settings.validate()
    threads = settings.threads or tuple(range(1, (os.cpu_count() or 1) + 1))
    document: dict[str, Any] = {
        "schema": "armstft.bench/1",
        "complete": False,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "info": {},
        "settings": {
            "seconds": settings.seconds,
            "iterations": settings.iterations,
            "warmup": settings.warmup,
            "threads": list(threads),
            "case_seconds": settings.case_seconds,
        },
        "results": [],
        "error": None,
    }
    results = JsonOut(out)
    try:
        _run(bundle, settings, threads, document, results, progress)
        document["complete"] = True
    except BaseException as err:
        document["error"] = str(err) if isinstance(err, ArmstftError) else f"{type(err).__name__}: {err}"
        raise
    finally:
        document["peak_rss_kb"] = peak_rss_kb()
        document["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            results.write(document)
        except OutputError:
            if document["error"] is None:
                raise
        finally:
            results.close()
    return document


def _run(
    bundle: Path,
    settings: BenchSettings,
    threads: tuple[int, ...],
    document: dict[str, Any],
    results: JsonOut,
    progress: Callable[[str], None],
) -> None:
    results.write(document)
    checked = check_bundle(bundle)
    manifest = checked.manifest
    clip = checked.inputs[manifest.cases[0]]
    config = manifest.input_config
    with Worker(
        "spawn", case_seconds=settings.case_seconds, run_seconds=None, preload_export=has_programs(manifest)
    ) as worker:
        info = worker.request({"op": "info"})[0]["info"]
        document["info"] = {k: info[k] for k in INFO_KEYS}
        load_models(worker, manifest, checked.bundle, None)
        extras = list(checked.extras[manifest.cases[0]].values())
        request = {"op": "bench_cases", "plan": _plan(manifest, settings)}
        cases = worker.request(request, [clip, *extras])[0]["cases"]
        document.update(
            {
                "bundle": str(bundle),
                "case_input": manifest.cases[0],
                "input_samples": int(clip.shape[-1]),
                "config": config.to_dict(),
                "warnings": version_warnings(
                    manifest, worker.versions["torch"], worker.versions["torchaudio"]
                ),
            }
        )
        results.write(document)
        timing = {"seconds": settings.seconds, "iterations": settings.iterations, "warmup": settings.warmup}
        for count in threads:
            for index, case in enumerate(cases):
                name = f"{case['stage']} {case['variant']} {case['backend']} {case['mode']} t={count}"
                request = {"op": "measure", "case": index, "settings": timing, "threads": count}
                budget = settings.budget(paired=case["stage"] == "model")
                try:
                    rows = worker.request(request, seconds=budget)[0]["rows"]
                except WorkerStopped as err:
                    raise BundleError(
                        str(bundle), f"case {name}", f"to finish within {budget:g} s", str(err)
                    ) from None
                except WorkerError as err:
                    raise BundleError(
                        str(bundle), f"case {name}", "to run", f"the model raised {err}"
                    ) from None
                document["results"].extend(rows)
                results.write(document)
                for row in rows:
                    progress(_line(row, count))
