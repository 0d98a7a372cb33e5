"""The ``tpulint`` command line (typer); ``check`` runs without typer when it can (``tpulint._fastcli``).

Exit codes (``tpulint.commands.exits``; also in ``tpulint --help`` and the README):

* 0 — every model maps fully, or only findings below the failure threshold (``--fail-on``);
* 1 — at least one model has an op predicted on the CPU / a finding at or above the threshold;
* 2 — usage or configuration error, or a model that cannot be read;
* 3 — ``--confirm``: the real compiler disagreed with the prediction (rules have drifted);
* 4 — a required external tool is missing (``compile``/``bench``: no compiler, no Edge TPU;
  ``convert``: no TensorFlow).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tpulint import __version__
from tpulint.commands.check_cmd import check
from tpulint.commands.choices import FailOn, Format, ShowOps
from tpulint.commands.exits import (
    EXIT_FINDINGS,
    EXIT_MISMATCH,
    EXIT_OK,
    EXIT_TOOL_MISSING,
    EXIT_USAGE,
    CommandExit,
    fail,
)
from tpulint.commands.output import console, text_out
from tpulint.commands.params import typer_command

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_MISMATCH",
    "EXIT_OK",
    "EXIT_TOOL_MISSING",
    "EXIT_USAGE",
    "CommandExit",
    "FailOn",
    "Format",
    "ShowOps",
    "app",
    "check",
    "fail",
    "main",
    "text_out",
]

EXIT_HELP = """Exit codes: 0 everything maps (or only findings below --fail-on); 1 an op is predicted on
the CPU or a finding is at/above --fail-on; 2 usage/config error or an unreadable model;
3 --confirm found the real compiler disagreeing; 4 a needed tool (compiler, Edge TPU) is missing."""

app = typer.Typer(
    name="tpulint",
    help="Predict how the Coral Edge TPU compiler will partition a TensorFlow Lite model.\n\n" + EXIT_HELP,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tpulint {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """tpulint: the Edge TPU compiler's partition, predicted statically."""


app.command("check")(typer_command(check))


@app.command("rules")
@typer_command
def rules_cmd(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text or json.")] = Format.text,
) -> None:
    """List every rule: code, name, severity, the compiler status it predicts, summary."""
    from tpulint.registry import all_rules
    from tpulint.ruledata import status_text

    if fmt not in (Format.text, Format.json):
        raise fail(f"`rules` supports --format text or json, not {fmt.value}")
    rules = all_rules()
    if fmt is Format.json:
        import json

        rows = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity.value,
                "family": r.family,
                "scope": r.scope.value,
                "status": status_text(r.status) if r.status else None,
                "summary": r.summary,
            }
            for r in rules.values()
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("code", "name", "severity", "summary"):
        table.add_column(col)
    for r in rules.values():
        table.add_row(r.code, r.name, r.severity.value, r.summary)
    console(False).print(table)


@app.command("rule")
@typer_command
def rule_cmd(code: Annotated[str, typer.Argument(help="A rule code, e.g. TPU301.")]) -> None:
    """Explain one rule: what it checks, why it matters on the Edge TPU, examples, fix, sources."""
    from tpulint.docs import rule_markdown
    from tpulint.registry import get_rule

    r = get_rule(code)
    if r is None:
        raise fail(f"unknown rule code {code!r} (see `tpulint rules`)")
    sys.stdout.write(rule_markdown(r))


def _register_subcommands() -> None:
    from tpulint.commands.baseline_cmd import baseline_app
    from tpulint.commands.report_cmd import report_cmd

    app.add_typer(baseline_app, name="baseline")  # `baseline write`
    app.command("report")(typer_command(report_cmd))

    from tpulint.commands.bench_cmd import bench_command
    from tpulint.commands.compile_cmd import compile_command

    app.command("compile")(typer_command(compile_command))  # the real edgetpu_compiler + confirmation
    app.command("bench")(typer_command(bench_command))  # latency on an Edge TPU, or --cpu

    from tpulint.commands.convert_cmd import convert_command
    from tpulint.commands.inspect_cmd import inspect_command

    app.command("inspect")(typer_command(inspect_command))  # what a compiled *_edgetpu.tflite holds
    app.command("convert")(typer_command(convert_command))  # SavedModel / Keras -> full-integer .tflite, then check


_register_subcommands()


def main() -> None:
    """The ``tpulint`` console script: the fast ``check`` path, else typer (:func:`tpulint._fastcli.main`)."""
    from tpulint._fastcli import main as fast_main

    fast_main()


def run_typer(argv: list[str] | None = None) -> None:
    """Run the typer application (``argv``: the arguments; default ``sys.argv[1:]``)."""
    try:
        app(args=argv)
    except KeyboardInterrupt:  # pragma: no cover
        typer.echo("tpulint: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
