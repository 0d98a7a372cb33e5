"""The reader's checks of tensor, operator and buffer tables against the structural walk's: same
verdicts, same errors.

The walk of :mod:`tpulint.verify` leaves these tables (the most numerous of a model) to the
reader, which checks each one as it decodes it (issue 7). The reference is the walk checking
them itself, before the reader (``read_checked(..., reader_checks=False)``): on every sound model
both give the same decoded model, and on a model with one defect in a tensor table the same error,
code and message. Only the order of defects in different parts of one file may differ (the
module doc string of :mod:`tpulint.verify`). Runs without ``../shared`` (the corpus adds models).
"""

from __future__ import annotations

import re
import struct
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import broken_models as bm
import flatbuffers
import hostile_models as hm
import numpy as np
import pytest
import tflite
from test_schema_reader import as_oracle
from tflite.BuiltinOptions import BuiltinOptions
from tflite.BuiltinOptions2 import BuiltinOptions2

from tpulint import model as model_module
from tpulint import verify
from tpulint.errors import ModelFormatError
from tpulint.model import decode
from tpulint.verify import READ_FACTOR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

Outcome = tuple[Any, ...]


def outcome(data: bytes, reader_checks: bool) -> Outcome:
    """("ok", the decoded model) or ("error", code, message)."""
    try:
        model = verify.read_checked(
            data, lambda check: decode(data, len(data), None, check), reader_checks=reader_checks
        )
    except ModelFormatError as error:
        return ("error", error.code, error.message)
    return ("ok", as_oracle(model))


def assert_same(data: bytes, label: str = "") -> Outcome:
    reader_checks, walk_checks = outcome(data, True), outcome(data, False)
    assert reader_checks == walk_checks, label
    return reader_checks


def _models() -> list[Path]:
    found = sorted(FIXTURES.glob("*.tflite"))
    if CORPUS.is_dir():
        found += sorted(CORPUS.rglob("*.tflite"))
    return found


@pytest.mark.parametrize("path", _models(), ids=lambda p: p.name)
def test_every_sound_model_decodes_the_same(path: Path) -> None:
    result = assert_same(path.read_bytes())
    assert result[0] == "ok", result


# ---- one defect in a tensor table ----------------------------------------------------------------

# Fixtures with different tensor, operator and buffer tables: per-axis and per-tensor quantization, shape
# signatures, float and integer types, variables and intermediates (the LSTM), min/max left by
# quantization-aware training, options tables with vectors (RESHAPE's new_shape, SQUEEZE's dims).
DEFECT_FIXTURES = (
    "int8_cnn",
    "dynamic_batch",
    "lstm",
    "qat_leftovers",
    "int16x8",
    "float16",
    "float_cnn",
    "rule_TPU502_cond",
)


def _checked_by_the_reader(layout_name: str) -> bool:
    return layout_name in ("Tensor", "QuantizationParameters", "Operator", "Buffer") or layout_name.endswith("Options")


def _u32(data: bytes | bytearray, at: int) -> int:
    return int(struct.unpack_from("<I", data, at)[0])


