"""Hand-made TFLite models for the verifier tests: a valid tiny model and named corruptions of it.

Models are described by index (not by name, unlike ``builders.py``) so that a spec can hold exactly
the bad index a test needs. Byte-level corruptions locate the field to damage with the ``tflite``
bindings on the valid model, then patch the bytes. Everything here runs without ``../shared``.
"""

from __future__ import annotations

import copy
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.BuiltinOptions2 import BuiltinOptions2

ADD = BuiltinOperator.ADD
RELU = BuiltinOperator.RELU
WHILE = BuiltinOperator.WHILE
CALL_ONCE = BuiltinOperator.CALL_ONCE
STABLEHLO_WHILE = BuiltinOperator.STABLEHLO_WHILE


@dataclass
class TensorSpec:
    name: str
    shape: list[int]
    buffer: int = 0
    is_variable: bool = False
    quantized: bool = False


@dataclass
class OpSpec:
    opcode: int  # index into ModelSpec.opcodes
    inputs: list[int]
    outputs: list[int]
    # (options table name, {snake_case field: int}); BuiltinOptions or BuiltinOptions2 is inferred.
    options: tuple[str, dict[str, int]] | None = None
    intermediates: list[int] | None = None
    large_custom_options: tuple[int, int] | None = None  # (offset, size) after the flatbuffer


@dataclass
class SubgraphSpec:
    tensors: list[TensorSpec]
    inputs: list[int]
    outputs: list[int]
    ops: list[OpSpec]
    name: str = "main"


@dataclass
class SignatureSpec:
    key: str
    subgraph: int
    inputs: list[tuple[str, int]]
    outputs: list[tuple[str, int]]


@dataclass
class ModelSpec:
    opcodes: list[tuple[int, str | None]]  # (builtin code, custom code)
    subgraphs: list[SubgraphSpec]
    # Inline data, or (offset, size) of data stored after the flatbuffer (models over 2 GB).
    buffers: list[bytes | tuple[int, int] | tuple[int, int, bytes]]  # data, (offset, size), or both
    metadata: list[tuple[str, int]] = field(default_factory=list)
    metadata_buffer: list[int] | None = None
    signatures: list[SignatureSpec] = field(default_factory=list)
    description: str = "tpulint verifier test model"


def _camel(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def _int32s(b: flatbuffers.Builder, values: list[int]) -> int:
    return int(b.CreateNumpyVector(np.asarray(values, dtype=np.int32)))


def _tables(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    return int(b.EndVector())


def _options(b: flatbuffers.Builder, name: str, values: dict[str, int]) -> tuple[int, int, int]:
    """Build an options table; return (1 or 2 for BuiltinOptions/BuiltinOptions2, union type, offset)."""
    which, union_type = 1, getattr(BuiltinOptions, name, 0)
    if not union_type:
        which, union_type = 2, getattr(BuiltinOptions2, name)
    getattr(tflite, f"{name}Start")(b)
    for key, value in values.items():
        getattr(tflite, f"{name}Add{_camel(key)}")(b, value)
    return which, union_type, int(getattr(tflite, f"{name}End")(b))


def _tensor(b: flatbuffers.Builder, t: TensorSpec) -> int:
    name = b.CreateString(t.name)
    shape = _int32s(b, t.shape)
    quant = None
    if t.quantized:
        scale = b.CreateNumpyVector(np.asarray([0.5], dtype=np.float32))
        zero_point = b.CreateNumpyVector(np.asarray([3], dtype=np.int64))
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, scale)
        tflite.QuantizationParametersAddZeroPoint(b, zero_point)
        quant = tflite.QuantizationParametersEnd(b)
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, 9 if t.quantized else 0)
    tflite.TensorAddBuffer(b, t.buffer)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    if t.is_variable:
        tflite.TensorAddIsVariable(b, True)
    return int(tflite.TensorEnd(b))


