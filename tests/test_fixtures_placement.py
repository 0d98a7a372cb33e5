"""Exact predicted placement of every op, and the cut, for each converter-made fixture."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from tpulint.analyze import analyze_path
from tpulint.context import Target

T16 = Target(compiler="16.0")

# fixture -> (CPU op indices, first CPU op, outcome, codes that must be reported)
EXPECTED: dict[str, tuple[list[int], int | None, str, set[str]]] = {
    "int8_cnn.tflite": ([], None, "full", set()),
    "uint8_cnn.tflite": ([], None, "full", set()),
    "float_cnn.tflite": (list(range(12)), 0, "none", {"TPU201", "TPU203", "TPU701"}),
    "dynamic_range.tflite": (list(range(12)), 0, "none", {"TPU201", "TPU203", "TPU703"}),
    "float16.tflite": (list(range(21)), 0, "none", {"TPU201", "TPU203", "TPU702"}),
    "int8_float_io.tflite": ([0, 13], 0, "partial", {"TPU201", "TPU204", "TPU704"}),
    "unsupported_mid.tflite": ([1, 2, 3], 1, "partial", {"TPU101", "TPU501"}),
    "batch2.tflite": ([0, 1, 2, 3], 0, "partial", {"TPU301", "TPU708"}),
    "rank5.tflite": ([1, 3, 4, 5, 6, 7], 1, "partial", {"TPU301", "TPU501"}),
    "dynamic_batch.tflite": ([], None, "full", {"TPU303"}),
    "transpose.tflite": ([], None, "full", set()),
    "reduce_max.tflite": ([], None, "full", set()),
    "mean_pool.tflite": ([], None, "full", set()),
    "split_concat.tflite": ([], None, "full", set()),
    "lstm.tflite": ([], None, "full", set()),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_placement(name: str) -> None:
    cpu, first, outcome, codes = EXPECTED[name]
    rep = analyze_path(FIXTURES / name, T16)
    assert rep.ok, rep.error
    got_cpu = [o.index for o in rep.ops if o.placement == "cpu"]
    assert got_cpu == cpu
    assert rep.summary.outcome == outcome
    assert (rep.summary.first_cpu_op.index if rep.summary.first_cpu_op else None) == first
    assert {f.code for f in rep.findings} == codes
    assert rep.summary.ops_tpu + rep.summary.ops_cpu == rep.summary.ops_total == len(rep.ops)


def test_cut_status_and_cause() -> None:
    rep = analyze_path(FIXTURES / "unsupported_mid.tflite", T16)
    statuses = [o.status for o in rep.ops]
    assert statuses == [
        "Mapped to Edge TPU",
        "Operation not supported",
        "More than one subgraph is not supported",
        "More than one subgraph is not supported",
    ]
    cut = [f for f in rep.findings if f.code == "TPU501"]
    assert [f.op_index for f in cut] == [2, 3]
    assert all("op 1 LEAKY_RELU" in f.observed for f in cut)
    assert rep.summary.first_cpu_op is not None and rep.summary.first_cpu_op.opcode == "LEAKY_RELU"
    assert rep.summary.first_cpu_op.codes == ["TPU101"]


def test_batch_gives_rank_status_with_observed_shape() -> None:
    rep = analyze_path(FIXTURES / "batch2.tflite", T16)
    assert rep.ops[0].status == "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"
    f = next(f for f in rep.findings if f.code == "TPU301")
    assert "batch size 2" in f.observed and "[2,16,16,3]" in f.observed
    # one finding per op, naming every offending tensor (input and output of op 0)
    rank = [f.op_index for f in rep.findings if f.code == "TPU301"]
    assert rank == sorted(set(rank)) == [0, 1, 2, 3]
    assert f.observed.count("batch size 2") == 2


def test_rank5_observed() -> None:
    rep = analyze_path(FIXTURES / "rank5.tflite", T16)
    f = next(f for f in rep.findings if f.code == "TPU301")
    assert "rank 5" in f.observed and "[1,8,8,2,3]" in f.observed


@pytest.mark.parametrize(
    ("name", "opcode", "runtime13_cpu"),
    [("transpose.tflite", "TRANSPOSE", [1, 2]), ("reduce_max.tflite", "REDUCE_MAX", [1, 2])],
)
def test_runtime_14_ops(name: str, opcode: str, runtime13_cpu: list[int]) -> None:
    at14 = analyze_path(FIXTURES / name, Target(compiler="16.0", runtime=14))
    at13 = analyze_path(FIXTURES / name, Target(compiler="16.0", runtime=13))
    assert [o.placement for o in at14.ops] == ["tpu"] * 3
    assert [o.index for o in at13.ops if o.placement == "cpu"] == runtime13_cpu
    op = at13.ops[1]
    assert op.opcode == opcode and op.status == "Operation not supported" and op.codes == ["TPU401"]


def test_float_model_is_a_compile_error_on_old_compilers() -> None:
    rep = analyze_path(FIXTURES / "float_cnn.tflite", Target(compiler="14.1"))
    assert rep.summary.outcome == "compile_error"
    assert rep.summary.compiler_error is not None and "Model not quantized" in rep.summary.compiler_error
    assert all(o.placement == "cpu" for o in rep.ops)


def test_float_model_on_16_maps_nothing_with_dtype_status() -> None:
    rep = analyze_path(FIXTURES / "float_cnn.tflite", T16)
    assert rep.summary.outcome == "none"
    assert {o.status for o in rep.ops} == {"Operation is working on an unsupported data type"}
    q = next(f for f in rep.findings if f.code == "TPU203")
    assert q.severity == "warning" and q.observed.startswith("float model")


def test_dynamic_range_and_float16_are_named() -> None:
    dr = analyze_path(FIXTURES / "dynamic_range.tflite", T16)
    assert next(f for f in dr.findings if f.code == "TPU203").observed.startswith("dynamic-range")
    fp16 = analyze_path(FIXTURES / "float16.tflite", T16)
    assert next(f for f in fp16.findings if f.code == "TPU203").observed.startswith("float16")


def test_macs_and_params_share() -> None:
    rep = analyze_path(FIXTURES / "unsupported_mid.tflite", T16)
    s = rep.summary
    assert s.macs_total > 0 and 0 < s.macs_tpu < s.macs_total
    assert s.params_total > 0 and 0 < s.params_tpu < s.params_total
    full = analyze_path(FIXTURES / "int8_cnn.tflite", T16).summary
    assert full.macs_tpu == full.macs_total and full.params_tpu == full.params_total
