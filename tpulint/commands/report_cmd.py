"""``tpulint report MODEL -o report.html``: a self-contained visual report (see ``tpulint.html_report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_cmd(
    model: Annotated[Path, typer.Argument(help="The .tflite model.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML file to write (default: MODEL_STEM.tpulint.html).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
    runtime: Annotated[int | None, typer.Option("--runtime", "-m", help="Edge TPU runtime to target.")] = None,
    compiler_version: Annotated[str | None, typer.Option("--compiler-version", help="Compiler to model.")] = None,
    multiple_subgraphs: Annotated[
        bool, typer.Option("--multiple-subgraphs", "-a", help="Model the compiler's -a flag.")
    ] = False,
    intermediate_tensors: Annotated[
        str | None, typer.Option("--intermediate-tensors", "-i", help="Model -i: comma-separated tensor names.")
    ] = None,
) -> None:
    """Write one self-contained HTML page: the op graph coloured by placement, the cut, and the op table."""
    from tpulint import __version__
    from tpulint.analyze import analyze_path
    from tpulint.cli import EXIT_USAGE, fail
    from tpulint.commands.common import make_target
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
