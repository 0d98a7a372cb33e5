"""Comparing a prediction with the compiler's per-op table (counts only; the log has no indices)."""

from __future__ import annotations

from pathlib import Path

from tpulint.compiler.confirm import diff_counts
from tpulint.compiler.logparse import MAPPED, TAIL, OperatorRow, parse_log_file

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "compiler_logs"
OTHER = "Operation is otherwise supported, but not mapped due to some unspecified limitation"
DTYPE = "Operation is working on an unsupported data type"


def real_table(name: str) -> list[OperatorRow]:
    return list(parse_log_file((FIX / name).read_text(encoding="utf-8")).operator_table)


def expand(rows: list[OperatorRow]) -> list[tuple[str, str]]:
    return [(r.operator, r.status) for r in rows for _ in range(r.count)]


def test_exact_prediction_has_no_disagreement() -> None:
    # jeonghwasik_mnist_lenet_quant (16.0): QUANTIZE and DEQUANTIZE stay on the CPU.
    table = real_table("jeonghwasik_mnist_lenet_quant.log")
    assert diff_counts(expand(table), table) == []


def test_all_mapped_prediction_against_partial_log() -> None:
    table = real_table("jorgitou_conv_N32.log")  # QUANTIZE 1 not mapped, CONV_2D 2 mapped
    predicted = [("QUANTIZE", MAPPED), ("CONV_2D", MAPPED), ("CONV_2D", MAPPED)]
    got = {d.kind: d for d in diff_counts(predicted, table)}
    assert set(got) == {"tpu_ops", "cpu_ops", "placement", "first_cpu_op", "blockers"}
    assert (got["tpu_ops"].predicted, got["tpu_ops"].actual) == (3, 2)
    assert (got["cpu_ops"].predicted, got["cpu_ops"].actual) == (0, 1)
    assert got["placement"].op_type == "QUANTIZE"
    assert got["placement"].predicted == "1/1 mapped" and got["placement"].actual == "0/1 mapped"
    assert got["first_cpu_op"].actual == "QUANTIZE"
    assert (got["blockers"].predicted, got["blockers"].actual) == ("none", "QUANTIZE")


def test_right_placement_wrong_status_wording() -> None:
    table = [OperatorRow("CONV_2D", 2, MAPPED), OperatorRow("QUANTIZE", 1, OTHER)]
    predicted = [("QUANTIZE", DTYPE), ("CONV_2D", MAPPED), ("CONV_2D", MAPPED)]
    got = diff_counts(predicted, table)
    kinds = sorted(d.kind for d in got)
    assert kinds == ["status", "status"]  # counts, placement, first CPU op and blockers agree
    assert {(d.op_type, d.status, d.predicted, d.actual) for d in got} == {
        ("QUANTIZE", DTYPE, 1, 0),
        ("QUANTIZE", OTHER, 0, 1),
    }


def test_tail_ops_are_not_blockers() -> None:
    table = [
        OperatorRow("CONV_2D", 3, MAPPED),
        OperatorRow("LEAKY_RELU", 1, "Operation not supported"),
        OperatorRow("CONV_2D", 2, TAIL),
    ]
    predicted = [("CONV_2D", MAPPED)] * 3 + [("LEAKY_RELU", "Operation not supported")] + [("CONV_2D", TAIL)] * 2
    assert diff_counts(predicted, table) == []
    # Predicting the cut one op too late: one CONV_2D too many on the TPU.
    late = [("CONV_2D", MAPPED)] * 4 + [("LEAKY_RELU", "Operation not supported"), ("CONV_2D", TAIL)]
    kinds = {d.kind for d in diff_counts(late, table)}
    assert kinds == {"tpu_ops", "cpu_ops", "placement"}


def test_first_cpu_op_type_missing_from_actual_cpu_ops() -> None:
    table = [OperatorRow("ADD", 1, MAPPED), OperatorRow("MUL", 1, "Operation not supported")]
    got = diff_counts([("ADD", "Operation not supported"), ("MUL", MAPPED)], table)
    first = next(d for d in got if d.kind == "first_cpu_op")
    assert first.predicted == "ADD" and first.actual == "MUL"


def test_total_mismatch_and_empty_inputs() -> None:
    table = real_table("asr_model_v2compiler.log")
    got = diff_counts([], table)
    assert {d.kind for d in got} == {"total_ops", "tpu_ops", "placement"}
    assert next(d for d in got if d.kind == "total_ops").actual == 12
    assert diff_counts([], []) == []
