"""Build tiny TFLite models in memory with the flatbuffers Builder (no TensorFlow needed).

Used by the per-rule unit tests (Vela's style: one small op per test). The converter-made models in
``fixtures/`` and the real corpus check the whole pipeline against reality.
"""

from __future__ import annotations

import importlib
import struct
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions

from tpulint.float32 import f32

_Buffer, _OperatorCode, _Tensor, _QuantizationParameters, _Operator, _SubGraph, _Model = (
    importlib.import_module(f"tflite.{n}")
    for n in ("Buffer", "OperatorCode", "Tensor", "QuantizationParameters", "Operator", "SubGraph", "Model")
)
DTYPES = {"FLOAT32": 0, "FLOAT16": 1, "INT32": 2, "UINT8": 3, "INT64": 4, "INT16": 7, "INT8": 9}


@dataclass
class T:
    """A tensor: shape, dtype, optional constant data (bytes), quantized by default for 8-bit types."""

    name: str
    shape: list[int]
    dtype: str = "INT8"
    data: bytes | None = None
    quant: bool | None = None
    signature: list[int] | None = None
    scale: list[float] | None = None
    zero_point: list[int] | None = None
    is_variable: bool = False


@dataclass
class O:  # noqa: E742 - short names keep the model tables in tests readable
    """An op: builtin name (or "CUSTOM"), input/output tensor names, options (name, {field: value})."""

    opcode: str
    inputs: list[str | None]
    outputs: list[str]
    version: int = 1
    options: tuple[str, dict[str, Any]] | None = None
    custom_code: str | None = None


@dataclass
class M:
    tensors: list[T]
    ops: list[O]
    inputs: list[str]
    outputs: list[str]
    extra_subgraphs: int = 0
    description: str = "tpulint test model"
    extra: dict[str, Any] = field(default_factory=dict)


def i32(*vals: int) -> bytes:
    return struct.pack(f"<{len(vals)}i", *vals)


def _vec_i32(b: flatbuffers.Builder, start: Any, vals: list[int]) -> int:
    start(b, len(vals))
    for v in reversed(vals):
        b.PrependInt32(v)
    return b.EndVector()


def _options(b: flatbuffers.Builder, name: str, fields: dict[str, Any]) -> tuple[int, int]:
    mod_module = importlib.import_module(f"tflite.{name}")
    vec_fields = {k: v for k, v in fields.items() if isinstance(v, (list, tuple))}
    vec_offsets = {}
    for k, v in vec_fields.items():
        start = getattr(mod_module, f"Start{k}Vector")
        vec_offsets[k] = _vec_i32(b, start, list(v))
    mod_module.Start(b)
    for k, v in fields.items():
        add = getattr(mod_module, f"Add{k}")
        add(b, vec_offsets.get(k, v))
    return getattr(BuiltinOptions, name), mod_module.End(b)


# Op -> (input index of its bias, input index of its data input), for _bias_scales.
_BIAS_INPUTS = {"CONV_2D": (2, 0), "DEPTHWISE_CONV_2D": (2, 0), "FULLY_CONNECTED": (2, 0), "TRANSPOSE_CONV": (3, 2)}


def _bias_scales(m: M) -> dict[str, list[float]]:
    """Scales for the int32 biases a test leaves unquantized: input scale x weight scale (per weight
    channel), as the converter writes them (TFLite refuses another bias scale: TPU206)."""
    by_name = {t.name: t for t in m.tensors}
    out: dict[str, list[float]] = {}
    for o in m.ops:
        where = _BIAS_INPUTS.get(o.opcode)
        if where is None or len(o.inputs) <= max(where) or o.inputs[where[0]] is None:
            continue
        bias, x, w = (by_name.get(o.inputs[i] or "") for i in (where[0], where[1], 1))
        if bias is None or x is None or w is None or bias.dtype != "INT32" or bias.quant is not None or bias.scale:
            continue
        x_scale = (x.scale or [0.05])[0]
        out[bias.name] = [f32(x_scale * s) for s in (w.scale or [0.05])]
    return out


