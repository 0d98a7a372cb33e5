"""One test per rule (Vela's style): a tiny model built in memory, checked for the exact finding.

The converter-made fixtures (tests/test_fixtures_placement.py) and the real corpus
(tests/test_corpus.py) check the same rules on real models.
"""

from __future__ import annotations

import pytest
from builders import M, O, T, build, conv_chain, i32

from tpulint.analyze import analyze_model
from tpulint.context import Target
from tpulint.model import parse_model
from tpulint.report import ModelReport

T16 = Target(compiler="16.0")


def check(m: M, target: Target = T16) -> ModelReport:
    return analyze_model(parse_model(build(m)), target, label="test.tflite")


def codes_at(rep: ModelReport, op: int) -> set[str]:
    return {f.code for f in rep.findings if f.op_index == op}


def placement(rep: ModelReport) -> list[str]:
    return [o.placement for o in rep.ops]


def test_supported_chain_maps() -> None:
    rep = check(conv_chain(O("RELU", ["a"], ["b"])))
    assert placement(rep) == ["tpu"] * 3 and rep.findings == [] and rep.summary.outcome == "full"


def test_tpu101_unsupported_op_cuts_the_chain() -> None:
    rep = check(conv_chain(O("LEAKY_RELU", ["a"], ["b"], options=("LeakyReluOptions", {"Alpha": 0.1}))))
    assert placement(rep) == ["tpu", "cpu", "cpu"]
    assert codes_at(rep, 1) == {"TPU101"} and codes_at(rep, 2) == {"TPU501"}
    assert rep.ops[1].status == "Operation not supported"
    assert rep.ops[2].status == "More than one subgraph is not supported"


def test_tpu102_fused_activation_on_pool() -> None:
    opts = (
        "Pool2DOptions",
        {"StrideH": 1, "StrideW": 1, "FilterHeight": 1, "FilterWidth": 1, "FusedActivationFunction": 1},
    )
    rep = check(conv_chain(O("MAX_POOL_2D", ["a"], ["b"], options=opts)))
    assert codes_at(rep, 1) == {"TPU102"}
    f = next(f for f in rep.findings if f.code == "TPU102")
    assert f.observed == "fused activation RELU"


def test_tpu103_unequal_dilation() -> None:
    m = conv_chain()
    m.ops[0].options = ("Conv2DOptions", {"StrideH": 1, "StrideW": 1, "DilationHFactor": 1, "DilationWFactor": 2})
    rep = check(m)
    assert codes_at(rep, 0) == {"TPU103"} and rep.ops[0].placement == "cpu"


def test_tpu104_strided_slice_strides() -> None:
    extra = [
        T("begin", [4], "INT32", data=i32(0, 0, 0, 0)),
        T("end", [4], "INT32", data=i32(1, 8, 8, 4)),
        T("strides", [4], "INT32", data=i32(1, 2, 2, 1)),
    ]
    m = conv_chain(
        O("STRIDED_SLICE", ["a", "begin", "end", "strides"], ["b"], version=2, options=("StridedSliceOptions", {})),
        extra_tensors=extra,
    )
    m.tensors[4].shape = [1, 4, 4, 4]
    m.tensors[7].shape = [1, 4, 4, 4]
    rep = check(m)
    assert codes_at(rep, 1) == {"TPU104"}
    assert "strides [1, 2, 2, 1]" in next(f.observed for f in rep.findings if f.code == "TPU104")
    # strides of 1 map
    m.tensors[-1].data = i32(1, 1, 1, 1)
    assert codes_at(check(m), 1) == set()


