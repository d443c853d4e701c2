"""Every bound armstft puts on what it is handed: the one place their values live.

The emulated board has 2 GiB of memory and a bundle may come from anyone, so every size, count and time
that depends on input is bounded here and checked *before* the work it bounds (a file's size before it is
read, a zip member's declared size before it is decompressed, an array's header before its data).
Exceeding one is bad input: exit 2, naming the file, the field, the limit and what was found.
docs/bundle.md lists these values (tests/unit/armstft/test_limits.py keeps the list and this module equal).
"""

from __future__ import annotations

MiB = 1 << 20

# --- manifest.json -------------------------------------------------------------------------------------
MANIFEST_MAX_BYTES = 1 * MiB  # the manifest file
JSON_MAX_DEPTH = 8  # nesting of objects/arrays (a real manifest needs 4)
JSON_MAX_NUMBER_CHARS = 40  # a number literal (5,000-digit integers are refused before conversion)
TEXT_MAX_CHARS = 256  # any free-text string (versions, notes, provenance)
NAME_MAX_CHARS = 64  # variant, case, label and method names
FILE_NAME_MAX_CHARS = 128  # names in `files`
MAX_VARIANTS = 8  # entries in `models`
MAX_CASES = 128  # entries in `golden.cases`
MAX_LABELS = 1024  # entries in `labels`
MAX_PROVENANCE_KEYS = 32  # entries in `training`
MAX_ARGUMENTS = 16  # entries in `call.arguments` (schema /2)
MAX_OUTPUTS = 16  # entries in `models.<variant>.outputs` (schema /2)
MAX_CHECKS = 1024  # cases x (variants + STFT-stage models): the checks of one verify run

# --- bundle files (sizes from lstat, before anything is read; all are held in memory once) -------------
MODEL_FILE_MAX_BYTES = 256 * MiB  # one TorchScript file
GOLDEN_FILE_MAX_BYTES = 128 * MiB  # golden.npz on disk
BUNDLE_MAX_BYTES = 384 * MiB  # every file of the bundle together
# A schema /2 manifest declares every file's size (armstft.bundle.calling); what it declares is then the
# limit, under these ceilings (a board holds the bundle once and a worker loads each model from a copy):
MODEL_FILE_CEILING_BYTES = 768 * MiB  # one model file, declared
BUNDLE_CEILING_BYTES = 1024 * MiB  # every file of a bundle together, declared
GOLDEN_MEMBER_MAX_BYTES = 64 * MiB  # one array in golden.npz, as declared by the zip, uncompressed
GOLDEN_ARRAYS_MAX_BYTES = 128 * MiB  # all arrays in golden.npz, uncompressed

# --- the STFT config and the audio it accepts ----------------------------------------------------------
MAX_SAMPLE_RATE = 384_000  # Hz
MAX_N_FFT = 32_768
MAX_AUDIO_SECONDS = 600.0  # upper bound of config.max_seconds
MAX_BATCH = 64  # rows of one input array
INPUT_MAX_VALUES = 1 << 24  # batch x samples of one input (64 MiB of float32)
STFT_MAX_VALUES = 1 << 24  # batch x frequencies x frames of one STFT (128 MiB of complex64)
AUDIO_FILE_MAX_BYTES = 128 * MiB  # a .wav/.npy handed to `run`, before its header is even read
WAV_MAX_CHUNKS = 64  # RIFF chunks walked while looking for `fmt ` and `data`

# --- tolerances (a tolerance that accepts anything is a silent pass) -----------------------------------
TOL_MAX_ATOL = 1e6
TOL_MAX_RTOL = 0.5  # rtol >= 1 would accept an all-zero output
TOL_MAX_PEAK_REL = 0.5  # peak_rel >= 1 would accept an all-zero spectrum
# golden `<case>.stft_ref` must be the float64 STFT of `<case>.input` under the manifest's config:
REFERENCE_RECHECK_PEAK_REL = 1e-9

# --- time (a TorchScript model can loop forever; a watchdog stops the worker process running it) -------
CASE_SECONDS = 60.0  # one model load or one model call (verify/run/bench: --case-seconds)
RUN_SECONDS = 1800.0  # all model work of one verify or run
WORKER_START_SECONDS = 300.0  # the model worker's start (`import torch` on a slow board)
WORKER_OUTPUT_MAX_BYTES = 256 * MiB  # one model output the worker sends back

# --- bench ---------------------------------------------------------------------------------------------
BENCH_MAX_SECONDS = 3600.0  # --seconds per case
BENCH_MAX_ITERATIONS = 1_000_000  # --iterations per case
BENCH_MAX_WARMUP = 1000  # --warmup calls per case


def mib(size: int) -> str:
    """A byte count as a user reads it in an error message."""
    return f"{size / MiB:.0f} MiB" if size >= MiB else f"{size} bytes"