def _operator(b: flatbuffers.Builder, op: OpSpec) -> int:
    inputs = _int32s(b, op.inputs)
    outputs = _int32s(b, op.outputs)
    intermediates = _int32s(b, op.intermediates) if op.intermediates is not None else None
    options = _options(b, *op.options) if op.options else None
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, op.opcode)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if intermediates is not None:
        tflite.OperatorAddIntermediates(b, intermediates)
    if options is not None:
        which, union_type, offset = options
        if which == 1:
            tflite.OperatorAddBuiltinOptionsType(b, union_type)
            tflite.OperatorAddBuiltinOptions(b, offset)
        else:
            tflite.OperatorAddBuiltinOptions2Type(b, union_type)
            tflite.OperatorAddBuiltinOptions2(b, offset)
    if op.large_custom_options is not None:
        tflite.OperatorAddLargeCustomOptionsOffset(b, op.large_custom_options[0])
        tflite.OperatorAddLargeCustomOptionsSize(b, op.large_custom_options[1])
    return int(tflite.OperatorEnd(b))


def _subgraph(b: flatbuffers.Builder, sg: SubgraphSpec) -> int:
    tensors = _tables(b, [_tensor(b, t) for t in sg.tensors])
    operators = _tables(b, [_operator(b, op) for op in sg.ops])
    inputs = _int32s(b, sg.inputs)
    outputs = _int32s(b, sg.outputs)
    name = b.CreateString(sg.name)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors)
    tflite.SubGraphAddInputs(b, inputs)
    tflite.SubGraphAddOutputs(b, outputs)
    tflite.SubGraphAddOperators(b, operators)
    tflite.SubGraphAddName(b, name)
    return int(tflite.SubGraphEnd(b))


def _buffer(b: flatbuffers.Builder, content: bytes | tuple[int, int] | tuple[int, int, bytes]) -> int:
    inline = content if isinstance(content, bytes) else content[2] if len(content) == 3 else b""
    data = b.CreateByteVector(inline) if inline else None
    tflite.BufferStart(b)
    if data is not None:
        tflite.BufferAddData(b, data)
    if isinstance(content, tuple):
        tflite.BufferAddOffset(b, content[0])
        tflite.BufferAddSize(b, content[1])
    return int(tflite.BufferEnd(b))


def _signature(b: flatbuffers.Builder, sig: SignatureSpec) -> int:
    def maps(pairs: list[tuple[str, int]]) -> int:
        offsets = []
        for name, index in pairs:
            text = b.CreateString(name)
            tflite.TensorMapStart(b)
            tflite.TensorMapAddName(b, text)
            tflite.TensorMapAddTensorIndex(b, index)
            offsets.append(tflite.TensorMapEnd(b))
        return _tables(b, offsets)

    inputs, outputs, key = maps(sig.inputs), maps(sig.outputs), b.CreateString(sig.key)
    tflite.SignatureDefStart(b)
    tflite.SignatureDefAddInputs(b, inputs)
    tflite.SignatureDefAddOutputs(b, outputs)
    tflite.SignatureDefAddSignatureKey(b, key)
    tflite.SignatureDefAddSubgraphIndex(b, sig.subgraph)
    return int(tflite.SignatureDefEnd(b))


def _opcode_table(b: flatbuffers.Builder, opcodes: Sequence[tuple[int, str | None]]) -> int:
    """The model's operator-code vector: (builtin code, custom code) pairs, version 1."""
    codes = []
    for builtin, custom in opcodes:
        custom_code = b.CreateString(custom) if custom else None
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(builtin, 127))
        tflite.OperatorCodeAddBuiltinCode(b, builtin)
        tflite.OperatorCodeAddVersion(b, 1)
        if custom_code is not None:
            tflite.OperatorCodeAddCustomCode(b, custom_code)
        codes.append(tflite.OperatorCodeEnd(b))
    return _tables(b, codes)


