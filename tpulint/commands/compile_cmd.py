"""``tpulint compile MODEL... [-- EXTRA_FLAGS]``: run the real compiler and confirm the prediction.

Each model is compiled by the real ``edgetpu_compiler`` (``-s``, ``-m`` from ``--runtime``, the
extra flags after ``--``), its output parsed and its compiled model read; tpulint predicts the
same model for the same compiler version (from ``--version``), runtime and flags (``-a``, ``-i``,
``-d``, ``-k`` read from the extra flags), and the two are compared (:mod:`tpulint.confirm`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tpulint import __version__
from tpulint.report import ModelReport, Report

if TYPE_CHECKING:
    from tpulint.confirm import Confirmation


def combine_exit_codes(codes: Sequence[int]) -> int:
    """One exit code for several models: usage (2) > tool missing (4) > mismatch (3) > 1 > 0."""
    from tpulint.commands.exits import EXIT_FINDINGS, EXIT_MISMATCH, EXIT_OK, EXIT_TOOL_MISSING, EXIT_USAGE

    for code in (EXIT_USAGE, EXIT_TOOL_MISSING, EXIT_MISMATCH, EXIT_FINDINGS):
        if code in codes:
            return code
    return EXIT_OK


def split_models_and_flags(args: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Models come first; from the first argument starting with ``-`` on, all are compiler flags.

    (``click`` drops the ``--`` separator, so ``compile m.tflite -- -a -i t`` arrives here as
    ``["m.tflite", "-a", "-i", "t"]``.)
    """
    for i, arg in enumerate(args):
        if arg.startswith("-") and arg != "-":
            return [Path(a) for a in args[:i]], list(args[i:])
    return [Path(a) for a in args], []


def run_compile(
    args: Sequence[str],
    *,
    compiler: str | None,
    runtime: int | None,
    out_dir: Path | None,
    write: bool,
    force: bool,
    timeout_s: float,
    fmt: str,
) -> int:
    """The ``compile`` command; returns the exit code (raises typer.Exit for usage errors)."""
    from tpulint.analyze import iter_model_paths
    from tpulint.commands.exits import EXIT_TOOL_MISSING, EXIT_USAGE, fail
    from tpulint.compiler.driver import CompilerError, CompilerNotFoundError, CompilerUsageError, resolve_runtime
    from tpulint.confirm import FlagError, locate_compiler, parse_extra_flags

    models, extra = split_models_and_flags(args)
    if not models:
        raise fail("give at least one model before the compiler flags (tpulint compile MODEL... -- FLAGS)")
    if write and out_dir is not None:
        raise fail("--write and --out-dir exclude each other")
    try:
        flags = parse_extra_flags(extra)
    except FlagError as exc:
        raise fail(str(exc)) from None
    for flag in extra:
        if flag.split("=", 1)[0] in ("-o", "--out_dir", "-m", "--min_runtime_version"):
            raise fail(f"do not pass {flag.split('=', 1)[0]} after --; use --out-dir / --runtime")
    if compiler is None:  # the `compiler` key of [tool.tpulint] / tpulint.toml, if any
        from tpulint.config import ConfigError, discover

        try:
            compiler = discover([Path(m) for m in models]).compiler_path()
        except ConfigError as exc:
            raise fail(str(exc)) from None
    try:
        info = locate_compiler(compiler, timeout_s=timeout_s)
    except CompilerError as exc:
        raise fail(str(exc), EXIT_TOOL_MISSING) from None

    from tpulint.context import Target
    from tpulint.ruledata import compilers

    spec = compilers()[info.modeled]
    try:
        resolve_runtime(runtime, info.version)
    except CompilerUsageError as exc:
        raise fail(str(exc)) from None
    if runtime is not None and not spec.min_runtime <= runtime <= spec.default_runtime:
        raise fail(f"--runtime {runtime} is not supported by compiler {info.modeled}")
    target = Target(
        compiler=info.modeled,
        runtime=runtime,
        multiple_subgraphs=flags.multiple_subgraphs,
        intermediate_tensors=flags.intermediate_tensors,
        search_delegate=flags.search_delegate,
        delegate_search_step=flags.delegate_search_step,
    )
    if info.note:
        typer.echo(f"tpulint: note: {info.note}", err=True)
    if flags.not_modeled:
        typer.echo(
            f"tpulint: note: passed to the compiler but not modelled by the prediction: {' '.join(flags.not_modeled)}",
            err=True,
        )

    from tpulint.analyze import analyze_path
    from tpulint.confirm import ConfirmSettings, OutputPlan, confirm_model

    plan = OutputPlan(out_dir, write)
    report = Report(tool_version=__version__)
    done: list[tuple[ModelReport, Confirmation | None]] = []
    codes: list[int] = []
    for path, explicit in iter_model_paths(models):
        if explicit and not path.is_file():
            what = "no such file" if not path.exists() else "not a file"
            m = ModelReport(path=str(path), ok=False, error={"code": "TPU901", "message": f"{path}: {what}"})
            report.models.append(m)
            done.append((m, None))
            codes.append(EXIT_USAGE)
            continue
        m = analyze_path(path, target)
        report.models.append(m)
        if not m.ok:
            done.append((m, None))
            codes.append(EXIT_USAGE)
            continue
        settings = ConfirmSettings(
            info,
            runtime=runtime,
            extra_flags=tuple(extra),
            out_dir=plan.dir_for(path),
            write_beside=write,
            force=force,
            timeout_s=timeout_s,
        )
        try:
            c = confirm_model(m, target, settings, model_path=path, temporary=plan.temporary)
        except CompilerNotFoundError as exc:
            raise fail(str(exc), EXIT_TOOL_MISSING) from None
        except CompilerUsageError as exc:
            raise fail(str(exc)) from None
        done.append((m, c))
        codes.append(model_exit_code(c))
    if not done:
        raise fail("no .tflite files found in " + ", ".join(str(p) for p in models))
    if plan.temp_root is not None and plan.temp_root.is_dir() and not any(plan.temp_root.iterdir()):
        plan.temp_root.rmdir()  # nothing was written

    if fmt == "json":
        from tpulint.emit.json_out import render

        sys.stdout.write(render(report))
    else:
        _print_text(done)
    for m, conf in done:
        if not m.ok:
            typer.echo(f"tpulint: error: {(m.error or {}).get('message', m.path)}", err=True)
        elif conf is not None and conf.error is not None:
            typer.echo(f"tpulint: error: {m.path}: {conf.error.code} {conf.error}", err=True)
    return combine_exit_codes(codes)


