"""Errors a user can act on: each names the file, the field, what was expected and what was found.

The CLI prints ``str(error)`` as a single line and exits with the error's ``exit_code`` (2: bad input;
1: the device computed something unusable); nothing below it should ever show the user a traceback from
deep inside torch or numpy. Names that come from input are quoted when they hold anything but printable
characters, so a newline in a file name cannot forge a second output line.
"""

from __future__ import annotations


def shown(text: object) -> str:
    """``text`` as is when every character is printable, else its escaped, quoted ``repr`` (one line)."""
    value = str(text)
    return value if value.isprintable() else repr(value)


class ArmstftError(Exception):
    """A problem with the user's input (bundle, manifest, audio, config), described in one line."""

    exit_code = 2

    def __init__(self, where: str, field: str, expected: str, got: object) -> None:
        self.where = shown(where)
        self.field = shown(field)
        self.expected = expected
        self.got = got
        super().__init__(f"{self.where}: {self.field}: expected {expected}, got {shown(got)}")


class BundleError(ArmstftError):
    """The bundle on disk is missing, corrupt, tampered with, malformed or over a stated limit."""


class InputError(ArmstftError):
    """Audio or a config value is not usable as model input."""


class OutputError(ArmstftError):
    """A result file cannot be written (read-only or full disk, another writer holds it)."""


class ComputeError(ArmstftError):
    """The model ran but produced something unusable (NaN, Inf): the device's verdict, exit 1."""

    exit_code = 1


def describe(value: object, limit: int = 60) -> str:
    """A short printable form of an offending value for error messages."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