def test_tpu105_softmax_size_and_rank_by_compiler() -> None:
    big = M(
        tensors=[T("x", [1, 20000]), T("y", [1, 20000])],
        ops=[O("SOFTMAX", ["x"], ["y"], options=("SoftmaxOptions", {"Beta": 1.0}))],
        inputs=["x"],
        outputs=["y"],
    )
    assert codes_at(check(big), 0) == {"TPU105"}
    multi = M(
        tensors=[T("x", [1, 4, 49, 49]), T("y", [1, 4, 49, 49])],
        ops=[O("SOFTMAX", ["x"], ["y"], options=("SoftmaxOptions", {"Beta": 1.0}))],
        inputs=["x"],
        outputs=["y"],
    )
    assert codes_at(check(multi), 0) == set()  # 16.0 maps it (corpus)
    assert codes_at(check(multi, Target(compiler="14.1")), 0) == {"TPU105"}
    # The fix fits the cause: a reshape helps a 4-D input on 14.1, not a 20,000-class axis.
    (f,) = [f for f in check(multi, Target(compiler="14.1")).findings if f.code == "TPU105"]
    assert (f.fix or "").startswith("Reshape the softmax input to [1, N]")
    (f,) = [f for f in check(big).findings if f.code == "TPU105"]
    assert (f.fix or "").startswith("A reshape does not help: the softmax axis has 20000 elements")


def test_tpu106_concat_constant_must_be_zero_pad() -> None:
    nonzero = T("k", [1, 8, 8, 4], "INT8", data=bytes([1]) * 256)
    m = conv_chain(extra_tensors=[nonzero])
    m.tensors[4].shape = [1, 8, 8, 8]
    m.tensors[5].shape = [4, 1, 1, 8]
    m.tensors[5].data = bytes(32)
    m.ops.insert(1, O("CONCATENATION", ["a", "k"], ["b"], options=("ConcatenationOptions", {"Axis": 3})))
    m.ops[2].inputs = ["b", "w2", "b2"]
    rep = check(m)
    assert codes_at(rep, 1) == {"TPU106"}
    nonzero.data = bytes(256)  # all zeros (zero point 0): a zero-padding concat maps
    assert codes_at(check(m), 1) == set()


def test_tpu107_reduce_axes() -> None:
    axis = T("axis", [1], "INT32", data=i32(3))
    m = M(
        tensors=[T("x", [1, 8, 8, 6]), axis, T("y", [1, 8, 8, 1])],
        ops=[O("SUM", ["x", "axis"], ["y"], version=2, options=("ReducerOptions", {"KeepDims": True}))],
        inputs=["x"],
        outputs=["y"],
    )
    rep = check(m)
    assert codes_at(rep, 0) == {"TPU107"} and "6 channels" in rep.findings[0].observed
    assert (rep.findings[0].fix or "").startswith("Reduce over a multiple of 4 channels (e.g. 8:")
    m.tensors[0].shape = [1, 8, 8, 8]
    assert codes_at(check(m), 0) == set()
    # Coral's table states the multiple of 4 for Mean and Sum only, not for ReduceMax.
    m.tensors[0].shape = [1, 8, 8, 6]
    m.ops[0] = O("REDUCE_MAX", ["x", "axis"], ["y"], version=2, options=("ReducerOptions", {"KeepDims": True}))
    assert codes_at(check(m), 0) == set()


def test_tpu108_pad_batch() -> None:
    pads = T("pads", [4, 2], "INT32", data=i32(1, 1, 0, 0, 0, 0, 0, 0))
    m = M(
        tensors=[T("x", [1, 8, 8, 4]), pads, T("y", [3, 8, 8, 4])],
        ops=[O("PAD", ["x", "pads"], ["y"], version=2)],
        inputs=["x"],
        outputs=["y"],
    )
    assert "TPU108" in codes_at(check(m), 0)
    pads.data = i32(0, 0, 1, 1, 1, 1, 0, 0)
    m.tensors[2].shape = [1, 10, 10, 4]
    assert codes_at(check(m), 0) == set()


def test_tpu109_transpose_moving_batch() -> None:
    perm = T("perm", [4], "INT32", data=i32(1, 0, 2, 3))
    m = M(
        tensors=[T("x", [1, 8, 6, 4]), perm, T("y", [8, 1, 6, 4])],
        ops=[O("TRANSPOSE", ["x", "perm"], ["y"], version=2)],
        inputs=["x"],
        outputs=["y"],
    )
    rep = check(m)
    assert "TPU109" in codes_at(rep, 0)


def test_tpu110_prelu_alpha() -> None:
    alpha = T("alpha", [8, 8, 4], "INT8", data=bytes(256))
    m = M(
        tensors=[T("x", [1, 8, 8, 4]), alpha, T("y", [1, 8, 8, 4])],
        ops=[O("PRELU", ["x", "alpha"], ["y"])],
        inputs=["x"],
        outputs=["y"],
    )
    assert codes_at(check(m), 0) == {"TPU110"}
    alpha.shape, alpha.data = [1, 1, 4], bytes(4)
    assert codes_at(check(m), 0) == set()


