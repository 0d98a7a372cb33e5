"""Where a command's text goes: rich on a colour terminal, plain lines otherwise (no rich import)."""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from tpulint.emit.text import Out


def plain(no_color: bool) -> bool:
    """No colour: ``--no-color``, ``NO_COLOR`` or a pre-commit run."""
    return no_color or bool(os.environ.get("NO_COLOR")) or os.environ.get("PRE_COMMIT") == "1"


def console(no_color: bool, file: TextIO | None = None) -> Console:
    from rich.console import Console

    no_colour = plain(no_color)
    # color_system=None: no escape sequences at all (no colour, bold or dim), even under FORCE_COLOR.
    return Console(
        file=file,
        no_color=no_colour,
        color_system=None if no_colour else "auto",
        highlight=False,
        soft_wrap=False,
        width=None if file is None else 160,
    )


def text_out(no_color: bool, file: TextIO | None = None) -> Out:
    """The text report's back end: rich on a colour terminal, plain lines otherwise (no rich import)."""
    from tpulint.emit.text import PlainOut, RichOut

    if file is not None:
        return PlainOut(file, 160)
    terminal = sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))
    if plain(no_color) or not terminal:
        return PlainOut(sys.stdout, shutil.get_terminal_size((80, 24)).columns)
    return RichOut(console(no_color))
