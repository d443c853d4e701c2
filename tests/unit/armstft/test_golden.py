"""golden.npz from hashed bytes: zip bombs refused from their declared sizes (memory measured), a corrupt
archive re-hashed into the manifest is exit 2 naming the member, and every array is held to the manifest."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from armstft.core import bounds
from tests.unit.conftest import (
    DEFAULT_BUNDLE,
    MALFORMED_NPY_HEADERS,
    golden_arrays,
    npy_with_header,
    rehash,
    rewrite_golden,
    run_measured,
    verify_refuses,
)

BOMB_BYTES = 2560 * (1 << 20)  # 2.5 GiB of float32 zeros once inflated


def _npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": descr, "fortran_order": False, "shape": shape})
    return stream.getvalue()


def _golden_with_bomb(path: Path, name: str, size: int) -> None:
    """The default golden.npz plus (or with ``name`` replaced by) a valid .npy of ``size`` bytes of zeros,
    deflated (2.5 GiB become ~12 MB: a real zip bomb)."""
    zeros = bytes(1 << 20)
    src = zipfile.ZipFile(DEFAULT_BUNDLE / "golden.npz")
    with src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info))
        with dst.open(name, "w", force_zip64=True) as stream:
            stream.write(_npy_header((size // 4,)))
            for _ in range(size >> 20):
                stream.write(zeros)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    out = {}
    over = bounds.GOLDEN_MEMBER_MAX_BYTES + (1 << 20)  # just over the limit: enough to show the refusal
    for kind, name, size in (("unused", "bomb.npy", BOMB_BYTES), ("named", "tone.out.fp32.npy", over)):
        out[kind] = folder / f"{kind}.npz"
        _golden_with_bomb(out[kind], name, size)
    return out


def _use(bundle: Path, golden: Path) -> None:
    shutil.copy(golden, bundle / "golden.npz")
    rehash(bundle, "golden.npz")


def test_an_unused_zip_bomb_member_is_refused_by_name(bundle_copy: Path, bombs: dict[str, Path]) -> None:
    """Before: every member was inflated (2.5 GiB on a 2 GiB board). Now: refused by its name, unread."""
    _use(bundle_copy, bombs["unused"])
    code, err, peak_kb = run_measured(["verify", str(bundle_copy)], bundle_copy.parent)
    assert code == 2, err
    assert "golden.npz: bomb: expected only arrays the manifest names, got an unknown member" in err
    assert peak_kb < 600 * 1024, f"peak RSS {peak_kb} KiB"


def test_a_zip_bomb_in_a_named_member_is_refused_by_its_declared_size(
    bundle_copy: Path, bombs: dict[str, Path]
) -> None:
    _use(bundle_copy, bombs["named"])
    code, err, peak_kb = run_measured(["verify", str(bundle_copy)], bundle_copy.parent)
    assert code == 2, err
    assert f"golden.npz: tone.out.fp32: expected at most 64 MiB, got {(65 << 20) + 128} bytes" in err
    assert peak_kb < 600 * 1024, f"peak RSS {peak_kb} KiB"


def _corrupt(bundle: Path, how: str) -> None:
    golden = bundle / "golden.npz"
    data = bytearray(golden.read_bytes())
    with zipfile.ZipFile(golden) as archive:
        info = archive.getinfo("chirp.input.npy")
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "crc":  # a flipped sample inside a stored member
        data[info.header_offset + 30 + len(info.filename) + 200] ^= 0x40
    elif how == "local name":
        data[info.header_offset + 30] ^= 0x01
    elif how == "directory offset":  # the end record points past the end of the file
        at = data.rfind(b"PK\x05\x06")
        data[at + 16 : at + 20] = (len(data) + 1000).to_bytes(4, "little")
    elif how == "compression":  # the central directory's method (the one zipfile uses)
        at = data.find(b"PK\x01\x02")
        while data[at + 46 : at + 46 + len(info.filename)] != info.filename.encode():
            at = data.find(b"PK\x01\x02", at + 1)
        data[at + 10] = 99
    golden.write_bytes(bytes(data))
    rehash(bundle, "golden.npz")


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", "golden.npz: file: expected a NumPy .npz archive, got no zip end record"),
        (
            "crc",
            "golden.npz: chirp.input: expected a NumPy .npz archive, got unreadable (BadZipFile: Bad CRC-32",
        ),
        ("local name", "golden.npz: chirp.input: expected a NumPy .npz archive, got unreadable (BadZipFile"),
        ("directory offset", "golden.npz: tone.input: expected a NumPy .npz archive, got unreadable"),
        ("compression", "golden.npz: chirp.input: expected a stored or deflated member, got compression 99"),
    ],
)
def test_a_corrupt_golden_rehashed_into_the_manifest(
    run_cli, bundle_copy: Path, how: str, message: str
) -> None:
    """Before: BadZipFile / CRC / EOF errors escaped as exit 3 ("internal error")."""
    _corrupt(bundle_copy, how)
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["ok"] is False, err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_golden_with_sixty_thousand_members_is_refused_from_its_end_record(
    run_cli, bundle_copy: Path
) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(60_000):
            archive.writestr(f"m{i}.npy", b"")
    (bundle_copy / "golden.npz").write_bytes(out.getvalue())
    rehash(bundle_copy, "golden.npz")
    from armstft.bundle.golden import EXTRA_MEMBERS_NAMED
    from armstft.bundle.manifest import load_manifest

    bound = len(load_manifest(bundle_copy).golden_members()) + EXTRA_MEMBERS_NAMED
    code, _, err = run_cli("verify", str(bundle_copy))
    assert code == 2, err
    assert f"golden.npz: members: expected at most {bound}, got 60000 (from the zip end record)" in err


@pytest.mark.parametrize("kind", MALFORMED_NPY_HEADERS)
def test_a_golden_array_whose_header_is_not_a_header(run_cli, bundle_copy: Path, kind: str) -> None:
    """Before: a member whose header was not a dict (or had unbalanced brackets) was exit 3."""
    text, why = MALFORMED_NPY_HEADERS[kind]
    _replace_member(bundle_copy, "tone.input", npy_with_header(text) + bytes(64))
    verify_refuses(
        run_cli, bundle_copy, f"golden.npz: tone.input: expected a .npy array, got unreadable header ({why}"
    )


def _replace_member(bundle: Path, key: str, raw: bytes) -> None:
    """golden.npz with member ``key`` replaced by ``raw`` bytes, re-hashed into the manifest."""
    golden = bundle / "golden.npz"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, value in golden_arrays(bundle).items():
            stream = io.BytesIO()
            np.save(stream, value)
            archive.writestr(f"{name}.npy", raw if name == key else stream.getvalue())
    golden.write_bytes(out.getvalue())
    rehash(bundle, "golden.npz")


def test_an_array_header_that_lies_about_its_size(run_cli, bundle_copy: Path) -> None:
    """A 1-row header over a billion samples' worth of claimed data: refused before any allocation."""
    _replace_member(bundle_copy, "tone.input", _npy_header((1, 10**9)) + bytes(64))
    message = (
        "golden.npz: tone.input: expected 4000000000 bytes of data for shape (1, 1000000000), got 64 bytes"
    )
    verify_refuses(run_cli, bundle_copy, message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda a: a.update({"tone.input": a["tone.input"].astype(np.float64)}),
            "tone.input.dtype: expected float32",
        ),
        (
            lambda a: a.update({"tone.input": a["tone.input"][0]}),
            "tone.input.shape: expected (batch, samples)",
        ),
        (
            lambda a: a.update({"tone.input": a["tone.input"][:, :100]}),
            "tone.input.length: expected >= 257 samples",
        ),
        (
            lambda a: a.update({"tone.stft_ref": a["tone.stft_ref"].astype(np.complex64)}),
            "tone.stft_ref.dtype: expected complex128, got complex64",
        ),
        (
            lambda a: a.update({"tone.stft_ref": a["tone.stft_ref"][:, :, :-1]}),
            "tone.stft_ref.shape: expected (1, 257, 63) (from the input and config), got (1, 257, 62)",
        ),
        (
            lambda a: a.update({"tone.out.fp32": a["tone.out.fp32"][:, :5]}),
            "tone.out.fp32.shape: expected (1, 6)",
        ),
        (
            lambda a: a.update({"tone.out.int8": a["tone.out.int8"].astype(np.int32)}),
            "tone.out.int8.dtype: expected",
        ),
        (
            lambda a: a.pop("batch4.out.int8"),
            "golden.npz: batch4.out.int8: expected an array the manifest names",
        ),
        (
            lambda a: a.update({"extra": np.zeros(3)}),
            "golden.npz: extra: expected only arrays the manifest names",
        ),
        (
            lambda a: a.update({"tone.input": a["tone.input"] + np.float32(0.5)}),
            "tone.stft_ref: expected the float64 STFT of tone.input under the manifest's config",
        ),
    ],
)
def test_arrays_are_held_to_the_manifest(run_cli, bundle_copy: Path, change, message: str) -> None:
    rewrite_golden(bundle_copy, change)
    code, doc, err = run_cli("verify", str(bundle_copy))
    assert code == 2 and doc["cases"] == [], err
    assert message in err, err


def test_bench_holds_golden_to_the_same_checks(run_cli, bundle_copy: Path, tmp_path: Path) -> None:
    """Before: bench used golden arrays unvalidated (an input of the wrong dtype ended in exit 3)."""
    rewrite_golden(bundle_copy, lambda a: a.update({"tone.input": a["tone.input"].astype(np.float16)}))
    code, _doc, err = run_cli("bench", str(bundle_copy), "--out", str(tmp_path / "b.json"), "--quick")
    assert code == 2 and "golden.npz: tone.input.dtype: expected float32, got float16" in err
