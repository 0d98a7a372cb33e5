"""Driving the compiler as a subprocess, against the stand-in in tests/stand_in_compiler/.

The stand-in does not compile: it replays recorded output of the REAL compiler and copies the
REAL compiled model of that run (its doc string lists which, per scenario). The `partial`
scenario's models come from a repository without a licence, so they are read from
../shared/corpus/jorgitou_conv_N32 (never copied into fixtures/); those tests skip without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tpulint.compiler.driver import (
    ENV_COMPILER,
    CompilerCrashError,
    CompilerFailedError,
    CompilerNotFoundError,
    CompilerOutputError,
    CompilerTimeoutError,
    CompilerUsageError,
    OutputExistsError,
    compiler_version,
    find_compiler,
    require_compiler,
    resolve_runtime,
    run_compiler,
    supported_runtimes,
)
from tpulint.errors import ModelReadError

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the stand-in compiler is a POSIX script")

Scenario = Callable[..., Path]
STAND_IN_DIR = Path(__file__).resolve().parent / "stand_in_compiler"
STAND_IN = STAND_IN_DIR / "edgetpu_compiler"
FIX = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
ASR_IN = FIX / "compiled" / "asr_model_v2compiler" / "ASR_Model.tflite"
ASR_OUT = FIX / "compiled" / "asr_model_v2compiler" / "ASR_Model_edgetpu.tflite"
N32_DIR = CORPUS / "jorgitou_conv_N32"  # no licence: testing only, kept out of the repository
N32_IN = N32_DIR / "N32-nMACs41287680_quant.tflite"
N32_OUT = N32_DIR / "N32-nMACs41287680_quant_edgetpu.tflite"


def need_n32() -> None:
    if not (N32_IN.is_file() and N32_OUT.is_file()):
        pytest.skip(
            f"corpus case jorgitou_conv_N32 not found at {N32_DIR} (unlicensed, so it is read from "
            "../shared/corpus beside the checkout, never copied into fixtures/)"
        )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A private copy of a real input model (the stand-in ignores its content)."""
    dst = tmp_path / "in" / ASR_IN.name
    dst.parent.mkdir()
    shutil.copyfile(ASR_IN, dst)
    return dst