def build(m: M) -> bytes:
    b = flatbuffers.Builder(1024)
    names = {t.name: i for i, t in enumerate(m.tensors)}
    bias_scales = _bias_scales(m)

    # Buffers: 0 is the empty sentinel; then one per constant tensor.
    buf_data: list[bytes | None] = [None]
    tensor_buf: list[int] = []
    for t in m.tensors:
        if t.data is not None:
            buf_data.append(t.data)
            tensor_buf.append(len(buf_data) - 1)
        else:
            tensor_buf.append(0)
    buf_offsets = []
    for data in buf_data:
        dv = b.CreateByteVector(data) if data else None
        _Buffer.Start(b)
        if dv is not None:
            _Buffer.AddData(b, dv)
        buf_offsets.append(_Buffer.End(b))

    # Operator codes.
    codes: list[tuple[str, int, str | None]] = []
    for o in m.ops:
        key = (o.opcode, o.version, o.custom_code)
        if key not in codes:
            codes.append(key)
    code_offsets = []
    for opname, ver, custom in codes:
        cc = b.CreateString(custom) if custom else None
        num = getattr(BuiltinOperator, opname)
        _OperatorCode.Start(b)
        _OperatorCode.AddDeprecatedBuiltinCode(b, min(num, 127))
        _OperatorCode.AddBuiltinCode(b, num)
        _OperatorCode.AddVersion(b, ver)
        if cc is not None:
            _OperatorCode.AddCustomCode(b, cc)
        code_offsets.append(_OperatorCode.End(b))

    def subgraph(tensors: list[T], ops: list[O], inputs: list[str], outputs: list[str]) -> int:
        t_offsets = []
        for i, t in enumerate(tensors):
            name = b.CreateString(t.name)
            shape = _vec_i32(b, _Tensor.StartShapeVector, t.shape)
            sig = _vec_i32(b, _Tensor.StartShapeSignatureVector, t.signature) if t.signature else None
            q = None
            derived = bias_scales.get(t.name) if tensors is m.tensors else None
            # Quantized: as asked, else 8/16-bit tensors, biases given a derived scale, and any tensor given a scale.
            quant = t.quant if t.quant is not None else (t.dtype in ("INT8", "UINT8", "INT16") or derived or t.scale)
            if quant:
                scales = t.scale or derived or [0.05]
                zps = t.zero_point or [0] * len(scales)
                _QuantizationParameters.StartScaleVector(b, len(scales))
                for s in reversed(scales):
                    b.PrependFloat32(s)
                sv = b.EndVector()
                _QuantizationParameters.StartZeroPointVector(b, len(zps))
                for z in reversed(zps):
                    b.PrependInt64(z)
                zv = b.EndVector()
                _QuantizationParameters.Start(b)
                _QuantizationParameters.AddScale(b, sv)
                _QuantizationParameters.AddZeroPoint(b, zv)
                q = _QuantizationParameters.End(b)
            _Tensor.Start(b)
            _Tensor.AddShape(b, shape)
            if sig is not None:
                _Tensor.AddShapeSignature(b, sig)
            _Tensor.AddType(b, DTYPES[t.dtype])
            _Tensor.AddBuffer(b, tensor_buf[i] if tensors is m.tensors else 0)
            _Tensor.AddName(b, name)
            if q is not None:
                _Tensor.AddQuantization(b, q)
            if t.is_variable:
                _Tensor.AddIsVariable(b, True)
            t_offsets.append(_Tensor.End(b))
        local = {t.name: i for i, t in enumerate(tensors)}
        o_offsets = []
        for o in ops:
            ins = _vec_i32(b, _Operator.StartInputsVector, [local[n] if n is not None else -1 for n in o.inputs])
            outs = _vec_i32(b, _Operator.StartOutputsVector, [local[n] for n in o.outputs])
            opt = _options(b, *o.options) if o.options else None
            _Operator.Start(b)
            _Operator.AddOpcodeIndex(b, codes.index((o.opcode, o.version, o.custom_code)))
            _Operator.AddInputs(b, ins)
            _Operator.AddOutputs(b, outs)
            if opt is not None:
                _Operator.AddBuiltinOptionsType(b, opt[0])
                _Operator.AddBuiltinOptions(b, opt[1])
            o_offsets.append(_Operator.End(b))
        _SubGraph.StartTensorsVector(b, len(t_offsets))
        for x in reversed(t_offsets):
            b.PrependUOffsetTRelative(x)
        tv = b.EndVector()
        _SubGraph.StartOperatorsVector(b, len(o_offsets))
        for x in reversed(o_offsets):
            b.PrependUOffsetTRelative(x)
        ov = b.EndVector()
        iv = _vec_i32(b, _SubGraph.StartInputsVector, [local[n] for n in inputs])
        outv = _vec_i32(b, _SubGraph.StartOutputsVector, [local[n] for n in outputs])
        _SubGraph.Start(b)
        _SubGraph.AddTensors(b, tv)
        _SubGraph.AddOperators(b, ov)
        _SubGraph.AddInputs(b, iv)
        _SubGraph.AddOutputs(b, outv)
        return _SubGraph.End(b)

    sgs = [subgraph(m.tensors, m.ops, m.inputs, m.outputs)]
    for k in range(m.extra_subgraphs):
        x = T(f"sg{k + 1}_x", [1, 4], "INT8")
        y = T(f"sg{k + 1}_y", [1, 4], "INT8")
        sgs.append(subgraph([x, y], [O("RELU", [x.name], [y.name])], [x.name], [y.name]))
    del names

    desc = b.CreateString(m.description)
    _Model.StartOperatorCodesVector(b, len(code_offsets))
    for x in reversed(code_offsets):
        b.PrependUOffsetTRelative(x)
    cv = b.EndVector()
    _Model.StartSubgraphsVector(b, len(sgs))
    for x in reversed(sgs):
        b.PrependUOffsetTRelative(x)
    sv = b.EndVector()
    _Model.StartBuffersVector(b, len(buf_offsets))
    for x in reversed(buf_offsets):
        b.PrependUOffsetTRelative(x)
    bv = b.EndVector()
    _Model.Start(b)
    _Model.AddVersion(b, 3)
    _Model.AddOperatorCodes(b, cv)
    _Model.AddSubgraphs(b, sv)
    _Model.AddDescription(b, desc)
    _Model.AddBuffers(b, bv)
    root = _Model.End(b)
    b.Finish(root, file_identifier=b"TFL3")
    return bytes(b.Output())