def test_tpu111_fc_weights_format_and_constness() -> None:
    w = T("w", [4, 8], "INT8", data=bytes(32))
    m = M(
        tensors=[T("x", [1, 8]), w, T("y", [1, 4])],
        ops=[
            O(
                "FULLY_CONNECTED",
                ["x", "w", None],
                ["y"],
                version=4,
                options=("FullyConnectedOptions", {"WeightsFormat": 1}),
            )
        ],
        inputs=["x"],
        outputs=["y"],
    )
    assert codes_at(check(m), 0) == {"TPU111"}
    # activation weights: fine on 16.0 (corpus), not on older compilers
    act = M(
        tensors=[T("x", [1, 8]), T("w", [4, 8]), T("y", [1, 4])],
        ops=[O("FULLY_CONNECTED", ["x", "w", None], ["y"], version=4)],
        inputs=["x", "w"],
        outputs=["y"],
    )
    assert codes_at(check(act), 0) == set()
    assert codes_at(check(act, Target(compiler="15.0")), 0) == {"TPU111"}


def test_tpu112_bilinear_upscale() -> None:
    size = T("size", [2], "INT32", data=i32(33, 33))
    m = M(
        tensors=[T("x", [1, 1, 1, 8]), size, T("y", [1, 33, 33, 8])],
        ops=[O("RESIZE_BILINEAR", ["x", "size"], ["y"], options=("ResizeBilinearOptions", {"AlignCorners": True}))],
        inputs=["x"],
        outputs=["y"],
    )
    rep = check(m)
    assert codes_at(rep, 0) == {"TPU112"} and "x33" in rep.findings[0].observed
    m.tensors[0].shape = [1, 17, 17, 8]
    assert codes_at(check(m), 0) == set()


def test_tpu113_flex_and_tpu114_custom_are_compile_errors() -> None:
    m = conv_chain(O("CUSTOM", ["a"], ["b"], custom_code="FlexSplitV"))
    rep = check(m)
    assert rep.summary.outcome == "compile_error"
    f = next(f for f in rep.findings if f.code == "TPU113")
    assert f.compiler_error is not None and "Regular TensorFlow ops are not supported" in f.compiler_error
    assert all(o.placement == "cpu" for o in rep.ops)
    m2 = conv_chain(O("CUSTOM", ["a"], ["b"], custom_code="Atan"))
    rep2 = check(m2)
    assert rep2.summary.outcome == "compile_error"
    assert "Encountered unresolved custom op: Atan" in (rep2.summary.compiler_error or "")


def test_known_custom_op_stays_on_cpu_at_the_end() -> None:
    m = conv_chain()
    m.tensors.append(T("boxes", [1, 10, 4], "FLOAT32"))
    m.ops.append(O("CUSTOM", ["output"], ["boxes"], custom_code="TFLite_Detection_PostProcess"))
    m.outputs = ["boxes"]
    rep = check(m)
    assert placement(rep) == ["tpu", "tpu", "cpu"]
    assert rep.ops[2].status == "Operation is working on an unsupported data type"
    assert rep.ops[2].opcode == "TFLite_Detection_PostProcess" and rep.ops[2].log_name == "CUSTOM"


def test_tpu115_split_axis0_status_is_the_logs_verbatim() -> None:
    axis = T("axis", [], "INT32", data=i32(0))
    m = M(
        tensors=[axis, T("x", [4, 49, 32]), T("y0", [2, 49, 32]), T("y1", [2, 49, 32])],
        ops=[O("SPLIT", ["axis", "x"], ["y0", "y1"], version=2, options=("SplitOptions", {"NumSplits": 2}))],
        inputs=["x"],
        outputs=["y0", "y1"],
    )
    rep = check(m)
    assert codes_at(rep, 0) == {"TPU115"}
    assert rep.ops[0].status == "For example, a fully-connected or softmax layer with 2D output"