@pytest.fixture
def scenario(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Scenario:
    argv_file = tmp_path / "argv.json"
    monkeypatch.setenv("STAND_IN_ARGV_FILE", str(argv_file))
    monkeypatch.setenv("STAND_IN_CORPUS", str(CORPUS))
    for var in ("STAND_IN_EXIT", "STAND_IN_VERSION", "STAND_IN_SLEEP"):
        monkeypatch.delenv(var, raising=False)

    def set_scenario(name: str, **extra: str) -> Path:
        monkeypatch.setenv("STAND_IN_SCENARIO", name)
        for k, v in extra.items():
            monkeypatch.setenv(k, v)
        return argv_file

    return set_scenario


# --- finding the compiler ------------------------------------------------------------------------


def test_stand_in_is_executable() -> None:
    assert STAND_IN.stat().st_mode & stat.S_IXUSR


def test_find_by_option_env_and_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_compiler(str(STAND_IN), environ={"PATH": str(empty)}) == STAND_IN.resolve()
    assert find_compiler(None, environ={"PATH": str(empty), ENV_COMPILER: str(STAND_IN)}) == STAND_IN.resolve()
    assert find_compiler(None, environ={"PATH": f"{empty}{os.pathsep}{STAND_IN_DIR}"}) == STAND_IN.resolve()
    # The explicit option wins over the environment variable.
    other = tmp_path / "other_compiler"
    shutil.copyfile(STAND_IN, other)
    other.chmod(0o755)
    assert find_compiler(str(other), environ={"PATH": "", ENV_COMPILER: str(STAND_IN)}) == other.resolve()
    # A bare name given explicitly is looked up on PATH.
    assert find_compiler("edgetpu_compiler", environ={"PATH": str(STAND_IN_DIR)}) == STAND_IN.resolve()


def test_missing_compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_compiler(None, environ={"PATH": str(empty)}) is None
    with pytest.raises(CompilerNotFoundError, match="not an executable"):
        find_compiler(str(tmp_path / "nope"), environ={"PATH": str(empty)})
    not_exec = tmp_path / "edgetpu_compiler"
    not_exec.write_text("#!/bin/sh\n")
    not_exec.chmod(0o644)
    with pytest.raises(CompilerNotFoundError):
        find_compiler(None, environ={"PATH": str(empty), ENV_COMPILER: str(not_exec)})
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(ENV_COMPILER, raising=False)
    with pytest.raises(CompilerNotFoundError) as err:
        require_compiler(None)
    msg = str(err.value)
    assert "\n" not in msg and err.value.code == "TPU931"
    assert "edgetpu-compiler" in msg and "x86-64 Linux" in msg and "Colab" in msg


def test_cannot_run_gives_not_found(tmp_path: Path, model: Path) -> None:
    bogus = tmp_path / "edgetpu_compiler"
    bogus.write_bytes(b"\x7fELF\x02\x01\x01garbage-not-a-real-binary")
    bogus.chmod(0o755)
    with pytest.raises(CompilerNotFoundError, match="cannot run"):
        run_compiler(model, compiler=bogus, timeout_s=10)


# --- version and -m ------------------------------------------------------------------------------


def test_compiler_version(scenario: Scenario) -> None:
    scenario("partial")
    assert compiler_version(STAND_IN, timeout=10) == "16.0.384591198"
    scenario("partial", STAND_IN_VERSION="15.0.340273435")
    assert compiler_version(STAND_IN, timeout=10) == "15.0.340273435"


def test_compiler_version_garbage(tmp_path: Path) -> None:
    script = tmp_path / "fake"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    with pytest.raises(CompilerOutputError, match="no 'Edge TPU Compiler version' line"):
        compiler_version(script, timeout=10)


def test_runtime_ranges() -> None:
    assert list(supported_runtimes("16.0.384591198")) == [10, 11, 12, 13, 14]
    assert list(supported_runtimes("15.0.340273435")) == [10, 11, 12, 13]
    assert list(supported_runtimes("2.0.267685300")) == [10, 11, 12, 13]
    assert resolve_runtime(None, "15.0.340273435") is None
    assert resolve_runtime(14, "16.0.384591198") == 14
    assert resolve_runtime(13, "14.1.317412892") == 13
    with pytest.raises(CompilerUsageError, match=r"10\.\.13, not 14"):
        resolve_runtime(14, "15.0.340273435")
    with pytest.raises(CompilerUsageError):
        resolve_runtime(9, "16.0.384591198")


def test_runtime_checked_against_compiler_before_running(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    argv_file = scenario("partial", STAND_IN_VERSION="15.0.340273435")
    with pytest.raises(CompilerUsageError):
        run_compiler(model, compiler=STAND_IN, runtime=14, out_dir=tmp_path / "out", timeout_s=30)
    assert json.loads(argv_file.read_text()) == ["--version"]  # only the version probe ran


# --- successful runs -----------------------------------------------------------------------------


def test_success_copies_outputs(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    scenario("success")
    out = tmp_path / "out"
    run = run_compiler(model, compiler=STAND_IN, out_dir=out, timeout_s=30)
    assert run.success and run.exit_code == 0 and run.duration_s > 0
    assert run.command[:4] == (str(STAND_IN), "-s", "-o", str(run.temp_dir))
    assert run.command[-1] == str(model.resolve())
    assert run.compiler_version == "2.0.291256449"
    o = run.output
    assert not o.partial and o.edgetpu_subgraphs == 1 and o.total_ops == 12 and o.mapped_op_count == 12
    assert o.log is not None and o.operator_table == o.log.operator_table
    assert run.compiled_paths == (out / "ASR_Model_edgetpu.tflite",)
    assert run.log_paths == (out / "ASR_Model_edgetpu.log",)
    assert sha(run.compiled_paths[0]) == sha(ASR_OUT)
    cm = run.compiled_model
    assert cm is not None and cm.path == run.compiled_paths[0]
    assert cm.edgetpu_custom_op_count == 1 and cm.cpu_ops == () and cm.min_runtime_versions == (12,)
    assert not run.temp_dir.exists() and not run.temp_dir_kept


def test_partial_with_runtime(scenario: Scenario, tmp_path: Path) -> None:
    need_n32()
    argv_file = scenario("partial")
    model = tmp_path / N32_IN.name
    shutil.copyfile(N32_IN, model)
    run = run_compiler(model, compiler=STAND_IN, runtime=13, out_dir=tmp_path / "out", timeout_s=30)
    assert run.runtime == 13 and run.command[4:6] == ("-m", "13")
    argv = json.loads(argv_file.read_text())
    assert argv[argv.index("-m") + 1] == "13" and "-s" in argv
    o = run.output
    assert o.success and o.partial and (o.ops_on_tpu, o.ops_on_cpu) == (2, 1)
    assert o.timeout_timer_s == 180 and o.compiler_version == "16.0.384591198"
    cm = run.compiled_model
    assert cm is not None and [c.op for c in cm.cpu_ops_before_first_custom_op] == ["QUANTIZE"]
    assert sha(run.compiled_paths[0]) == sha(N32_OUT)


def test_outputs_stay_in_temp_dir(scenario: Scenario, model: Path) -> None:
    scenario("success")
    run = run_compiler(model, compiler=STAND_IN, timeout_s=30)
    try:
        assert run.temp_dir_kept and run.temp_dir.is_dir()
        assert run.compiled_paths == (run.temp_dir / "ASR_Model_edgetpu.tflite",)
        assert run.compiled_paths[0].is_file() and run.log_paths[0].is_file()
        assert sorted(p.name for p in model.parent.iterdir()) == [model.name]
    finally:
        shutil.rmtree(run.temp_dir)


def test_write_beside_input(scenario: Scenario, model: Path) -> None:
    scenario("success")
    run = run_compiler(model, compiler=STAND_IN, write_beside=True, timeout_s=30)
    assert run.compiled_paths == (model.parent / "ASR_Model_edgetpu.tflite",)
    assert sorted(p.name for p in model.parent.iterdir()) == sorted(
        [model.name, "ASR_Model_edgetpu.tflite", "ASR_Model_edgetpu.log"]
    )


def test_recorded_console_from_corpus(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"ground-truth corpus not found at {CORPUS} (expected ../shared/corpus beside the checkout)")
    scenario("recorded")
    run = run_compiler(model, compiler=STAND_IN, out_dir=tmp_path / "out", timeout_s=60)
    o = run.output
    assert o.success and o.compile_ms == 986 and o.total_ops == 134 and o.mapped_op_count == 134
    assert run.log_paths == () and len(o.operator_table) == 9
    cm = run.compiled_model
    assert cm is not None and cm.edgetpu_custom_op_count == 1 and cm.min_runtime_versions == (13,)


# --- failures --------------------------------------------------------------------------------------


def test_compilation_failed_exit_1(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    scenario("fail")
    out = tmp_path / "out"
    with pytest.raises(CompilerFailedError) as err:
        run_compiler(model, compiler=STAND_IN, out_dir=out, timeout_s=30)
    e = err.value
    msg = str(e)
    assert "\n" not in msg and e.code == "TPU934"
    assert "exit 1" in msg and "large_activations" in msg and "large activation tensors" in msg
    assert e.run is not None and e.run.exit_code == 1
    assert e.run.output.error_kind == "large_activations"
    assert "Compilation failed!" in e.run.console
    assert not e.run.temp_dir.exists()
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "extra", "kind", "exit_text"),
    [
        ("not_quantized", {}, "not_quantized", "exit 1"),
        ("internal", {"STAND_IN_EXIT": "0"}, "internal_error", "exit 0"),  # exit 0 but says it failed
        ("version", {}, "version_only", "exit 0"),
        ("garbage", {"STAND_IN_EXIT": "2"}, "unparseable", "exit 2"),
    ],
)
def test_reported_failures(
    scenario: Scenario, model: Path, tmp_path: Path, name: str, extra: dict[str, str], kind: str, exit_text: str
) -> None:
    scenario(name, **extra)
    with pytest.raises(CompilerFailedError) as err:
        run_compiler(model, compiler=STAND_IN, out_dir=tmp_path / "out", timeout_s=30)
    assert exit_text in str(err.value) and f"[{kind}]" in str(err.value)
    assert err.value.run is not None and err.value.run.output.error_kind == kind


def test_garbage_output(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    scenario("garbage")
    with pytest.raises(CompilerOutputError) as err:
        run_compiler(model, compiler=STAND_IN, out_dir=tmp_path / "out", timeout_s=30)
    assert "cannot understand" in str(err.value) and err.value.code == "TPU935"
    assert err.value.run is not None and "stand-in garbage" in err.value.run.console


def test_timeout(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    scenario("timeout", STAND_IN_SLEEP="30")
    start = time.monotonic()
    with pytest.raises(CompilerTimeoutError) as err:
        run_compiler(model, compiler=STAND_IN, out_dir=tmp_path / "out", timeout_s=1.0)
    assert time.monotonic() - start < 15
    assert "within 1 s" in str(err.value) and err.value.code == "TPU932"
    assert err.value.run is not None and err.value.run.exit_code is None
    assert "Started a compilation timeout timer" in err.value.run.console


def test_crash_by_signal(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    scenario("crash")
    with pytest.raises(CompilerCrashError) as err:
        run_compiler(model, compiler=STAND_IN, out_dir=tmp_path / "out", timeout_s=30)
    assert "SIGSEGV" in str(err.value) and err.value.code == "TPU933"
    assert err.value.run is not None and err.value.run.exit_code == -11


def test_missing_model_and_owned_flags(scenario: Scenario, tmp_path: Path, model: Path) -> None:
    scenario("success")
    with pytest.raises(ModelReadError):
        run_compiler(tmp_path / "nope.tflite", compiler=STAND_IN, timeout_s=30)
    for flags in (["-o", "x"], ["--out_dir=x"], ["-m", "12"], ["--min_runtime_version=12"]):
        with pytest.raises(CompilerUsageError):
            run_compiler(model, compiler=STAND_IN, extra_flags=flags, timeout_s=30)


# --- existing outputs, --force, input untouched ------------------------------------------------------


def test_existing_output_kept_without_force(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    argv_file = scenario("success")
    out = tmp_path / "out"
    out.mkdir()
    existing = out / "ASR_Model_edgetpu.tflite"
    existing.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="--force"):
        run_compiler(model, compiler=STAND_IN, out_dir=out, timeout_s=30)
    assert existing.read_bytes() == b"keep me"
    assert not argv_file.exists()  # refused before the compiler ran


def test_existing_output_replaced_with_force(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    scenario("success")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ASR_Model_edgetpu.tflite").write_bytes(b"old")
    (out / "ASR_Model_edgetpu.log").write_text("old log")
    run = run_compiler(model, compiler=STAND_IN, out_dir=out, force=True, timeout_s=30)
    assert sha(out / "ASR_Model_edgetpu.tflite") == sha(ASR_OUT)
    assert (out / "ASR_Model_edgetpu.log").read_text().startswith("Edge TPU Compiler version 2.0.291256449")
    assert sorted(p.name for p in out.iterdir()) == ["ASR_Model_edgetpu.log", "ASR_Model_edgetpu.tflite"]
    assert run.success


def test_never_overwrites_input_even_with_force(scenario: Scenario, model: Path, tmp_path: Path) -> None:
    scenario("success")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ASR_Model_edgetpu.tflite").symlink_to(model)  # the output name resolves to the input
    before = sha(model)
    with pytest.raises(OutputExistsError, match="input model"):
        run_compiler(model, compiler=STAND_IN, out_dir=out, force=True, timeout_s=30)
    assert sha(model) == before


@pytest.mark.parametrize("name", ["success", "partial", "fail", "garbage", "crash"])
def test_input_model_never_modified(scenario: Scenario, model: Path, tmp_path: Path, name: str) -> None:
    if name == "partial":
        need_n32()
    scenario(name)
    before = sha(model)
    mtime = model.stat().st_mtime_ns
    with contextlib.suppress(CompilerFailedError, CompilerOutputError, CompilerCrashError):
        run_compiler(model, compiler=STAND_IN, write_beside=True, force=True, timeout_s=30)
    assert sha(model) == before and model.stat().st_mtime_ns == mtime
