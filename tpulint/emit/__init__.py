"""Emitters: pure functions from a finished :class:`~tpulint.report.Report` to text.

Human formats (``text``, ``concise``) end with a summary footer; machine formats (``json``,
``sarif``, ``github``, ``junit``, ``compiler-log``) print their document and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from tpulint.report import Report

HUMAN_FORMATS = ("text", "concise")
MACHINE_FORMATS = ("json", "sarif", "github", "junit", "compiler-log")


def render_format(
    report: Report,
    fmt: str,
    *,
    root: Path | None = None,
    show_baselined: bool = False,
    baseline_active: bool = False,
) -> str:
    """Render ``report`` in any format except the rich ``text`` one (which needs a console)."""
    if fmt == "json":
        from tpulint.emit import json_out

        return json_out.render(report)
    if fmt == "compiler-log":
        from tpulint.emit import compiler_log

        return compiler_log.render(report)
    if fmt == "concise":
        from tpulint.emit import concise

        return concise.render(report, show_baselined=show_baselined)
    if fmt == "sarif":
        from tpulint.emit import sarif

        return sarif.render(report, root=root, show_baselined=show_baselined, baseline_active=baseline_active)
    if fmt == "github":
        from tpulint.emit import github

        return github.render(report, root=root, show_baselined=show_baselined)
    if fmt == "junit":
        from tpulint.emit import junit

        return junit.render(report)
    raise ValueError(f"unknown output format {fmt!r}")
