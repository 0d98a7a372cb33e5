"""Output formats of `check`: concise, json, sarif, github, junit (and what else reaches stdout)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from conftest import FIXTURES, ROOT
from rich.text import Text
from typer.testing import CliRunner

from tpulint.cli import app
from tpulint.emit import github, junit, sarif
from tpulint.emit.concise import finding_line
from tpulint.registry import all_rules
from tpulint.report import Finding, ModelReport, Report

runner = CliRunner()
REPORT_SCHEMA = json.loads((ROOT / "tpulint" / "schema" / "report.schema.json").read_text())
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
MID = FIXTURES / "unsupported_mid.tflite"
GOOD = FIXTURES / "int8_cnn.tflite"


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git-like checkout (a .git directory) with two models and a broken one; cwd is its root."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "models").mkdir()
    shutil.copy(MID, tmp_path / "models" / "mid.tflite")
    shutil.copy(GOOD, tmp_path / "models" / "good.tflite")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ----------------------------------------------------------------------------------------- concise


def test_concise_one_line_per_finding_then_footer() -> None:
    code, out, _ = run("check", "-f", "concise", str(MID), str(GOOD))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        f"{MID}:sg0:op1 LEAKY_RELU 'functional_1/leaky_1/LeakyRelu': TPU101 Op is not supported by the Edge TPU"
    )
    assert lines[1].startswith(f"{MID}:sg0:op2 CONV_2D '") and ": TPU501 " in lines[1]
    assert lines[3] == ""
    assert lines[4].startswith(f"{MID}: partial · Edge TPU 1/4 ops")
    assert lines[5].startswith(f"{GOOD}: full")
    assert lines[-1] == "Found 3 findings (3 error) in 2 models."


def test_concise_model_level_finding() -> None:
    f = Finding(
        code="TPU203", name="model-not-quantized", severity="error", message="not quantized", observed="x", fix="y"
    )
    assert finding_line("m.tflite", f) == "m.tflite: TPU203 not quantized"


# ----------------------------------------------------------------------------------------- json


def test_json_every_fixture_validates_with_fingerprints() -> None:
    code, out, _ = run("check", "-f", "json", str(FIXTURES))
    doc = json.loads(out)
    jsonschema.validate(doc, REPORT_SCHEMA)
    assert code == 1
    for m in doc["models"]:
        fps = [f["fingerprint"] for f in m["findings"]]
        assert all(len(fp) == 32 for fp in fps) and len(fps) == len(set(fps)), m["path"]
        assert all(f["baselined"] is False for f in m["findings"])


# ----------------------------------------------------------------------------------------- sarif


def test_sarif_validates_against_the_sarif_2_1_0_schema(repo: Path) -> None:
    (repo / "models" / "broken.tflite").write_bytes(b"\0" * 64)
    code, out, err = run("check", "-f", "sarif", "models")
    assert code == 2  # the unreadable model
    doc = json.loads(out)  # stdout is exactly one JSON document
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run0 = doc["runs"][0]
    inv = run0["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert inv["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "models/broken.tflite"
    )
    assert "tpulint: error:" in err


def test_sarif_content_for_github_code_scanning(repo: Path) -> None:
    code, out, _ = run("check", "-f", "sarif", str(repo / "models"))
    assert code == 1
    doc = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["name"] == "tpulint" and driver["version"] and driver["informationUri"].startswith("https://")
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == set(all_rules())
    r101 = rules["TPU101"]
    assert r101["name"] == "op-not-supported"
    assert r101["shortDescription"]["text"] and r101["fullDescription"]["text"]
    assert "**Bad:**" in r101["help"]["markdown"] and "**Good:**" in r101["help"]["markdown"]
    assert "How to fix" in r101["help"]["text"]
    assert r101["helpUri"].endswith("docs/rules.md#tpu101-op-not-supported")
    assert r101["defaultConfiguration"]["level"] == "error"
    assert rules["TPU910"]["defaultConfiguration"]["level"] == "note"

    results = doc["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["TPU101", "TPU501", "TPU501"]
    json_doc = json.loads(run("check", "-f", "json", str(repo / "models"))[1])
    json_fps = [f["fingerprint"] for m in json_doc["models"] for f in m["findings"]]
    for res in results:
        assert res["level"] == "error"
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "models/mid.tflite"  # repo-relative
        assert loc["physicalLocation"]["region"]["startLine"] == 1
        assert res["partialFingerprints"]["tpulint/v1"] in json_fps  # the baseline's fingerprint
    first = results[0]["locations"][0]["logicalLocations"][0]
    assert first["fullyQualifiedName"] == "subgraph[0]/op[1]/LEAKY_RELU:functional_1/leaky_1/LeakyRelu"
    assert "op 1 LEAKY_RELU" in results[0]["message"]["text"]


def test_sarif_severity_follows_overrides(repo: Path) -> None:
    (repo / "tpulint.toml").write_text("severity-overrides = {TPU5 = 'info'}\n")
    doc = json.loads(run("check", "-f", "sarif", "models/mid.tflite")[1])
    assert [r["level"] for r in doc["runs"][0]["results"]] == ["error", "note", "note"]


# ----------------------------------------------------------------------------------------- github


def test_github_escaping() -> None:
    assert github.escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = github.command("error", "x,y: 1%", file="dir/a,b:c.tflite", line=1, title="TPU101 op-not-supported")
    assert line == "::error file=dir/a%2Cb%3Ac.tflite,line=1,title=TPU101 op-not-supported::x,y: 1%25"


def test_github_annotations(repo: Path) -> None:
    (repo / "models" / "dyn.tflite").write_bytes((FIXTURES / "dynamic_batch.tflite").read_bytes())
    code, out, _ = run("check", "-f", "github", "models")
    assert code == 1
    lines = out.splitlines()
    assert all(x.startswith("::") for x in lines)  # nothing but workflow commands on stdout
    assert lines[0].startswith("::warning file=models/dyn.tflite,line=1,title=TPU303 dynamic-batch-signature::")
    assert lines[1].startswith(
        "::error file=models/mid.tflite,line=1,title=TPU101 op-not-supported::op 1 LEAKY_RELU "
        "'functional_1/leaky_1/LeakyRelu': Op is not supported by the Edge TPU%0Aobserved: "
    )
    assert len(lines) == 4 and "\n" not in lines[1]


def test_github_info_is_notice_and_unreadable_is_error() -> None:
    rep = Report(tool_version="0")
    rep.models.append(ModelReport(path="a.tflite", ok=False, error={"code": "TPU902", "message": "a.tflite: bad"}))
    m = ModelReport(path="b.tflite")
    m.findings.append(
        Finding(code="TPU910", name="already-compiled", severity="info", message="m", observed="o", fix="")
    )
    rep.models.append(m)
    out = github.render(rep).splitlines()
    assert out[0] == "::error file=a.tflite,line=1,title=TPU902 unreadable-model::a.tflite: bad"
    assert out[1].startswith("::notice file=b.tflite,line=1,title=TPU910 already-compiled::model: m")


# ----------------------------------------------------------------------------------------- junit


def test_junit_suites_cases_failures(repo: Path) -> None:
    (repo / "models" / "broken.tflite").write_bytes(b"garbage")
    code, out, _ = run("check", "-f", "junit", "models")
    assert code == 2
    root = ET.fromstring(out)  # stdout is exactly one XML document
    assert root.tag == "testsuites"
    suites = {Path(s.get("name", "")).name: s for s in root.findall("testsuite")}
    assert set(suites) == {"mid.tflite", "good.tflite", "broken.tflite"}
    mid = suites["mid.tflite"]
    assert mid.get("tests") == "4" and mid.get("failures") == "3"
    cases = mid.findall("testcase")
    assert [c.get("name", "").split(" ")[0] for c in cases] == ["sg0/op0", "sg0/op1", "sg0/op2", "sg0/op3"]
    assert cases[0].find("failure") is None
    fail1 = cases[1].find("failure")
    assert fail1 is not None and fail1.get("type") == "TPU101" and "observed:" in (fail1.text or "")
    good = suites["good.tflite"]
    assert good.get("failures") == "0" and int(good.get("tests", "0")) > 0
    broken = suites["broken.tflite"]
    assert broken.get("errors") == "1" and broken.find("testcase/error") is not None
    assert root.get("failures") == "3" and root.get("errors") == "1"


def test_junit_warnings_are_not_failures() -> None:
    rep = Report(tool_version="0")
    m = ModelReport(path="w.tflite")
    m.findings.append(
        Finding(code="TPU303", name="dynamic-batch-signature", severity="warning", message="m", observed="o", fix="f")
    )
    rep.models.append(m)
    root = ET.fromstring(junit.render(rep))
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "model"
    assert case.find("failure") is None and "TPU303" in (case.findtext("system-out") or "")


# ----------------------------------------------------------------------------------------- stdout purity


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit", "compiler-log"])
def test_machine_formats_print_nothing_else(fmt: str, tmp_path: Path) -> None:
    code, out, _ = run("check", "-f", fmt, str(MID))
    assert code == 1
    assert "Outcome:" not in out and "Found " not in out  # no summary footer
    if fmt in ("json", "sarif"):
        json.loads(out)
    elif fmt == "junit":
        ET.fromstring(out)
    elif fmt == "github":
        assert all(x.startswith("::") for x in out.splitlines())
    dest = tmp_path / f"out.{fmt}"
    code, out2, _ = run("check", "-f", fmt, "-o", str(dest), str(MID))
    assert code == 1 and out2 == "" and dest.read_text() == out


@pytest.mark.parametrize("fmt", ["text", "concise"])
def test_human_formats_print_the_footer(fmt: str) -> None:
    out = run("check", "-f", fmt, str(MID))[1]
    assert ("Outcome: partial" in out) if fmt == "text" else ("Found 3 findings" in out)


def test_sarif_build_is_pure_and_handles_empty_report() -> None:
    doc = sarif.build(Report(tool_version="9"))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    assert doc["runs"][0]["results"] == [] and doc["runs"][0]["invocations"][0]["executionSuccessful"] is True


def _text_lines(path: Path, width: int) -> tuple[ModelReport, list[str], list[list[str | tuple[str, str]]]]:
    from tpulint.analyze import analyze_path
    from tpulint.context import Target
    from tpulint.emit.text import op_table

    m = analyze_path(path, Target.default())
    table = op_table(m.ops, width)
    return m, ["".join(p if isinstance(p, str) else p[0] for p in line) for line in table], table


def test_text_op_table_one_aligned_line_per_op() -> None:
    from tpulint.emit.text import COLUMNS

    m, lines, table = _text_lines(MID, 200)
    assert len(lines) == 1 + len(m.ops)
    header = lines[0]
    assert header.split() == list(COLUMNS)
    starts = {c: header.index(c) for c in ("op", "name", "where", "status")}  # left-aligned columns
    for o, line in zip(m.ops, lines[1:], strict=True):
        assert line == line.rstrip()
        assert line[starts["op"] :].startswith(o.opcode + " ")
        assert line[starts["name"] :].startswith(o.name)
        assert line[starts["where"] :].startswith(o.placement.upper())
        assert line.split()[1] == str(o.index)
        if o.codes:
            assert line.endswith(",".join(o.codes))
    for o, parts in zip(m.ops, table[1:], strict=True):  # the placement cell is coloured
        styled = [p for p in parts if isinstance(p, tuple)]
        assert styled == [(o.placement.upper() + "  ", "green" if o.placement == "tpu" else "red")]
    assert all(p[1] == "bold" for p in table[0] if isinstance(p, tuple))  # the header
    assert [p[0].strip() for p in table[0] if isinstance(p, tuple)] == list(COLUMNS)


def test_text_op_table_cuts_long_names_to_the_width() -> None:
    m, wide, _ = _text_lines(GOOD, 300)
    longest = max(len(o.name) for o in m.ops)
    assert longest > 30 and max(len(x) for x in wide) > 60
    _, narrow, _ = _text_lines(GOOD, 70)
    assert max(len(x) for x in narrow) <= 70
    names = [o.name for o in m.ops if len(o.name) > 12]
    assert any(line.rstrip().count("...") for line in narrow[1:])
    for name in names:  # a cut name keeps its beginning
        assert any(name[:9] in line for line in narrow)
    _, tiny, _ = _text_lines(GOOD, 20)  # the name column never goes below 12 cells
    name_at = tiny[0].index("name")
    assert tiny[0][name_at:].startswith("name" + " " * 10 + "where")


def test_text_plain_and_rich_back_ends_print_the_same_text() -> None:
    """Colour off (pipe, file, NO_COLOR, pre-commit): plain lines without importing rich; on a
    terminal: the same characters, styled by rich."""
    import io

    from rich.console import Console

    from tpulint.analyze import analyze_path
    from tpulint.context import Target
    from tpulint.emit.text import PlainOut, RichOut, render

    report = Report(tool_version="t", models=[analyze_path(p, Target.default()) for p in (MID, GOOD)])
    plain = io.StringIO()
    render(report, PlainOut(plain, 100))
    styled = io.StringIO()
    render(report, RichOut(Console(file=styled, width=100, force_terminal=True, color_system="standard")))
    assert "\x1b[" in styled.getvalue() and "\x1b[" not in plain.getvalue()

    assert Text.from_ansi(styled.getvalue()).plain.rstrip("\n") == plain.getvalue().rstrip("\n")
    text = plain.getvalue()
    assert text.count("─" * 10) >= 3  # a rule per model and one before the totals
    assert "TPU101 [op-not-supported] op 1 LEAKY_RELU" in text and "2 models: 1 fully mapped" in text
    assert all(len(line) <= 100 for line in text.splitlines() if not line.startswith(("TPU", "    ", "First")))


def test_text_check_through_a_pipe_does_not_import_rich(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, runpy; sys.argv = ['tpulint', 'check', sys.argv[1]]\n"
        "try:\n    runpy.run_module('tpulint.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('RICH' if any(m == 'rich' or m.startswith('rich.') for m in sys.modules) else 'NO RICH')"
    )
    r = subprocess.run([sys.executable, "-c", code, str(MID)], capture_output=True, text=True, check=False)
    assert "TPU101 [op-not-supported]" in r.stdout
    assert r.stdout.strip().endswith("NO RICH"), r.stdout[-200:]


def test_text_widths_count_terminal_cells() -> None:
    """Wide (CJK) characters take two cells: names are cut and columns padded by cells, as a
    terminal shows them, and the plain back end agrees with rich's own measure."""
    from rich.cells import cell_len as rich_cell_len

    from tpulint.emit.text import COLUMNS, _cut, cell_len, op_table
    from tpulint.report import OpReport

    for text in ("conv", "卷积层/权重", "naïve", "e\u0301t\u00e9", ""):
        assert cell_len(text) == rich_cell_len(text), text
    assert cell_len(_cut("卷积层卷积层卷积层卷积层", 12)) <= 12 and _cut("卷积层卷积层卷积层卷积层", 12).endswith("...")
    ops = [
        OpReport(0, 0, "CONV_2D", 1, "卷积层/" * 10, "tpu", "Mapped to Edge TPU"),
        OpReport(0, 1, "ADD", 1, "add", "cpu", "Operation not supported", ["TPU101"]),
    ]
    lines = ["".join(p if isinstance(p, str) else p[0] for p in line) for line in op_table(ops, 60)]
    where = [cell_len(line[: line.index(w)]) for line, w in zip(lines, ("where", "TPU", "CPU"), strict=True)]
    assert len(set(where)) == 1  # the placement column starts at the same cell on every line
    assert lines[0].split() == list(COLUMNS)


