"""Tests for tpulint.verify: a table of hand-made broken models, valid models, and the real corpus."""

from __future__ import annotations

import importlib
import inspect
import mmap
import re
import sys
from collections.abc import Callable
from pathlib import Path

import broken_models as bm
import pytest
import tflite

from tpulint import verify
from tpulint.errors import ModelFormatError
from tpulint.verify import graph_order_problem, verify_tflite

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# (id, builder, code, message fragment): each id names the corruption.
BROKEN: list[tuple[str, Callable[[], bytes], str, str]] = [
    # truncation and the file header
    ("truncated-at-0-bytes", lambda: bm.truncated(0), "TPU903", "only 0 bytes"),
    ("truncated-at-7-bytes", lambda: bm.truncated(7), "TPU903", "only 7 bytes"),
    ("truncated-at-12-bytes", lambda: bm.truncated(12), "TPU903", "root table offset 28 lies outside the 12-byte"),
    ("truncated-at-40-bytes", lambda: bm.truncated(40), "TPU903", "Model table at byte 28 (32 bytes) runs past"),
    ("truncated-at-half", lambda: bm.truncated(len(bm.tiny_model()) // 2), "TPU903", "outside the 392-byte file"),
    ("truncated-by-1-byte", lambda: bm.truncated(len(bm.tiny_model()) - 1), "TPU903", "is the file truncated?"),
    ("bad-identifier", bm.bad_identifier, "TPU902", "identifier is 'DWN1', not 'TFL3'"),
    ("size-prefixed", bm.size_prefixed, "TPU902", "size-prefixed flatbuffer"),
    ("no-identifier-and-garbage", bm.no_identifier_broken, "TPU902", "no 'TFL3' file identifier"),
    ("root-offset-past-end", bm.root_offset_past_end, "TPU903", "root table offset 848 lies outside"),
    ("root-offset-into-header", bm.root_offset_in_header, "TPU902", "points into the 8-byte file header"),
    # tables, vtables, vectors, strings, unions
    ("vtable-offset-out-of-range", bm.vtable_offset_out_of_range, "TPU903", "subgraphs[0].tensors[2]: Tensor table"),
    ("vtable-size-odd", bm.vtable_size_odd, "TPU902", "subgraphs[0].operators[0]: vtable at byte"),
    ("field-outside-its-table", bm.field_outside_table, "TPU902", "tensors[1].buffer: field at byte 400"),
    ("vector-length-2^31", bm.tensors_vector_length_2_31, "TPU906", "subgraphs[0].tensors: vector declares 2147483648"),
    ("vector-past-end", bm.shape_vector_past_end, "TPU903", "tensors[0].shape: vector at byte"),
    ("vector-offset-past-end", bm.vector_offset_past_end, "TPU903", "operators[1].inputs: vector at byte"),
    ("string-past-end", bm.string_past_end, "TPU903", "tensors[3].name: string at byte"),
    ("string-not-nul-terminated", bm.string_not_terminated, "TPU902", "tensors[3].name: string at byte"),
    ("subtable-offset-past-end", bm.subtable_offset_past_end, "TPU903", "QuantizationParameters table at byte"),
    ("shared-vector-over-budget", bm.shared_vector_model, "TPU906", "refusing it"),
    ("repeated-subgraph-over-budget", bm.repeated_subgraph_model, "TPU906", "refusing it"),
    # indices
    ("op-input-out-of-range", bm.op_input_out_of_range, "TPU904", "subgraph 0 op 1 input 0 refers to tensor 9999"),
    ("op-input-negative-not-minus-1", bm.op_input_negative, "TPU904", "op 0 input 1 is -5; only -1"),
    ("op-output-out-of-range", bm.op_output_out_of_range, "TPU904", "op 0 output 0 refers to tensor 4"),
    ("op-intermediate-out-of-range", bm.intermediate_out_of_range, "TPU904", "op 0 intermediate 1 refers to tensor 77"),
    ("subgraph-input-minus-1", bm.subgraph_input_minus_one, "TPU904", "subgraph 0 input 0 is -1"),
    ("subgraph-output-out-of-range", bm.subgraph_output_out_of_range, "TPU904", "output 1 refers to tensor 12"),
    ("opcode-index-out-of-range", bm.opcode_index_out_of_range, "TPU904", "op 1 refers to operator code 7"),
    ("opcode-index-2^32-1", bm.opcode_index_huge, "TPU904", "operator code 4294967295"),
    ("tensor-buffer-out-of-range", bm.tensor_buffer_out_of_range, "TPU904", "tensor 1 ('w') refers to buffer 42"),
    ("no-buffers-at-all", bm.no_buffers, "TPU904", "the model has no buffers"),
    (
        "metadata-buffer-out-of-range",
        bm.metadata_buffer_out_of_range,
        "TPU904",
        "'min_runtime_version') refers to buffer 9",
    ),
    (
        "model-metadata-buffer-negative",
        bm.model_metadata_buffer_negative,
        "TPU904",
        "metadata_buffer[1] refers to buffer -3",
    ),
    ("signature-subgraph-out-of-range", bm.signature_subgraph_out_of_range, "TPU904", "refers to subgraph 3"),
    ("signature-tensor-out-of-range", bm.signature_tensor_out_of_range, "TPU904", "output 0 refers to tensor 40"),
    (
        "while-cond-out-of-range",
        lambda: bm.build(bm.while_spec(cond=5)),
        "TPU904",
        "cond_subgraph_index refers to subgraph 5",
    ),
    ("external-buffer-past-end", bm.external_buffer_past_end, "TPU903", "buffers[1]: external data at offset 1000000"),
    (
        "large-custom-options-past-end",
        lambda: bm.large_custom_options(1_000_000, 16),
        "TPU903",
        "subgraph 0 op 1 large custom options: external data at offset 1000000 (16 bytes)",
    ),
    ("external-buffer-cut-short", lambda: bm.external_buffer_model(missing=3), "TPU903", "buffers[1]: external data"),
    # graph structure
    ("no-subgraphs", bm.no_subgraphs, "TPU902", "no subgraphs"),
    (
        "while-body-is-own-subgraph",
        lambda: bm.build(bm.while_spec(body=0)),
        "TPU905",
        "body_subgraph_index refers to its own",
    ),
    (
        "call-once-init-is-own-subgraph",
        lambda: bm.build(bm.call_once_spec([0])),
        "TPU905",
        "(CallOnceOptions) init_subgraph_index refers to its own subgraph 0",
    ),
    (
        "stablehlo-while-body-is-own-subgraph",
        lambda: bm.build(bm.stablehlo_while_spec(body=0)),
        "TPU905",
        "(StablehloWhileOptions) body_subgraph_index refers to its own",
    ),
    ("subgraphs-call-each-other", lambda: bm.build(bm.call_once_spec([1, 2, 1])), "TPU905", "in a loop"),
    ("op-cycle", bm.op_cycle, "TPU905", "ops form a cycle (each reads a tensor written by the next): 0 -> 1 -> 0"),
    ("op-reads-its-own-output", bm.op_reads_own_output, "TPU905", "1 -> 1"),
    ("op-reads-before-producer-runs", bm.read_before_produced, "TPU905", "reads tensor 2 ('s') before op 1 produces"),
    ("op-input-produced-by-no-one", bm.input_produced_by_no_one, "TPU905", "op 1 input 1 reads tensor 4 ('orphan')"),
    ("tensor-written-by-two-ops", bm.two_producers, "TPU905", "tensor 2 ('s') is written by op 0 and again by op 1"),
    ("output-produced-by-no-one", bm.output_produced_by_no_one, "TPU905", "output 1 is tensor 4 ('never')"),
]


@pytest.mark.parametrize(("make", "code", "fragment"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_model(make: Callable[[], bytes], code: str, fragment: str) -> None:
    data = make()
    with pytest.raises(ModelFormatError) as info:
        verify_tflite(data)
    assert info.value.code == code, str(info.value)
    assert fragment in str(info.value)


VALID: list[tuple[str, Callable[[], bytes]]] = [
    ("tiny", bm.tiny_model),
    ("no-identifier-old-converter", bm.no_identifier),
    ("optional-minus-1-input", bm.tiny_model),  # tiny's RELU has an input -1
    ("variable-tensor-read-without-producer", bm.variable_input),
    ("constant-with-inline-data-and-empty-external-block", bm.inline_data_and_empty_external_block),
    ("large-custom-options-inside-the-file", lambda: bm.large_custom_options(8, 16)),
    ("while-loop", lambda: bm.build(bm.while_spec())),
    ("call-once", lambda: bm.build(bm.call_once_spec([1]))),
    ("stablehlo-while", lambda: bm.build(bm.stablehlo_while_spec(body=2))),
    ("external-buffer-after-flatbuffer", bm.external_buffer_model),
    ("shared-vector-within-budget", lambda: bm.shared_vector_model(ops=4, width=4)),
    ("repeated-subgraph-within-budget", lambda: bm.repeated_subgraph_model(repeats=2, tensors=3)),
]


@pytest.mark.parametrize("make", [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_model(make: Callable[[], bytes]) -> None:
    verify_tflite(make())


def test_accepts_bytes_bytearray_memoryview_and_mmap(tmp_path: Path) -> None:
    data = bm.tiny_model()
    verify_tflite(data)
    verify_tflite(bytearray(data))
    verify_tflite(memoryview(data))
    path = tmp_path / "tiny.tflite"
    path.write_bytes(data)
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        verify_tflite(mapped)
        mapped.close()  # no view into the mapping is left behind


def _models(root: Path) -> list[Path]:
    return sorted(root.glob("**/*.tflite")) if root.is_dir() else []


@pytest.mark.parametrize("path", _models(CORPUS), ids=lambda p: p.name)
def test_corpus_model_verifies(path: Path) -> None:
    verify_tflite(path.read_bytes())


def test_corpus_is_present_or_skipped() -> None:
    if not _models(CORPUS):
        pytest.skip(f"corpus not found at {CORPUS}")
    assert len(_models(CORPUS)) > 50


@pytest.mark.parametrize("path", _models(FIXTURES), ids=lambda p: p.name)
def test_fixture_model_verifies(path: Path) -> None:
    verify_tflite(path.read_bytes())


def _chain_model(ops: int) -> bytes:
    tensors = [bm.TensorSpec("x", [1, 8])]
    op_specs = []
    for i in range(ops):
        tensors.append(bm.TensorSpec(f"w{i}", [1, 8], buffer=1, quantized=True))
        tensors.append(bm.TensorSpec(f"t{i}", [1, 8]))
        op_specs.append(bm.OpSpec(0, [len(tensors) - 3 if i else 0, len(tensors) - 2], [len(tensors) - 1]))
    spec = bm.ModelSpec(
        opcodes=[(bm.ADD, None)],
        subgraphs=[bm.SubgraphSpec(tensors, [0], [len(tensors) - 1], op_specs)],
        buffers=[b"", bytes(32)],
    )
    return bm.build(spec)


def test_verification_work_is_linear_in_the_ops() -> None:
    """Twice the ops, about twice the work (Python calls counted, not timed: the time is in
    ``benchmarks/speed.py``); a step quadratic in the ops would quadruple it."""

    def calls(data: bytes) -> int:
        count = 0

        def hook(frame: object, event: str, arg: object) -> None:
            nonlocal count
            if event == "call":
                count += 1

        sys.setprofile(hook)
        try:
            verify_tflite(data)
        finally:
            sys.setprofile(None)
        return count

    small, large = calls(_chain_model(200)), calls(_chain_model(400))
    assert 1.5 * small < large < 2.3 * small, (small, large)


# ---- graph_order_problem on its own -------------------------------------------------------------


def _never(_: int) -> bool:
    return False


def test_graph_order_ok() -> None:
    assert graph_order_problem([[0], [1, -1]], [[1], [2]], [0], [2], _never) is None


def test_graph_order_static_tensors_need_no_producer() -> None:
    assert graph_order_problem([[0, 5]], [[1]], [0], [1], lambda t: t == 5) is None
    assert "reads tensor 5" in (graph_order_problem([[0, 5]], [[1]], [0], [1], _never) or "")


def test_graph_order_long_cycle() -> None:
    problem = graph_order_problem([[3], [1], [2]], [[1], [2], [3]], [], [], _never)
    assert problem is not None and "cycle" in problem and "0 -> 2 -> 1 -> 0" in problem


# ---- the embedded schema layouts match the installed tflite package ---------------------------

_SIZES = {"Int8": 1, "Uint8": 1, "Bool": 1, "Int16": 2, "Uint16": 2, "Int32": 4, "Uint32": 4, "Float32": 4}
_SIZES |= {"Int64": 8, "Uint64": 8, "Float64": 8}


def _kind(method_source: str) -> str:
    """The layout kind of one generated getter, read from its source."""
    if "self._tab.Union(" in method_source:
        return "U"
    if "self._tab.String(o + self._tab.Pos)" in method_source:
        return "s"
    target = re.search(r"from tflite\.(\w+) import", method_source)
    if "x = self._tab.Vector(o)" in method_source and target:
        return f"V.{target.group(1)}"
    if "Indirect(o + self._tab.Pos)" in method_source and target:
        return f"T.{target.group(1)}"
    flags = re.search(r"number_types\.(\w+)Flags, (a|o) \+", method_source)
    assert flags, method_source
    size = _SIZES[flags.group(1)]
    return f"v{size}" if flags.group(2) == "a" else str(size)


def _installed_fields(table: str) -> dict[int, str]:
    cls = getattr(importlib.import_module(f"tflite.{table}"), table)
    fields = {}
    for name, method in vars(cls).items():
        if (
            name == "Init"
            or name.startswith(("_", "GetRootAs"))
            or name.endswith(("IsNone", "Length", "AsNumpy", "Identifier"))
        ):
            continue
        source = inspect.getsource(method)
        voffset = re.search(r"self\._tab\.Offset\((\d+)\)", source)
        if voffset:
            fields[int(voffset.group(1))] = _kind(source)
    return fields


def test_layouts_match_the_installed_tflite_package() -> None:
    for name, layout in verify._LAYOUTS.items():
        embedded = {4 + 2 * slot: kind for slot, (_, kind) in layout.declared.items()}
        embedded = {v: ("U" if k.startswith("U.") else k) for v, k in embedded.items()}
        assert embedded == _installed_fields(name), name


def test_union_members_match_the_installed_tflite_package() -> None:
    for union, members in verify._UNION_MEMBERS.items():
        enum = vars(getattr(tflite, union))
        installed = {value: key for key, value in enum.items() if not key.startswith("_") and value}
        assert dict(enumerate(members, start=1)) == installed, union


def test_unknown_options_type_from_a_newer_tensorflow_is_accepted() -> None:
    """Options of a union type newer than the schema are not read, so the model stays usable."""
    from tpulint.model import parse_model

    data = bm.unknown_options_type()
    verify_tflite(data)  # no error: the options table offset is inside the file
    m = parse_model(data)
    op = m.subgraphs[0].ops[0]
    assert op.options_type == "OPTIONS_200" and op.options == {}
