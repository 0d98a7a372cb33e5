"""tpulint.confirm and the command helpers: flags <-> prediction options, versions, output
directories, matching a real compiled model's CPU ops to the prediction, the TPU950 rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tpulint.analyze import analyze_path
from tpulint.commands.compile_cmd import DEFAULT_TIMEOUT_S, combine_exit_codes, split_models_and_flags
from tpulint.compiler.compiled import read_compiled_model
from tpulint.compiler.confirm import Disagreement
from tpulint.compiler.driver import DEFAULT_TIMEOUT_S as DRIVER_TIMEOUT
from tpulint.confirm import FlagError, OutputPlan, flags_for, match_cpu_ops, modeled_compiler, parse_extra_flags
from tpulint.context import Target

FIX = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
ASR = FIX / "compiled" / "asr_model_v2compiler"


def test_parse_extra_flags() -> None:
    f = parse_extra_flags(["-a", "-i", "x,y", "-d", "-k", "10", "-s"])
    assert (f.multiple_subgraphs, f.intermediate_tensors, f.search_delegate, f.delegate_search_step) == (
        True,
        ("x", "y"),
        True,
        10,
    )
    assert f.not_modeled == ()
    g = parse_extra_flags(["--enable_multiple_subgraphs", "--intermediate_tensors=t1", "--delegate_search_step=4"])
    assert g.multiple_subgraphs and g.intermediate_tensors == ("t1",) and g.delegate_search_step == 4
    bundle = parse_extra_flags(["-sa"])  # as in jveitchmichaelis/edgetpu-yolo's `edgetpu_compiler -sa`
    assert bundle.multiple_subgraphs and not bundle.search_delegate
    other = parse_extra_flags(["-n", "2", "-t", "60", "--undefok=x"])
    assert other.not_modeled == ("-n 2", "-t 60", "--undefok=x") and not other.multiple_subgraphs
    with pytest.raises(FlagError):
        parse_extra_flags(["-i"])
    with pytest.raises(FlagError):
        parse_extra_flags(["-k", "ten"])


def test_flags_for_target_round_trip() -> None:
    t = Target(multiple_subgraphs=True, intermediate_tensors=("a", "b"), search_delegate=True, delegate_search_step=3)
    flags = flags_for(t)
    assert flags == ["-a", "-i", "a,b", "-d", "-k", "3"]
    back = parse_extra_flags(flags)
    assert (back.multiple_subgraphs, back.intermediate_tensors, back.search_delegate, back.delegate_search_step) == (
        True,
        ("a", "b"),
        True,
        3,
    )
    assert flags_for(Target()) == []


def test_modeled_compiler() -> None:
    assert modeled_compiler("16.0.384591198") == ("16.0", None)
    assert modeled_compiler("2.0.291256449") == ("2.0", None)
    assert modeled_compiler("14.1.317412892") == ("14.1", None)
    version, note = modeled_compiler("17.2.1")
    assert version == "16.0" and note is not None and "17.2.1" in note
    version, note = modeled_compiler("cl/")
    assert version == "16.0" and note is not None


def test_output_plan(tmp_path: Path) -> None:
    assert OutputPlan(tmp_path, False).dir_for(Path("a/m.tflite")) == tmp_path
    assert OutputPlan(None, True).dir_for(Path("a/m.tflite")) is None
    plan = OutputPlan(None, False)
    assert plan.temporary
    first = plan.dir_for(Path("x/m.tflite"))
    try:
        assert first is not None and first == plan.temp_root and first.is_dir()
        assert plan.dir_for(Path("y/other.tflite")) == first
        assert plan.dir_for(Path("y/m.tflite")) == first / "2"  # same name again: no clash
    finally:
        if plan.temp_root is not None:
            plan.temp_root.rmdir()


def test_split_models_and_flags_and_exit_codes() -> None:
    assert split_models_and_flags(["a.tflite", "b.tflite", "-a", "-i", "t"]) == (
        [Path("a.tflite"), Path("b.tflite")],
        ["-a", "-i", "t"],
    )
    assert split_models_and_flags(["a.tflite"]) == ([Path("a.tflite")], [])
    assert combine_exit_codes([0, 1, 3]) == 3
    assert combine_exit_codes([3, 4]) == 4
    assert combine_exit_codes([1, 2, 3]) == 2
    assert combine_exit_codes([]) == 0
    assert DEFAULT_TIMEOUT_S == DRIVER_TIMEOUT


def test_match_cpu_ops_on_real_compiled_models() -> None:
    m = analyze_path(ASR / "ASR_Model.tflite", Target(compiler="2.0"))
    matched, unmatched = match_cpu_ops(m, read_compiled_model(ASR / "ASR_Model_edgetpu.tflite"))
    assert matched == [] and unmatched == []
    case = CORPUS / "jorgitou_conv_N32"  # unlicensed: read from ../shared only
    if not case.is_dir():
        pytest.skip(f"corpus case {case} not found (unlicensed: read from ../shared/corpus, never copied here)")
    m = analyze_path(case / "N32-nMACs41287680_quant.tflite", Target())
    matched, unmatched = match_cpu_ops(m, read_compiled_model(case / "N32-nMACs41287680_quant_edgetpu.tflite"))
    assert [(o.index, o.opcode, o.name) for o in matched] == [(0, "QUANTIZE", "tfl.quantize")] and unmatched == []


def test_tpu950_is_never_part_of_a_prediction() -> None:
    from tpulint.checks.confirmation import ConfirmContext, check_confirmation
    from tpulint.registry import Scope, get_rule

    rule = get_rule("TPU950")
    assert rule is not None and rule.scope is Scope.CONFIRM and rule.name == "confirmation-mismatch"
    m = analyze_path(FIX / "unsupported_mid.tflite", Target())
    assert all(f.code != "TPU950" for f in m.findings)
    assert list(check_confirmation(ConfirmContext("16.0.384591198", "16.0", []))) == []
    d = [Disagreement("tpu_ops", None, None, 3, 2, f"difference {i}") for i in range(6)]
    (v,) = check_confirmation(ConfirmContext("16.0.384591198", "16.0", d))
    assert v.message is not None and "6 differences" in v.message
    assert "difference 0" in v.observed and "and 2 more" in v.observed
