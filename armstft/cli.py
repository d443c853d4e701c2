"""The ``armstft`` command: one JSON document on stdout, human text on stderr, exit 0 only on success.

Exit codes: 0 success, 1 the device computed something out of tolerance, 2 bad input (bundle, manifest,
audio, arguments), 3 an internal error (a bug: set ARMSTFT_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from armstft.core import bounds
from armstft.core.errors import ArmstftError, shown
from armstft.device.benchsettings import BenchSettings

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def emit(document: dict[str, Any]) -> None:
    """Standard JSON only (``allow_nan=False``): the harness and any other parser must be able to read it."""
    print(json.dumps(document, indent=2, default=str, allow_nan=False), flush=True)


def cmd_info(args: argparse.Namespace) -> int:
    from armstft.nn import runtime

    data = runtime.collect()
    say(runtime.summary(data))
    emit(data)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from armstft.device.verify import VerifyReport, verify_bundle

    report = VerifyReport(bundle=str(args.bundle))
    try:
        verify_bundle(args.bundle, report, case_seconds=args.case_seconds)
    except ArmstftError as err:
        report.error = str(err)
        emit(report.to_json())
        raise
    for warning in report.warnings:
        say(f"warning: {shown(warning)}")
    for case in report.cases:
        status = "ok  " if case.ok else "FAIL"
        detail = f"max_abs {case.max_abs:.3e} max_rel {case.max_rel:.3e}" if case.max_abs is not None else ""
        problem = shown(case.problem) if case.problem else ""
        variant = case.variant if case.output is None else f"{case.variant}.{case.output}"
        line = f"{status} {case.stage:5s} {variant:5s} {case.name:12s} {detail} {problem}"
        say(line.rstrip())
    failed = [c for c in report.cases if not c.ok]
    say(
        f"{shown(args.bundle)}: {'verified' if report.ok else 'MISMATCH'}: {len(report.cases) - len(failed)}/"
        f"{len(report.cases)} checks within tolerance"
    )
    emit(report.to_json())
    return EXIT_OK if report.ok else EXIT_MISMATCH


def _seconds(text: str) -> float:
    """A watchdog limit: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 24 * 3600:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 86400], got {text!r}")
    return value


