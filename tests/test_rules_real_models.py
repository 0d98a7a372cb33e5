"""Every op rule fires on a REAL converter-made model (fixtures/rule_<CODE>_*.tflite).

The models are made by `fixtures/make_fixtures.py` with the TF 2.21 TFLite converter (see
fixtures/README.md for each one's op list); tests/test_rules.py covers the same rules on
hand-built in-memory models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from conftest import FIXTURES

from tpulint.analyze import analyze_path
from tpulint.context import Target

UNSPECIFIED = "Operation is otherwise supported, but not mapped due to some unspecified limitation"
SUBGRAPHS = "More than one subgraph is not supported"


@dataclass(frozen=True)
class Case:
    file: str
    code: str
    op_index: int | None  # None: a model-level finding
    opcode: str | None
    status: str | None  # predicted compiler status of that op
    placement: str | None = "cpu"
    target: Target = field(default_factory=Target)
    # a target on which the rule must NOT fire (the version/runtime flag is what makes it fire)
    control: Target | None = None
    op_codes: tuple[str, ...] | None = None  # all codes of the op; default: (code,)
    outcome: str = "partial"


CASES = [
    Case("rule_TPU102_fused_activation.tflite", "TPU102", 1, "MAX_POOL_2D", UNSPECIFIED),
    Case("rule_TPU103_unequal_dilation.tflite", "TPU103", 1, "CONV_2D", UNSPECIFIED),
    Case("rule_TPU104_strided_slice.tflite", "TPU104", 1, "STRIDED_SLICE", UNSPECIFIED),
    Case(
        "rule_TPU105_softmax_4d.tflite",
        "TPU105",
        1,
        "SOFTMAX",
        UNSPECIFIED,
        target=Target(compiler="14.1"),
        control=Target(compiler="16.0"),
    ),
    Case("rule_TPU106_concat_constant.tflite", "TPU106", 1, "CONCATENATION", UNSPECIFIED),
    Case("rule_TPU107_reduce_channels.tflite", "TPU107", 1, "MEAN", UNSPECIFIED),
    Case(
        "rule_TPU108_pad_channels.tflite",
        "TPU108",
        1,
        "PAD",
        UNSPECIFIED,
        target=Target(runtime=12),
        control=Target(runtime=14),
    ),
    Case(
        "rule_TPU109_stack_batch.tflite",
        "TPU109",
        4,
        "PACK",
        "Tensor has unsupported rank (up to 3 innermost dimensions mapped)",
        op_codes=("TPU109", "TPU301"),
    ),
    Case("rule_TPU110_prelu.tflite", "TPU110", 1, "PRELU", UNSPECIFIED),
    Case(
        "rule_TPU111_matmul_activations.tflite",
        "TPU111",
        3,
        "FULLY_CONNECTED",
        UNSPECIFIED,
        target=Target(compiler="15.0"),
        control=Target(compiler="16.0"),
    ),
    Case("rule_TPU112_resize_x4.tflite", "TPU112", 1, "RESIZE_BILINEAR", UNSPECIFIED),
    # model-scope rule reported on the Flex op; the float model also gets TPU101/TPU201 there
    Case(
        "rule_TPU113_flex.tflite",
        "TPU113",
        1,
        "FlexCumprod",
        None,
        op_codes=("TPU101", "TPU201"),
        outcome="compile_error",
    ),
    Case(
        "rule_TPU115_split_batch.tflite",
        "TPU115",
        2,
        "SPLIT",
        "For example, a fully-connected or softmax layer with 2D output",
    ),
    Case("rule_TPU116_transpose_big.tflite", "TPU116", 1, "TRANSPOSE", UNSPECIFIED),
    Case("rule_TPU118_mean_big.tflite", "TPU118", 1, "MEAN", UNSPECIFIED),
    # a warning: the LSTM stays mapped, the compiler may fail on the whole model (edgetpu#598)
    Case(
        "rule_TPU119_lstm_wide.tflite",
        "TPU119",
        0,
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        "Mapped to Edge TPU",
        placement="tpu",
        outcome="full",
    ),
    Case(
        "rule_TPU117_fc_2d_output.tflite",
        "TPU117",
        0,
        "FULLY_CONNECTED",
        "For example, a fully-connected or softmax layer with 2D output",
        target=Target(compiler="15.0"),
        control=Target(compiler="16.0"),
    ),
    Case("rule_TPU502_cond.tflite", "TPU502", None, None, None, placement=None),
    Case("rule_TPU601_big_dense.tflite", "TPU601", None, None, None, placement=None, outcome="full"),
]


def _ids(case: Case) -> str:
    return case.file.removesuffix(".tflite")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_rule_fires_on_real_model(case: Case) -> None:
    rep = analyze_path(FIXTURES / case.file, case.target)
    assert rep.ok, rep.error
    assert rep.summary.outcome == case.outcome
    hits = [f for f in rep.findings if f.code == case.code]
    assert [(f.subgraph, f.op_index, f.opcode) for f in hits] == [
        (None if case.op_index is None else 0, case.op_index, case.opcode)
    ]
    if case.op_index is not None:
        op = next(o for o in rep.ops if o.subgraph == 0 and o.index == case.op_index)
        assert op.opcode == case.opcode
        assert op.placement == case.placement
        assert op.status == case.status
        assert tuple(op.codes) == (case.op_codes or (case.code,))
    if case.control is not None:
        ctl = analyze_path(FIXTURES / case.file, case.control)
        assert case.code not in {f.code for f in ctl.findings}
        assert ctl.summary.outcome == "full"


def test_tpu502_branch_subgraphs_stay_on_cpu() -> None:
    """The IF's two branches are TFLite subgraphs 1 and 2; only subgraph 0 is compiled."""
    rep = analyze_path(FIXTURES / "rule_TPU502_cond.tflite", Target())
    assert "IF" in [o.opcode for o in rep.ops if o.subgraph == 0]
    branch = [o for o in rep.ops if o.subgraph != 0]
    assert {o.subgraph for o in branch} == {1, 2}
    assert all(o.placement == "cpu" and o.status == SUBGRAPHS for o in branch)
    assert all(o.codes == ["TPU502"] for o in branch)