def conv_chain(
    middle: O | None = None,
    *,
    shape: list[int] | None = None,
    dtype: str = "INT8",
    extra_tensors: list[T] | None = None,
) -> M:
    """input -> CONV_2D -> [middle op reading 'a', writing 'b'] -> CONV_2D -> output."""
    shape = shape or [1, 8, 8, 4]
    c = shape[-1]
    tensors = [
        T("input", shape, dtype),
        T("w1", [c, 1, 1, c], "INT8", data=bytes(c * c)),
        T("b1", [c], "INT32", data=bytes(4 * c)),
        T("a", shape, dtype),
        T("b", shape, dtype),
        T("w2", [c, 1, 1, c], "INT8", data=bytes(c * c)),
        T("b2", [c], "INT32", data=bytes(4 * c)),
        T("output", shape, dtype),
    ] + (extra_tensors or [])
    conv_opts = ("Conv2DOptions", {"StrideH": 1, "StrideW": 1})
    ops = [O("CONV_2D", ["input", "w1", "b1"], ["a"], version=3, options=conv_opts)]
    if middle is not None:
        ops.append(middle)
        ops.append(O("CONV_2D", ["b", "w2", "b2"], ["output"], version=3, options=conv_opts))
    else:
        ops.append(O("CONV_2D", ["a", "w2", "b2"], ["output"], version=3, options=conv_opts))
    return M(tensors=tensors, ops=ops, inputs=["input"], outputs=["output"])
