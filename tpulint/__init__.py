"""tpulint: predict how the Coral Edge TPU compiler will partition a TensorFlow Lite model.

From Python::

    import tpulint

    report = tpulint.check("model.tflite", runtime=14)
    report.summary.outcome            # "full", "partial", "none" or "compile_error"
    [o.opcode for o in report.ops if o.placement == "cpu"]
    report.to_dict()                  # the JSON report's model entry (schema_version 1)

``import tpulint`` itself imports nothing else; :func:`check` loads the reader and the rules on
first use.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tpulint.report import ModelReport

__version__ = "0.1.0"
__all__ = ["__version__", "check"]


def check(
    path: str | os.PathLike[str],
    *,
    compiler: str | None = None,
    runtime: int | None = None,
    multiple_subgraphs: bool = False,
    intermediate_tensors: Iterable[str] = (),
    num_segments: int = 1,
    select: Iterable[str] | None = None,
) -> ModelReport:
    """Predict what the Edge TPU compiler does with one ``.tflite`` file, as ``tpulint check`` does.

    ``compiler`` is a compiler version ("16.0", "15.0", "14.1", "2.1", "2.0", "1.0"; default the
    newest), ``runtime`` the ``-m`` runtime version (default: the compiler's),
    ``multiple_subgraphs`` and ``intermediate_tensors`` model ``-a`` and ``-i``, ``num_segments``
    predicts the ``-n N`` pipeline split (``report.segments``); ``select`` keeps
    only the findings of these rule codes or prefixes (``["TPU1", "TPU301"]``), as
    ``tpulint check --select`` does: the predicted placement is the same whatever is selected
    (the compiler does not know what you select). An unreadable or malformed file
    gives a report with ``ok == False`` and its ``error`` (code and message), never an exception;
    an unknown compiler version, runtime or rule code raises ``ValueError``.
    """
    from pathlib import Path

    from tpulint.analyze import analyze_path
    from tpulint.context import Target
    from tpulint.registry import all_rules, expand_selector
    from tpulint.ruledata import default_compiler

    target = Target.checked(
        compiler or default_compiler(),
        runtime,
        multiple_subgraphs=multiple_subgraphs,
        intermediate_tensors=tuple(intermediate_tensors),
        num_segments=num_segments,
    )
    if num_segments < 1:
        raise ValueError(f"num_segments must be >= 1, got {num_segments}")
    selected: set[str] | None = None
    if select is not None:
        known = all_rules()
        selected = set()
        for selector in select:
            codes = expand_selector(selector, known)
            if not codes:
                raise ValueError(f"unknown rule code or prefix {selector!r}")
            selected |= codes
    report = analyze_path(Path(path), target)
    if selected is not None:
        report.findings = [f for f in report.findings if f.code in selected]
    return report