def build(spec: ModelSpec, *, identifier: bytes | None = b"TFL3", size_prefixed: bool = False) -> bytes:
    """Serialize ``spec`` without any validation (bad indices go into the file as given)."""
    b = flatbuffers.Builder(1024)
    buffers = _tables(b, [_buffer(b, content) for content in spec.buffers])
    opcodes = _opcode_table(b, spec.opcodes)
    subgraphs = _tables(b, [_subgraph(b, sg) for sg in spec.subgraphs])
    entries = []
    for name, index in spec.metadata:
        text = b.CreateString(name)
        tflite.MetadataStart(b)
        tflite.MetadataAddName(b, text)
        tflite.MetadataAddBuffer(b, index)
        entries.append(tflite.MetadataEnd(b))
    metadata = _tables(b, entries)
    metadata_buffer = _int32s(b, spec.metadata_buffer) if spec.metadata_buffer is not None else None
    signatures = _tables(b, [_signature(b, sig) for sig in spec.signatures])
    description = b.CreateString(spec.description)
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, opcodes)
    tflite.ModelAddSubgraphs(b, subgraphs)
    tflite.ModelAddDescription(b, description)
    tflite.ModelAddBuffers(b, buffers)
    if metadata_buffer is not None:
        tflite.ModelAddMetadataBuffer(b, metadata_buffer)
    tflite.ModelAddMetadata(b, metadata)
    tflite.ModelAddSignatureDefs(b, signatures)
    root = tflite.ModelEnd(b)
    if size_prefixed:
        b.FinishSizePrefixed(root, file_identifier=identifier)
    else:
        b.Finish(root, file_identifier=identifier)
    return bytes(b.Output())


# ---- valid models -----------------------------------------------------------------------------


def tiny_spec() -> ModelSpec:
    """x + w -> s; relu(s) -> y. One quantized constant, an -1 optional input, metadata, a signature."""
    tensors = [
        TensorSpec("x", [1, 4]),
        TensorSpec("w", [1, 4], buffer=1, quantized=True),
        TensorSpec("s", [1, 4]),
        TensorSpec("y", [1, 4]),
    ]
    ops = [
        OpSpec(0, [0, 1], [2], options=("AddOptions", {"fused_activation_function": 0})),
        OpSpec(1, [2, -1], [3]),
    ]
    return ModelSpec(
        opcodes=[(ADD, None), (RELU, None)],
        subgraphs=[SubgraphSpec(tensors, [0], [3], ops)],
        buffers=[b"", bytes(range(16)), b"1.14.0\x00\x00"],
        metadata=[("min_runtime_version", 2)],
        signatures=[SignatureSpec("serving_default", 0, [("x", 0)], [("y", 3)])],
    )


def tiny_model() -> bytes:
    return build(tiny_spec())


def _relu_subgraph(name: str) -> SubgraphSpec:
    return SubgraphSpec([TensorSpec("a", [1]), TensorSpec("b", [1])], [0], [1], [OpSpec(1, [0], [1])], name)


def while_spec(cond: int = 1, body: int = 2) -> ModelSpec:
    """Subgraph 0 runs a WHILE op whose cond and body are subgraphs 1 and 2."""
    main = SubgraphSpec(
        [TensorSpec("x", [1]), TensorSpec("y", [1])],
        [0],
        [1],
        [OpSpec(0, [0], [1], options=("WhileOptions", {"cond_subgraph_index": cond, "body_subgraph_index": body}))],
    )
    return ModelSpec(
        opcodes=[(WHILE, None), (RELU, None)],
        subgraphs=[main, _relu_subgraph("cond"), _relu_subgraph("body")],
        buffers=[b""],
    )


def call_once_spec(inits: list[int]) -> ModelSpec:
    """Subgraph k (k < len(inits)) starts with CALL_ONCE(init=inits[k]); one more plain subgraph."""
    subgraphs = []
    for k, init in enumerate(inits):
        sg = _relu_subgraph(f"sg{k}")
        sg.ops.insert(0, OpSpec(0, [], [], options=("CallOnceOptions", {"init_subgraph_index": init})))
        subgraphs.append(sg)
    subgraphs.append(_relu_subgraph("init"))
    return ModelSpec(opcodes=[(CALL_ONCE, None), (RELU, None)], subgraphs=subgraphs, buffers=[b""])