def test_tpu116_transpose_size() -> None:
    perm = T("perm", [4], "INT32", data=i32(0, 3, 1, 2))
    m = M(
        tensors=[T("x", [1, 40, 40, 65]), perm, T("y", [1, 65, 40, 40])],
        ops=[O("TRANSPOSE", ["x", "perm"], ["y"], version=2)],
        inputs=["x"],
        outputs=["y"],
    )
    assert codes_at(check(m), 0) == {"TPU116"}
    m.tensors[0].shape, m.tensors[2].shape = [1, 22, 22, 144], [1, 144, 22, 22]
    assert codes_at(check(m), 0) == set()


def test_tpu201_dtypes_and_variable_state_exempt() -> None:
    m = conv_chain(O("CAST", ["a"], ["b"]))
    m.tensors[4].dtype = "FLOAT32"
    m.tensors[4].quant = False
    rep = check(m)
    assert "TPU201" in codes_at(rep, 1) and "TPU201" in codes_at(rep, 2)
    state = M(
        tensors=[T("x", [1, 4]), T("s", [1, 4], "INT16", is_variable=True), T("y", [1, 4])],
        ops=[O("ADD", ["x", "s"], ["y"], version=2)],
        inputs=["x"],
        outputs=["y"],
    )
    assert "TPU201" not in codes_at(check(state), 0)


def test_tpu201_compiler_1_0_is_uint8_only() -> None:
    m = conv_chain(O("RELU", ["a"], ["b"]))
    assert codes_at(check(m, Target(compiler="1.0")), 0) == {"TPU201"}
    u8 = conv_chain(O("RELU", ["a"], ["b"]), dtype="UINT8")
    for t in u8.tensors:
        if t.name.startswith("w"):
            t.dtype = "UINT8"
    assert check(u8, Target(compiler="1.0")).findings == []


def test_tpu202_missing_quantization() -> None:
    m = conv_chain(O("RELU", ["a"], ["b"]))
    m.tensors[3].quant = False
    assert "TPU202" in codes_at(check(m), 1)


def test_tpu203_and_tpu204_float_io_model() -> None:
    m = conv_chain()
    m.tensors.insert(0, T("fin", [1, 8, 8, 4], "FLOAT32"))
    m.ops.insert(0, O("QUANTIZE", ["fin"], ["input"]))
    m.inputs = ["fin"]
    rep = check(m)
    assert placement(rep) == ["cpu", "tpu", "tpu"]
    assert codes_at(rep, 0) == {"TPU204"}
    assert rep.ops[0].status == "Operation is otherwise supported, but not mapped due to some unspecified limitation"
    assert not any(f.code == "TPU203" for f in rep.findings)  # only the edge adapter is float


def test_tpu301_rank_and_tpu501_cut() -> None:
    shape = T("shape", [5], "INT32", data=i32(1, 8, 8, 2, 2))
    m = conv_chain(O("RESHAPE", ["a", "shape"], ["b"]), extra_tensors=[shape])
    m.tensors[4].shape = [1, 8, 8, 2, 2]
    rep = check(m)
    assert codes_at(rep, 1) == {"TPU301"}
    assert rep.ops[1].status == "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"


def test_tpu302_runtime_sized_reshape_is_a_compile_error() -> None:
    m = M(
        tensors=[T("x", [1, 8]), T("shp", [2], "INT32"), T("y", [1, 8]), T("z", [1, 8])],
        ops=[O("SHAPE", ["x"], ["shp"]), O("RESHAPE", ["x", "shp"], ["y"]), O("RELU", ["y"], ["z"])],
        inputs=["x"],
        outputs=["z"],
    )
    rep = check(m)
    assert rep.summary.outcome == "compile_error"
    assert "static-sized tensors" in (rep.summary.compiler_error or "")


def test_tpu303_signature_only_is_a_warning() -> None:
    m = conv_chain(O("RELU", ["a"], ["b"]))
    m.tensors[0].signature = [-1, 8, 8, 4]
    rep = check(m)
    f = next(f for f in rep.findings if f.code == "TPU303")
    assert f.severity == "warning" and rep.summary.outcome == "full"


