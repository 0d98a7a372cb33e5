"""``tpulint inspect MODEL_edgetpu.tflite...``: what compiled Edge TPU models hold.

For each ``edgetpu-custom-op``: its DWN1 packages (minimum Edge TPU runtime, compiler version,
chip), their executables (parameter caching / execution only / stand-alone, with the parameter
bytes cached on chip or streamed each inference), the layers at the TPU boundary with their
shapes, and the CPU ops left before / between / after the custom ops. Findings: TPU404 (the package
needs a newer runtime than ``--runtime``), TPU602 (parameters streamed), TPU910.

Exit codes as ``check``: 0 fine, 1 a finding at/above ``--fail-on`` (TPU404 is an error),
2 a file that cannot be read, is not a compiled model, or holds a malformed custom op (TPU907).
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

from tpulint.commands.check_cmd import ConfigFile, FailOnOpt, NoColor
from tpulint.commands.params import Arg, Opt


class InspectFormat(str, Enum):
    text = "text"
    json = "json"


def inspect_command(
    models: Annotated[list[Path], Arg(help="Compiled *_edgetpu.tflite models (or directories).")],
    fmt: Annotated[InspectFormat, Opt("--format", "-f", help="Output format.")] = InspectFormat.text,
    runtime: Annotated[
        int | None, Opt("--runtime", "-m", help="The device's Edge TPU runtime (TPU404 if a package needs more).")
    ] = None,
    fail_on: FailOnOpt = None,
    config: ConfigFile = None,
    no_color: NoColor = False,
) -> int:
    """Show what compiled Edge TPU models hold: packages, runtime, parameters, TPU boundary, CPU ops."""
    from tpulint import __version__
    from tpulint.analyze import analyze_path
    from tpulint.commands.common import expand_inputs, make_target
    from tpulint.commands.exits import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, error_line, fail
    from tpulint.commands.output import text_out
    from tpulint.report import ModelReport
    from tpulint.settings import check_settings

    try:
        settings = check_settings(
            models, config_path=config, fail_on=fail_on.value if fail_on else None, use_baseline=False
        )
        target = make_target(settings, runtime=runtime, compiler_version=None)
    except ValueError as exc:
        raise fail(str(exc)) from None
    reports: list[ModelReport] = []
    for path in models:
        if not path.exists() and not path.is_symlink():
            reports.append(_error_report(path, "TPU901", f"{path}: no such file", target.effective_runtime))
            continue
        searched = path.is_dir()
        for p in expand_inputs([path]) if searched else [path]:
            m = analyze_path(p, target)
            if m.ok and not m.compiled and searched:
                continue  # a directory search inspects the compiled models in it, not their sources
            if m.ok and not m.compiled:
                m = _error_report(
                    p,
                    "TPU902",
                    f"{p}: not a compiled Edge TPU model (no edgetpu-custom-op); `tpulint check` predicts "
                    "what the compiler will do with it",
                    target.effective_runtime,
                )
            settings.process(m)
            reports.append(m)
    if not reports:
        raise fail("no compiled Edge TPU models (*.tflite with an edgetpu-custom-op) in " + ", ".join(map(str, models)))

    if fmt is InspectFormat.json:
        doc = {
            "tool": {"name": "tpulint", "version": __version__},
            "models": [_model_json(m) for m in reports],
        }
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _render_text(reports, text_out(no_color))
    bad = [m for m in reports if not m.ok]
    for m in bad:
        error_line((m.error or {}).get("message", m.path))
    if bad:
        return EXIT_USAGE
    return EXIT_FINDINGS if settings.failing(reports) else EXIT_OK


def _error_report(path: Path, code: str, message: str, runtime: int) -> Any:
    from tpulint.report import ModelReport

    return ModelReport(path=str(path), ok=False, error={"code": code, "message": message}, runtime=runtime)


def _model_json(m: Any) -> dict[str, Any]:
    from tpulint.report import plain

    return {
        "path": m.path,
        "ok": m.ok,
        "error": m.error,
        "runtime": m.runtime,
        "compiled_info": m.compiled_info,
        "findings": [plain(f) for f in m.findings],
    }


def _render_text(reports: list[Any], out: Any) -> None:
    from tpulint.emit.compiled_text import compiled_lines
    from tpulint.emit.text import render_error, render_finding

    for m in reports:
        out.rule(m.path)
        if render_error(out, m):
            continue
        for text in compiled_lines(m.compiled_info or {}):
            out.line(text)
        for f in m.findings:
            if f.code != "TPU910":  # the whole command is about compiled models
                render_finding(out, f)
