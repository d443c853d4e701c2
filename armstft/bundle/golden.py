"""golden.npz: read from its hashed bytes with every size known before anything is decompressed, then
held to the manifest (exactly the arrays it names, with the dtypes and shapes its config implies, finite).

Order of the checks, each before the work it guards:

1. the zip's end record: at most the expected number of entries and a central directory of matching size
   (``zipfile`` would otherwise build millions of entries from a small file), no zip64;
2. member names: exactly ``<case>.input``, ``<case>.stft_ref``, ``<case>.out.<variant>`` (an unused 2.5 GiB
   member is refused by name, never inflated); no encryption, stored or deflated only;
3. declared uncompressed sizes against armstft.core.bounds (``zipfile`` never inflates past the declared size,
   and checks the CRC);
4. each ``.npy`` header (dtype without Python objects, shape) against the member's real size, then
   ``np.load(io.BytesIO(...), allow_pickle=False)``.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Any

import numpy as np

from armstft.audio.clips import check_audio, first_bad
from armstft.audio.reference import peak_relative_error, stft64_config
from armstft.bundle import calling
from armstft.bundle.manifest import Manifest, golden_key
from armstft.core import bounds
from armstft.core.errors import BundleError, InputError
from armstft.core.npyheader import NpyHeaderError, read_header

# What a tensor input beside the audio may be (token ids, masks, conditioning).
EXTRA_INPUT_DTYPES = ("float32", "float64", "int64", "int32", "bool")
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
CENTRAL_ENTRY_MAX_BYTES = 512  # one central-directory entry: 46 bytes + name + extra fields
EXTRA_MEMBERS_NAMED = 16  # a few unexpected members are parsed so that the error can name one
_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    ValueError,
    OSError,
    NotImplementedError,
    RuntimeError,
)


def _unreadable(where: str, field: str, err: BaseException) -> BundleError:
    return BundleError(where, field, "a NumPy .npz archive", f"unreadable ({type(err).__name__}: {err})")


def _end_record(data: bytes, where: str, max_members: int) -> None:
    """Bound the central directory from the end record, the way ``zipfile`` finds it, before it is parsed."""
    tail_start = max(0, len(data) - (22 + 0xFFFF))
    at = data.rfind(_EOCD, tail_start)
    if at < 0 or len(data) - at < 22:
        raise BundleError(where, "file", "a NumPy .npz archive", "no zip end record")
    if at >= 20 and data[at - 20 : at - 16] == _ZIP64_LOCATOR:
        raise BundleError(where, "file", "a zip without zip64 records", "a zip64 archive")
    entries = int.from_bytes(data[at + 10 : at + 12], "little")
    directory = int.from_bytes(data[at + 12 : at + 16], "little")
    if entries > max_members:
        raise BundleError(where, "members", f"at most {max_members}", f"{entries} (from the zip end record)")
    if directory > max(entries, 1) * CENTRAL_ENTRY_MAX_BYTES:
        raise BundleError(
            where,
            "file",
            f"a central directory of at most {CENTRAL_ENTRY_MAX_BYTES} bytes per entry",
            directory,
        )


def _array(raw: bytes, where: str, key: str) -> np.ndarray:
    """One member's ``.npy`` bytes: header first (no objects, size consistent), then ``np.load``."""
    stream = io.BytesIO(raw)
    try:
        shape, dtype = read_header(stream)
    except NpyHeaderError as err:
        raise BundleError(where, key, "a .npy array", f"unreadable header ({err})") from None
    if dtype.hasobject:
        raise BundleError(where, key, "an array without Python objects (no pickles)", f"dtype {dtype}")
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize if all(d >= 0 for d in shape) else -1
    if size != len(raw) - stream.tell():
        raise BundleError(
            where, key, f"{size} bytes of data for shape {tuple(shape)}", f"{len(raw) - stream.tell()} bytes"
        )
    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except _READ_ERRORS as err:
        raise _unreadable(where, key, err) from None