def _patched(data: bytes, at: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


def single_defects(data: bytes, tables: int = 12) -> Iterator[tuple[str, bytes]]:
    """(label, mutant) with one defect in one of the first ``tables`` tensor, quantization,
    operator, options and buffer tables of the model: the table's vtable offset, a reference past the
    end of the file, a vector or string longer than the file, a string without its NUL."""
    n = len(data)
    seen: dict[str, int] = {}
    for pos, layout, fields in verify.walked_tables(data):
        kind = "Options" if layout.name.endswith("Options") else layout.name
        if not _checked_by_the_reader(layout.name) or seen.get(kind, 0) >= tables:
            continue
        seen[kind] = seen.get(kind, 0) + 1
        yield f"{layout.name}@{pos} vtable far away", _patched(data, pos, "<i", -0x7FFF0000)
        yield f"{layout.name}@{pos} vtable at the end", _patched(data, pos, "<i", pos - (n - 2))
        for slot, ref_kind, _, name, _ in layout.refs:
            offset = fields[slot]
            if not offset:
                continue
            at = pos + offset
            target = at + _u32(data, at)
            label = f"{layout.name}@{pos}.{name}"
            yield f"{label} -> past the end", _patched(data, at, "<I", n - at)
            yield f"{label} -> 2 GiB away", _patched(data, at, "<I", 0x7FFFFFF0)
            if ref_kind not in (verify._VECTOR, verify._STRING):
                continue  # a table: its own fields come as its own table
            yield f"{label} length 2**31", _patched(data, target, "<I", 0x80000000)
            yield f"{label} length to the end", _patched(data, target, "<I", n - target - 3)
            if ref_kind == verify._STRING:
                end = target + 4 + _u32(data, target)
                yield f"{label} without NUL", _patched(data, end, "<B", ord("x"))


def _defect_cases() -> Iterator[Any]:
    for stem in DEFECT_FIXTURES:
        data = (FIXTURES / f"{stem}.tflite").read_bytes()
        for label, mutant in single_defects(data):
            yield pytest.param(mutant, id=f"{stem}:{label}")


@pytest.mark.parametrize("mutant", list(_defect_cases()))
def test_one_defect_in_a_tensor_table_gives_the_walks_error(mutant: bytes) -> None:
    assert_same(mutant)


def _running_past_the_end(data: bytes, pos: int) -> bytes | None:
    """The model with one reference to the table at ``pos`` moved to a copy of its first bytes
    appended to the file: a sound vtable, but the table runs past the end (None if no reference
    to it is found)."""
    n = len(data)
    vtable = pos - struct.unpack_from("<i", data, pos)[0]
    if struct.unpack_from("<H", data, vtable + 2)[0] <= 4:
        return None  # a table of no fields fits in the 4 bytes appended
    for at in range(8, n - 3, 4):
        if at + _u32(data, at) == pos:
            return _patched(data + struct.pack("<i", n - vtable), at, "<I", n - at)
    return None


@pytest.mark.parametrize("stem", DEFECT_FIXTURES[:3])
def test_a_table_running_past_the_end_gives_the_walks_error(stem: str) -> None:
    data = (FIXTURES / f"{stem}.tflite").read_bytes()
    tried = set()
    for pos, layout, _ in verify.walked_tables(data):
        kind = "Options" if layout.name.endswith("Options") else layout.name
        if not _checked_by_the_reader(layout.name) or kind in tried:
            continue
        mutant = _running_past_the_end(data, pos)
        if mutant is None:
            continue
        tried.add(kind)
        result = assert_same(mutant)
        assert result[:2] == ("error", "TPU903") and "runs past the end" in result[2], result
    assert tried == {"Tensor", "QuantizationParameters", "Operator", "Options", "Buffer"}


@pytest.mark.parametrize(
    "make",
    [
        bm.external_buffer_model,
        lambda: bm.external_buffer_model(missing=3),
        bm.inline_data_and_empty_external_block,
        lambda: bm.large_custom_options(8, 16),
        lambda: bm.large_custom_options(1_000_000, 16),
    ],
    ids=[
        "external-buffer",
        "external-buffer-cut-short",
        "inline-and-empty-external",
        "large-options",
        "large-options-past-end",
    ],
)
def test_data_after_the_flatbuffer(make: Any) -> None:
    """Buffers and custom options stored after the flatbuffer (models over 2 GB): the reader's
    check of a buffer's external block gives the walk's verdict, and so do single defects."""
    data = make()
    if assert_same(data)[0] != "ok":
        return  # one defect already: a second may come first in either order
    for label, mutant in single_defects(data):
        assert_same(mutant, label)


def test_the_defects_are_defects() -> None:
    """Most of the mutants above are refused (a few references may land on other sound data)."""
    results = [
        outcome(m, True)
        for stem in DEFECT_FIXTURES[:2]
        for _, m in single_defects((FIXTURES / f"{stem}.tflite").read_bytes())
    ]
    refused = [r for r in results if r[0] == "error"]
    assert len(refused) > 0.9 * len(results)
    assert {r[1] for r in refused} >= {"TPU902", "TPU903", "TPU906"}


def test_the_mutation_suites_walk_still_lists_tensor_tables() -> None:
    """``walked_tables`` (the mutation suite and the fuzz harness) walks every table itself."""
    data = (FIXTURES / "int8_cnn.tflite").read_bytes()
    layouts = {layout.name for _, layout, _ in verify.walked_tables(data)}
    assert {"Tensor", "QuantizationParameters"} <= layouts


# ---- budgets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: hm.shared_name(readers=2000, name_bytes=50_000),
        lambda: hm.shared_shape(readers=2000, rank=10_000),
        lambda: hm.shared_quantization(2000, 10_000),
        lambda: bm.repeated_subgraph_model(repeats=100, tensors=300),
    ],
    ids=["shared-name", "shared-shape", "shared-quantization", "repeated-tensor-vector"],
)
def test_shared_tensor_data_is_refused_before_it_is_copied(make: Any) -> None:
    """Each would make the reader build 100 MB or more; the budget stops it first, whichever of
    the walk and the reader checks the tensor tables."""
    data = make()
    for defer in (True, False):
        tracemalloc.start()
        try:
            result = outcome(data, defer)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result[:2] == ("error", "TPU906"), result
        assert peak < (READ_FACTOR + 2) * len(data) + 2**20, (defer, peak)


