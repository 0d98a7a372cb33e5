"""The ``tpulint`` command line (typer).

Exit codes (also in ``tpulint --help`` and the README):

* 0 — every model maps fully, or only findings below the failure threshold (``--fail-on``);
* 1 — at least one model has an op predicted on the CPU / a finding at or above the threshold;
* 2 — usage or configuration error, or a model that cannot be read;
* 3 — ``--confirm``: the real compiler disagreed with the prediction (rules have drifted);
* 4 — a required external tool is missing (``compile``/``bench``: no compiler, no Edge TPU;
  ``convert``: no TensorFlow).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from tpulint import __version__
from tpulint.commands.choices import FailOn, Format, ShowOps

if TYPE_CHECKING:
    from rich.console import Console

    from tpulint.emit.text import Out

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

    plain = _plain(no_color)
    # color_system=None: no escape sequences at all (no colour, bold or dim), even under FORCE_COLOR.
    return Console(
        file=file,
        no_color=plain,
        color_system=None if plain else "auto",
        highlight=False,
        soft_wrap=False,
        width=None if file is None else 160,
    )


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
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Lowest severity that fails (exit 1). Default: error.")
    ] = None,
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
    num_segments: Annotated[
        int, typer.Option("--num-segments", "-n", min=1, help="Predict the -n N pipeline split (segments, bytes).")
    ] = 1,
    co_compile: Annotated[
        bool, typer.Option("--co-compile", help="Predict how the models, compiled together, share the cache.")
    ] = False,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Also run the real edgetpu_compiler and compare (exit 3 if it differs).")
    ] = False,
    compiler: Annotated[
        str | None, typer.Option("--compiler", help="--confirm: compiler (else $TPULINT_EDGETPU_COMPILER, PATH).")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="--confirm: where compiler outputs go (default: a temp dir).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="--confirm: replace existing outputs in --out-dir.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="--confirm: compiler timeout, seconds.")] = 600.0,
    bench: Annotated[
        bool, typer.Option("--bench", help="--confirm: also measure the compiled model on an Edge TPU, if present.")
    ] = False,
    show_ops: Annotated[ShowOps, typer.Option("--show-ops", help="Op table in text output.")] = ShowOps.all,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also NO_COLOR / PRE_COMMIT=1).")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (default: nearest tpulint.toml / pyproject.toml).")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="Fail only on findings not in this baseline file.")
    ] = None,
    no_baseline: Annotated[bool, typer.Option("--no-baseline", help="Ignore the configured baseline.")] = False,
    show_baselined: Annotated[
        bool, typer.Option("--show-baselined", help="Also list findings recorded in the baseline.")
    ] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=0, help="Analyse models in N processes (0: one per CPU).")
    ] = 1,
) -> None:
    """Predict placement (Edge TPU / CPU) and the compiler status of every op, with reasons and fixes."""
    from tpulint.commands.common import make_target
    from tpulint.settings import check_settings

    try:
        settings = check_settings(
            paths,
            config_path=config,
            select=_codes(select),
            extend_select=_codes(extend_select),
            ignore=_codes(ignore),
            fail_on=fail_on.value if fail_on is not None else None,
            baseline=baseline,
            use_baseline=not no_baseline,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    confirmer = None
    if confirm or compiler or out_dir or force or bench:
        from tpulint.commands.confirm_cmd import CheckConfirmer

        confirmer = CheckConfirmer.from_options(
            confirm=confirm,
            compiler=compiler or (settings.config.compiler_path() if confirm else None),  # flag > config > env/PATH
            out_dir=out_dir,
            force=force,
            timeout_s=timeout,
            bench=bench,
        )  # exits 4 when there is no compiler; predicts for the version it reports
    try:
        target = make_target(
            settings,
            runtime=runtime,
            # flag > the compiler --confirm runs > config > default
            compiler_version=compiler_version or (confirmer.modeled_version if confirmer else None),
            multiple_subgraphs=multiple_subgraphs,
            intermediate_tensors=intermediate_tensors,
            search_delegate=search_delegate,
            delegate_search_step=delegate_search_step,
            num_segments=num_segments,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None

    from tpulint.analyze import analyze_many, iter_model_paths
    from tpulint.report import ModelReport, Report

    report = Report(tool_version=__version__)
    input_error = False
    any_path = False
    items = list(iter_model_paths(paths))
    # Reports come back in input order, identical whatever --jobs is.
    # A missing path is reported here; a broken or looping symlink is read and reported like any file.
    to_read = [p for p, explicit in items if not explicit or p.exists() or p.is_symlink()]
    analysed = analyze_many(to_read, target, jobs=jobs)
    for p, explicit in items:
        any_path = True
        if explicit and not p.exists() and not p.is_symlink():
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
        m = next(analysed)
        if confirmer is not None:
            confirmer.confirm(m, p, target)  # before process(): TPU950 obeys selection and baseline
        settings.process(m)
        input_error |= not m.ok
        report.models.append(m)
    if not any_path or not report.models:
        raise fail("no .tflite files found in " + ", ".join(str(p) for p in paths))
    if co_compile:
        from tpulint.cocompile import share_cache

        share_cache(report.models, target)

    _emit(
        report,
        fmt,
        output_file,
        no_color,
        show_ops,
        show_baselined=show_baselined,
        baseline_active=settings.baseline is not None,
    )
    if confirmer is not None:
        confirmer.emit_text(fmt is Format.text, output_file)
    for m in report.models:
        if not m.ok:
            typer.echo(f"tpulint: error: {(m.error or {}).get('message', m.path)}", err=True)
    if input_error:
        raise typer.Exit(EXIT_USAGE)
    confirm_exit = confirmer.exit_code() if confirmer is not None else None
    if confirm_exit is not None:  # 2 existing output, 3 mismatch (TPU950), 1 compiler failure
        raise typer.Exit(confirm_exit)
    if exit_zero:
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(EXIT_FINDINGS if settings.failing(report.models) else EXIT_OK)


def _emit(
    report: object,
    fmt: Format,
    output_file: Path | None,
    no_color: bool,
    show_ops: ShowOps,
    *,
    show_baselined: bool = False,
    baseline_active: bool = False,
) -> None:
    from tpulint.report import Report

    assert isinstance(report, Report)
    if fmt is Format.json:  # streamed: a 10,000-op report is never held as one string
        from tpulint.emit import json_out

        if output_file:
            with output_file.open("w", encoding="utf-8") as fh:
                json_out.write(report, fh)
        else:
            json_out.write(report, sys.stdout)
        return
    if fmt is not Format.text:
        from tpulint.emit import render_format
        from tpulint.settings import repo_root

        text = render_format(
            report, fmt.value, root=repo_root(), show_baselined=show_baselined, baseline_active=baseline_active
        )
        if output_file:
            output_file.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return
    from tpulint.emit.text import render

    if output_file:
        with output_file.open("w", encoding="utf-8") as fh:
            render(report, _text_out(True, fh), show_ops=show_ops.value, show_baselined=show_baselined)
    else:
        render(report, _text_out(no_color), show_ops=show_ops.value, show_baselined=show_baselined)


def _plain(no_color: bool) -> bool:
    return no_color or bool(os.environ.get("NO_COLOR")) or os.environ.get("PRE_COMMIT") == "1"


def _text_out(no_color: bool, file: TextIO | None = None) -> Out:
    """The text report's back end: rich on a colour terminal, plain lines otherwise (no rich import)."""
    from tpulint.emit.text import PlainOut, RichOut

    if file is not None:
        return PlainOut(file, 160)
    terminal = sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))
    if _plain(no_color) or not terminal:
        return PlainOut(sys.stdout, shutil.get_terminal_size((80, 24)).columns)
    return RichOut(_console(no_color))