def read_npz(
    data: bytes,
    where: str,
    expected: list[str] | None = None,
    max_members: int = bounds.MAX_CASES * (2 + bounds.MAX_VARIANTS),
) -> dict[str, np.ndarray]:
    """Arrays of an ``.npz`` held in memory; with ``expected``, exactly those arrays and no others."""
    if expected is not None:
        max_members = len(expected)
    _end_record(data, where, max_members + EXTRA_MEMBERS_NAMED)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _READ_ERRORS as err:
        raise _unreadable(where, "file", err) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members + EXTRA_MEMBERS_NAMED:
            raise BundleError(where, "members", f"at most {max_members}", len(infos))
        keys: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            key = name[:-4] if name.endswith(".npy") else name
            if not name.endswith(".npy") or key in keys:
                raise BundleError(where, "members", "distinct <name>.npy arrays", repr(name))
            if expected is not None and key not in expected:
                raise BundleError(where, key, "only arrays the manifest names", "an unknown member")
            if info.flag_bits & 0x1:
                raise BundleError(where, key, "an unencrypted member", "an encrypted one")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise BundleError(
                    where, key, "a stored or deflated member", f"compression {info.compress_type}"
                )
            if info.file_size > bounds.GOLDEN_MEMBER_MAX_BYTES:
                raise BundleError(
                    where,
                    key,
                    f"at most {bounds.mib(bounds.GOLDEN_MEMBER_MAX_BYTES)}",
                    f"{info.file_size} bytes",
                )
            total += info.file_size
            keys[key] = info
        if total > bounds.GOLDEN_ARRAYS_MAX_BYTES:
            raise BundleError(
                where, "members", f"at most {bounds.mib(bounds.GOLDEN_ARRAYS_MAX_BYTES)} uncompressed", total
            )
        for key in expected or []:
            if key not in keys:
                raise BundleError(where, key, "an array the manifest names", "missing")
        out: dict[str, np.ndarray] = {}
        for key, info in keys.items():
            try:
                raw = archive.read(info)
            except _READ_ERRORS as err:
                raise _unreadable(where, key, err) from None
            out[key] = _array(raw, where, key)
    return out


# --- what the arrays must be ---------------------------------------------------------------------------


def _finite(array: np.ndarray, where: str, key: str) -> None:
    bad = first_bad(array)
    if bad is not None:
        index, value = bad
        raise BundleError(where, f"{key}[{index}]", "finite values", f"{value} (NaN/Inf)")


def _dtype(array: np.ndarray, where: str, key: str, allowed: tuple[str, ...]) -> None:
    if array.dtype.str not in allowed and array.dtype.name not in allowed:
        raise BundleError(where, f"{key}.dtype", " or ".join(allowed), str(array.dtype))


def _check_output(
    manifest: Manifest, variant: Any, out: np.ndarray, where: str, batch: int, case: str, what: str
) -> float:
    """One golden output: float or complex (compared as real and imaginary parts), the input's batch, one
    value per label for logits, finite; returns its largest magnitude."""
    key = golden_key(case, what)
    complex_ok = manifest.raw.get("schema") == calling.SCHEMA_V2  # /1 outputs are real, as they were
    _dtype(out, where, key, ("float32", "float64", *(("complex64", "complex128") if complex_ok else ())))
    if variant.stage == "log_mel":
        # (n_mels and frames are the model's: verify holds the config to what the models state)
        if out.ndim != 3:
            raise BundleError(where, f"{key}.shape", f"({batch}, n_mels, frames)", out.shape)
    elif manifest.labels and not variant.outputs and out.shape != (batch, len(manifest.labels)):
        raise BundleError(
            where, f"{key}.shape", f"{(batch, len(manifest.labels))} (batch, labels)", out.shape
        )
    if out.ndim < 1 or out.shape[0] != batch:
        raise BundleError(where, f"{key}.shape", f"({batch}, ...) (the input's batch)", out.shape)
    _finite(out, where, key)
    return float(np.max(np.abs(out))) if out.size else 0.0


