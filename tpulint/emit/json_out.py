"""The JSON report (schema_version 1): the CI contract. See ``tpulint/schema/report.schema.json``."""

from __future__ import annotations

import json

from tpulint.report import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