def test_tpu304_row_limit() -> None:
    m = M(
        # The output has LOGISTIC's fixed scale 1/256, as the converter writes it (else TPU208).
        tensors=[T("x", [1, 84, 8400]), T("y", [1, 84, 8400], scale=[1 / 256], zero_point=[-128])],
        ops=[O("LOGISTIC", ["x"], ["y"])],
        inputs=["x"],
        outputs=["y"],
    )
    assert codes_at(check(m), 0) == {"TPU304"}
    m.tensors[0].shape = m.tensors[1].shape = [1, 84, 2100]
    assert codes_at(check(m), 0) == set()


def test_tpu401_runtime_gate() -> None:
    m = conv_chain(O("RSQRT", ["a"], ["b"], version=2))
    assert codes_at(check(m, Target(compiler="16.0", runtime=13)), 1) == {"TPU401"}
    assert codes_at(check(m), 1) == set()
    (f,) = [f for f in check(m, Target(compiler="16.0", runtime=13)).findings if f.code == "TPU401"]
    assert (f.fix or "").startswith("Target --runtime 14 (edgetpu_compiler -m 14; compiler 16.0 accepts it)")
    (f,) = [f for f in check(m, Target(compiler="15.0")).findings if f.code == "TPU401"]
    assert (f.fix or "").startswith("Target compiler 16.0 with --runtime 14 (compiler 15.0 targets at most runtime 13)")


def test_tpu402_op_version_ceiling_is_a_parse_error() -> None:
    m = conv_chain()
    for o in m.ops:
        o.version = 6
    rep = check(m)
    assert rep.summary.outcome == "compile_error"
    assert "Didn't find op for builtin opcode 'CONV_2D' version '6'" in (rep.summary.compiler_error or "")
    (f,) = [f for f in rep.findings if f.code == "TPU402"]
    assert (f.fix or "").startswith(
        "Convert with TensorFlow 2.8.x, the newest whose converter writes op versions compiler 16.0"
    )
    for o in m.ops:
        o.version = 5  # CONV_2D v5: TF 2.3's; compiler 14.1 parses up to v4 (TF <= 2.2)
    (f,) = [f for f in check(m, Target(compiler="14.1")).findings if f.code == "TPU402"]
    assert "TensorFlow 2.2.x" in (f.fix or "") and "compiler 14.1" in (f.fix or "")


def test_tpu403_add_v4_not_mapped_on_16() -> None:
    m = conv_chain(O("ADD", ["a", "a"], ["b"], version=4))
    rep = check(m)
    assert codes_at(rep, 1) == {"TPU403"}
    assert rep.ops[1].status == "Operation version not supported"


def test_tpu403_fix_names_what_maps_the_version() -> None:
    add_v4 = check(conv_chain(O("ADD", ["a", "a"], ["b"], version=4)))
    (f,) = [f for f in add_v4.findings if f.code == "TPU403"]
    assert f.fix is not None and f.fix.startswith("No Edge TPU compiler maps ADD v4")
    # RESIZE_BILINEAR v3 is unmapped on 14.1 only: 16.0 (and 15.0) map it.
    resize = conv_chain(O("RESIZE_BILINEAR", ["a", "size"], ["b"], version=3))
    resize.tensors.append(T("size", [2], "INT32", data=i32(8, 8), quant=False))
    rep = check(resize, Target(compiler="14.1"))
    (f,) = [f for f in rep.findings if f.code == "TPU403"]
    assert f.fix is not None and f.fix.startswith("Use compiler 16.0, which maps RESIZE_BILINEAR v3")


def test_tpu403_names_the_ops_that_raise_a_shared_op_version() -> None:
    """One int64 ADD gives the model's single ADD operator code version 4: the int8 ADD is not
    mapped because of it, and the finding says so (the pattern of edward_mot_yolov10n_192)."""
    m = conv_chain(
        O("ADD", ["a", "a"], ["b"], version=4),
        extra_tensors=[T("i", [2], "INT64", quant=False), T("j", [2], "INT64", quant=False)],
    )
    m.ops.append(O("ADD", ["i", "i"], ["j"], version=4))
    m.inputs.append("i")
    m.outputs.append("j")
    rep = check(m)
    (f,) = [f for f in rep.findings if f.code == "TPU403" and f.op_index == 1]
    assert "1 of them work on INT64 tensors (ops 3): what raises it to version 4" in f.observed
    assert f.fix is not None and f.fix.startswith("Remove the INT64 ADD ops from the model")


