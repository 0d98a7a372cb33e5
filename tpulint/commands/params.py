"""Command-line parameters declared without typer, and the typer command made from them.

``tpulint check`` is declared as a plain function whose parameters are annotated with
:class:`Opt` / :class:`Arg` (``runtime: Annotated[int | None, Opt("--runtime", "-m", help=...)]``)
and which returns its exit code. Two readers use these declarations:

* :func:`typer_command` turns them into ``typer.Option`` / ``typer.Argument`` annotations, so
  typer parses the command line, prints ``--help`` and reports usage errors as for any command;
* the fast path (:mod:`tpulint._fastcli`) parses plain command lines itself and calls the
  function directly, without importing typer (~60 ms of a ~200 ms cold ``tpulint check``).

:func:`typer_command` also wraps the commands declared with typer itself: a command raises
:class:`~tpulint.commands.exits.CommandExit` (``raise fail(...)``) and typer sees ``typer.Exit``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from tpulint.commands.exits import CommandExit


class Opt:
    """An option: its names (``"--runtime", "-m"``), help, and bounds for numbers."""

    __slots__ = ("decls", "help", "max", "min")

    def __init__(self, *decls: str, help: str, min: float | None = None, max: float | None = None) -> None:
        self.decls = decls
        self.help = help
        self.min = min
        self.max = max


class Arg:
    """The positional argument."""

    __slots__ = ("help",)

    def __init__(self, *, help: str) -> None:
        self.help = help


def declared(func: Callable[..., Any]) -> list[tuple[inspect.Parameter, Any, Opt | Arg]]:
    """(parameter, type, declaration) of each parameter of ``func``; ``TypeError`` for a
    parameter without exactly one :class:`Opt` / :class:`Arg` in an ``Annotated`` hint."""
    hints = get_type_hints(func, include_extras=True)
    out: list[tuple[inspect.Parameter, Any, Opt | Arg]] = []
    for name, param in inspect.signature(func).parameters.items():
        hint = hints.get(name)
        if get_origin(hint) is not Annotated:
            raise TypeError(f"{func.__name__}({name}): not declared with Annotated[..., Opt(...)] or Arg(...)")
        kind, *extras = get_args(hint)
        decls = [e for e in extras if isinstance(e, (Opt, Arg))]
        if len(decls) != 1:
            raise TypeError(f"{func.__name__}({name}): needs exactly one Opt or Arg")
        out.append((param, kind, decls[0]))
    return out


def typer_command(func: Callable[..., Any]) -> Callable[..., None]:
    """``func`` as a typer command: Opt/Arg annotations become typer's, a :class:`CommandExit`
    or an int returned becomes ``typer.Exit``. A function declared with typer's own annotations
    keeps them."""
    import typer

    @functools.wraps(func)
    def command(**kwargs: Any) -> None:
        try:
            code = func(**kwargs)
        except CommandExit as exc:
            raise typer.Exit(exc.code) from None
        if isinstance(code, int):
            raise typer.Exit(code)

    signature = inspect.signature(func)
    hints = get_type_hints(func, include_extras=True)
    if not any(isinstance(e, (Opt, Arg)) for h in hints.values() if get_origin(h) is Annotated for e in get_args(h)):
        return command  # typer reads the signature through __wrapped__
    params: list[inspect.Parameter] = []
    annotations: dict[str, Any] = {}
    for param, kind, decl in declared(func):
        if isinstance(decl, Opt):
            info: Any = typer.Option(*decl.decls, help=decl.help, min=decl.min, max=decl.max)
        else:
            info = typer.Argument(help=decl.help)
        annotations[param.name] = Annotated[kind, info]
        params.append(param.replace(annotation=annotations[param.name]))
    command.__signature__ = signature.replace(parameters=params, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {**annotations, "return": None}
    return command