def stablehlo_while_spec(body: int) -> ModelSpec:
    spec = while_spec()
    spec.opcodes[0] = (STABLEHLO_WHILE, None)
    op = spec.subgraphs[0].ops[0]
    op.options = ("StablehloWhileOptions", {"cond_subgraph_index": 1, "body_subgraph_index": body})
    return spec


def external_buffer_model(missing: int = 0) -> bytes:
    """A model whose constant lives after the flatbuffer (buffer.offset/size); ``missing`` bytes cut."""
    data = bytes(range(16))
    spec = tiny_spec()
    spec.buffers[1] = (1 << 40, len(data))  # placeholder of the same encoded size as the real offset
    head = build(spec)
    offset = (len(head) + 15) // 16 * 16
    spec.buffers[1] = (offset, len(data))
    model = build(spec)
    assert len(model) == len(head)
    whole = model + bytes(offset - len(model)) + data
    return whole[: len(whole) - missing]


def large_custom_options(offset: int, size: int) -> bytes:
    """The RELU (op 1) names custom options stored after the flatbuffer (models over 2 GB)."""

    def change(spec: ModelSpec) -> None:
        _main(spec).ops[1].large_custom_options = (offset, size)

    return tiny_with(change)


def inline_data_and_empty_external_block() -> bytes:
    """Valid: a constant whose buffer holds inline data and names an external block of size 0: the
    inline data makes it a constant an op may read without a producer. The reader sizes the buffer
    by its external block (0 bytes), so the graph checks must ask the file, as before they ran on
    the decoded model."""

    def change(spec: ModelSpec) -> None:
        spec.buffers.append((2, 0, bytes(range(16))))
        _main(spec).tensors.append(TensorSpec("const", [1, 4], buffer=len(spec.buffers) - 1))
        _main(spec).ops[1].inputs[1] = 4

    return tiny_with(change)


def _finish_model(b: flatbuffers.Builder, subgraph_offsets: list[int]) -> bytes:
    """Finish a model with one ADD opcode, the given subgraph offsets (repeats allowed) and one buffer."""
    buffers = _tables(b, [_buffer(b, b"")])
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddBuiltinCode(b, ADD)
    opcodes = _tables(b, [tflite.OperatorCodeEnd(b)])
    subgraphs = _tables(b, subgraph_offsets)
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, opcodes)
    tflite.ModelAddSubgraphs(b, subgraphs)
    tflite.ModelAddBuffers(b, buffers)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def shared_vector_model(ops: int = 400, width: int = 400) -> bytes:
    """Many ops that all point at ONE big inputs vector: fine for a reader, but a walk that re-reads
    it per op costs ops*width -- far more than the file size, so the verifier's budget refuses it."""
    b = flatbuffers.Builder(1024)
    tensors = _tables(b, [_tensor(b, TensorSpec("x", [1])), _tensor(b, TensorSpec("y", [1]))])
    shared_inputs = _int32s(b, [0] * width)
    operators = []
    for k in range(ops):
        outputs = _int32s(b, [1] if k == 0 else [])
        tflite.OperatorStart(b)
        tflite.OperatorAddInputs(b, shared_inputs)
        tflite.OperatorAddOutputs(b, outputs)
        operators.append(tflite.OperatorEnd(b))
    op_vector = _tables(b, operators)
    inputs, outputs = _int32s(b, [0]), _int32s(b, [1])
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors)
    tflite.SubGraphAddInputs(b, inputs)
    tflite.SubGraphAddOutputs(b, outputs)
    tflite.SubGraphAddOperators(b, op_vector)
    return _finish_model(b, [tflite.SubGraphEnd(b)])


def repeated_subgraph_model(repeats: int = 3000, tensors: int = 300) -> bytes:
    """The subgraphs vector names ONE subgraph of many tensors ``repeats`` times."""
    b = flatbuffers.Builder(1024)
    tensor_vector = _tables(b, [_tensor(b, TensorSpec(f"t{i}", [1])) for i in range(tensors)])
    inputs = _int32s(b, [0])
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensor_vector)
    tflite.SubGraphAddInputs(b, inputs)
    tflite.SubGraphAddOutputs(b, inputs)
    subgraph = tflite.SubGraphEnd(b)
    return _finish_model(b, [subgraph] * repeats)