@app.command("rules")
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


def _register_subcommands() -> None:
    from tpulint.commands.baseline_cmd import baseline_app
    from tpulint.commands.report_cmd import report_cmd

    app.add_typer(baseline_app, name="baseline")  # `baseline write`
    app.command("report")(report_cmd)

    from tpulint.commands.bench_cmd import bench_command
    from tpulint.commands.compile_cmd import compile_command

    app.command("compile")(compile_command)  # the real edgetpu_compiler + confirmation
    app.command("bench")(bench_command)  # latency on an Edge TPU, or --cpu

    from tpulint.commands.convert_cmd import convert_command
    from tpulint.commands.inspect_cmd import inspect_command

    app.command("inspect")(inspect_command)  # what a compiled *_edgetpu.tflite holds
    app.command("convert")(convert_command)  # SavedModel / Keras -> full-integer .tflite, then check


_register_subcommands()


def main() -> None:
    from tpulint._fastcli import run as run_fast

    try:
        # `tpulint check` with plain arguments skips typer's per-run parameter conversion (pydantic,
        # ~150 ms); anything else, help and errors included, goes to typer (tpulint/_fastcli.py).
        code = run_fast(app, sys.argv[1:])
        if code is not None:
            sys.exit(code)
        app()
    except KeyboardInterrupt:  # pragma: no cover
        typer.echo("tpulint: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
