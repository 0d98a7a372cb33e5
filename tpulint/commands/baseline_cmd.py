"""``tpulint baseline write MODELS... [-o tpulint-baseline.json]``: record today's findings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tpulint.baseline import DEFAULT_BASELINE
from tpulint.commands.check_cmd import CompilerVersion, ConfigFile, MultipleSubgraphs, Runtime
from tpulint.commands.params import Arg, Opt, typer_command

baseline_app = typer.Typer(
    name="baseline",
    help="Adopt tpulint on an existing model zoo: record current findings so `check` fails only on new ones.",
    no_args_is_help=True,
)


@baseline_app.command("write")
@typer_command
def write_cmd(
    paths: Annotated[list[Path], Arg(help="Models or directories (searched recursively for *.tflite).")],
    output: Annotated[
        Path | None,
        Opt("--output", "-o", help=f"Baseline file (default: config `baseline` or {DEFAULT_BASELINE})."),
    ] = None,
    config: ConfigFile = None,
    runtime: Runtime = None,
    compiler_version: CompilerVersion = None,
    multiple_subgraphs: MultipleSubgraphs = False,
) -> None:
    """Write the findings of MODELS (after config selection and ignores) to a baseline file."""
    from tpulint import __version__
    from tpulint.analyze import analyze_path
    from tpulint.baseline import write_baseline
    from tpulint.commands.common import expand_inputs, make_target
    from tpulint.commands.exits import EXIT_USAGE, fail
    from tpulint.settings import check_settings

    try:
        settings = check_settings(paths, config_path=config, use_baseline=False)
        target = make_target(
            settings, runtime=runtime, compiler_version=compiler_version, multiple_subgraphs=multiple_subgraphs
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    models = []
    bad = False
    for p in expand_inputs(paths):
        if not p.exists() and not p.is_symlink():  # other unreadable paths: analyze_path says why
            typer.echo(f"tpulint: error: {p}: no such file", err=True)
            bad = True
            continue
        m = analyze_path(p, target)
        if not m.ok:
            typer.echo(f"tpulint: error: {(m.error or {}).get('message', m.path)}", err=True)
            bad = True
            continue
        settings.process(m)
        models.append(m)
    if not models and not bad:
        raise fail("no .tflite files found in " + ", ".join(str(p) for p in paths))
    dest = output or settings.config.baseline or Path(DEFAULT_BASELINE)
    try:
        n = write_baseline(models, dest, __version__)
    except OSError as exc:
        raise fail(f"cannot write {dest}: {exc.strerror or exc}") from None
    typer.echo(
        f"tpulint: wrote {n} finding{'s' if n != 1 else ''} of {len(models)} model"
        f"{'s' if len(models) != 1 else ''} to {dest}",
        err=True,
    )
    if bad:
        raise typer.Exit(EXIT_USAGE)