def test_tpu502_multiple_subgraphs() -> None:
    m = conv_chain(O("RELU", ["a"], ["b"]))
    m.extra_subgraphs = 1
    rep = check(m)
    assert any(f.code == "TPU502" for f in rep.findings)
    other = [o for o in rep.ops if o.subgraph == 1]
    assert other and all(o.placement == "cpu" for o in other)


def test_tpu503_intermediate_tensors() -> None:
    m = conv_chain(O("RELU", ["a"], ["b"]))
    rep = check(m, Target(compiler="16.0", intermediate_tensors=("a",)))
    assert placement(rep) == ["tpu", "cpu", "cpu"]
    assert codes_at(rep, 1) == {"TPU503"}


def test_tpu601_parameter_cache() -> None:
    w = T("w", [2048, 4096], "INT8", data=bytes(2048 * 4096))
    m = M(
        tensors=[T("x", [1, 4096]), w, T("y", [1, 2048])],
        ops=[O("FULLY_CONNECTED", ["x", "w", None], ["y"], version=4)],
        inputs=["x"],
        outputs=["y"],
    )
    rep = check(m)
    f = next(f for f in rep.findings if f.code == "TPU601")
    assert f.severity == "warning" and rep.summary.off_chip_param_bytes > 0
    assert rep.summary.on_chip_param_bytes + rep.summary.off_chip_param_bytes == 2048 * 4096


def test_multiple_subgraphs_flag_maps_both_sides_of_a_cut() -> None:
    m = conv_chain(O("LEAKY_RELU", ["a"], ["b"], options=("LeakyReluOptions", {"Alpha": 0.1})))
    rep = check(m, Target(compiler="16.0", multiple_subgraphs=True))
    assert placement(rep) == ["tpu", "cpu", "tpu"]
    assert rep.summary.tpu_subgraphs == 2 and [o.segment for o in rep.ops] == [0, None, 1]
    assert not any(f.code == "TPU501" for f in rep.findings)


def test_first_subset_wins_over_largest() -> None:
    """Two mappable regions separated by an unsupported op: only the first becomes the custom op."""
    chain = [T("x", [1, 4])] + [T(f"t{i}", [1, 4]) for i in range(6)]
    ops = [O("RELU", ["x"], ["t0"]), O("LEAKY_RELU", ["t0"], ["t1"], options=("LeakyReluOptions", {"Alpha": 0.1}))]
    ops += [O("RELU", [f"t{i}"], [f"t{i + 1}"]) for i in range(1, 5)]
    rep = check(M(tensors=chain, ops=ops, inputs=["x"], outputs=["t5"]))
    assert placement(rep) == ["tpu", "cpu", "cpu", "cpu", "cpu", "cpu"]


@pytest.mark.parametrize("compiler", ["16.0", "15.0", "14.1", "2.1", "2.0", "1.0"])
def test_every_compiler_version_runs(compiler: str) -> None:
    rep = check(conv_chain(O("RELU", ["a"], ["b"]), dtype="UINT8"), Target(compiler=compiler))
    assert rep.compiler == compiler and len(rep.ops) == 3


@pytest.mark.parametrize(
    ("custom_code", "chip"),
    [("ethos-u", "Arm Ethos-U NPU"), ("NeutronGraph", "NXP eIQ Neutron NPU"), ("vsi-npu", "VeriSilicon NPU")],
)
def test_tpu911_compiled_for_another_accelerator(custom_code: str, chip: str) -> None:
    m = conv_chain(O("CUSTOM", ["a"], ["b"], custom_code=custom_code))
    m.tensors.append(T("c", [1, 8, 8, 4]))
    m.ops.append(O("CUSTOM", ["output"], ["c"], custom_code=custom_code))
    m.outputs = ["c"]
    rep = check(m)
    found = [f for f in rep.findings if f.code == "TPU911"]
    assert len(found) == 1  # one finding per accelerator, at its first op
    assert found[0].op_index == 1 and found[0].severity == "error"
    assert f"2 '{custom_code}' custom op(s)" in found[0].observed and chip in found[0].observed
    assert "TPU114" in {f.code for f in rep.findings}  # the compiler still stops on the custom op
    assert not any(f.code == "TPU911" for f in check(conv_chain(O("RELU", ["a"], ["b"]))).findings)


