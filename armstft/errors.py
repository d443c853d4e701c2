"""Errors a user can act on: each names the file, the field, what was expected and what was found.

The CLI prints ``str(error)`` as a single line and exits with status 2; nothing below it should ever show
the user a traceback from deep inside torch or numpy.
"""

from __future__ import annotations


class ArmstftError(Exception):
    """A problem with the user's input (bundle, manifest, audio, config), described in one line."""

    exit_code = 2

    def __init__(self, where: str, field: str, expected: str, got: object) -> None:
        self.where = where
        self.field = field
        self.expected = expected
        self.got = got
        super().__init__(f"{where}: {field}: expected {expected}, got {got}")


class BundleError(ArmstftError):
    """The bundle on disk is missing, corrupt, tampered with or malformed."""


class InputError(ArmstftError):
    """Audio or a config value is not usable as model input."""


def describe(value: object, limit: int = 60) -> str:
    """A short printable form of an offending value for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