def test_one_tensor_table_named_thousands_of_times_exhausts_the_walks_budget_either_way() -> None:
    """The work budget: a tensor vector naming one table 5,000 times costs more to check than
    twice the file; the reader charges it per table, as the walk does, and gives the walk's error.
    (Where the budget runs out may differ by a table: the walk charges the buffer tables after
    the tensors', and before the reader's.)"""
    b = flatbuffers.Builder(1024)
    name, shape = b.CreateString("t"), bm._int32s(b, [1, 2, 3, 4])
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddName(b, name)
    tensor_vector = bm._tables(b, [tflite.TensorEnd(b)] * 5000)
    io = bm._int32s(b, [0])
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensor_vector)
    tflite.SubGraphAddInputs(b, io)
    tflite.SubGraphAddOutputs(b, io)
    data = bm._finish_model(b, [tflite.SubGraphEnd(b)])
    for defer in (True, False):
        result = outcome(data, defer)
        assert result[:2] == ("error", "TPU906"), result
        assert re.fullmatch(r"subgraphs\[0\]\.tensors\[20\d\d\]: tables and vectors overlap or repeat .*", result[2])


def test_the_same_sharing_at_a_benign_scale_is_accepted_either_way() -> None:
    for data in (hm.shared_name(readers=20, name_bytes=200), bm.repeated_subgraph_model(repeats=3, tensors=30)):
        assert assert_same(data)[0] == "ok"


# ---- tables the reader's checks do not cover -----------------------------------------------------


def _model_with(extra: str) -> bytes:
    """A one-op model whose input tensor has sparsity parameters or a custom quantization, or
    whose op has options with a vector (RESHAPE's new_shape, with custom options and mutating
    variable inputs too) or strings (VarHandleOptions), or BuiltinOptions2 (a StableHLO transpose)."""
    b = flatbuffers.Builder(1024)
    sub = 0
    if extra == "sparsity":
        order = b.CreateNumpyVector(np.asarray([0, 1], dtype=np.int32))
        tflite.SparsityParametersStart(b)
        tflite.SparsityParametersAddTraversalOrder(b, order)
        sub = tflite.SparsityParametersEnd(b)
    elif extra == "custom-quantization":
        custom = b.CreateNumpyVector(np.asarray([1, 2, 3], dtype=np.uint8))
        tflite.CustomQuantizationStart(b)
        tflite.CustomQuantizationAddCustom(b, custom)
        details = tflite.CustomQuantizationEnd(b)
        scale = b.CreateNumpyVector(np.asarray([0.5], dtype=np.float32))
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, scale)
        tflite.QuantizationParametersAddDetailsType(b, 1)  # QuantizationDetails.CustomQuantization
        tflite.QuantizationParametersAddDetails(b, details)
        sub = tflite.QuantizationParametersEnd(b)
    tensors = []
    for k, name in enumerate(("x", "y")):
        name_offset = b.CreateString(name)
        shape = b.CreateNumpyVector(np.asarray([2, 2], dtype=np.int32))
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddName(b, name_offset)
        if k == 0 and extra == "sparsity":
            tflite.TensorAddSparsity(b, sub)
        elif k == 0 and extra == "custom-quantization":
            tflite.TensorAddQuantization(b, sub)
        tensors.append(tflite.TensorEnd(b))
    tensor_vector = bm._tables(b, tensors)
    inputs, outputs = bm._int32s(b, [0]), bm._int32s(b, [1])
    op_inputs, op_outputs = bm._int32s(b, [0, 0]), bm._int32s(b, [1])
    options = custom = mutating = 0
    if extra == "reshape":
        new_shape = bm._int32s(b, [4])
        tflite.ReshapeOptionsStart(b)
        tflite.ReshapeOptionsAddNewShape(b, new_shape)
        options = tflite.ReshapeOptionsEnd(b)
        custom = b.CreateNumpyVector(np.asarray([7, 7, 7], dtype=np.uint8))
        mutating = b.CreateNumpyVector(np.asarray([0, 1], dtype=np.uint8))
    elif extra == "var-handle":
        container, shared = b.CreateString("c"), b.CreateString("shared")
        tflite.VarHandleOptionsStart(b)
        tflite.VarHandleOptionsAddContainer(b, container)
        tflite.VarHandleOptionsAddSharedName(b, shared)
        options = tflite.VarHandleOptionsEnd(b)
    elif extra == "options2":
        permutation = b.CreateNumpyVector(np.asarray([1, 0], dtype=np.int64))
        tflite.StablehloTransposeOptionsStart(b)
        tflite.StablehloTransposeOptionsAddPermutation(b, permutation)
        options = tflite.StablehloTransposeOptionsEnd(b)
    tflite.OperatorStart(b)
    tflite.OperatorAddInputs(b, op_inputs)
    tflite.OperatorAddOutputs(b, op_outputs)
    if extra == "reshape":
        tflite.OperatorAddBuiltinOptionsType(b, BuiltinOptions.ReshapeOptions)
        tflite.OperatorAddBuiltinOptions(b, options)
        tflite.OperatorAddCustomOptions(b, custom)
        tflite.OperatorAddMutatingVariableInputs(b, mutating)
    elif extra == "var-handle":
        tflite.OperatorAddBuiltinOptionsType(b, BuiltinOptions.VarHandleOptions)
        tflite.OperatorAddBuiltinOptions(b, options)
    elif extra == "options2":
        tflite.OperatorAddBuiltinOptions2Type(b, BuiltinOptions2.StablehloTransposeOptions)
        tflite.OperatorAddBuiltinOptions2(b, options)
    op_vector = bm._tables(b, [tflite.OperatorEnd(b)])
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensor_vector)
    tflite.SubGraphAddInputs(b, inputs)
    tflite.SubGraphAddOutputs(b, outputs)
    tflite.SubGraphAddOperators(b, op_vector)
    return bm._finish_model(b, [tflite.SubGraphEnd(b)])


