"""A fast path for ``tpulint check`` that skips typer's per-run parameter machinery.

Why: a ``tpulint check`` run in a pre-commit hook must take a blink. Typer (0.29 on the reference
machine) converts every parameter through a pydantic ``TypeAdapter``, which costs ~150 ms per
process (importing pydantic and building one adapter per parameter) on top of importing typer
itself -- half of the whole budget, spent before a byte of the model is read.

What: :func:`run` parses the command line of the ``check`` command itself, from the same
declarations typer uses (the ``Annotated[..., typer.Option(...)]`` signature of
:func:`tpulint.cli.check`), and calls the command function directly. It handles only what it can
handle exactly like typer -- long and short options with a value (``--format json``,
``--format=json``, ``-f json``), flags (``--exit-zero``, ``--x/--no-x``), repeated list options,
positional paths; values of type str, int, float, Path, an Enum, or a list of those; ``min``/``max``
bounds. For anything else (``--help``, an unknown or malformed option, a value that does not
convert, an option feature it does not model such as ``envvar`` or a parameter callback) it returns
None and typer handles the command line as usual, errors and help included. So the fast path can
make a run faster, never different; ``tests/test_fastcli.py`` compares both on many command lines.
Set ``TPULINT_NO_FAST_CLI=1`` to turn it off.
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
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

_INT = re.compile(r"[+-]?\d+\Z")
# ParameterInfo attributes the fast path models; any other attribute that differs from its default
# (envvar, callback, prompt, parser, is_eager, path checks, ...) sends the command line to typer.
_MODELLED = frozenset(
    {
        "default",
        "param_decls",
        "help",
        "metavar",
        "show_default",
        "show_choices",
        "show_envvar",
        "rich_help_panel",
        "hidden",
        "min",
        "max",
    }
)
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


def _defaults(cls: type) -> dict[str, Any]:
    return dict(vars(cls()))


def _spec(func: Callable[..., Any]) -> list[_Param]:
    """The parameters of a typer command function, or _Decline when one is not modelled."""
    from typer.models import ArgumentInfo, DefaultPlaceholder, OptionInfo

    plain = {OptionInfo: _defaults(OptionInfo), ArgumentInfo: _defaults(ArgumentInfo)}
    # Only the `name: Annotated[T, typer.Option(...)] = default` style, read as typer reads it
    # (typer.utils.get_params_from_function, which costs ~7 ms more as it evaluates everything twice).
    hints = get_type_hints(func, include_extras=True)
    params: list[_Param] = []
    for name, sig in inspect.signature(func).parameters.items():
        hint = hints.get(name)
        if get_origin(hint) is not Annotated:
            raise _Decline  # a plain `x: int = 3`, or the old `= typer.Option(3)` style
        annotation, *extras = get_args(hint)
        infos = [e for e in extras if isinstance(e, (OptionInfo, ArgumentInfo))]
        if len(infos) != 1:
            raise _Decline
        info = infos[0]
        option = isinstance(info, OptionInfo)
        decls: tuple[str, ...] = tuple(info.param_decls or ())
        if option and info.default is not ...:
            decls = (str(info.default), *decls)  # Option("--x", "-x") in Annotated: the first name lands in `default`
        elif info.default is not ...:
            raise _Decline  # Argument("value") in Annotated is an error typer reports
        reference = plain[OptionInfo if option else ArgumentInfo]
        for attr, value in vars(info).items():
            if attr in _MODELLED or isinstance(value, DefaultPlaceholder):
                continue
            if reference.get(attr, value) != value:
                raise _Decline
        p = _Param(name, option)
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
        p.min, p.max = info.min, info.max
        if option:
            if not decls:
                flag = name.replace("_", "-")
                decls = (f"--{flag}/--no-{flag}",) if annotation is bool else (f"--{flag}",)
            on: list[str] = []
            off: list[str] = []
            for decl in decls:
                if "/" in decl:
                    if annotation is not bool:
                        raise _Decline
                    first, _, second = decl.partition("/")
                    on.append(first.strip())
                    off.append(second.strip())
                else:
                    on.append(decl)
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


def _command(app: Any, name: str) -> Callable[..., Any] | None:
    """The function of the registered command ``name``, if it is a plain one."""
    from typer.core import TyperCommand
    from typer.models import CommandInfo, DefaultPlaceholder

    plain = _defaults(CommandInfo)
    for info in getattr(app, "registered_commands", ()):
        func = info.callback
        cmd_name = info.name or (func.__name__.lower().replace("_", "-") if func else None)
        if cmd_name != name or func is None:
            continue
        for attr, value in vars(info).items():
            if attr in ("name", "callback", "help", "short_help", "epilog", "rich_help_panel"):
                continue
            if attr == "cls" and value in (None, TyperCommand):
                continue
            if not isinstance(value, DefaultPlaceholder) and plain.get(attr, value) != value:
                return None
        return func
    return None


def _group_defaults(app: Any) -> Callable[[], None] | None:
    """Call the app's callback as typer does when only a subcommand is given (every option at its
    default); None when that cannot be reproduced exactly."""
    info = getattr(app, "registered_callback", None)
    if info is None:
        return lambda: None
    func = info.callback
    if func is None or getattr(info, "invoke_without_command", False) is True:
        return None
    from typer.utils import get_params_from_function

    values: dict[str, Any] = {}
    calls: list[tuple[Callable[..., Any], Any]] = []
    for name, meta in get_params_from_function(func).items():
        pinfo = meta.default
        default = getattr(pinfo, "default", meta.default)
        if default is ... or default is inspect.Parameter.empty:
            return None
        cb = getattr(pinfo, "callback", None)
        if cb is not None:
            # typer calls a parameter's callback with the default value too; model only `f(value)`.
            sig = inspect.signature(cb)
            if len(sig.parameters) != 1:
                return None
            calls.append((cb, default))
        values[name] = default

    def invoke() -> None:
        for cb, default in calls:
            cb(default)
        func(**values)

    return invoke


def run(app: Any, argv: Sequence[str], command: str = "check") -> int | None:
    """Run ``tpulint <command> ...`` without typer's parameter processing.

    Returns the exit code, or None when typer must handle the command line (nothing has run yet).
    """
    if os.environ.get("TPULINT_NO_FAST_CLI") or not argv or argv[0] != command:
        return None
    try:
        func = _command(app, command)
        group = _group_defaults(app)
        if func is None or group is None:
            return None
        kwargs = parse(_spec(func), argv[1:])
    except _Decline:
        return None
    import typer

    # Usage errors a command raises itself (typer.BadParameter & co.) derive from click's ClickException.
    click_exception: type[Exception] = next(
        c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
    )
    try:
        group()
        func(**kwargs)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except (EOFError, typer.Abort):
        print("Aborted!", file=sys.stderr)
        return 1
    except click_exception as exc:
        exc.show()  # type: ignore[attr-defined]
        return int(exc.exit_code)  # type: ignore[attr-defined]
    except BrokenPipeError:  # e.g. `tpulint check ... | head`: quiet, like typer
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 0