def test_tpu601_big_dense_streams_parameters() -> None:
    rep = analyze_path(FIXTURES / "rule_TPU601_big_dense.tflite", Target())
    assert [(o.opcode, o.placement) for o in rep.ops] == [("FULLY_CONNECTED", "tpu")]
    assert rep.summary.off_chip_param_bytes > 0
    assert rep.summary.params_tpu > 7 * 2**20


def test_tpu503_intermediate_tensor_on_a_converter_model() -> None:
    """`-i` on a real model: what reads the named tensor (and all downstream) leaves the Edge TPU."""
    from tpulint.analyze import analyze_path
    from tpulint.context import Target

    name = "cnn_1/add_1/Add"  # output of op 3 (ADD) in fixtures/int8_cnn.tflite
    rep = analyze_path(FIXTURES / "int8_cnn.tflite", Target(compiler="16.0", intermediate_tensors=(name,)))
    cpu = [o.index for o in rep.ops if o.placement == "cpu"]
    assert cpu and min(cpu) > 3
    assert all(o.placement == "tpu" for o in rep.ops if o.index <= 3)
    cut = {f.op_index for f in rep.findings if f.code == "TPU503"}
    assert cut == set(cpu)
    assert all(o.status == "More than one subgraph is not supported" for o in rep.ops if o.index in cpu)


def test_tpu403_names_the_int64_adds_of_a_real_yolov10_export() -> None:
    """edward_mot_yolov10n_192: one ADD operator code (v4) for 12 int8 and 3 int64 ADDs; the real
    compiler leaves every ADD on the CPU. The finding says which ops raise the version."""
    from conftest import corpus_or_skip

    case = corpus_or_skip() / "edward_mot_yolov10n_192"
    if not case.is_dir():
        pytest.skip("yolov10n case not in this corpus")
    rep = analyze_path(case / "yolov10n_full_integer_quant.tflite", Target())
    found = [f for f in rep.findings if f.code == "TPU403"]
    int8 = [f for f in found if "INT64 tensors (ops 455, 458, 474)" in f.observed]
    assert len(found) == 15 and len(int8) == 12
    assert all((f.fix or "").startswith("Remove the INT64 ADD ops from the model") for f in int8)
    assert all((f.fix or "").startswith("No Edge TPU compiler maps ADD v4") for f in found if f not in int8)


def test_int8_model_maps_nothing_below_runtime_12_and_uint8_does() -> None:
    """A real TF 2.21 int8 model targeted at runtime 11 maps nothing (edgetpu#222); a real uint8
    model (corpus: octogonapus_model, compiled by 1.0) still maps fully at runtime 10."""
    rep = analyze_path(FIXTURES / "int8_cnn.tflite", Target(compiler="16.0", runtime=11))
    assert rep.summary.ops_tpu == 0 and rep.summary.outcome == "none"
    assert {f.code for f in rep.findings} >= {"TPU201"}
    from conftest import corpus_or_skip

    case = corpus_or_skip() / "octogonapus_model"
    if not case.is_dir():
        pytest.skip("octogonapus_model not in this corpus")
    rep = analyze_path(case / "model.tflite", Target(compiler="16.0", runtime=10))
    assert rep.summary.outcome == "full"


def test_compiler_2_0_leaves_a_real_deeplab_resize_on_the_cpu() -> None:
    from conftest import corpus_or_skip

    case = corpus_or_skip() / "coral_edgetpu_repo__deeplabv3_mnv2_dm05_pascal_quant__9ebaa5a"
    if not case.is_dir():
        pytest.skip("deeplab case not in this corpus")
    rep = analyze_path(case / "deeplabv3_mnv2_dm05_pascal_quant.tflite", Target(compiler="2.0"))
    resizes = [o for o in rep.ops if o.opcode == "RESIZE_BILINEAR"]
    assert resizes and all(o.placement == "cpu" for o in resizes)
    assert all(o.status == "Image-interpolation layer won't run precisely enough on Edge TPU" for o in resizes)


def test_a_narrow_lstm_gets_no_width_warning() -> None:
    rep = analyze_path(FIXTURES / "lstm.tflite", Target())
    assert "TPU119" not in {f.code for f in rep.findings}
