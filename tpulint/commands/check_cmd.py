"""``tpulint check``: its options (declared without typer, see :mod:`tpulint.commands.params`) and body.

:func:`check` returns the exit code. ``tpulint.cli`` registers it with typer; the fast path
(:mod:`tpulint._fastcli`) calls it directly for plain command lines, so a pre-commit run never
imports typer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

from tpulint import __version__
from tpulint.commands.choices import FailOn, Format, ShowOps
from tpulint.commands.exits import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, error_line, fail
from tpulint.commands.params import Arg, Opt

# Options `check` shares with the commands that run it on their result (`convert`) or read models
# the same way (`inspect`, `report`): declared once.
Runtime = Annotated[int | None, Opt("--runtime", "-m", help="Edge TPU runtime version to target (10-14).")]
CompilerVersion = Annotated[
    str | None, Opt("--compiler-version", help="Compiler to model: 16.0, 15.0, 14.1, 2.1, 2.0, 1.0.")
]
OutputFormat = Annotated[Format, Opt("--format", "-f", help="Output format.")]
Select = Annotated[list[str] | None, Opt("--select", help="Only these codes/prefixes.")]
ExtendSelect = Annotated[list[str] | None, Opt("--extend-select", help="Add codes/prefixes.")]
Ignore = Annotated[list[str] | None, Opt("--ignore", help="Ignore these codes/prefixes.")]
FailOnOpt = Annotated[FailOn | None, Opt("--fail-on", help="Lowest severity that fails (exit 1). Default: error.")]
ExitZero = Annotated[bool, Opt("--exit-zero", help="Exit 0 even with findings.")]
MultipleSubgraphs = Annotated[bool, Opt("--multiple-subgraphs", "-a", help="Model the compiler's -a flag.")]
IntermediateTensors = Annotated[
    str | None, Opt("--intermediate-tensors", "-i", help="Model -i: comma-separated tensor names.")
]
ShowOpsOpt = Annotated[ShowOps, Opt("--show-ops", help="Op table in text output.")]
NoColor = Annotated[bool, Opt("--no-color", help="No colours (also NO_COLOR / PRE_COMMIT=1).")]
ConfigFile = Annotated[
    Path | None, Opt("--config", help="Config file (default: nearest tpulint.toml / pyproject.toml).")
]


STDIN = "-"  # the path that means "read the model from standard input"


def _is_stdin(p: Path, explicit: bool) -> bool:
    return explicit and str(p) == STDIN


def codes(values: list[str] | None) -> list[str]:
    """``--select A,B --select C`` -> ``["A", "B", "C"]``."""
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def check(
    paths: Annotated[
        list[Path], Arg(help="Models or directories (searched recursively for *.tflite); - reads a model from stdin.")
    ],
    runtime: Runtime = None,
    compiler_version: CompilerVersion = None,
    fmt: OutputFormat = Format.text,
    output_file: Annotated[Path | None, Opt("--output-file", "-o", help="Write the report here.")] = None,
    select: Select = None,
    extend_select: ExtendSelect = None,
    ignore: Ignore = None,
    fail_on: FailOnOpt = None,
    exit_zero: ExitZero = False,
    multiple_subgraphs: MultipleSubgraphs = False,
    intermediate_tensors: IntermediateTensors = None,
    search_delegate: Annotated[
        bool, Opt("--search-delegate", "-d", help="Model the compiler's -d (delegate search) flag.")
    ] = False,
    delegate_search_step: Annotated[int, Opt("--delegate-search-step", "-k", min=1, help="Model -k (step of -d).")] = 1,
    num_segments: Annotated[
        int, Opt("--num-segments", "-n", min=1, help="Predict the -n N pipeline split (segments, bytes).")
    ] = 1,
    co_compile: Annotated[
        bool, Opt("--co-compile", help="Predict how the models, compiled together, share the cache.")
    ] = False,
    confirm: Annotated[
        bool, Opt("--confirm", help="Also run the real edgetpu_compiler and compare (exit 3 if it differs).")
    ] = False,
    compiler: Annotated[
        str | None, Opt("--compiler", help="--confirm: compiler (else $TPULINT_EDGETPU_COMPILER, PATH).")
    ] = None,
    out_dir: Annotated[
        Path | None, Opt("--out-dir", help="--confirm: where compiler outputs go (default: a temp dir).")
    ] = None,
    force: Annotated[bool, Opt("--force", help="--confirm: replace existing outputs in --out-dir.")] = False,
    timeout: Annotated[float, Opt("--timeout", min=1.0, help="--confirm: compiler timeout, seconds.")] = 600.0,
    bench: Annotated[
        bool, Opt("--bench", help="--confirm: also measure the compiled model on an Edge TPU, if present.")
    ] = False,
    show_ops: ShowOpsOpt = ShowOps.all,
    no_color: NoColor = False,
    config: ConfigFile = None,
    baseline: Annotated[Path | None, Opt("--baseline", help="Fail only on findings not in this baseline file.")] = None,
    no_baseline: Annotated[bool, Opt("--no-baseline", help="Ignore the configured baseline.")] = False,
    show_baselined: Annotated[
        bool, Opt("--show-baselined", help="Also list findings recorded in the baseline.")
    ] = False,
    jobs: Annotated[int, Opt("--jobs", "-j", min=0, help="Analyse models in N processes (0: one per CPU).")] = 1,
) -> int:
    """Predict placement (Edge TPU / CPU) and the compiler status of every op, with reasons and fixes."""
    from tpulint.commands.common import make_target
    from tpulint.settings import check_settings

    try:
        settings = check_settings(
            paths,
            config_path=config,
            select=codes(select),
            extend_select=codes(extend_select),
            ignore=codes(ignore),
            fail_on=fail_on.value if fail_on is not None else None,
            baseline=baseline,
            use_baseline=not no_baseline,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    if confirm and any(str(p) == STDIN for p in paths):
        raise fail("--confirm compiles model files: give a path, not - (standard input)")
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

    from tpulint.analyze import analyze_bytes, analyze_many, iter_model_paths
    from tpulint.report import ModelReport, Report

    report = Report(tool_version=__version__)
    input_error = False
    any_path = False
    items = list(iter_model_paths(paths))
    # Reports come back in input order, identical whatever --jobs is.
    # A missing path is reported here; a broken or looping symlink is read and reported like any file.
    to_read = [
        p for p, explicit in items if not _is_stdin(p, explicit) and (not explicit or p.exists() or p.is_symlink())
    ]
    analysed = analyze_many(to_read, target, jobs=jobs)
    for p, explicit in items:
        any_path = True
        if _is_stdin(p, explicit):
            m = analyze_bytes(sys.stdin.buffer.read(), target, label=STDIN)
            settings.process(m)
            input_error |= not m.ok
            report.models.append(m)
            continue
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

    emit(
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
            error_line((m.error or {}).get("message", m.path))
    if input_error:
        return EXIT_USAGE
    confirm_exit = confirmer.exit_code() if confirmer is not None else None
    if confirm_exit is not None:  # 2 existing output, 3 mismatch (TPU950), 1 compiler failure
        return confirm_exit
    if exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if settings.failing(report.models) else EXIT_OK


def emit(
    report: object,
    fmt: Format,
    output_file: Path | None,
    no_color: bool,
    show_ops: ShowOps,
    *,
    show_baselined: bool = False,
    baseline_active: bool = False,
) -> None:
    """Write ``report`` in ``fmt`` to ``output_file`` or standard output."""
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
    from tpulint.commands.output import text_out
    from tpulint.emit.text import render

    if output_file:
        with output_file.open("w", encoding="utf-8") as fh:
            render(report, text_out(True, fh), show_ops=show_ops.value, show_baselined=show_baselined)
    else:
        render(report, text_out(no_color), show_ops=show_ops.value, show_baselined=show_baselined)
