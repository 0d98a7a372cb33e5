"""``tpulint report MODEL -o report.html``: a self-contained visual report (see ``tpulint.html_report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tpulint.commands.check_cmd import (
    CompilerVersion,
    ConfigFile,
    IntermediateTensors,
    MultipleSubgraphs,
    Runtime,
)
from tpulint.commands.params import Arg, Opt


def report_cmd(
    model: Annotated[Path, Arg(help="The .tflite model.")],
    output: Annotated[
        Path | None, Opt("--output", "-o", help="HTML file to write (default: MODEL_STEM.tpulint.html).")
    ] = None,
    config: ConfigFile = None,
    runtime: Runtime = None,
    compiler_version: CompilerVersion = None,
    multiple_subgraphs: MultipleSubgraphs = False,
    intermediate_tensors: IntermediateTensors = None,
) -> None:
    """Write one self-contained HTML page: the op graph coloured by placement, the cut, and the op table."""
    from tpulint import __version__
    from tpulint.analyze import analyze_path
    from tpulint.commands.common import make_target
    from tpulint.commands.exits import EXIT_USAGE, fail
    from tpulint.html_report import op_edges, render_html
    from tpulint.settings import check_settings

    if not model.exists() and not model.is_symlink():  # other unreadable paths: analyze_path says why
        raise fail(f"{model}: no such file")
    try:
        settings = check_settings([model], config_path=config)
        target = make_target(
            settings,
            runtime=runtime,
            compiler_version=compiler_version,
            multiple_subgraphs=multiple_subgraphs,
            intermediate_tensors=intermediate_tensors,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    m = analyze_path(model, target)
    settings.process(m)
    page = render_html(m, op_edges(model), tool_version=__version__)
    dest = output or Path(model.stem + ".tpulint.html")
    try:
        dest.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {dest}: {exc.strerror or exc}") from None
    typer.echo(f"tpulint: wrote {dest} ({len(m.ops)} ops)", err=True)
    if not m.ok:
        typer.echo(f"tpulint: error: {(m.error or {}).get('message', m.path)}", err=True)
        raise typer.Exit(EXIT_USAGE)