# ---- spec-level corruptions -------------------------------------------------------------------


def tiny_with(change: Callable[[ModelSpec], None]) -> bytes:
    spec = copy.deepcopy(tiny_spec())
    change(spec)
    return build(spec)


def _main(spec: ModelSpec) -> SubgraphSpec:
    return spec.subgraphs[0]


def op_input_out_of_range() -> bytes:
    return tiny_with(lambda s: _main(s).ops[1].inputs.__setitem__(0, 9999))


def op_input_negative() -> bytes:
    return tiny_with(lambda s: _main(s).ops[0].inputs.__setitem__(1, -5))


def op_output_out_of_range() -> bytes:
    return tiny_with(lambda s: _main(s).ops[0].outputs.__setitem__(0, 4))


def intermediate_out_of_range() -> bytes:
    return tiny_with(lambda s: setattr(_main(s).ops[0], "intermediates", [2, 77]))


def subgraph_input_minus_one() -> bytes:
    return tiny_with(lambda s: setattr(_main(s), "inputs", [-1]))


def subgraph_output_out_of_range() -> bytes:
    return tiny_with(lambda s: setattr(_main(s), "outputs", [3, 12]))


def opcode_index_out_of_range() -> bytes:
    return tiny_with(lambda s: setattr(_main(s).ops[1], "opcode", 7))


def tensor_buffer_out_of_range() -> bytes:
    return tiny_with(lambda s: setattr(_main(s).tensors[1], "buffer", 42))


def metadata_buffer_out_of_range() -> bytes:
    return tiny_with(lambda s: setattr(s, "metadata", [("min_runtime_version", 9)]))


def model_metadata_buffer_negative() -> bytes:
    return tiny_with(lambda s: setattr(s, "metadata_buffer", [2, -3]))


def signature_subgraph_out_of_range() -> bytes:
    return tiny_with(lambda s: setattr(s.signatures[0], "subgraph", 3))


def signature_tensor_out_of_range() -> bytes:
    return tiny_with(lambda s: setattr(s.signatures[0], "outputs", [("y", 40)]))


def op_cycle() -> bytes:
    """op 0 reads op 1's output and op 1 reads op 0's output."""
    return tiny_with(lambda s: _main(s).ops[0].inputs.__setitem__(1, 3))


def read_before_produced() -> bytes:
    """The two ops swapped: RELU reads s before ADD writes it (no cycle, wrong order)."""
    return tiny_with(lambda s: _main(s).ops.reverse())


def op_reads_own_output() -> bytes:
    return tiny_with(lambda s: _main(s).ops[1].inputs.__setitem__(0, 3))


def input_produced_by_no_one() -> bytes:
    def change(spec: ModelSpec) -> None:
        _main(spec).tensors.append(TensorSpec("orphan", [1, 4]))
        _main(spec).ops[1].inputs[1] = 4

    return tiny_with(change)


def variable_input() -> bytes:
    """Valid: an op may read a variable tensor nobody writes (LSTM state)."""

    def change(spec: ModelSpec) -> None:
        _main(spec).tensors.append(TensorSpec("state", [1, 4], is_variable=True))
        _main(spec).ops[1].inputs[1] = 4

    return tiny_with(change)


def two_producers() -> bytes:
    return tiny_with(lambda s: _main(s).ops[1].outputs.__setitem__(0, 2))


def output_produced_by_no_one() -> bytes:
    def change(spec: ModelSpec) -> None:
        _main(spec).tensors.append(TensorSpec("never", [1, 4]))
        _main(spec).outputs.append(4)

    return tiny_with(change)


def no_subgraphs() -> bytes:
    return tiny_with(lambda s: setattr(s, "subgraphs", []))


def no_buffers() -> bytes:
    def change(spec: ModelSpec) -> None:
        spec.buffers = []
        spec.metadata = []

    return tiny_with(change)


def external_buffer_past_end() -> bytes:
    return tiny_with(lambda s: s.buffers.__setitem__(1, (1_000_000, 16)))


# ---- byte-level corruptions of the valid tiny model ------------------------------------------


