"""Configuration: discovery, keys, validation (exit 2, one line) and precedence (flags > file)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from tpulint.cli import app
from tpulint.config import (
    ConfigError,
    OpIgnore,
    discover,
    find_config,
    glob_to_regex,
    load_config,
    path_matches,
    selected_codes,
)
from tpulint.registry import all_rules

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project with models/mid.tflite (LEAKY_RELU cut), models/legacy/old.tflite (same) and good.tflite."""
    (tmp_path / "models" / "legacy").mkdir(parents=True)
    shutil.copy(FIXTURES / "unsupported_mid.tflite", tmp_path / "models" / "mid.tflite")
    shutil.copy(FIXTURES / "unsupported_mid.tflite", tmp_path / "models" / "legacy" / "old.tflite")
    shutil.copy(FIXTURES / "int8_cnn.tflite", tmp_path / "models" / "good.tflite")
    return tmp_path


def write_pyproject(root: Path, body: str) -> Path:
    p = root / "pyproject.toml"
    p.write_text('[project]\nname = "zoo"\n\n[tool.tpulint]\n' + body, encoding="utf-8")
    return p


def findings(out: str) -> dict[str, list[dict[str, object]]]:
    return {Path(m["path"]).name: m["findings"] for m in json.loads(out)["models"]}


# ------------------------------------------------------------------------------------------ discovery


def test_nearest_pyproject_with_table_is_found(project: Path) -> None:
    cfg_path = write_pyproject(project, "ignore = ['TPU5']\n")
    sub = project / "models" / "legacy"
    assert find_config(sub / "old.tflite") == cfg_path
    cfg = discover([sub / "old.tflite"])
    assert cfg.path == cfg_path and cfg.root == project.resolve() and cfg.ignore == ["TPU5"]


def test_pyproject_without_table_is_skipped_and_tpulint_toml_wins(project: Path) -> None:
    (project / "models" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    write_pyproject(project, "runtime = 13\n")
    assert discover([project / "models" / "mid.tflite"]).runtime == 13
    (project / "tpulint.toml").write_text("runtime = 12\n")
    found = discover([project / "models" / "mid.tflite"])
    assert found.path == project / "tpulint.toml" and found.runtime == 12


def test_no_config_gives_defaults(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "int8_cnn.tflite", tmp_path / "m.tflite")
    cfg = discover([tmp_path / "m.tflite"])
    assert cfg.path is None and cfg.select is None and not cfg.ignore


def test_tpulint_toml_accepts_tool_table(tmp_path: Path) -> None:
    p = tmp_path / "tpulint.toml"
    p.write_text("[tool.tpulint]\nfail-on = 'warning'\n")
    assert load_config(p).fail_on == "warning"


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("selectt = ['TPU1']\n", "unknown key 'selectt'"),
        ("select = ['TPU777']\n", "'TPU777' matches no rule code"),
        ("ignore = ['XYZ']\n", "'XYZ' matches no rule code"),
        ("extend-select = ['TPU8']\n", "matches no rule code"),
        ("per-file-ignores = {'*.tflite' = ['TPU999']}\n", "matches no rule code"),
        ("per-op-ignores = [{op = 'CONV_2D', codes = ['NOPE']}]\n", "matches no rule code"),
        ("per-op-ignores = [{op = 'CONV_2D', codes = ['TPU1'], colour = 1}]\n", "unknown key 'colour'"),
        ("per-op-ignores = [{codes = ['TPU1']}]\n", "needs one of op"),
        ("severity-overrides = {TPU601 = 'fatal'}\n", "must be one of error, warning, info"),
        ("severity-overrides = {TPU6666 = 'error'}\n", "matches no rule code"),
        ("fail-on = 'never'\n", "fail-on must be one of"),
        ("runtime = 'fourteen'\n", "runtime must be an integer"),
        ("compiler-version = '9.9'\n", "unknown compiler-version"),
        ("runtime = 14\nruntime = 13\n", "invalid TOML"),
    ],
)
def test_bad_config_is_exit_2_one_line(project: Path, body: str, needle: str) -> None:
    write_pyproject(project, body)
    code, _, err = run("check", str(project / "models" / "good.tflite"))
    assert code == 2, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("tpulint: error:"), err
    assert needle in lines[0] and "Traceback" not in err


