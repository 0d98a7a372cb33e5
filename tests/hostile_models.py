"""Small TFLite files built to make a reader do far more work than their size: shared tables,
vectors and strings referenced many times, huge fan-in and fan-out, very long names and shapes.

Each model is a valid flatbuffer whose every offset is in range. A reader that materialises a
shared string or vector once per reference, or an analysis that is quadratic in an op's inputs or
a tensor's readers, turns a megabyte file into gigabytes or hours. ``tests/test_bounded_cost.py``
checks that every one of them either is refused with a clear ``TPU906`` or is analysed in time and
memory linear in the file.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
import tflite
from broken_models import _int32s, _opcode_table, _tables
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions


def _tensor(
    b: flatbuffers.Builder, *, name: int, shape: int, quant: int | None = None, dtype: int = 9, buffer: int = 0
) -> int:
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, dtype)
    tflite.TensorAddBuffer(b, buffer)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    return int(tflite.TensorEnd(b))


def _op(
    b: flatbuffers.Builder, inputs: int, outputs: int, *, opcode: int = 0, options: tuple[int, int] | None = None
) -> int:
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, opcode)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, options[0])
        tflite.OperatorAddBuiltinOptions(b, options[1])
    return int(tflite.OperatorEnd(b))


def _model(
    b: flatbuffers.Builder,
    tensors: list[int],
    ops: list[int],
    inputs: list[int],
    outputs: list[int],
    opcodes: list[tuple[int, str | None]],
) -> bytes:
    tensor_vector = _tables(b, tensors)
    op_vector = _tables(b, ops)
    graph_inputs, graph_outputs = _int32s(b, inputs), _int32s(b, outputs)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensor_vector)
    tflite.SubGraphAddInputs(b, graph_inputs)
    tflite.SubGraphAddOutputs(b, graph_outputs)
    tflite.SubGraphAddOperators(b, op_vector)
    subgraph = tflite.SubGraphEnd(b)
    tflite.BufferStart(b)
    buffers = _tables(b, [tflite.BufferEnd(b)])
    opcode_vector = _opcode_table(b, opcodes)
    subgraphs = _tables(b, [subgraph])
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, opcode_vector)
    tflite.ModelAddSubgraphs(b, subgraphs)
    tflite.ModelAddBuffers(b, buffers)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _fan_out_graph(
    b: flatbuffers.Builder, readers: int, *, name: int, shape: int, quant: int | None = None
) -> tuple[list[int], list[int]]:
    """Tensor 0 (the graph input) is read by ``readers`` RELU ops; op k writes tensor k + 1. Every
    tensor shares ONE name string, ONE shape vector (and ONE quantization table)."""
    tensors = [_tensor(b, name=name, shape=shape, quant=quant) for _ in range(readers + 1)]
    shared_input = _int32s(b, [0])
    ops = [_op(b, shared_input, _int32s(b, [k + 1])) for k in range(readers)]
    return tensors, ops


def shared_name(readers: int = 2000, name_bytes: int = 500_000) -> bytes:
    """Every tensor is named by one long string: a reader that copies it per tensor needs
    ``readers * name_bytes`` bytes (1 GB for a 0.6 MB file)."""
    b = flatbuffers.Builder(1024)
    name, shape = b.CreateString("n" * name_bytes), _int32s(b, [1, 8, 8, 4])
    tensors, ops = _fan_out_graph(b, readers, name=name, shape=shape)
    return _model(b, tensors, ops, [0], [readers], [(BuiltinOperator.RELU, None)])


def shared_shape(readers: int = 2000, rank: int = 100_000) -> bytes:
    """Every tensor has one shared shape of ``rank`` dimensions (all 1)."""
    b = flatbuffers.Builder(1024)
    name, shape = b.CreateString("t"), _int32s(b, [1] * rank)
    tensors, ops = _fan_out_graph(b, readers, name=name, shape=shape)
    return _model(b, tensors, ops, [0], [readers], [(BuiltinOperator.RELU, None)])


def shared_quantization(readers: int = 2000, channels: int = 100_000) -> bytes:
    """Every tensor shares one per-axis quantization table of ``channels`` scales and zero points."""
    b = flatbuffers.Builder(1024)
    scale = b.CreateNumpyVector(np.full(channels, 0.5, dtype=np.float32))
    zero_point = b.CreateNumpyVector(np.zeros(channels, dtype=np.int64))
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zero_point)
    quant = tflite.QuantizationParametersEnd(b)
    name, shape = b.CreateString("t"), _int32s(b, [1, 8, 8, 4])
    tensors, ops = _fan_out_graph(b, readers, name=name, shape=shape, quant=quant)
    return _model(b, tensors, ops, [0], [readers], [(BuiltinOperator.RELU, None)])


def shared_options(ops: int = 2000, values: int = 100_000) -> bytes:
    """Every RESHAPE op points at one ReshapeOptions table whose new_shape has ``values`` entries."""
    b = flatbuffers.Builder(1024)
    new_shape = _int32s(b, [1] * values)
    tflite.ReshapeOptionsStart(b)
    tflite.ReshapeOptionsAddNewShape(b, new_shape)
    options = (BuiltinOptions.ReshapeOptions, int(tflite.ReshapeOptionsEnd(b)))
    name, shape = b.CreateString("t"), _int32s(b, [1, 8, 8, 4])
    tensors = [_tensor(b, name=name, shape=shape) for _ in range(ops + 1)]
    shared_input = _int32s(b, [0])
    operators = [_op(b, shared_input, _int32s(b, [k + 1]), options=options) for k in range(ops)]
    return _model(b, tensors, operators, [0], [ops], [(BuiltinOperator.RESHAPE, None)])


def long_custom_code(ops: int = 2000, code_bytes: int = 500_000) -> bytes:
    """Every op is one custom op whose custom_code is ``code_bytes`` long."""
    b = flatbuffers.Builder(1024)
    name, shape = b.CreateString("t"), _int32s(b, [1, 8, 8, 4])
    tensors, operators = _fan_out_graph(b, ops, name=name, shape=shape)
    return _model(b, tensors, operators, [0], [ops], [(BuiltinOperator.CUSTOM, "c" * code_bytes)])


def fan_in(producers: int = 50_000) -> bytes:
    """``producers`` RELU ops each write one tensor; one CONCATENATION reads them all."""
    b = flatbuffers.Builder(1024)
    name, shape = b.CreateString("t"), _int32s(b, [1, 1, 1, 1])
    tensors = [_tensor(b, name=name, shape=shape) for _ in range(producers + 2)]
    shared_input = _int32s(b, [0])
    ops = [_op(b, shared_input, _int32s(b, [k + 1]), opcode=1) for k in range(producers)]
    ops.append(_op(b, _int32s(b, list(range(1, producers + 1))), _int32s(b, [producers + 1])))
    opcodes = [(BuiltinOperator.CONCATENATION, None), (BuiltinOperator.RELU, None)]
    return _model(b, tensors, ops, [0], [producers + 1], opcodes)


def fan_out(readers: int = 50_000) -> bytes:
    """Op 0 writes tensor 1, which ``readers`` RELU ops read (each writing its own tensor)."""
    b = flatbuffers.Builder(1024)
    name, shape = b.CreateString("t"), _int32s(b, [1, 1, 1, 1])
    tensors = [_tensor(b, name=name, shape=shape) for _ in range(readers + 2)]
    shared_input = _int32s(b, [1])
    ops = [_op(b, _int32s(b, [0]), _int32s(b, [1]))]
    ops += [_op(b, shared_input, _int32s(b, [k + 2])) for k in range(readers)]
    return _model(b, tensors, ops, [0], [readers + 1], [(BuiltinOperator.RELU, None)])


def many_inputs_one_tensor(inputs: int = 200_000) -> bytes:
    """One ADD op whose inputs list names tensor 0 ``inputs`` times (a reader deduplicating with a
    list would be quadratic)."""
    b = flatbuffers.Builder(1024)
    name, shape = b.CreateString("t"), _int32s(b, [1, 1, 1, 1])
    tensors = [_tensor(b, name=name, shape=shape) for _ in range(2)]
    ops = [_op(b, _int32s(b, [0] * inputs), _int32s(b, [1]))]
    return _model(b, tensors, ops, [0], [1], [(BuiltinOperator.ADD, None)])


HOSTILE = {
    "shared_name": shared_name,
    "shared_shape": shared_shape,
    "shared_quantization": shared_quantization,
    "shared_options": shared_options,
    "long_custom_code": long_custom_code,
    "fan_in": fan_in,
    "fan_out": fan_out,
    "many_inputs_one_tensor": many_inputs_one_tensor,
}