def check_golden(manifest: Manifest, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Hold every golden array to what the manifest and its config imply; returns the inputs, batched.

    Input: float32 audio within the config's length limits, finite. STFT reference: complex128 of shape
    (batch, n_fft // 2 + 1, frames). Outputs: finite float32/float64 with the input's batch (and one value
    per label when the manifest has labels; (batch, n_mels, frames) for a ``log_mel`` stage).
    Also: no tolerance so loose that an all-zero output would pass.
    """
    where = str(manifest.root / manifest.golden_file)
    config = manifest.input_config
    inputs: dict[str, np.ndarray] = {}
    largest = {name: 0.0 for name in manifest.variants}
    for case in manifest.cases:
        key = golden_key(case, "input")
        if arrays[key].ndim not in (2, 3) or (arrays[key].ndim == 3 and manifest.stft is not None):
            want = "(batch, samples)" + (
                "" if manifest.stft is not None else " or (batch, channels, samples)"
            )
            raise BundleError(where, f"{key}.shape", want, arrays[key].shape)
        try:
            audio = check_audio(arrays[key], config, where, field=key)
        except InputError as err:
            raise BundleError(err.where, err.field, err.expected, err.got) from None
        inputs[case] = audio
        batch, samples = audio.shape[0], audio.shape[-1]
        if manifest.stft is not None:
            key = golden_key(case, "stft_ref")
            ref = arrays[key]
            _dtype(ref, where, key, ("complex128",))
            shape = (batch, config.n_freqs, config.frames(samples))
            if ref.shape != shape:
                raise BundleError(where, f"{key}.shape", f"{shape} (from the input and config)", ref.shape)
            if batch * config.n_freqs * config.frames(samples) > bounds.STFT_MAX_VALUES:
                raise BundleError(where, key, f"at most {bounds.STFT_MAX_VALUES} STFT values", ref.size)
            _finite(ref, where, key)
        for name, variant in manifest.variants.items():
            for what in calling.output_keys(name, variant.outputs):
                size = _check_output(
                    manifest, variant, arrays[golden_key(case, what)], where, batch, case, what
                )
                largest[name] = max(largest[name], size)
    for name, variant in manifest.variants.items():
        tol = variant.tolerance
        if largest[name] <= tol.atol / (1.0 - tol.rtol):
            raise BundleError(
                str(manifest.path),
                f"models.{name}.tolerance",
                "a tolerance that would notice an all-zero output",
                f"atol {tol.atol:g}, rtol {tol.rtol:g} for golden outputs no larger than {largest[name]:g}",
            )
    return inputs


def check_reference(manifest: Manifest, arrays: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> None:
    """Each ``<case>.stft_ref`` is the float64 STFT of ``<case>.input`` under the manifest's config.

    What ties the manifest's config to the STFT stage: the models' ``stft`` outputs are compared with these
    references, so an edited n_fft, hop, window, padding or normalisation cannot pass.
    """
    if manifest.stft is None or manifest.config is None:
        return
    where = str(manifest.root / manifest.golden_file)
    for case, audio in inputs.items():
        key = golden_key(case, "stft_ref")
        want = stft64_config(audio.astype(np.float64), manifest.config)
        got = arrays[key]
        error = peak_relative_error(got, want)
        if not error <= bounds.REFERENCE_RECHECK_PEAK_REL:
            raise BundleError(
                where,
                key,
                f"the float64 STFT of {case}.input under the manifest's config",
                f"a peak-relative difference of {error:.2e} (is the config or the golden file edited?)",
            )


def extra_inputs(manifest: Manifest, arrays: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Per case, the tensor inputs beside the audio (``call.inputs``): numeric, finite, bounded."""
    where = str(manifest.root / manifest.golden_file)
    out: dict[str, dict[str, np.ndarray]] = {}
    for case in manifest.cases:
        out[case] = {}
        for name in manifest.call.inputs:
            key = golden_key(case, f"input.{name}")
            array = arrays[key]
            _dtype(array, where, key, EXTRA_INPUT_DTYPES)
            if array.ndim > 4 or array.size > bounds.INPUT_MAX_VALUES:
                want = f"at most 4 dimensions and {bounds.INPUT_MAX_VALUES} values"
                raise BundleError(where, f"{key}.shape", want, array.shape)
            _finite(array, where, key)
            out[case][name] = array
    return out
