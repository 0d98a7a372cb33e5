"""``--format junit``: JUnit XML for CI test reports.

One ``<testsuite>`` per model, one ``<testcase>`` per op (named ``sg0/op17 CONV_2D 'name'``) plus a
``model`` test case when there are model-level findings. Error-level findings are ``<failure>``s
(one element per test case, every finding listed in its text); warnings, info and baselined
findings go to ``<system-out>``. An unreadable model is one test case with an ``<error>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tpulint.emit._common import findings_by_op
from tpulint.report import Finding, ModelReport, Report


def _describe(f: Finding) -> str:
    text = f"{f.code} [{f.name}] {f.severity}: {f.message}\n  observed: {f.observed}"
    if f.fix:
        text += f"\n  fix: {f.fix}"
    if f.baselined:
        text += "\n  (baselined)"
    return text


def _case(suite: ET.Element, classname: str, name: str, findings: list[Finding]) -> tuple[int, int]:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    failing = [f for f in findings if f.severity == "error" and not f.baselined]
    other = [f for f in findings if f not in failing]
    if failing:
        first = failing[0]
        failure = ET.SubElement(case, "failure", type=first.code, message=f"{first.code} {first.name}: {first.message}")
        failure.text = "\n".join(_describe(f) for f in failing)
    if other:
        ET.SubElement(case, "system-out").text = "\n".join(_describe(f) for f in other)
    return 1, int(bool(failing))


def model_suite(parent: ET.Element, m: ModelReport) -> tuple[int, int, int]:
    suite = ET.SubElement(parent, "testsuite", name=m.path)
    tests = failures = errors = 0
    if not m.ok:
        err = m.error or {}
        case = ET.SubElement(suite, "testcase", classname=m.path, name="read model", time="0")
        e = ET.SubElement(case, "error", type=err.get("code", "TPU901"), message=err.get("message", ""))
        e.text = err.get("message", "")
        tests, errors = 1, 1
    else:
        by_op, model_level = findings_by_op(m.findings)
        if model_level:
            t, fl = _case(suite, m.path, "model", model_level)
            tests, failures = tests + t, failures + fl
        for o in m.ops:
            name = f"sg{o.subgraph}/op{o.index} {o.opcode}" + (f" '{o.name}'" if o.name else "")
            t, fl = _case(suite, m.path, name, by_op.pop((o.subgraph, o.index), []))
            tests, failures = tests + t, failures + fl
        for (sg, idx), rest in sorted(by_op.items()):  # findings on ops not in the table (defensive)
            t, fl = _case(suite, m.path, f"sg{sg}/op{idx}", rest)
            tests, failures = tests + t, failures + fl
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", "0")
    return tests, failures, errors


def render(report: Report) -> str:
    root = ET.Element("testsuites", name="tpulint")
    totals = [0, 0, 0]
    for m in report.models:
        for i, n in enumerate(model_suite(root, m)):
            totals[i] += n
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", str(totals[2]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
