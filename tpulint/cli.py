"""The ``tpulint`` command line (typer).

Exit codes (also in ``tpulint --help`` and the README):

* 0 — every model maps fully, or only findings below the failure threshold (``--fail-on``);
* 1 — at least one model has an op predicted on the CPU / a finding at or above the threshold;
* 2 — usage or configuration error, or a model that cannot be read;
* 3 — ``--confirm``: the real compiler disagreed with the prediction (rules have drifted);
* 4 — a required external tool is missing (``compile``/``bench``: no compiler, no Edge TPU).
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from tpulint import __version__

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_MISMATCH, EXIT_TOOL_MISSING = 0, 1, 2, 3, 4

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


class Format(str, Enum):
    text = "text"
    json = "json"
    compiler_log = "compiler-log"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


class ShowOps(str, Enum):
    all = "all"
    cpu = "cpu"
    none = "none"


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


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"tpulint: error: {message}", err=True)
    return typer.Exit(code)


def _codes(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _console(no_color: bool, file: TextIO | None = None) -> Console:
    from rich.console import Console

    plain = no_color or bool(os.environ.get("NO_COLOR")) or os.environ.get("PRE_COMMIT") == "1"
    return Console(file=file, no_color=plain, highlight=False, soft_wrap=False, width=None if file is None else 160)


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(help="Models or directories (searched recursively for *.tflite).")],
    runtime: Annotated[
        int | None, typer.Option("--runtime", "-m", help="Edge TPU runtime version to target (10-14).")
    ] = None,
    compiler_version: Annotated[
        str | None, typer.Option("--compiler-version", help="Compiler to model: 16.0, 15.0, 14.1, 2.1, 2.0, 1.0.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    output_file: Annotated[Path | None, typer.Option("--output-file", "-o", help="Write the report here.")] = None,
    select: Annotated[list[str] | None, typer.Option("--select", help="Only these codes/prefixes.")] = None,
    extend_select: Annotated[list[str] | None, typer.Option("--extend-select", help="Add codes/prefixes.")] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Ignore these codes/prefixes.")] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Lowest severity that fails (exit 1).")] = FailOn.error,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even with findings.")] = False,
    multiple_subgraphs: Annotated[
        bool, typer.Option("--multiple-subgraphs", "-a", help="Model the compiler's -a flag.")
    ] = False,
    intermediate_tensors: Annotated[
        str | None, typer.Option("--intermediate-tensors", "-i", help="Model -i: comma-separated tensor names.")
    ] = None,
    search_delegate: Annotated[
        bool, typer.Option("--search-delegate", "-d", help="Model the compiler's -d (delegate search) flag.")
    ] = False,
    delegate_search_step: Annotated[
        int, typer.Option("--delegate-search-step", "-k", min=1, help="Model -k (step of -d).")
    ] = 1,
    show_ops: Annotated[ShowOps, typer.Option("--show-ops", help="Op table in text output.")] = ShowOps.all,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also NO_COLOR / PRE_COMMIT=1).")] = False,
) -> None:
    """Predict placement (Edge TPU / CPU) and the compiler status of every op, with reasons and fixes."""
    from tpulint.context import COMPILER_VERSIONS, Target
    from tpulint.ruledata import compilers, default_compiler

    cv = compiler_version or default_compiler()
    if cv not in COMPILER_VERSIONS:
        raise fail(f"unknown --compiler-version {cv!r} (known: {', '.join(COMPILER_VERSIONS)})")
    spec = compilers()[cv]
    if runtime is not None and not spec.min_runtime <= runtime <= spec.default_runtime:
        raise fail(
            f"--runtime {runtime} is not supported by compiler {cv} "
            f"(it accepts {spec.min_runtime}-{spec.default_runtime})"
        )
    names = tuple(x.strip() for x in (intermediate_tensors or "").split(",") if x.strip())
    target = Target(
        compiler=cv,
        runtime=runtime,
        multiple_subgraphs=multiple_subgraphs,
        intermediate_tensors=names,
        search_delegate=search_delegate,
        delegate_search_step=delegate_search_step,
    )

    from tpulint.selection import Selection

    try:
        selection = Selection.build(select=_codes(select), extend_select=_codes(extend_select), ignore=_codes(ignore))
    except ValueError as exc:
        raise fail(str(exc)) from None

    from tpulint.analyze import analyze_path, iter_model_paths
    from tpulint.report import ModelReport, Report

    report = Report(tool_version=__version__)
    input_error = False
    any_path = False
    for p, explicit in iter_model_paths(paths):
        any_path = True
        if explicit and not p.exists():
            report.models.append(
                ModelReport(
                    path=str(p),
                    ok=False,
                    error={"code": "TPU901", "message": f"{p}: no such file"},
                    runtime=target.effective_runtime,
                    compiler=target.compiler,
                )
            )
            input_error = True
            continue
        m = analyze_path(p, target)
        selection.apply(m)
        input_error |= not m.ok
        report.models.append(m)
    if not any_path or not report.models:
        raise fail("no .tflite files found in " + ", ".join(str(p) for p in paths))

    _emit(report, fmt, output_file, no_color, show_ops)
    for m in report.models:
        if not m.ok:
            typer.echo(f"tpulint: error: {(m.error or {}).get('message', m.path)}", err=True)
    if input_error:
        raise typer.Exit(EXIT_USAGE)
    if exit_zero:
        raise typer.Exit(EXIT_OK)
    threshold = {"error": 3, "warning": 2, "info": 1}[fail_on.value]
    failing = any(
        {"error": 3, "warning": 2, "info": 1}.get(f.severity, 0) >= threshold
        for m in report.models
        for f in m.findings
        if not f.baselined
    )
    raise typer.Exit(EXIT_FINDINGS if failing else EXIT_OK)


def _emit(report: object, fmt: Format, output_file: Path | None, no_color: bool, show_ops: ShowOps) -> None:
    from tpulint.report import Report

    assert isinstance(report, Report)
    if fmt in (Format.json, Format.compiler_log):
        if fmt is Format.json:
            from tpulint.emit.json_out import render as render_json
        else:
            from tpulint.emit.compiler_log import render as render_json
        text = render_json(report)
        if output_file:
            output_file.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return
    from tpulint.emit.text import render

    if output_file:
        with output_file.open("w", encoding="utf-8") as fh:
            render(report, _console(True, fh), show_ops=show_ops.value)
    else:
        render(report, _console(no_color), show_ops=show_ops.value)


@app.command("rules")
def rules_cmd(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text or json.")] = Format.text,
) -> None:
    """List every rule: code, name, severity, the compiler status it predicts, summary."""
    from tpulint.registry import all_rules
    from tpulint.ruledata import status_text

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
    _console(False).print(table)


@app.command("rule")
def rule_cmd(code: Annotated[str, typer.Argument(help="A rule code, e.g. TPU301.")]) -> None:
    """Explain one rule: what it checks, why it matters on the Edge TPU, examples, fix, sources."""
    from tpulint.docs import rule_markdown
    from tpulint.registry import get_rule

    r = get_rule(code)
    if r is None:
        raise fail(f"unknown rule code {code!r} (see `tpulint rules`)")
    sys.stdout.write(rule_markdown(r))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        typer.echo("tpulint: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