def model_exit_code(c: Confirmation) -> int:
    """0 agreed; 3 disagreed; 1 the compiler refused the model or failed; 2 an output already exists."""
    from tpulint.commands.exits import EXIT_FINDINGS, EXIT_MISMATCH, EXIT_OK, EXIT_USAGE
    from tpulint.compiler.driver import OutputExistsError

    if c.status == "error":
        return EXIT_USAGE if isinstance(c.error, OutputExistsError) else EXIT_FINDINGS
    if c.mismatch:
        return EXIT_MISMATCH
    if c.refused:
        return EXIT_FINDINGS
    return EXIT_OK


def _print_text(done: Sequence[tuple[ModelReport, object]]) -> None:
    from tpulint.commands.render import compiler_lines, outputs_line, side_by_side, verdict_lines
    from tpulint.confirm import Confirmation

    for i, (m, c) in enumerate(done):
        if i:
            typer.echo("")
        typer.echo(f"== {m.path}")
        if not isinstance(c, Confirmation):
            typer.echo(f"error: {(m.error or {}).get('message', '')}")
            continue
        lines = compiler_lines(c)
        if c.actual is not None:
            lines += ["", *side_by_side(m, c)]
        lines += ["", *verdict_lines(c)]
        out = outputs_line(c, "choose with --out-dir, or --write to put them beside the model")
        if out:
            lines.append(out)
        for line in lines:
            typer.echo(line)


# --- the typer command (registered by tpulint.cli) -------------------------------------------------

#: Same as tpulint.compiler.driver.DEFAULT_TIMEOUT_S (not imported here: keeps `tpulint check` light).
DEFAULT_TIMEOUT_S = 600.0


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def compile_command(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="MODEL... [-- FLAGS]",
            help="Models to compile, then after `--` extra edgetpu_compiler flags (e.g. -- -a -d -k 10).",
        ),
    ],
    compiler: Annotated[
        str | None,
        typer.Option("--compiler", help="edgetpu_compiler to run (default: $TPULINT_EDGETPU_COMPILER, then PATH)."),
    ] = None,
    runtime: Annotated[
        int | None, typer.Option("--runtime", "-m", help="Edge TPU runtime to compile for (-m) and predict.")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Where *_edgetpu.tflite/.log go (default: a temporary directory, reported)."),
    ] = None,
    write: Annotated[bool, typer.Option("--write", help="Write the outputs beside each model.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs (never the input).")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds before the compiler is stopped.")
    ] = DEFAULT_TIMEOUT_S,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text, or json (the check report with a confirmation block).")
    ] = OutputFormat.text,
) -> None:
    """Run the real edgetpu_compiler, show its result and compare it with tpulint's prediction.

    Exit codes: 0 compiled and agrees with the prediction; 1 the compiler failed (refused the
    model, crashed, timed out, unreadable output); 2 usage error, unreadable model, or an output
    that exists without --force; 3 the compiler's result differs from the prediction (TPU950);
    4 no usable edgetpu_compiler.
    """
    raise typer.Exit(
        run_compile(
            args,
            compiler=compiler,
            runtime=runtime,
            out_dir=out_dir,
            write=write,
            force=force,
            timeout_s=timeout,
            fmt=fmt.value,
        )
    )
