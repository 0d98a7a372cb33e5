"""The ``tpulint`` console script, with a fast path for ``tpulint check`` that never imports typer.

Why: a ``tpulint check`` run in a pre-commit hook must take a blink. Importing typer (0.29 on the
reference machine, with its vendored click) costs ~60 ms of a ~200 ms cold run, and typer's
per-run parameter conversion through pydantic ``TypeAdapter`` objects costs ~150 ms more -- spent
before a byte of the model is read.

What: :func:`run` parses the command line of ``check`` itself, from the declarations typer also
reads (the ``Annotated[..., Opt(...)]`` signature of :func:`tpulint.commands.check_cmd.check`, see
:mod:`tpulint.commands.params`), and calls the command function directly. It handles only what it
can handle exactly like typer -- long and short options with a value (``--format json``,
``--format=json``, ``-f json``), flags (``--exit-zero``), repeated list options, positional paths;
values of type str, int, float, Path, an Enum, or a list of those; ``min``/``max`` bounds. For
anything else (``--help``, an unknown or malformed option, a value that does not convert or is out
of bounds) it returns None and :func:`main` hands the command line to typer, errors and help
included. So the fast path can make a run faster, never different; ``tests/test_fastcli.py``
compares both on many command lines. Set ``TPULINT_NO_FAST_CLI=1`` to turn it off.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import types
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin

_INT = re.compile(r"[+-]?\d+\Z")
_SCALARS = (str, int, float, Path)


class _Decline(Exception):
    """This command line is not one the fast path handles exactly like typer."""


class _Param:
    __slots__ = ("default", "flag_off", "is_list", "kind", "max", "min", "name", "names", "option", "required")

    def __init__(self, name: str, option: bool) -> None:
        self.name = name
        self.option = option
        self.names: tuple[str, ...] = ()  # option names that take a value, or that set a flag
        self.flag_off: tuple[str, ...] = ()  # --no-x names of a flag
        self.kind: Any = str
        self.is_list = False
        self.default: Any = None
        self.required = False
        self.min: float | None = None
        self.max: float | None = None

    @property
    def is_flag(self) -> bool:
        return self.option and self.kind is bool

    def convert(self, raw: str) -> Any:
        kind = self.kind
        value: Any
        if kind is str:
            value = raw
        elif kind is Path:
            if not raw or raw == "-":
                raise _Decline
            value = Path(raw)
        elif kind is int:
            if not _INT.match(raw):
                raise _Decline
            value = int(raw)
        elif kind is float:
            try:
                value = float(raw)
            except ValueError:
                raise _Decline from None
        elif isinstance(kind, type) and issubclass(kind, Enum):
            for member in kind:
                if member.value == raw:
                    return member
            raise _Decline
        else:  # pragma: no cover - filtered out when the spec is built
            raise _Decline
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise _Decline
        return value


def _spec(func: Callable[..., Any]) -> list[_Param]:
    """The parameters of a command declared with Opt/Arg, or _Decline when one is not modelled."""
    from tpulint.commands.params import Opt, declared

    params: list[_Param] = []
    for sig, annotation, decl in declared(func):
        option = isinstance(decl, Opt)
        p = _Param(sig.name, option)
        origin = get_origin(annotation)
        if origin is Union or origin is types.UnionType:
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                raise _Decline
            annotation = args[0]
            origin = get_origin(annotation)
        if origin is list:
            (annotation,) = get_args(annotation)
            p.is_list = True
        if annotation is bool:
            if not option or p.is_list:
                raise _Decline
        elif not (annotation in _SCALARS or (isinstance(annotation, type) and issubclass(annotation, Enum))):
            raise _Decline
        p.kind = annotation
        if sig.default is inspect.Parameter.empty:
            p.required = True
        else:
            p.default = sig.default
        if isinstance(decl, Opt):
            p.min, p.max = decl.min, decl.max
            decls = decl.decls
            if not decls:
                flag = sig.name.replace("_", "-")
                decls = (f"--{flag}/--no-{flag}",) if annotation is bool else (f"--{flag}",)
            on: list[str] = []
            off: list[str] = []
            for name in decls:
                if "/" in name:
                    if annotation is not bool:
                        raise _Decline
                    first, _, second = name.partition("/")
                    on.append(first.strip())
                    off.append(second.strip())
                else:
                    on.append(name)
            if any(not n.startswith("-") or n in ("-", "--") for n in on + off):
                raise _Decline
            p.names, p.flag_off = tuple(on), tuple(off)
        params.append(p)
    return params


def parse(params: Sequence[_Param], argv: Sequence[str]) -> dict[str, Any]:
    """Keyword arguments for the command function, as typer would pass them; _Decline otherwise."""
    by_name: dict[str, tuple[_Param, bool]] = {}
    for p in params:
        for n in p.names:
            by_name[n] = (p, True)
        for n in p.flag_off:
            by_name[n] = (p, False)
    arguments = [p for p in params if not p.option]
    if len(arguments) > 1 or (arguments and not arguments[0].is_list):
        raise _Decline
    given: dict[str, list[Any]] = {}
    positional: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token.startswith("-") and token != "-":
            name, eq, raw = token.partition("=")
            if not token.startswith("--"):
                name, eq, raw = token, "", ""  # -x: no attached values or bundled flags
            hit = by_name.get(name)
            if hit is None:
                raise _Decline  # --help, unknown options, -m13, -ad, "--": typer decides
            p, on = hit
            if p.is_flag:
                if eq:
                    raise _Decline
                given[p.name] = [on]
                continue
            if not eq:
                if i >= len(argv):
                    raise _Decline
                raw = argv[i]
                i += 1
            value = p.convert(raw)
            if p.is_list:
                given.setdefault(p.name, []).append(value)
            else:
                given[p.name] = [value]
        else:
            positional.append(token)
    kwargs: dict[str, Any] = {}
    for p in params:
        if not p.option:
            values = [p.convert(raw) for raw in positional]
            if not values and p.required:
                raise _Decline
            kwargs[p.name] = values if values else (None if p.default is None else list(p.default))
        elif p.name in given:
            values = given[p.name]
            kwargs[p.name] = list(values) if p.is_list else values[-1]
        elif p.required:
            raise _Decline
        elif p.is_list:
            kwargs[p.name] = None if p.default is None else list(p.default)
        else:
            kwargs[p.name] = p.default
    if positional and not arguments:
        raise _Decline
    return kwargs


def run(argv: Sequence[str]) -> int | None:
    """Run ``tpulint check ...`` without typer.

    Returns the exit code, or None when typer must handle the command line (nothing has run yet).
    """
    if os.environ.get("TPULINT_NO_FAST_CLI") or not argv or argv[0] != "check":
        return None
    from tpulint.commands.check_cmd import check
    from tpulint.commands.exits import CommandExit

    try:
        kwargs = parse(_spec(check), argv[1:])
    except _Decline:
        return None
    try:
        return check(**kwargs)
    except CommandExit as exc:
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `tpulint check ... | head`: quiet, like typer
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def main() -> None:
    """The ``tpulint`` console script: :func:`run` for a plain ``check``, else the typer application."""
    code = run(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from tpulint.cli import run_typer

    run_typer()