def test_tpu201_int8_needs_runtime_12() -> None:
    """int8 data needs runtime 12 (libedgetpu runtime_version.h); with -m 11 an int8 model maps
    nothing (edgetpu#222: 0 of 400 ops, "Operation is working on an unsupported data type")."""
    m = conv_chain(O("RELU", ["a"], ["b"]))
    old = check(m, Target(compiler="16.0", runtime=11))
    assert old.summary.ops_tpu == 0
    assert {o.status for o in old.ops} == {"Operation is working on an unsupported data type"}
    f = next(f for f in old.findings if f.code == "TPU201")
    assert f.message == "Op works on int8 data, which needs Edge TPU runtime 12 or newer"
    assert (f.fix or "").startswith("Target runtime 12 or newer (edgetpu_compiler -m 12")
    assert check(m, Target(compiler="16.0", runtime=12)).summary.ops_tpu == len(m.ops)
    uint8 = conv_chain(O("RELU", ["a"], ["b"]), dtype="UINT8")  # a TF1-style uint8 model: uint8 weights too
    for t in uint8.tensors:
        if t.dtype == "INT8":
            t.dtype = "UINT8"
    assert check(uint8, Target(compiler="16.0", runtime=10)).summary.ops_tpu == len(uint8.ops)


def test_tpu117_fc_with_a_multi_row_output_before_16() -> None:
    m = conv_chain(
        O("FULLY_CONNECTED", ["a", "wf"], ["b"], version=4),
        shape=[1, 8, 4],
        extra_tensors=[T("wf", [4, 4], data=bytes(16))],
    )
    assert codes_at(check(m), 1) == set()  # 16.0 maps it (corpus)
    rep = check(m, Target(compiler="15.0"))
    assert "TPU117" in codes_at(rep, 1)
    assert rep.ops[1].status == "For example, a fully-connected or softmax layer with 2D output"
    (f,) = [f for f in rep.findings if f.code == "TPU117"]
    assert f.observed == "output [1,8,4] has 8 rows (compiler 15.0)"
    one_row = conv_chain(
        O("FULLY_CONNECTED", ["a", "wf"], ["b"], version=4),
        shape=[1, 4],
        extra_tensors=[T("wf", [4, 4], data=bytes(16))],
    )
    assert "TPU117" not in codes_at(check(one_row, Target(compiler="15.0")), 1)


def test_tpu118_mean_over_a_large_input() -> None:
    def mean_model(h: int) -> M:
        return M(
            tensors=[
                T("x", [1, h, 128, 3]),
                T("axes", [2], "INT32", data=i32(1, 2), quant=False),
                T("y", [1, 1, 1, 3]),
            ],
            ops=[O("MEAN", ["x", "axes"], ["y"], options=("ReducerOptions", {"KeepDims": True}))],
            inputs=["x"],
            outputs=["y"],
        )

    # edgetpu#461: [1,256,128,3] (98,304 elements) is not mapped, [1,64,128,3] chunks are.
    assert codes_at(check(mean_model(256)), 0) == {"TPU118"}
    assert codes_at(check(mean_model(64)), 0) == set()
    (f,) = check(mean_model(256)).findings
    assert f.observed == "input [1,256,128,3]: 98,304 elements (max 98,303)"


def test_tpu112_compiler_2_0_maps_no_bilinear_resize() -> None:
    """edgetpu#63: "Image-interpolation layer won't run precisely enough on Edge TPU" (2.0; fixed in 2.1)."""
    m = conv_chain(
        O("RESIZE_BILINEAR", ["a", "size"], ["b"], version=2, options=("ResizeBilinearOptions", {})),
        extra_tensors=[T("size", [2], "INT32", data=i32(8, 8), quant=False)],
    )
    rep = check(m, Target(compiler="2.0"))
    assert codes_at(rep, 1) == {"TPU112"}
    assert rep.ops[1].status == "Image-interpolation layer won't run precisely enough on Edge TPU"
    assert codes_at(check(m, Target(compiler="2.1")), 1) == set()
