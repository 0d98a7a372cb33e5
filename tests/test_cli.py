"""The `tpulint` command: exit codes, JSON contract, errors for bad input, rule docs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from tpulint.cli import app

runner = CliRunner()
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "tpulint" / "schema" / "report.schema.json").read_text())


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_full_model_exit_0() -> None:
    code, out, _ = run("check", str(FIXTURES / "int8_cnn.tflite"))
    assert code == 0
    assert "Outcome: full" in out


def test_cpu_op_exit_1_and_exit_zero() -> None:
    assert run("check", str(FIXTURES / "unsupported_mid.tflite"))[0] == 1
    assert run("check", "--exit-zero", str(FIXTURES / "unsupported_mid.tflite"))[0] == 0


def test_fail_on_warning() -> None:
    path = str(FIXTURES / "dynamic_batch.tflite")  # maps fully, one TPU303 warning
    assert run("check", path)[0] == 0
    assert run("check", "--fail-on", "warning", path)[0] == 1


def test_ignore_changes_exit_but_not_placement() -> None:
    path = str(FIXTURES / "unsupported_mid.tflite")
    code, out, _ = run("check", "-f", "json", "--ignore", "TPU101,TPU5", path)
    assert code == 0
    m = json.loads(out)["models"][0]
    assert m["findings"] == []
    assert [o["placement"] for o in m["ops"]] == ["tpu", "cpu", "cpu", "cpu"]


def test_select_prefix_and_unknown_code() -> None:
    path = str(FIXTURES / "unsupported_mid.tflite")
    code, out, _ = run("check", "-f", "json", "--select", "TPU5", path)
    assert code == 1
    assert {f["code"] for f in json.loads(out)["models"][0]["findings"]} == {"TPU501"}
    code, _, err = run("check", "--select", "TPU777", path)
    assert code == 2 and "matches no rule" in err


def test_json_report_matches_schema_and_contract() -> None:
    code, out, _ = run("check", "-f", "json", str(FIXTURES))
    assert code == 1
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["schema_version"] == 1 and doc["tool"]["name"] == "tpulint"
    by_name = {Path(m["path"]).name: m for m in doc["models"]}
    assert len(doc["models"]) == len(list(FIXTURES.rglob("*.tflite")))
    mid = by_name["unsupported_mid.tflite"]
    assert mid["summary"]["outcome"] == "partial"
    assert mid["summary"]["first_cpu_op"]["index"] == 1
    assert mid["ops"][1] | {} == mid["ops"][1]
    assert mid["ops"][1]["status"] == "Operation not supported" and mid["ops"][1]["codes"] == ["TPU101"]
    f = next(f for f in mid["findings"] if f["code"] == "TPU101")
    assert f["op_index"] == 1 and f["subgraph"] == 0 and f["fix"] and f["observed"]


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code, stdout, _ = run("check", "-f", "json", "-o", str(out), str(FIXTURES / "int8_cnn.tflite"))
    assert code == 0 and stdout == ""
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)


def test_non_tflite_file_is_exit_2_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "notes.tflite"
    bad.write_text("this is not a model\n")
    code, out, err = run("check", str(bad))
    assert code == 2
    assert "notes.tflite" in out  # the text report names the unreadable file too
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("tpulint: error:") and "Traceback" not in err


def test_missing_file_exit_2(tmp_path: Path) -> None:
    code, _, err = run("check", str(tmp_path / "nope.tflite"))
    assert code == 2 and "no such file" in err


def test_bad_file_does_not_stop_others(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "int8_cnn.tflite", tmp_path / "good.tflite")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.tflite").write_bytes(b"\x00" * 64)
    code, out, _ = run("check", "-f", "json", str(tmp_path))
    assert code == 2
    models = {Path(m["path"]).name: m for m in json.loads(out)["models"]}
    assert models["good.tflite"]["ok"] is True and models["good.tflite"]["summary"]["outcome"] == "full"
    assert models["bad.tflite"]["ok"] is False and models["bad.tflite"]["error"]["code"].startswith("TPU9")


def test_runtime_out_of_range_is_usage_error() -> None:
    code, _, err = run("check", "--runtime", "15", str(FIXTURES / "int8_cnn.tflite"))
    assert code == 2 and "not supported by compiler" in err
    code, _, err = run("check", "--compiler-version", "9.9", str(FIXTURES / "int8_cnn.tflite"))
    assert code == 2


def test_runtime_13_moves_transpose() -> None:
    code, out, _ = run("check", "-f", "json", "--runtime", "13", str(FIXTURES / "transpose.tflite"))
    assert code == 1
    ops = json.loads(out)["models"][0]["ops"]
    assert ops[1]["opcode"] == "TRANSPOSE" and ops[1]["placement"] == "cpu"


def test_compiled_model_input(tmp_path: Path) -> None:
    compiled = sorted((FIXTURES / "compiled").rglob("*_edgetpu.tflite"))
    if not compiled:
        pytest.skip("no compiled fixture")
    code, out, _ = run("check", "-f", "json", str(compiled[0]))
    m = json.loads(out)["models"][0]
    assert m["compiled"] is True
    assert m["compiled_info"]["edgetpu_custom_ops"] >= 1
    assert any(o["opcode"] == "edgetpu-custom-op" and o["placement"] == "tpu" for o in m["ops"])
    assert any(f["code"] == "TPU910" for f in m["findings"])
    assert code == 0


def test_rules_and_rule_docs() -> None:
    code, out, _ = run("rules", "-f", "json")
    assert code == 0
    rows = json.loads(out)
    codes = [r["code"] for r in rows]
    assert "TPU101" in codes and "TPU501" in codes and codes == sorted(codes)
    code, out, _ = run("rule", "tpu301")
    assert code == 0
    for heading in ("What it does", "Why it matters on the Edge TPU", "How to fix", "Compiler status", "Sources"):
        assert heading in out
    assert run("rule", "TPU999")[0] == 2


def test_console_script_runs_in_a_subprocess() -> None:
    exe = shutil.which("tpulint") or str(Path(sys.executable).parent / "tpulint")
    r = subprocess.run(
        [exe, "check", str(FIXTURES / "int8_cnn.tflite")],
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "\x1b[" not in r.stdout
    h = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert "Exit codes" in h.stdout


def test_python_api_check_is_the_cli_prediction() -> None:
    """``import tpulint; tpulint.check(path)``: the same model report as ``tpulint check -f json``,
    with the same options; ``import tpulint`` alone loads nothing else."""
    import json
    import subprocess
    import sys

    import tpulint

    r = subprocess.run(
        [sys.executable, "-c", "import sys, tpulint; print(sorted(m for m in sys.modules if m.startswith('tpulint')))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert r.stdout.strip() == "['tpulint']"
    mid = FIXTURES / "unsupported_mid.tflite"
    for kwargs, args in (
        ({}, []),
        ({"runtime": 13, "compiler": "15.0"}, ["--runtime", "13", "--compiler-version", "15.0"]),
        ({"multiple_subgraphs": True}, ["-a"]),
        ({"select": ["TPU5"]}, ["--select", "TPU5"]),
    ):
        api = tpulint.check(mid, **kwargs).to_dict()
        _, out, _ = run("check", "-f", "json", *args, str(mid))
        cli = json.loads(out)["models"][0]
        assert api == cli, kwargs
    selected = tpulint.check(mid, select=["TPU5"])
    assert {f.code for f in selected.findings} == {"TPU501"}
    assert [o.placement for o in selected.ops] == [o.placement for o in tpulint.check(mid).ops]
    broken = tpulint.check(FIXTURES / "README.md")
    assert not broken.ok and broken.error is not None and broken.error["code"] == "TPU902"
    for bad in ({"compiler": "9.9"}, {"runtime": 99}, {"select": ["XYZ"]}):
        with pytest.raises(ValueError):
            tpulint.check(mid, **bad)  # type: ignore[arg-type]


def _check_stdin(data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    code = "from tpulint._fastcli import main; main()"
    return subprocess.run([sys.executable, "-c", code, "check", *args], input=data, capture_output=True, check=False)


def test_check_reads_a_model_from_stdin() -> None:
    """`tpulint check -` reads the model from standard input: the same prediction as from the file."""
    data = (FIXTURES / "unsupported_mid.tflite").read_bytes()
    r = _check_stdin(data, "-", "-f", "json")
    assert r.returncode == 1, r.stderr
    m = json.loads(r.stdout)["models"][0]
    assert m["path"] == "-" and m["ok"]
    _, out, _ = run("check", str(FIXTURES / "unsupported_mid.tflite"), "-f", "json")
    from_file = json.loads(out)["models"][0]
    assert [(o["opcode"], o["placement"], o["status"]) for o in m["ops"]] == [
        (o["opcode"], o["placement"], o["status"]) for o in from_file["ops"]
    ]
    assert [f["code"] for f in m["findings"]] == [f["code"] for f in from_file["findings"]]


def test_check_stdin_errors_are_one_line() -> None:
    r = _check_stdin(b"<html>not found</html>", "-")
    assert r.returncode == 2
    (line,) = r.stderr.decode().strip().splitlines()
    assert line.startswith("tpulint: error: -: ") and "not a model" in line
    r = _check_stdin(b"", "-", "-f", "json")
    assert r.returncode == 2 and "empty file" in r.stderr.decode()
    r = _check_stdin(b"", "-", "--confirm")
    assert r.returncode == 2 and "give a path, not - (standard input)" in r.stderr.decode()