def test_explicit_config_path_and_missing_one(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("ignore = ['ALL']\n")
    code, _, _ = run("check", "--config", str(other), str(project / "models" / "mid.tflite"))
    assert code == 0
    code, _, err = run("check", "--config", str(tmp_path / "nope.toml"), str(project / "models" / "mid.tflite"))
    assert code == 2 and "does not exist" in err
    nope = tmp_path / "pyproject.toml"
    nope.write_text("[project]\nname='x'\n")
    code, _, err = run("check", "--config", str(nope), str(project / "models" / "mid.tflite"))
    assert code == 2 and "no [tool.tpulint] table" in err


# ------------------------------------------------------------------------------------------ selection


def test_codes_prefixes_and_all_in_every_selector() -> None:
    codes = set(all_rules())
    assert selected_codes([(["ALL"], [], [])]) == codes
    assert selected_codes([(["TPU1"], [], ["TPU101"])]) == {c for c in codes if c.startswith("TPU1")} - {"TPU101"}
    assert selected_codes([(["TPU5"], ["TPU101"], [])]) == {c for c in codes if c.startswith("TPU5")} | {"TPU101"}
    assert selected_codes([(None, [], ["ALL"])]) == set()
    # a later layer's select replaces the earlier selection (ruff's layering: CLI over config)
    assert selected_codes([(None, [], ["TPU1"]), (["TPU101"], [], [])]) == {"TPU101"}
    # ... while a later ignore applies on top of it
    assert "TPU501" not in selected_codes([(["TPU5"], [], []), (None, [], ["TPU50"])])
    with pytest.raises(ConfigError, match="matches no rule code"):
        selected_codes([(["TPU0"], [], [])])


def test_config_select_and_cli_override(project: Path) -> None:
    write_pyproject(project, "select = ['TPU5']\n")
    mid = str(project / "models" / "mid.tflite")
    code, out, _ = run("check", "-f", "json", mid)
    assert code == 1 and {f["code"] for f in findings(out)["mid.tflite"]} == {"TPU501"}
    code, out, _ = run("check", "-f", "json", "--select", "TPU101", mid)  # flag replaces the file's select
    assert code == 1 and {f["code"] for f in findings(out)["mid.tflite"]} == {"TPU101"}
    code, out, _ = run("check", "-f", "json", "--ignore", "TPU501", mid)  # flag applies on top of it
    assert code == 0 and findings(out)["mid.tflite"] == []


def test_per_file_ignores_globs_are_relative_to_the_config(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_pyproject(project, "per-file-ignores = {'models/legacy/*.tflite' = ['ALL'], 'mid.tflite' = ['TPU5']}\n")
    monkeypatch.chdir(project / "models")  # the cwd does not matter
    code, out, _ = run("check", "-f", "json", str(project / "models"))
    by = findings(out)
    assert by["old.tflite"] == []
    assert {f["code"] for f in by["mid.tflite"]} == {"TPU101"}  # a name-only glob matches in any directory
    assert code == 1
    write_pyproject(project, "per-file-ignores = {'**/*.tflite' = ['TPU1', 'TPU5']}\n")
    assert run("check", str(project / "models"))[0] == 0


def test_per_op_ignores(project: Path) -> None:
    mid = str(project / "models" / "mid.tflite")
    write_pyproject(project, "per-op-ignores = [{op = 'leaky_relu', codes = ['TPU101']}]\n")
    assert {f["code"] for f in findings(run("check", "-f", "json", mid)[1])["mid.tflite"]} == {"TPU501"}
    write_pyproject(
        project, "per-op-ignores = [{name = 'functional_1/conv2*', codes = ['ALL']}, {index = 3, codes = ['TPU5']}]\n"
    )
    left = findings(run("check", "-f", "json", mid)[1])["mid.tflite"]
    assert [(f["code"], f["op_index"]) for f in left] == [("TPU101", 1)]
    # `path` restricts an entry to matching models
    write_pyproject(
        project,
        "per-op-ignores = [{op = 'LEAKY_RELU', codes = ['TPU101'], path = 'models/legacy/**'}]\nignore = ['TPU5']\n",
    )
    code, out, _ = run("check", "-f", "json", str(project / "models"))
    by = findings(out)
    assert by["old.tflite"] == [] and [f["code"] for f in by["mid.tflite"]] == ["TPU101"] and code == 1


def test_op_ignore_never_matches_model_level_findings() -> None:
    rule = OpIgnore(codes=frozenset({"TPU203"}), op="CONV_2D")
    assert not rule.matches_op(None, None, None, None)
    assert rule.matches_op(0, 4, "conv_2d", "x")
    assert not OpIgnore(codes=frozenset(), index=2, subgraph=1).matches_op(0, 2, "ADD", "")


def test_severity_overrides_and_fail_on(project: Path) -> None:
    dyn = project / "models" / "dyn.tflite"
    shutil.copy(FIXTURES / "dynamic_batch.tflite", dyn)  # maps fully, one TPU303 warning
    assert run("check", str(dyn))[0] == 0
    write_pyproject(project, "severity-overrides = {TPU3 = 'error'}\n")
    code, out, _ = run("check", "-f", "json", str(dyn))
    assert code == 1 and [f["severity"] for f in findings(out)["dyn.tflite"]] == ["error"]
    # the most specific selector wins: the full code beats the prefix
    write_pyproject(project, "severity-overrides = {TPU3 = 'error', TPU303 = 'info', ALL = 'warning'}\n")
    code, out, _ = run("check", "-f", "json", str(project / "models"))
    by = findings(out)
    assert {f["severity"] for f in by["dyn.tflite"]} == {"info"}
    assert {f["severity"] for f in by["mid.tflite"]} == {"warning"}
    assert code == 0  # nothing at error level any more
    write_pyproject(project, "severity-overrides = {ALL = 'warning'}\nfail-on = 'warning'\n")
    assert run("check", str(project / "models" / "mid.tflite"))[0] == 1
    assert run("check", "--fail-on", "error", str(project / "models" / "mid.tflite"))[0] == 0  # flag wins


def test_runtime_and_compiler_version_from_config(project: Path) -> None:
    t = project / "models" / "transpose.tflite"
    shutil.copy(FIXTURES / "transpose.tflite", t)
    write_pyproject(project, "runtime = 13\n")
    code, out, _ = run("check", "-f", "json", str(t))
    m = json.loads(out)["models"][0]
    assert code == 1 and m["runtime"] == 13 and m["ops"][1]["placement"] == "cpu"
    code, out, _ = run("check", "-f", "json", "--runtime", "14", str(t))
    assert code == 0 and json.loads(out)["models"][0]["runtime"] == 14
    write_pyproject(project, "compiler-version = 15.0\n")  # a TOML float is accepted
    assert json.loads(run("check", "-f", "json", str(t))[1])["models"][0]["compiler"] == "15.0"
    write_pyproject(project, "runtime = 15\n")
    code, _, err = run("check", str(t))
    assert code == 2 and "not supported by compiler" in err


def test_compiler_path_is_relative_to_the_config(tmp_path: Path) -> None:
    p = tmp_path / "tpulint.toml"
    p.write_text("compiler = 'tools/edgetpu_compiler'\n")
    assert load_config(p).compiler_path() == str(tmp_path / "tools" / "edgetpu_compiler")
    p.write_text("compiler = 'edgetpu_compiler'\n")
    assert load_config(p).compiler_path() == "edgetpu_compiler"  # a bare name is looked up on PATH


def test_glob_semantics(tmp_path: Path) -> None:
    assert glob_to_regex("models/*.tflite").match("models/a.tflite")
    assert not glob_to_regex("models/*.tflite").match("models/x/a.tflite")
    assert glob_to_regex("models/**/*.tflite").match("models/a.tflite")
    assert glob_to_regex("models/**/*.tflite").match("models/x/y/a.tflite")
    assert glob_to_regex("m?[0-9].tflite").match("mx7.tflite")
    assert path_matches(tmp_path / "a" / "b.tflite", "a/b.tflite", tmp_path)
    assert path_matches(tmp_path / "a" / "b.tflite", "b.tflite", tmp_path)
    assert not path_matches(tmp_path / "a" / "b.tflite", "c/b.tflite", tmp_path)


@pytest.mark.skipif(not (Path(__file__).parent / "stand_in_compiler" / "edgetpu_compiler").is_file(),
                    reason="no stand-in compiler")
def test_config_compiler_is_used_by_confirm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`compiler` in the config names the binary `check --confirm` runs (no --compiler, no env, not on PATH)."""
    src = FIXTURES / "compiled" / "asr_model_v2compiler" / "ASR_Model.tflite"
    if not src.is_file():
        pytest.skip("compiled ASR fixture not found")
    stand_in = Path(__file__).parent / "stand_in_compiler" / "edgetpu_compiler"
    shutil.copy(src, tmp_path / src.name)
    rel = os.path.relpath(stand_in, tmp_path)  # relative to the config file's directory
    (tmp_path / "tpulint.toml").write_text(f"compiler = '{rel}'\n")
    monkeypatch.delenv("TPULINT_EDGETPU_COMPILER", raising=False)
    monkeypatch.setenv("STAND_IN_SCENARIO", "success")
    monkeypatch.setenv("STAND_IN_CORPUS", str(FIXTURES.parent.parent / "shared" / "corpus"))
    monkeypatch.setenv("STAND_IN_ARGV_FILE", str(tmp_path / "argv.json"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    code, out, err = run("check", "--confirm", "--out-dir", str(tmp_path / "o"), "-f", "json",
                         str(tmp_path / src.name))
    assert code == 0, err
    assert json.loads(out)["models"][0]["confirmation"]["status"] == "match"
    assert (tmp_path / "argv.json").is_file()  # the configured binary ran
