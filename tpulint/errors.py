"""Exceptions that end the analysis of one model with a clear, one-line message.

Every error carries a stable ``TPU9xx`` code so reports, exit codes and tests can rely on it.
"""

from __future__ import annotations


class TpulintError(Exception):
    """Base class: an error with a stable code and a one-line message."""

    code: str = "TPU900"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class ModelReadError(TpulintError):
    """The file cannot be read at all (missing, a directory, no permission)."""

    code = "TPU901"


class ModelFormatError(TpulintError):
    """The file is not a valid TFLite flatbuffer (corrupt, truncated, another format)."""

    code = "TPU902"


class ConfigError(TpulintError):
    """Invalid configuration or command-line usage (exit code 2)."""

    code = "TPU990"
