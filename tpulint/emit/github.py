"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

``::error file=models/x.tflite,line=1,title=TPU101 op-not-supported::op 17 CONV_2D 'name': …``.
Escaping follows the runner's rules (actions/toolkit ``command.ts``): in the message ``%``, ``\\r``
and ``\\n``; in property values additionally ``:`` and ``,``. Severity error → ``error``,
warning → ``warning``, info → ``notice``. Nothing else is printed.
"""

from __future__ import annotations

from pathlib import Path

from tpulint.emit._common import op_where, repo_path, visible
from tpulint.report import Report

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **props: str | int) -> str:
    inner = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items())
    return f"::{level} {inner}::{escape_data(message)}"


def render(report: Report, *, root: Path | None = None, show_baselined: bool = False) -> str:
    lines: list[str] = []
    for m in report.models:
        path = repo_path(m.path, root)
        if not m.ok:
            err = m.error or {}
            code = err.get("code", "TPU901")
            lines.append(
                command("error", err.get("message", "cannot read the model"), file=path, line=1,
                        title=f"{code} unreadable-model")
            )
            continue
        for f in visible(m, show_baselined):
            msg = f"{op_where(f)}: {f.message}\nobserved: {f.observed}"
            if f.fix:
                msg += f"\nfix: {f.fix}"
            if f.baselined:
                msg += "\n(baselined)"
            level = "notice" if f.baselined else LEVEL.get(f.severity, "warning")
            lines.append(command(level, msg, file=path, line=1, title=f"{f.code} {f.name}"))
    return "".join(line + "\n" for line in lines)