def _threads(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated thread counts, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected thread counts >= 1, got {text!r}")
    return values


def cmd_bench(args: argparse.Namespace) -> int:
    from armstft.device.bench import run_bench

    base = BenchSettings.quick() if args.quick else BenchSettings()
    settings = BenchSettings(
        seconds=args.seconds if args.seconds is not None else base.seconds,
        iterations=args.iterations if args.iterations is not None else base.iterations,
        warmup=args.warmup if args.warmup is not None else base.warmup,
        threads=args.threads or (),
        backends=tuple(b for b in args.backends.split(",") if b),
        case_seconds=args.case_seconds,
    )
    say(f"benchmarking {shown(args.bundle)} → {shown(args.out)}")
    document = run_bench(args.bundle, args.out, settings, progress=say)
    emit(document)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from armstft.host.export import export_bundle

    path = export_bundle(args.weights, args.out, name=args.name)
    say(f"wrote bundle {args.out}")
    emit({"schema": "armstft.export/1", "bundle": str(args.out), "manifest": str(path), "ok": True})
    return EXIT_OK


def _read_config(path: Path) -> Any:
    """``--config``: a JSON STFT config, any subset of the fields; the rest come from the defaults
    (armstft.core.config.StftConfig), and the completed config is printed."""
    from armstft.core import strictjson
    from armstft.core.config import StftConfig
    from armstft.core.errors import InputError

    try:
        with path.open("rb") as stream:
            raw = stream.read(bounds.MANIFEST_MAX_BYTES + 1)
        if len(raw) > bounds.MANIFEST_MAX_BYTES:
            raise strictjson.JsonError(f"more than {bounds.MANIFEST_MAX_BYTES} bytes")
        data = strictjson.loads(raw)
    except OSError as err:
        raise InputError(str(path), "file", "a readable JSON STFT config", err.strerror) from None
    except strictjson.JsonError as err:
        raise InputError(str(path), err.field, "a JSON STFT config", str(err)) from None
    config = StftConfig.from_dict(data, str(path), partial=True)
    defaulted = sorted(set(config.to_dict()) - set(data)) if isinstance(data, dict) else []
    if defaulted:
        say(
            f"{shown(path)}: config completed from the defaults: {config.to_json()} "
            f"(defaulted: {', '.join(defaulted)})"
        )
    return config


def cmd_bundle(args: argparse.Namespace) -> int:
    from armstft.host.userbundle import bundle_user_model
    from armstft.host.userinputs import parse_argument

    config = _read_config(args.config) if args.config is not None else None
    arguments = [parse_argument(text) for text in args.arg or []]
    path = bundle_user_model(
        args.model, args.inputs, args.out, config=config, name=args.name, arguments=arguments
    )
    say(f"wrote bundle {shown(args.out)}; check it anywhere with: armstft verify {shown(args.out)}")
    emit({"schema": "armstft.bundle-made/1", "bundle": str(args.out), "manifest": str(path), "ok": True})
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from armstft.device.run import classify

    document = classify(args.bundle, args.audio, args.variant, case_seconds=args.case_seconds)
    say(f"{shown(args.audio)}: {', '.join(shown(p) for p in document['predicted'])}")
    emit(document)
    return EXIT_OK


def _case_seconds(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--case-seconds",
        type=_seconds,
        default=bounds.CASE_SECONDS,
        help="watchdog: seconds one model load or call may take before it is stopped (default %(default)g)",
    )


def _bundle_parser(sub: Any) -> None:
    """``armstft bundle``'s arguments."""
    p = sub.add_parser("bundle", help="your TorchScript model + inputs (.npz) → bundle")
    p.add_argument("model", type=Path)
    p.add_argument(
        "--inputs",
        type=Path,
        required=True,
        help=".npz: per case a float32 (batch, [channels,] samples) array <case>, and <case>.<parameter> "
        "for more tensors forward takes",
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--config",
        type=Path,
        help="STFT config JSON, any subset of its fields (enables the STFT-stage check)",
    )
    p.add_argument(
        "--arg",
        action="append",
        metavar="NAME=VALUE",
        help="a constant passed after the audio, e.g. sr=16000",
    )
    p.add_argument("--name", default="user")
    p.set_defaults(func=cmd_bundle)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="armstft", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="torch/BLAS/FFT/CPU facts of this device").set_defaults(func=cmd_info)

    p = sub.add_parser("verify", help="check a bundle's hashes and golden outputs on this device")
    p.add_argument("bundle", type=Path)
    _case_seconds(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("bench", help="latency of the STFT stage and the model, per thread count")
    p.add_argument("bundle", type=Path)
    p.add_argument(
        "--out", type=Path, default=Path("bench.json"), help="JSON results, rewritten after each case"
    )
    full, quick = BenchSettings(), BenchSettings.quick()  # the defaults the help states are these
    p.add_argument(
        "--seconds",
        type=float,
        help=f"time budget per case (default {full.seconds:g}, --quick {quick.seconds:g})",
    )
    p.add_argument(
        "--iterations",
        type=int,
        help=f"iterations per case (default {full.iterations}, --quick {quick.iterations})",
    )
    p.add_argument(
        "--warmup", type=int, help=f"warm-up calls per case (default {full.warmup}, --quick {quick.warmup})"
    )
    p.add_argument("--threads", type=_threads, help="thread counts, e.g. 1,2 (default 1..nproc)")
    backends = ",".join(full.backends)
    p.add_argument("--backends", default=backends, help=f"STFT backends to compare (default {backends})")
    p.add_argument("--quick", action="store_true", help="short settings for CI and emulated boards")
    _case_seconds(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("export", help="trained weights → bundle (fp32 + int8 + golden vectors)")
    p.add_argument("--weights", type=Path, default=Path("models/default-weights.pt"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--name", default="default")
    p.set_defaults(func=cmd_export)

    _bundle_parser(sub)

    p = sub.add_parser("run", help="classify one .wav/.npy file with a bundle")
    p.add_argument("bundle", type=Path)
    p.add_argument("audio", type=Path)
    p.add_argument("--variant", default="fp32")
    _case_seconds(p)
    p.set_defaults(func=cmd_run)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ArmstftError as err:
        say(f"armstft: error: {err}")
        if args.command not in ("verify",):
            emit({"schema": f"armstft.{args.command}/1", "ok": False, "error": str(err)})
        return err.exit_code
    except KeyboardInterrupt:
        say("armstft: interrupted")
        return 130
    except Exception as err:
        if os.environ.get("ARMSTFT_DEBUG"):
            traceback.print_exc()
        detail = shown(f"{type(err).__name__}: {err}")
        say(f"armstft: internal error: {detail} (ARMSTFT_DEBUG=1 shows the traceback)")
        emit(
            {
                "schema": f"armstft.{args.command}/1",
                "ok": False,
                "error": f"internal: {type(err).__name__}: {err}",
            }
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
