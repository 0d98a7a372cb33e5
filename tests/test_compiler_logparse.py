"""Parsing the real compiler's console output and ``*_edgetpu.log`` files.

Fixtures are real compiler output (see ``fixtures/compiler_logs/SOURCES.md``). Tests marked
"constructed" assemble lines whose exact wording was seen in real output (issue cited); they
are labelled so nobody mistakes them for recordings.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any, get_args

import pytest

from tpulint.compiler.logparse import (
    MAPPED,
    TAIL,
    CompilerOutput,
    ErrorKind,
    OperatorRow,
    SearchAttempt,
    UnparsedOp,
    parse_compiler_output,
    parse_log_file,
    parse_size,
    parse_table_row,
    parse_version,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "compiler_logs"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
EXPECTED: dict[str, dict[str, Any]] = json.loads((FIX / "expected_from_truth.json").read_text())
KiB, MiB = 1024, 1024 * 1024


def console(name: str) -> CompilerOutput:
    return parse_compiler_output((FIX / name).read_text(encoding="utf-8"))


def corpus_or_skip() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"ground-truth corpus not found at {CORPUS} (expected ../shared/corpus beside the checkout)")
    return CORPUS


# --- units ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.00B", 0),
        ("1.00KiB", 1024),
        ("187.00KiB", 187 * KiB),
        ("6.89MiB", round(6.89 * MiB)),
        ("1.50GiB", round(1.5 * 1024**3)),
        ("7.59 MiB", round(7.59 * MiB)),
        ("12", 12),
        ("lots", None),
        ("1.0XB", None),
        (None, None),
    ],
)
def test_parse_size(text: str | None, expected: int | None) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16.0.384591198", (16, 0)),
        ("2.1.302470888", (2, 1)),
        ("1.0.249710469", (1, 0)),
        ("cl/343520747", None),
        ("cl/", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_version(text: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_version(text) == expected


def test_table_row_formats() -> None:
    # Real 31/11-column row.
    assert parse_table_row("CONV_2D                        63         Mapped to Edge TPU") == OperatorRow(
        "CONV_2D", 63, MAPPED
    )
    # A 34-character custom code printed with %-31s runs into the count column.
    long = "TFLite_Detection_PostProcess_Extra" + "2" + " " * 10 + "Operation not supported"
    assert parse_table_row(long) == OperatorRow("TFLite_Detection_PostProcess_Extra", 2, "Operation not supported")
    assert parse_table_row("ADD 3 Mapped to Edge TPU") == OperatorRow("ADD", 3, MAPPED)
    assert parse_table_row("not a row") is None
    assert parse_table_row("") is None


# --- the samples quoted in edgetpu_rules.md §2.6 / §2.1 -----------------------------------------


def test_2_6a_yolov7_search_delegate_full_mapping() -> None:
    out = console("rules_2_6a_yolov7_pr1672_16.0_d_k10.txt")
    assert out.success and out.error_kind is None
    assert out.compiler_version == "16.0.384591198" and out.version == (16, 0)
    assert out.delegate_search_step == 10
    assert out.delegate_search == (SearchAttempt(246, (), True, None),)
    assert out.timeout_timer_s == 180
    assert out.compile_ms == 3133
    assert out.input_model == "runs/train/exp8/weights/best-int8.tflite"
    assert out.output_model == "runs/train/exp8/weights/best-int8_edgetpu.tflite"
    assert out.input_size == round(6.00 * MiB) and out.output_size == round(6.47 * MiB)
    assert out.on_chip_used == round(5.90 * MiB)
    assert out.on_chip_remaining == round(1.16 * MiB)
    assert out.off_chip_used == round(41.75 * KiB)
    assert out.on_chip_available is None
    assert (out.edgetpu_subgraphs, out.total_ops) == (1, 246)
    assert out.operation_log == "runs/train/exp8/weights/best-int8_edgetpu.log"
    assert not out.partial
    assert out.operator_table[:2] == (OperatorRow("ADD", 3, MAPPED), OperatorRow("RESHAPE", 6, MAPPED))
    assert len(out.operator_table) == 4
    assert out.unrecognized_lines == ("...",)  # the research note's elision, kept, not fatal


def test_2_6b_partial_with_multiple_subgraphs() -> None:
    out = console("rules_2_6b_yolov5s_export_16.0_sa_partial.txt")
    assert out.success and out.partial
    assert (out.edgetpu_subgraphs, out.total_ops, out.ops_on_tpu, out.ops_on_cpu) == (2, 294, 289, 5)
    assert out.on_chip_remaining == 0
    assert len(out.operator_table) == 17
    assert sum(r.count for r in out.operator_table) == 294
    assert out.mapped_op_count == 289
    assert (
        OperatorRow(
            "QUANTIZE", 2, "Operation is otherwise supported, but not mapped due to some unspecified limitation"
        )
        in out.operator_table
    )
    assert not any(r.status == TAIL for r in out.operator_table)  # -a: no tail status
    assert out.unrecognized_lines == ()
    assert len(out.summaries) == 1


def test_2_6c_nothing_mapped_still_compiles() -> None:
    out = console("rules_2_6c_edgetpu609_nothing_mapped.txt")
    assert out.success and out.nothing_mapped
    assert out.compiler_version is None  # the quote starts at "Input model:"
    assert (out.on_chip_used, out.on_chip_remaining, out.off_chip_used) == (0, 0, 0)
    assert out.edgetpu_subgraphs == 0 and out.total_ops == 7
    assert out.mapped_op_count == 0
    assert out.input_size == round(12.88 * KiB)


def test_2_6d_tail_status_2_1() -> None:
    out = console("rules_2_6d_edgetpu75_2.1_tail.txt")
    assert out.success and out.version == (2, 1)
    assert out.timeout_timer_s is None
    assert out.on_chip_used == 187 * KiB and out.on_chip_remaining == round(6.83 * MiB)
    assert (out.ops_on_tpu, out.ops_on_cpu) == (26, 87)
    assert out.partial  # 87 ops on the CPU, even though the paragraph was elided in the quote
    assert out.operator_table == (
        OperatorRow("CONCATENATION", 1, TAIL),
        OperatorRow("MUL", 10, TAIL),
        OperatorRow("QUANTIZE", 1, MAPPED),
    )


def test_2_6e_not_quantized() -> None:
    out = console("rules_2_6e_edgetpu168_14.1_not_quantized.txt")
    assert not out.success and out.error_kind == "not_quantized"
    assert out.error_text == ("Invalid model: my_mnist_quant.tflite", "Model not quantized")
    assert out.version == (14, 1)


def test_2_6f_op_version_too_new() -> None:
    out = console("rules_2_6f_edgetpu845_16.0_op_version.txt")
    assert not out.success and out.error_kind == "unparsed_op_version"
    assert out.unparsed_ops == (UnparsedOp("TRANSPOSE_CONV", 4),)
    assert "Model could not be parsed" in out.error_text
    assert "ERROR: Registration failed." in out.error_text
    assert sum("Didn't find op" in t for t in out.error_text) == 1


def test_2_6g_dynamic_shape_interpreter_failure() -> None:
    out = console("rules_2_6g_edgetpu829_16.0_dynamic_shape.txt")
    assert not out.success and out.error_kind == "tflite_interpreter"
    assert out.timeout_timer_s == 180
    assert out.error_text[0].startswith("ERROR: Attempting to use a delegate that only supports static-sized")
    assert out.error_text[-1] == "Compilation failed!"


def test_2_6h_large_activations() -> None:
    out = console("rules_2_6h_edgetpu439_16.0_large_activations.txt")
    assert not out.success and out.error_kind == "large_activations"
    assert "Compilation failed: Compilation failed due to large activation tensors in model." in out.error_text
    assert out.unrecognized_lines == ("$ edgetpu_compiler -s tf_model/facedetector.tflite",)


def test_2_6i_internal_error() -> None:
    out = console("rules_2_6i_edgetpu358_15.0_internal_error.txt")
    assert not out.success and out.error_kind == "internal_error"
    assert out.compiler_version == "15.0.340273435"
    assert out.error_text == ("Internal compiler error. Aborting!",)


def test_2_6l_prepare_failure_16_0_in_a_delegate_search() -> None:
    out = console("rules_2_6l_edgetpu453_16.0_prepare_overflow.txt")
    assert not out.success and out.error_kind == "tflite_interpreter"
    assert out.error_text[:2] == (
        "ERROR: :344 no_integer_overflow_from_quantization was not true.",
        "ERROR: Node number 31 (CONV_2D) failed to prepare.",
    )
    assert out.delegate_search == (SearchAttempt(136, (), False, "tflite_interpreter"),)


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("rules_2_6m_edgetpu212_14.1_prepare_bias_type.txt", "ERROR: :334 bias->type != kTfLiteInt32 (INT8 != INT32)"),
        (
            "rules_2_6n_edgetpu244_14.1_prepare_pack.txt",
            "ERROR: :83 input->params.zero_point != output->params.zero_point (113 != 0)",
        ),
    ],
)
def test_2_6mn_prepare_failure_14_1_is_an_internal_error(name: str, check: str) -> None:
    out = console(name)
    assert not out.success and out.error_kind == "internal_error"
    assert out.error_text.count(check) == 2  # 14.1 prints the ERROR pair twice
    assert out.error_text[-2:] == ("Compilation failed: Internal error", "Internal compiler error. Aborting!")
    assert out.unrecognized_lines == ()


def test_2_6j_flex_op_with_search_delegate_truncated() -> None:
    out = console("rules_2_6j_edgetpu718_16.0_flex_search.txt")
    assert not out.success and out.error_kind == "tflite_interpreter"
    assert out.delegate_search_step == 10
    assert out.delegate_search == (
        SearchAttempt(292, (), False, "tflite_interpreter"),
        SearchAttempt(282, (), None, None),
    )
    assert out.truncated
    assert "ERROR: Node number 13 (FlexSplitV) failed to prepare." in out.error_text


def test_2_6k_compiler_2_0_available_line() -> None:
    out = console("rules_2_6k_f0cal53_2.0_old_format.txt")
    assert out.success and out.version == (2, 0)
    assert out.on_chip_available == round(7.62 * MiB)
    assert out.on_chip_used == round(5.66 * MiB)
    assert out.on_chip_remaining is None
    assert out.compile_ms == 313 and out.timeout_timer_s is None
    assert (out.edgetpu_subgraphs, out.total_ops) == (1, 64)


def test_2_1_version_only() -> None:
    out = console("rules_2_1_edgetpu411_15.0_version_only.txt")
    assert not out.success and out.error_kind == "version_only"
    assert out.compiler_version == "15.0.340273435"


def test_2_6a_reformatted_text_is_unparseable_but_kept() -> None:
    text = (FIX / "rules_2_6a_reformatted_writeup_16.0.txt").read_text(encoding="utf-8")
    out = parse_compiler_output(text)
    assert not out.success and out.error_kind == "unparseable"
    assert out.text == text
    assert "On-chip memory used for caching:    7.59 MiB" in out.unrecognized_lines
    assert out.operator_table == (OperatorRow("FULLY_CONNECTED", 1, MAPPED), OperatorRow("CONV_2D", 20, MAPPED))


# --- constructed from real line formats -----------------------------------------------------------

V16 = "Edge TPU Compiler version 16.0.384591198"
TIMER = "Started a compilation timeout timer of 180 seconds."
CHILD = "Compilation child process completed within timeout period."


def test_constructed_silent_failure() -> None:
    # Line sequence as in edgetpu#800 / edgetpu#714 (§2.5 "with no reason").
    out = parse_compiler_output("\n".join([V16, TIMER, CHILD, "Compilation failed! "]))
    assert not out.success and out.error_kind == "silent_failure"
    assert out.error_text == ("Compilation failed!",)


def test_constructed_uncaught_exception_is_internal_error() -> None:
    # edgetpu#728: an uncaught C++ exception in the compilation child.
    lines = [
        V16,
        TIMER,
        "libc++abi: terminating with uncaught exception of type std::out_of_range: vector",
        CHILD,
        "Compilation failed! ",
    ]
    out = parse_compiler_output("\n".join(lines))
    assert out.error_kind == "internal_error"


def test_constructed_compiler_timeout() -> None:
    # edgetpu#686: the 16.0 compiler's own timer ran out.
    lines = [V16, TIMER, "Compilation timeout. This is usually caused by large activations.", "Compilation failed! "]
    assert parse_compiler_output("\n".join(lines)).error_kind == "compiler_timeout"


def test_constructed_search_fails_then_succeeds() -> None:
    # -d: a failing attempt, then a shorter segment with "Intermediate tensors:" (edgetpu#651).
    lines = [
        V16,
        "Searching for valid delegate with step 1",
        "Try to compile segment with 424 ops",
        TIMER,
        "ERROR: Restored original execution plan after delegate application failure.",
        "Compilation failed: Compilation failed due to large activation tensors in model.",
        CHILD,
        "Compilation failed! ",
        "Try to compile segment with 423 ops",
        "Intermediate tensors: tfl.dequantize,Sigmoid1",
        TIMER,
        "",
        "Model compiled successfully in 900 ms.",
        "",
        "Input model: m.tflite",
        "Input size: 1.00MiB",
        "Output model: m_edgetpu.tflite",
        "Output size: 1.10MiB",
        "On-chip memory used for caching model parameters: 1.00MiB",
        "On-chip memory remaining for caching model parameters: 6.00MiB",
        "Off-chip memory used for streaming uncached model parameters: 0.00B",
        "Number of Edge TPU subgraphs: 1",
        "Total number of operations: 424",
        "Operation log: m_edgetpu.log",
        "See the operation log file for individual operation details.",
        CHILD,
        "Compilation succeeded! ",
    ]
    out = parse_compiler_output("\n".join(lines))
    assert out.success and out.error_kind is None and out.error_text == ()
    assert out.delegate_search == (
        SearchAttempt(424, (), False, "large_activations"),
        SearchAttempt(423, ("tfl.dequantize", "Sigmoid1"), True, None),
    )
    assert out.compile_ms == 900 and out.total_ops == 424
    assert out.unrecognized_lines == ()


def test_constructed_segments_second_fails() -> None:
    # -n 2 on 16.0 (edgetpu#557): segment 0 compiles, segment 1 hits large activations.
    seg0 = [
        TIMER,
        "",
        "Model compiled successfully in 1857 ms.",
        "",
        "Input model: e_segment_0_of_2.tflite",
        "Output model: e_segment_0_of_2_edgetpu.tflite",
        "Number of Edge TPU subgraphs: 1",
        "Total number of operations: 84",
        "See the operation log file for individual operation details.",
        CHILD,
        "Compilation succeeded! ",
    ]
    seg1 = [
        TIMER,
        "ERROR: Restored original execution plan after delegate application failure.",
        "Compilation failed: Compilation failed due to large activation tensors in model.",
        CHILD,
        "Compilation failed! ",
    ]
    out = parse_compiler_output("\n".join([V16, *seg0, *seg1]))
    assert not out.success and out.error_kind == "large_activations"
    assert len(out.summaries) == 1 and out.summaries[0].total_ops == 84
    assert out.input_model == "e_segment_0_of_2.tflite"


def test_constructed_14_1_wrapped_partial_paragraph() -> None:
    # 14.1 wraps the paragraph over lines (edgetpu#173).
    lines = [
        "Edge TPU Compiler version 14.1.317412892",
        "",
        "Model compiled successfully in 113 ms.",
        "",
        "Input model: T1.tflite",
        "Output model: T1_edgetpu.tflite",
        "Number of Edge TPU subgraphs: 1",
        "Total number of operations: 24",
        "Operation log: T1_edgetpu.log",
        "",
        "Model successfully compiled but not all operations are supported by the",
        "Edge TPU. A percentage of the model will instead run on the CPU, which is",
        "slower. If possible, consider updating your model to use only operations",
        "supported by the Edge TPU. For details, visit g.co/coral/model-reqs.",
        "Number of operations that will run on Edge TPU: 6",
        "Number of operations that will run on CPU: 18",
        "See the operation log file for individual operation details.",
    ]
    out = parse_compiler_output("\n".join(lines))
    assert out.success and out.partial and (out.ops_on_tpu, out.ops_on_cpu) == (6, 18)
    assert out.unrecognized_lines == ()
    assert out.mapped_op_count == 6


def test_console_without_table_takes_log_table() -> None:
    text = (FIX / "rules_2_6k_f0cal53_2.0_old_format.txt").read_text(encoding="utf-8")
    log = (FIX / "asr_model_v2compiler.log").read_text(encoding="utf-8")
    out = parse_compiler_output(text, log)
    assert out.log is not None and out.operator_table == out.log.operator_table
    assert out.input_model == "output_tflite_graph.tflite"  # the console wins over the log
    assert out.compiler_version == "2.0.267685300"


def test_crlf_and_blank_input() -> None:
    text = (FIX / "rules_2_6e_edgetpu168_14.1_not_quantized.txt").read_text(encoding="utf-8")
    assert parse_compiler_output(text.replace("\n", "\r\n")).error_kind == "not_quantized"
    empty = parse_compiler_output("")
    assert not empty.success and empty.error_kind == "unparseable"


def test_never_raises_on_garbage_or_cut_output() -> None:
    rng = random.Random(1234)
    kinds = set(get_args(ErrorKind))
    samples = sorted(FIX.glob("*.txt")) + sorted(FIX.glob("*.log"))
    for path in samples:
        lines = path.read_text(encoding="utf-8").splitlines()
        for cut in range(len(lines) + 1):
            out = parse_compiler_output("\n".join(lines[:cut]))
            assert out.success or out.error_kind in kinds
    for _ in range(300):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(400))).decode("latin-1")
        out = parse_compiler_output(junk, junk)
        assert isinstance(out, CompilerOutput) and (out.success or out.error_kind in kinds)
        parse_log_file(junk)


# --- real corpus logs, copied into fixtures -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_log_fixture(name: str) -> None:
    exp = EXPECTED[name]
    text = (FIX / name).read_text(encoding="utf-8")
    rows = [OperatorRow(r["operator"], r["count"], r["status"]) for r in exp["operator_table"]]
    if exp["format"] == "console":
        out = parse_compiler_output(text)
        assert out.success
        assert out.input_size == parse_size(exp["input_size"])
        assert out.on_chip_used == parse_size(exp["on_chip_memory_used"])
        assert out.on_chip_remaining == parse_size(exp["on_chip_memory_remaining"])
        assert out.off_chip_used == parse_size(exp["off_chip_memory_used"])
        assert (out.edgetpu_subgraphs, out.total_ops) == (exp["edgetpu_subgraphs"], exp["total_operations"])
        table, version = out.operator_table, out.compiler_version
        inp, outp = out.input_model, out.output_model
    else:
        log = parse_log_file(text)
        assert log.unrecognized_lines == ()
        table, version, inp, outp = log.operator_table, log.compiler_version, log.input_model, log.output_model
        # A log alone (no console) reads as a successful compile with that table.
        alone = parse_compiler_output("", text)
        assert alone.success and alone.mapped_op_count == exp["tpu_mapped_op_count"]
    assert list(table) == rows
    assert version == exp["compiler_version"]
    assert (inp, outp) == (exp["input_model"], exp["output_model"])
    assert sum(r.count for r in table if r.mapped) == exp["tpu_mapped_op_count"]
    assert sum(r.count for r in table) == exp["input_op_count"]


def test_unusual_split_status_is_kept_verbatim() -> None:
    log = parse_log_file((FIX / "redax_rf_gemm_64_16_2_1.log").read_text(encoding="utf-8"))
    status = "For example, a fully-connected or softmax layer with 2D output"
    assert OperatorRow("SPLIT", 2, status) in log.operator_table


# --- straight from ../shared/corpus ----------------------------------------------------------------


def _corpus_cases_with_logs() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(t.parent for t in CORPUS.glob("*/truth.json") if "log" in json.loads(t.read_text())["files"])


def test_corpus_logs_match_truth() -> None:
    corpus_or_skip()
    cases = _corpus_cases_with_logs()
    assert cases, "corpus has no case with a log"
    for case in cases:
        truth = json.loads((case / "truth.json").read_text())
        raw = (case / truth["files"]["log"]["name"]).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == truth["files"]["log"]["sha256"]
        text = raw.decode("utf-8")
        is_console = "Input model:" in text
        out = parse_compiler_output(text) if is_console else parse_compiler_output("", text)
        lg = truth["log"]
        assert out.success is not lg.get("compile_failed", False), case.name
        rows = [OperatorRow(r["operator"], r["count"], r["status"]) for r in lg["operator_table"]]
        assert list(out.operator_table) == rows, case.name
        assert out.compiler_version == lg["compiler_version"], case.name
        assert out.mapped_op_count == truth["mapping"]["tpu_mapped_op_count"], case.name
        assert (out.input_model, out.output_model) == (lg["input_model"], lg["output_model"]), case.name
        assert out.total_ops == lg["total_operations"], case.name
        assert out.edgetpu_subgraphs == lg["edgetpu_subgraphs"], case.name
        assert out.on_chip_used == parse_size(lg["on_chip_memory_used"]), case.name
        assert out.off_chip_used == parse_size(lg["off_chip_memory_used"]), case.name
        fixture = FIX / f"{case.name}.log"
        assert fixture.read_bytes() == raw, f"{fixture} differs from the corpus copy"
