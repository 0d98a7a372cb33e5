"""The JSON report (schema_version 1): the CI contract. See ``tpulint/schema/report.schema.json``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import IO, Any

from tpulint.report import ModelReport, Report, plain

# Write the document in pieces of about this many characters.
_WRITE_CHUNK = 1 << 16


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


class _Streamed(list[Any]):
    """A list the JSON encoder converts element by element, as it writes them.

    ``json``'s encoder only needs ``len`` (empty or not) and iteration from a list; converting each
    op or finding to a dict just before it is written means the dict tree of a 10,000-op report
    never exists whole.
    """

    def __init__(self, items: list[Any], convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self._items = items
        self._convert = convert

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __iter__(self) -> Iterator[Any]:
        convert = self._convert
        return (convert(x) for x in self._items)


def _model_document(m: ModelReport) -> dict[str, Any]:
    return m.to_dict(lists=lambda items: _Streamed(items, plain))


def write(report: Report, out: IO[str]) -> None:
    """Write exactly :func:`render`'s text to ``out`` without building it (or its dict tree) in memory."""
    doc = report.to_dict(models=_Streamed(report.models, _model_document))
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False)
    pending: list[str] = []
    size = 0
    for chunk in encoder.iterencode(doc):
        pending.append(chunk)
        size += len(chunk)
        if size >= _WRITE_CHUNK:
            out.write("".join(pending))
            pending.clear()
            size = 0
    pending.append("\n")
    out.write("".join(pending))