def patch(data: bytes, pos: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, pos, value)
    return bytes(out)


def _root(data: bytes) -> tflite.Model:
    return tflite.Model.GetRootAs(data, 0)


def _field(obj: object, voffset: int) -> int:
    """Absolute position of a present field of a generated table object."""
    tab = obj._tab  # type: ignore[attr-defined]
    offset = tab.Offset(voffset)
    assert offset, f"field {voffset} absent"
    return int(tab.Pos + offset)


def _vtable(obj: object) -> int:
    tab = obj._tab  # type: ignore[attr-defined]
    return int(tab.Pos - struct.unpack_from("<i", tab.Bytes, tab.Pos)[0])


def truncated(size: int) -> bytes:
    return tiny_model()[:size]


def bad_identifier() -> bytes:
    data = tiny_model()
    return data[:4] + b"DWN1" + data[8:]


def size_prefixed() -> bytes:
    return build(tiny_spec(), size_prefixed=True)


def no_identifier() -> bytes:
    """Valid: very old converters wrote no file identifier."""
    return build(tiny_spec(), identifier=None)


def no_identifier_broken() -> bytes:
    data = no_identifier()
    root = struct.unpack_from("<I", data, 0)[0]
    return patch(data, root, "<i", -100_000)


def root_offset_past_end() -> bytes:
    data = tiny_model()
    return patch(data, 0, "<I", len(data) + 64)


def root_offset_in_header() -> bytes:
    return patch(tiny_model(), 0, "<I", 4)


def vtable_offset_out_of_range() -> bytes:
    data = tiny_model()
    tensor = _root(data).Subgraphs(0).Tensors(2)
    return patch(data, tensor._tab.Pos, "<i", -(len(data) * 4))


def vtable_size_odd() -> bytes:
    data = tiny_model()
    return patch(data, _vtable(_root(data).Subgraphs(0).Operators(0)), "<H", 7)


def field_outside_table() -> bytes:
    data = tiny_model()
    tensor = _root(data).Subgraphs(0).Tensors(1)
    return patch(data, _vtable(tensor) + 8, "<H", 400)  # vtable entry of Tensor.buffer (voffset 8)


def tensors_vector_length_2_31() -> bytes:
    data = tiny_model()
    sg = _root(data).Subgraphs(0)
    return patch(data, sg._tab.Vector(sg._tab.Offset(4)) - 4, "<I", 2**31)


def shape_vector_past_end() -> bytes:
    data = tiny_model()
    t = _root(data).Subgraphs(0).Tensors(0)
    at = t._tab.Vector(t._tab.Offset(4)) - 4
    return patch(data, at, "<I", (len(data) - at) // 4 + 1)


def string_past_end() -> bytes:
    data = tiny_model()
    at = _field(_root(data).Subgraphs(0).Tensors(3), 10)
    string = at + struct.unpack_from("<I", data, at)[0]
    return patch(data, string, "<I", len(data) - string)


def string_not_terminated() -> bytes:
    data = tiny_model()
    at = _field(_root(data).Subgraphs(0).Tensors(3), 10)
    string = at + struct.unpack_from("<I", data, at)[0]
    length = struct.unpack_from("<I", data, string)[0]
    return patch(data, string + 4 + length, "<B", ord("!"))


def subtable_offset_past_end() -> bytes:
    data = tiny_model()
    at = _field(_root(data).Subgraphs(0).Tensors(1), 12)  # Tensor.quantization
    return patch(data, at, "<I", len(data))


def vector_offset_past_end() -> bytes:
    data = tiny_model()
    at = _field(_root(data).Subgraphs(0).Operators(1), 6)  # Operator.inputs
    return patch(data, at, "<I", len(data) * 2)


def unknown_options_type() -> bytes:
    data = tiny_model()
    return patch(data, _field(_root(data).Subgraphs(0).Operators(0), 10), "<B", 200)


def opcode_index_huge() -> bytes:
    data = tiny_model()
    return patch(data, _field(_root(data).Subgraphs(0).Operators(1), 4), "<I", 2**32 - 1)