@pytest.mark.parametrize("extra", ["sparsity", "custom-quantization", "reshape", "var-handle", "options2"])
def test_tables_with_other_references(extra: str) -> None:
    """Sparsity, custom quantization and BuiltinOptions2 are left to the walk (the reader's checks
    do not cover them); options with vectors the reader checks. Either way: the walk's verdict."""
    data = _model_with(extra)
    result = assert_same(data)
    assert result[0] == "ok", result
    tensor = result[1]["subgraphs"][0][2][0]
    assert tensor[1] == "x" and tensor[3] == (2, 2)
    op = result[1]["subgraphs"][0][3][0]
    if extra == "reshape":
        assert op[9] == "ReshapeOptions" and op[10]["new_shape"] == (4,) and op[11] == 3
    mutants = list(single_defects(data))
    assert len(mutants) > 20
    for label, mutant in mutants:
        assert_same(mutant, label)
    # A defect inside what only the walk checks: the sparsity's vector or the custom blob past the end.
    for pos, layout, fields in verify.walked_tables(data):
        if layout.name in ("SparsityParameters", "CustomQuantization", "StablehloTransposeOptions"):
            at = pos + fields[0]
            result = assert_same(_patched(data, at, "<I", len(data) - at))
            assert result[:2] == ("error", "TPU903"), result


# ---- ops' index tuples in large models -----------------------------------------------------------


def _model_with_many_tensors(count: int) -> bytes:
    """The tiny model, its tensors renumbered after ``count`` - 4 unused ones (indices above 256)."""

    def change(spec: bm.ModelSpec) -> None:
        main = spec.subgraphs[0]
        pad = count - len(main.tensors)
        main.tensors[:0] = [bm.TensorSpec(f"unused{k}", [1]) for k in range(pad)]
        main.inputs = [t + pad for t in main.inputs]
        main.outputs = [t + pad for t in main.outputs]
        for op in main.ops:
            op.inputs = [t + pad if t >= 0 else t for t in op.inputs]
            op.outputs = [t + pad for t in op.outputs]
        for sig in spec.signatures:
            sig.inputs = [(name, t + pad) for name, t in sig.inputs]
            sig.outputs = [(name, t + pad) for name, t in sig.outputs]

    return bm.tiny_with(change)


def test_large_models_share_the_tensors_index_ints(monkeypatch: pytest.MonkeyPatch) -> None:
    """From ``_SHARED_INTS_FROM`` tensors on, an op's index tuples hold the tensors' own int
    objects (no 28-byte int per index); the values are the same either way."""
    data = _model_with_many_tensors(400)
    plain = outcome(data, True)
    monkeypatch.setattr(model_module, "_SHARED_INTS_FROM", 300)
    shared = verify.read_checked(data, lambda check: decode(data, len(data), None, check))
    assert as_oracle(shared) == plain[1]
    sg = shared.subgraphs[0]
    first = sg.ops[0]
    assert first.inputs == (396, 397) and first.inputs[0] is sg.tensors[396].index
    assert sg.ops[1].inputs[1] == -1  # "no tensor" kept as is
