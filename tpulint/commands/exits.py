"""Exit codes and the one way a command stops early, without typer (``tpulint check`` runs without it).

Exit codes (also in ``tpulint --help`` and the README):

* 0 — every model maps fully, or only findings below the failure threshold (``--fail-on``);
* 1 — at least one model has an op predicted on the CPU / a finding at or above the threshold;
* 2 — usage or configuration error, or a model that cannot be read;
* 3 — ``--confirm``: the real compiler disagreed with the prediction (rules have drifted);
* 4 — a required external tool is missing (``compile``/``bench``: no compiler, no Edge TPU;
  ``convert``: no TensorFlow).

A command raises :class:`CommandExit` (usually ``raise fail("message")``); the typer wrapper
(:func:`tpulint.commands.params.typer_command`) and the fast ``check`` path turn it into the
process's exit code.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_MISMATCH, EXIT_TOOL_MISSING = 0, 1, 2, 3, 4


class CommandExit(Exception):
    """Stop the command with exit code ``code`` (whatever it had to say is printed already)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def error_line(message: str) -> None:
    """``tpulint: error: MESSAGE`` on standard error."""
    print(f"tpulint: error: {message}", file=sys.stderr, flush=True)


def fail(message: str, code: int = EXIT_USAGE) -> CommandExit:
    """Print ``message`` as an error line; return the exit to raise (``raise fail(...)``)."""
    error_line(message)
    return CommandExit(code)
