"""The one STFT / front-end configuration object.

Every place that needs n_fft, hop, window, ... reads it from a :class:`StftConfig`; the config is saved
in the bundle manifest and rebuilt from there on the board, so there is never a second copy of these
parameters to drift apart.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from armstft.core import bounds
from armstft.core.errors import InputError, describe

WINDOWS = ("hann", "hamming", "blackman", "bartlett", "rectangular")
PAD_MODES = ("reflect", "constant", "replicate", "circular")
BACKENDS = ("aten", "armstft")
# One check of StftConfig.validate: (field, test, expected — a text, or a function making it when it fails)
Check = tuple[str, Callable[[], bool], str | Callable[[], str]]


@dataclass(frozen=True)
class StftConfig:
    """STFT front end of the model, plus the mel stage and input limits that depend on it."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    win_length: int = 512
    window: str = "hann"
    center: bool = True
    pad_mode: str = "reflect"
    normalized: bool = False
    n_mels: int = 40
    f_min: float = 0.0
    f_max: float | None = None
    # Longest input accepted, in seconds: bounds memory and latency on small boards.
    max_seconds: float = 10.0
    # Which STFT implementation the scripted front end calls (see armstft.faststft).
    stft_backend: str = "aten"

    def __post_init__(self) -> None:
        self.validate("config")

    @property
    def n_freqs(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def max_samples(self) -> int:
        return round(self.max_seconds * self.sample_rate)

    @property
    def min_samples(self) -> int:
        """Shortest input the STFT accepts: reflect padding needs more than n_fft // 2 samples."""
        if self.center:
            return self.n_fft // 2 + 1 if self.pad_mode == "reflect" else 1
        return self.n_fft

    def frames(self, samples: int) -> int:
        """STFT frames of a ``samples``-long input (torch.stft's count)."""
        if self.center:
            return 1 + samples // self.hop_length
        return 1 + (samples - self.n_fft) // self.hop_length

    def validate(self, where: str) -> None:
        """Raise :class:`InputError` naming the first field that is out of range.

        Every bound is finite and stated (armstft.core.bounds): a config is what sizes the buffers on the
        board.
        """
        # Checked in order, each only once the fields it refers to are known to be good.
        for name, ok, expected in [*self._stft_checks(), *self._mel_and_length_checks()]:
            if not ok():
                text = expected if isinstance(expected, str) else expected()
                raise InputError(where, name, text, describe(getattr(self, name)))

    def _stft_checks(self) -> list[Check]:
        """(field, test, expected) for the STFT's own fields, in the order :meth:`validate` runs them."""
        rate = bounds.MAX_SAMPLE_RATE
        return [
            (
                "sample_rate",
                lambda: _is_int(self.sample_rate) and 0 < self.sample_rate <= rate,
                f"an integer in 1..{rate}",
            ),
            (
                "n_fft",
                lambda: _is_int(self.n_fft) and 4 <= self.n_fft <= bounds.MAX_N_FFT,
                f"an integer in 4..{bounds.MAX_N_FFT}",
            ),
            (
                "hop_length",
                lambda: _is_int(self.hop_length) and 0 < self.hop_length <= self.n_fft,
                f"an integer in 1..n_fft ({self.n_fft})",
            ),
            (
                "win_length",
                lambda: _is_int(self.win_length) and 0 < self.win_length <= self.n_fft,
                f"an integer in 1..n_fft ({self.n_fft})",
            ),
            ("window", lambda: self.window in WINDOWS, f"one of {', '.join(WINDOWS)}"),
            ("center", lambda: isinstance(self.center, bool), "true or false"),
            ("pad_mode", lambda: self.pad_mode in PAD_MODES, f"one of {', '.join(PAD_MODES)}"),
            ("normalized", lambda: isinstance(self.normalized, bool), "true or false"),
        ]

    def _mel_and_length_checks(self) -> list[Check]:
        """(field, test, expected) for the mel stage, the input length and the backend, after the STFT's."""
        return [
            (
                "n_mels",
                lambda: _is_int(self.n_mels) and 0 < self.n_mels <= self.n_fft // 2 + 1,
                "an int in 1..n_fft // 2 + 1",
            ),
            (
                "f_min",
                lambda: _is_num(self.f_min) and 0 <= self.f_min < self.sample_rate / 2,
                "a number in [0, sample_rate/2)",
            ),
            (
                "f_max",
                lambda: (
                    self.f_max is None
                    or (_is_num(self.f_max) and self.f_min < self.f_max <= self.sample_rate / 2)
                ),
                "null or a number in (f_min, sample_rate/2]",
            ),
            (
                "max_seconds",
                lambda: _is_num(self.max_seconds) and 0 < self.max_seconds <= bounds.MAX_AUDIO_SECONDS,
                f"a number in (0, {bounds.MAX_AUDIO_SECONDS:g}]",
            ),
            (
                "max_seconds",
                lambda: self.max_samples >= self.min_samples,
                lambda: f"long enough for the shortest input the STFT takes ({self.min_samples} samples)",
            ),
            (
                "max_seconds",
                lambda: self.n_freqs * self.frames(self.max_samples) <= bounds.STFT_MAX_VALUES,
                f"an STFT of the longest input within {bounds.STFT_MAX_VALUES} values (n_fft, hop_length)",
            ),
            ("stft_backend", lambda: self.stft_backend in BACKENDS, f"one of {', '.join(BACKENDS)}"),
        ]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The config as compact JSON with sorted keys (what a model states about itself)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: object, where: str = "config", partial: bool = False) -> StftConfig:
        """Build a config from a manifest/JSON mapping; unknown or missing fields are errors, not guesses
        (``partial``: missing fields take the defaults, for a user's ``--config``; a manifest is never
        partial)."""
        if not isinstance(data, dict):
            raise InputError(where, "config", "a JSON object", type(data).__name__)
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise InputError(
                where, f"config.{unknown[0]}", f"one of the fields {', '.join(names)}", "unknown"
            )
        missing = [n for n in names if n not in data]
        if missing and not partial:
            raise InputError(where, f"config.{missing[0]}", "present", "missing")
        try:
            return cls(**data)
        except InputError as err:
            raise InputError(where, f"config.{err.field}", err.expected, err.got) from None

    def replace(self, **changes: Any) -> StftConfig:
        return dataclasses.replace(self, **changes)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
