"""The fast `tpulint check` path (tpulint/_fastcli.py) behaves exactly like typer, or steps aside.

Each command line is run both ways in this process: through the fast path (``_fastcli.run``) and
through typer (``CliRunner``); exit code, stdout and stderr must be equal. Command lines the fast
path does not model must return None (typer then handles them) without running anything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import tomllib
from conftest import FIXTURES, ROOT
from typer.testing import CliRunner

from tpulint import _fastcli
from tpulint.cli import app

runner = CliRunner()
CNN = str(FIXTURES / "int8_cnn.tflite")
MID = str(FIXTURES / "unsupported_mid.tflite")
DYN = str(FIXTURES / "dynamic_batch.tflite")

HANDLED = [
    ["check", CNN, "-f", "json"],
    ["check", "-f", "json", CNN, MID],
    ["check", "--format=json", MID],
    ["check", MID, "--format", "compiler-log"],
    ["check", MID, "--no-color", "--show-ops", "cpu"],
    ["check", MID, "--no-color"],
    ["check", MID, "--exit-zero", "-f", "json"],
    ["check", DYN, "--fail-on", "warning", "-f", "json"],
    ["check", MID, "-a", "-f", "json"],
    ["check", MID, "--multiple-subgraphs", "--runtime", "13", "-f", "json"],
    ["check", MID, "-m", "12", "--compiler-version", "15.0", "-f", "json"],
    ["check", MID, "--select", "TPU1", "--select", "TPU5", "-f", "json"],
    ["check", MID, "--ignore=TPU501", "--extend-select", "TPU3", "-f", "json"],
    ["check", MID, "-i", "functional_1/conv1_1/convolution1", "-f", "json"],
    ["check", MID, "-d", "-k", "2", "-f", "json"],
    ["check", MID, "--jobs", "2", "-f", "json"],
    ["check", str(FIXTURES), "-j", "0", "-f", "json"],
    ["check", MID, "--runtime", "9", "-f", "json"],  # the command itself rejects it: exit 2
    ["check", MID, "--compiler-version", "9.9"],
    ["check", "does/not/exist.tflite", "-f", "json"],
    ["check", MID, "--select", "NOPE", "-f", "json"],
]

DECLINED = [
    [],
    ["--help"],
    ["rules"],
    ["check"],  # no path: typer's usage error
    ["check", "--help"],
    ["check", MID, "-h"],
    ["check", MID, "--format", "yaml"],
    ["check", MID, "--format"],
    ["check", MID, "--bogus"],
    ["check", MID, "-k", "0"],  # below min=1
    ["check", MID, "-m13"],
    ["check", MID, "-ad"],
    ["check", MID, "--runtime", "x"],
    ["check", MID, "--exit-zero=1"],
    ["check", "--", MID],
    ["check", "-", "-f", "json"],
]


def _fast(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str, str]:
    code = _fastcli.run(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", HANDLED, ids=" ".join)
def test_fast_path_equals_typer(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("TPULINT_NO_FAST_CLI", raising=False)
    code, out, err = _fast(argv, capsys)
    assert code is not None, "the fast path should handle this command line"
    r = runner.invoke(app, argv)
    assert (code, out, err) == (r.exit_code, r.stdout, r.stderr)


@pytest.mark.parametrize("argv", DECLINED, ids=lambda a: " ".join(a) or "(empty)")
def test_fast_path_steps_aside(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _fast(argv, capsys) == (None, "", "")


def test_switch_off(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TPULINT_NO_FAST_CLI", "1")
    assert _fast(["check", CNN], capsys) == (None, "", "")


def test_console_script_uses_it() -> None:
    """The console script's main() runs `check` without importing typer (or pydantic), with
    typer's result; anything else goes to typer."""
    code = (
        f"import sys; sys.argv = ['tpulint', 'check', {MID!r}, '-f', 'json'];"
        "import atexit; atexit.register(lambda: print(sorted({'typer', 'pydantic', 'click'} & sys.modules.keys()), "
        "file=sys.stderr));"
        "from tpulint._fastcli import main; main()"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 1
    assert json.loads(r.stdout)["models"][0]["summary"]["outcome"] == "partial"
    assert r.stderr.strip().splitlines()[-1] == "[]"
    typer_run = "import sys; sys.argv = ['tpulint', 'rule', 'TPU301']; from tpulint._fastcli import main; main()"
    r = subprocess.run([sys.executable, "-c", typer_run], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("# TPU301")


def test_entry_point_is_the_fast_main() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"tpulint": "tpulint._fastcli:main"}