def test_text_groups_consecutive_findings_that_differ_only_in_their_op() -> None:
    """Six convolutions after an unsupported op: six TPU501 findings in JSON, one block in text."""
    import io

    from builders import M, O, T, build

    from tpulint.analyze import analyze_model
    from tpulint.context import Target
    from tpulint.emit.text import PlainOut, render
    from tpulint.model import parse_model

    conv = ("Conv2DOptions", {"StrideH": 1, "StrideW": 1})
    tensors = [T("x0", [1, 8, 8, 4]), T("w", [4, 1, 1, 4], data=bytes(16)), T("b", [4], "INT32", data=bytes(16))]
    tensors += [T(f"x{i}", [1, 8, 8, 4]) for i in range(1, 9)]
    ops = [O("CONV_2D", ["x0", "w", "b"], ["x1"], version=3, options=conv), O("LEAKY_RELU", ["x1"], ["x2"])]
    ops += [O("CONV_2D", [f"x{i}", "w", "b"], [f"x{i + 1}"], version=3, options=conv) for i in range(2, 8)]
    rep = analyze_model(parse_model(build(M(tensors, ops, ["x0"], ["x8"]))), Target.default())
    after = [f for f in rep.findings if f.code == "TPU501"]
    assert [f.op_index for f in after] == [2, 3, 4, 5, 6, 7]
    out = io.StringIO()
    render(Report(tool_version="t", models=[rep]), PlainOut(out, 120))
    text = out.getvalue()
    assert "TPU501 [after-cut] 6 ops: Op runs on the CPU because an op it depends on does" in text
    assert "    ops: 2-7 (CONV_2D)" in text
    assert text.count("depends on op 1 LEAKY_RELU") == 1
    assert "TPU101 [op-not-supported] op 1 LEAKY_RELU" in text  # a lone finding keeps its own block
