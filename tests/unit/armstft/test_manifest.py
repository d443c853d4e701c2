"""The manifest's closed schema and its bounds: hostile or careless JSON is exit 2 naming the field, never
exit 3 (a RecursionError, a ValueError from int(), an OverflowError) and never a silent default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from armstft.core import bounds
from tests.unit.conftest import rewrite_manifest, verify_refuses


def _write(bundle: Path, text: str) -> None:
    (bundle / "manifest.json").write_text(text)


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


@pytest.mark.parametrize("deep", [1000, 100_000])
def test_nesting_far_over_the_bound(run_cli, bundle_copy: Path, deep: int) -> None:
    """Before: the bound held only where the interpreter's stack ended in a RecursionError; on another
    Python the parse went through and the error was whatever came next (a duplicate key)."""
    data = _manifest(bundle_copy)
    text = json.dumps(data)[:-1] + ', "deep": ' + "[" * deep + "]" * deep + "}"
    _write(bundle_copy, text)
    verify_refuses(
        run_cli,
        bundle_copy,
        "document: expected standard JSON within the manifest's bounds, "
        f"got nesting {deep + 1} deep (at most {bounds.JSON_MAX_DEPTH})",
    )


def test_nesting_is_bounded_before_parsing() -> None:
    """The bound does not depend on the interpreter's stack: with the recursion limit far above the
    nesting (so json could parse it), the document is still refused, before any parse."""
    import sys

    from armstft.core import strictjson

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        with pytest.raises(strictjson.JsonError, match="nesting 300 deep"):
            strictjson.loads(b"[" * 300 + b"]" * 300)
    finally:
        sys.setrecursionlimit(old)
    # brackets inside strings are text, not nesting
    assert strictjson.loads(b'{"a": "[[[[[[[[[[[[\\"{{{{{{{{{{"}') == {"a": '[[[[[[[[[[[["{{{{{{{{{{'}


def test_nesting_just_over_the_bound(run_cli, bundle_copy: Path) -> None:
    rewrite_manifest(bundle_copy, lambda m: m.update(training={"a": [[[[[[[[1]]]]]]]]}))
    verify_refuses(run_cli, bundle_copy, f"nesting 10 deep (at most {bounds.JSON_MAX_DEPTH})")


def test_a_five_thousand_digit_integer(run_cli, bundle_copy: Path) -> None:
    text = (bundle_copy / "manifest.json").read_text().replace('"n_fft": 512', '"n_fft": ' + "9" * 5000)
    _write(bundle_copy, text)
    verify_refuses(run_cli, bundle_copy, "got a number of 5000 characters")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_seconds", 1e308, "config.max_seconds: expected a number in (0, 600], got 1e+308"),
        ("max_seconds", 1e-9, "config.max_seconds: expected long enough for the shortest input"),
        ("hop_length", 1, "config.max_seconds: expected an STFT of the longest input within 16777216 values"),
        ("sample_rate", 10**15, "config.sample_rate: expected an integer in 1..384000"),
        ("n_fft", 2**20, "config.n_fft: expected an integer in 4..32768"),
        ("f_min", 9000.0, "config.f_min: expected a number in [0, sample_rate/2)"),
    ],
)
def test_config_values_out_of_their_bounds(
    run_cli, bundle_copy: Path, field: str, value, message: str
) -> None:
    rewrite_manifest(bundle_copy, lambda m: m["config"].update({field: value}))
    verify_refuses(run_cli, bundle_copy, message)


def test_an_overflowing_float_literal(run_cli, bundle_copy: Path) -> None:
    text = (bundle_copy / "manifest.json").read_text().replace('"max_seconds": 10.0', '"max_seconds": 1e999')
    _write(bundle_copy, text)
    verify_refuses(run_cli, bundle_copy, "got a number out of range (1e999)")


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([1, {}], "stft.models[0]: expected a name"),
        ([{"fp32": 1}], "stft.models[0]: expected a name"),
        ("fp32", "stft.models: expected a list of 1..8 variant names, got a string 'fp32'"),
        (["fp32", "fp32"], "stft.models[1]: expected names that appear once, got fp32 again"),
        ([], "stft.models: expected a list of 1..8 variant names, got 0 entries"),
    ],
)
def test_wrong_typed_stft_models(run_cli, bundle_copy: Path, models, message: str) -> None:
    rewrite_manifest(bundle_copy, lambda m: m["stft"].update(models=models))
    verify_refuses(run_cli, bundle_copy, message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["models"].update({"v" * 300: m["models"]["fp32"]}), "expected a name"),
        (lambda m: m["golden"]["cases"].append("c" * 300), "golden.cases[9]: expected a name"),
        (
            lambda m: m["models"]["fp32"].update(file="f" * 300 + ".pt"),
            "models.fp32.file: expected a plain file",
        ),
        (lambda m: m.update(name="n" * 300), "name: expected a printable string of 1..64 characters"),
        (lambda m: m["labels"].append("l" * 300), "labels[6]: expected a printable string of 1..64"),
        (lambda m: m.update(torch="2.9.1\x1b[2J"), "torch: expected a printable string"),
        (
            lambda m: m["models"]["fp32"].update(file="../golden.npz"),
            "models.fp32.file: expected a plain file",
        ),
        (lambda m: m["models"]["fp32"].update(file="/etc/shadow"), "models.fp32.file: expected a plain file"),
        (lambda m: m["golden"].update(file="manifest.json"), "golden.file: expected a file other than the"),
    ],
)
def test_names_out_of_bounds(run_cli, bundle_copy: Path, change, message: str) -> None:
    rewrite_manifest(bundle_copy, change)
    verify_refuses(run_cli, bundle_copy, message)


def test_a_hundred_thousand_variants(run_cli, bundle_copy: Path) -> None:
    """10 MB of manifest: refused from its size before a byte of it is parsed."""

    def many(m: dict) -> None:
        m["models"] = {f"v{i}": m["models"]["fp32"] for i in range(100_000)}

    rewrite_manifest(bundle_copy, many)
    verify_refuses(run_cli, bundle_copy, "manifest.json: size: expected at most 1 MiB, got")


def test_more_variants_than_the_bound(run_cli, bundle_copy: Path) -> None:
    rewrite_manifest(
        bundle_copy,
        lambda m: m["models"].update({f"v{i}": m["models"]["fp32"] for i in range(9 - len(m["models"]))}),
    )
    verify_refuses(run_cli, bundle_copy, "models: expected 1..8 variants, got 9")


def test_a_hundred_thousand_cases(run_cli, bundle_copy: Path) -> None:
    rewrite_manifest(bundle_copy, lambda m: m["golden"].update(cases=[f"c{i}" for i in range(100_000)]))
    verify_refuses(
        run_cli, bundle_copy, "golden.cases: expected a list of 1..128 case names, got 100000 entries"
    )


def test_too_many_checks(run_cli, bundle_copy: Path) -> None:
    def many(m: dict) -> None:
        # the most variants allowed (8) and two STFT-stage models: 128 cases x 10 checks
        m["models"].update({f"v{i}": dict(m["models"]["fp32"]) for i in range(8 - len(m["models"]))})
        m["golden"]["cases"] = [f"c{i}" for i in range(128)]

    rewrite_manifest(bundle_copy, many)
    verify_refuses(
        run_cli, bundle_copy, "golden.cases: expected at most 1024 checks (cases x models), got 1280"
    )


def test_a_duplicate_key(run_cli, bundle_copy: Path) -> None:
    text = (bundle_copy / "manifest.json").read_text()
    _write(bundle_copy, text.replace('"name": "default"', '"name": "default", "name": "other"'))
    verify_refuses(run_cli, bundle_copy, "got the key 'name' twice in one object")


def test_a_lone_surrogate(run_cli, bundle_copy: Path) -> None:
    text = (bundle_copy / "manifest.json").read_text()
    _write(bundle_copy, text.replace('"name": "default"', '"name": "\\ud800"'))
    verify_refuses(run_cli, bundle_copy, "name: expected a printable string of 1..64 characters")


def test_a_manifest_over_its_size_limit_is_refused_before_reading(run_cli, bundle_copy: Path) -> None:
    path = bundle_copy / "manifest.json"
    with path.open("ab") as stream:
        stream.truncate(bounds.MANIFEST_MAX_BYTES + 1)
    verify_refuses(run_cli, bundle_copy, "manifest.json: size: expected at most 1 MiB, got 1048577 bytes")


def test_not_utf8(run_cli, bundle_copy: Path) -> None:
    (bundle_copy / "manifest.json").write_bytes(b'{"schema": "\xff"}')
    verify_refuses(run_cli, bundle_copy, "got bytes that are not UTF-8")


@pytest.mark.parametrize("document", ["[]", "null", '"armstft.bundle/1"', "1"])
def test_not_an_object(run_cli, bundle_copy: Path, document: str) -> None:
    _write(bundle_copy, document)
    verify_refuses(run_cli, bundle_copy, "manifest.json: document: expected a JSON object")


def test_what_export_writes_is_accepted(tmp_path: Path) -> None:
    """write_manifest re-reads what it wrote with the strict schema (so export can never write a bundle
    that verify refuses)."""
    from armstft.bundle.manifest import parse_manifest
    from tests.unit.conftest import DEFAULT_BUNDLE

    path = DEFAULT_BUNDLE / "manifest.json"
    manifest = parse_manifest(json.loads(path.read_text()), path)
    assert list(manifest.variants) == ["fp32", "fp32_armstft", "int8", "int8_static", "log_mel_armstft"]
    assert manifest.variants["int8_static"].quantized_engine == "qnnpack"
    assert manifest.variants["log_mel_armstft"].format == "exported_program"
    assert manifest.variants["int8"].tolerance.argmax_matches == "fp32"
