"""Generate large (and many small) TFLite models for the speed benchmark, without TensorFlow.

Models are written with the ``flatbuffers`` Builder through the ``tflite`` package's generated
module functions (the same approach as ``tests/builders.py``, but linear in the model size: every
tensor, buffer and op is written once, with no per-op list searches). They are structurally valid
(the bounds-checking verifier accepts them), fully int8-quantized, and every constant has its own
buffer with real bytes, as a converter would write it. Families:

* ``cnn``  -- residual blocks of CONV_2D 1x1 -> DEPTHWISE_CONV_2D 3x3 -> ADD (3 ops, 7 tensors);
  a typical mobile CNN shape, every op maps to the Edge TPU;
* ``lstm`` -- blocks of an int8 UNIDIRECTIONAL_SEQUENCE_LSTM (24 inputs with layer norm, 5
  intermediates) -> FULLY_CONNECTED: 14 tensors per op, so 10,000 ops hold 140,000 tensors;
* ``weights`` -- a few FULLY_CONNECTED layers with large weight buffers (peak RSS vs file size);
* ``small`` -- the ``cnn`` family at 3-30 ops with varying shapes, for the 1,000-model directory.

Command line::

    python benchmarks/gen_models.py OUT_DIR            # the standard set (see STANDARD)
    python benchmarks/gen_models.py OUT_DIR --small 1000
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flatbuffers

_Buffer, _OperatorCode, _Tensor, _Quant, _Operator, _SubGraph, _Model = (
    importlib.import_module(f"tflite.{n}")
    for n in ("Buffer", "OperatorCode", "Tensor", "QuantizationParameters", "Operator", "SubGraph", "Model")
)
_Conv, _Dw, _Add, _Fc, _Lstm = (
    importlib.import_module(f"tflite.{n}")
    for n in (
        "Conv2DOptions",
        "DepthwiseConv2DOptions",
        "AddOptions",
        "FullyConnectedOptions",
        "UnidirectionalSequenceLSTMOptions",
    )
)

_Op = importlib.import_module("tflite.BuiltinOperator").BuiltinOperator
_Opt = importlib.import_module("tflite.BuiltinOptions").BuiltinOptions

INT8, INT16, INT32 = 9, 7, 2
# Every quantized tensor's scale (per-channel tensors add 0.001 per channel); a fully-connected
# bias takes input x weight scale, as the converter writes it (TFLite refuses another: TPU206).
SCALE = 0.02
BIAS_SCALE = SCALE * SCALE
# (builtin code, version, BuiltinOptions type)
CONV_2D = (_Op.CONV_2D, 3, _Opt.Conv2DOptions)
DEPTHWISE_CONV_2D = (_Op.DEPTHWISE_CONV_2D, 3, _Opt.DepthwiseConv2DOptions)
ADD = (_Op.ADD, 2, _Opt.AddOptions)
FULLY_CONNECTED = (_Op.FULLY_CONNECTED, 4, _Opt.FullyConnectedOptions)
LSTM = (_Op.UNIDIRECTIONAL_SEQUENCE_LSTM, 1, _Opt.UnidirectionalSequenceLSTMOptions)


class _Writer:
    """Accumulates tensors/buffers/ops of one subgraph and serialises them in one pass."""

    def __init__(self, size_hint: int = 1 << 16) -> None:
        self.b = flatbuffers.Builder(size_hint)
        self.buffers: list[int] = []  # Buffer table offsets; buffer 0 is the empty sentinel
        self.tensors: list[int] = []
        self.ops: list[int] = []
        self.codes: dict[tuple[int, int], int] = {}
        self.buffers.append(self._buffer(None))
        # One quantization table per tensor (as the converter writes it), built from these values.

    def _buffer(self, data: bytes | None) -> int:
        b = self.b
        dv = b.CreateByteVector(data) if data else None
        _Buffer.Start(b)
        if dv is not None:
            _Buffer.AddData(b, dv)
        return _Buffer.End(b)

    def _i32_vector(self, start: Callable[[Any, int], Any], vals: list[int] | tuple[int, ...]) -> int:
        b = self.b
        start(b, len(vals))
        for v in reversed(vals):
            b.PrependInt32(v)
        return b.EndVector()

    def tensor(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: int = INT8,
        data: bytes | None = None,
        *,
        scales: int = 1,
        variable: bool = False,
        scale: float = SCALE,
    ) -> int:
        """Add a tensor (quantized with ``scale``, or per channel; constant when ``data`` is given);
        return its index."""
        b = self.b
        bidx = 0
        if data is not None:
            self.buffers.append(self._buffer(data))
            bidx = len(self.buffers) - 1
        nm = b.CreateString(name)
        sh = self._i32_vector(_Tensor.StartShapeVector, shape)
        _Quant.StartScaleVector(b, scales)
        for k in range(scales):
            b.PrependFloat32(scale + 0.001 * k)
        sv = b.EndVector()
        _Quant.StartZeroPointVector(b, scales)
        for _ in range(scales):
            b.PrependInt64(0)
        zv = b.EndVector()
        _Quant.Start(b)
        _Quant.AddScale(b, sv)
        _Quant.AddZeroPoint(b, zv)
        q = _Quant.End(b)
        _Tensor.Start(b)
        _Tensor.AddShape(b, sh)
        _Tensor.AddType(b, dtype)
        _Tensor.AddBuffer(b, bidx)
        _Tensor.AddName(b, nm)
        _Tensor.AddQuantization(b, q)
        if variable:
            _Tensor.AddIsVariable(b, True)
        self.tensors.append(_Tensor.End(b))
        return len(self.tensors) - 1

    def op(
        self,
        code: tuple[int, int, int],
        inputs: list[int],
        outputs: list[int],
        options: Callable[[Any], int] | None = None,
        intermediates: list[int] | None = None,
    ) -> None:
        b = self.b
        builtin, version, opt_type = code
        idx = self.codes.setdefault((builtin, version), len(self.codes))
        iv = self._i32_vector(_Operator.StartInputsVector, inputs)
        ov = self._i32_vector(_Operator.StartOutputsVector, outputs)
        mv = self._i32_vector(_Operator.StartIntermediatesVector, intermediates) if intermediates else None
        opt = options(b) if options is not None else None
        _Operator.Start(b)
        _Operator.AddOpcodeIndex(b, idx)
        _Operator.AddInputs(b, iv)
        _Operator.AddOutputs(b, ov)
        if mv is not None:
            _Operator.AddIntermediates(b, mv)
        if opt is not None:
            _Operator.AddBuiltinOptionsType(b, opt_type)
            _Operator.AddBuiltinOptions(b, opt)
        self.ops.append(_Operator.End(b))

    def _offsets(self, start: Callable[[Any, int], Any], items: list[int]) -> int:
        b = self.b
        start(b, len(items))
        for x in reversed(items):
            b.PrependUOffsetTRelative(x)
        return b.EndVector()

    def finish(self, inputs: list[int], outputs: list[int], description: str) -> bytes:
        b = self.b
        tv = self._offsets(_SubGraph.StartTensorsVector, self.tensors)
        ov = self._offsets(_SubGraph.StartOperatorsVector, self.ops)
        iv = self._i32_vector(_SubGraph.StartInputsVector, inputs)
        outv = self._i32_vector(_SubGraph.StartOutputsVector, outputs)
        name = b.CreateString("main")
        _SubGraph.Start(b)
        _SubGraph.AddTensors(b, tv)
        _SubGraph.AddOperators(b, ov)
        _SubGraph.AddInputs(b, iv)
        _SubGraph.AddOutputs(b, outv)
        _SubGraph.AddName(b, name)
        sg = _SubGraph.End(b)
        code_offsets = []
        for (builtin, version), _ in sorted(self.codes.items(), key=lambda kv: kv[1]):
            _OperatorCode.Start(b)
            _OperatorCode.AddDeprecatedBuiltinCode(b, min(builtin, 127))
            _OperatorCode.AddBuiltinCode(b, builtin)
            _OperatorCode.AddVersion(b, version)
            code_offsets.append(_OperatorCode.End(b))
        cv = self._offsets(_Model.StartOperatorCodesVector, code_offsets)
        sv = self._offsets(_Model.StartSubgraphsVector, [sg])
        bv = self._offsets(_Model.StartBuffersVector, self.buffers)
        desc = b.CreateString(description)
        _Model.Start(b)
        _Model.AddVersion(b, 3)
        _Model.AddOperatorCodes(b, cv)
        _Model.AddSubgraphs(b, sv)
        _Model.AddDescription(b, desc)
        _Model.AddBuffers(b, bv)
        root = _Model.End(b)
        b.Finish(root, file_identifier=b"TFL3")
        return bytes(b.Output())


def _conv_opts(b: Any) -> int:
    _Conv.Start(b)
    _Conv.AddPadding(b, 0)
    _Conv.AddStrideW(b, 1)
    _Conv.AddStrideH(b, 1)
    _Conv.AddFusedActivationFunction(b, 3)
    return int(_Conv.End(b))


def _dw_opts(b: Any) -> int:
    _Dw.Start(b)
    _Dw.AddPadding(b, 0)
    _Dw.AddStrideW(b, 1)
    _Dw.AddStrideH(b, 1)
    _Dw.AddDepthMultiplier(b, 1)
    _Dw.AddFusedActivationFunction(b, 3)
    return int(_Dw.End(b))


def _add_opts(b: Any) -> int:
    _Add.Start(b)
    _Add.AddFusedActivationFunction(b, 0)
    return int(_Add.End(b))


def _fc_opts(b: Any) -> int:
    _Fc.Start(b)
    _Fc.AddFusedActivationFunction(b, 0)
    return int(_Fc.End(b))


def _lstm_opts(b: Any) -> int:
    _Lstm.Start(b)
    _Lstm.AddFusedActivationFunction(b, 4)
    _Lstm.AddCellClip(b, 10.0)
    _Lstm.AddTimeMajor(b, False)
    return int(_Lstm.End(b))


def cnn(n_ops: int, *, channels: int = 16, size: int = 8) -> bytes:
    """A residual CNN of ``n_ops`` ops (rounded down to whole 3-op blocks, at least one)."""
    blocks = max(n_ops // 3, 1)
    w = _Writer(1 << (12 + min(blocks.bit_length(), 14)))
    c, hw = channels, size
    shape = (1, hw, hw, c)
    x = w.tensor("input", shape)
    first = x
    for k in range(blocks):
        p = f"block{k}"
        w1 = w.tensor(f"{p}/conv/weights", (c, 1, 1, c), data=bytes(range(c)) * c, scales=c)
        b1 = w.tensor(f"{p}/conv/bias", (c,), INT32, data=bytes(4 * c), scales=c)
        a = w.tensor(f"{p}/conv/Relu6", shape)
        w.op(CONV_2D, [x, w1, b1], [a], _conv_opts)
        w2 = w.tensor(f"{p}/dw/weights", (1, 3, 3, c), data=bytes(9 * c), scales=c)
        b2 = w.tensor(f"{p}/dw/bias", (c,), INT32, data=bytes(4 * c), scales=c)
        d = w.tensor(f"{p}/dw/Relu6", shape)
        w.op(DEPTHWISE_CONV_2D, [a, w2, b2], [d], _dw_opts)
        y = w.tensor(f"{p}/add", shape)
        w.op(ADD, [d, x], [y], _add_opts)
        x = y
    return w.finish([first], [x], f"tpulint benchmark cnn, {3 * blocks} ops")


def lstm(n_ops: int, *, units: int = 16, steps: int = 8) -> bytes:
    """Stacked int8 LSTM + FULLY_CONNECTED blocks: ``n_ops`` ops (whole 2-op blocks), 14 tensors per op."""
    blocks = max(n_ops // 2, 1)
    w = _Writer(1 << (12 + min(blocks.bit_length(), 16)))
    u, t = units, steps
    x = w.tensor("input", (1, t, u))
    first = x
    for k in range(blocks):
        p = f"lstm{k}"
        ins = [x]
        for gate in ("input", "forget", "cell", "output"):
            ins.append(w.tensor(f"{p}/kernel_{gate}", (u, u), data=bytes(u * u)))
        for gate in ("input", "forget", "cell", "output"):
            ins.append(w.tensor(f"{p}/recurrent_{gate}", (u, u), data=bytes(u * u)))
        ins += [-1, -1, -1]  # no peepholes
        for gate in ("input", "forget", "cell", "output"):
            ins.append(w.tensor(f"{p}/bias_{gate}", (u,), INT32, data=bytes(4 * u)))
        ins += [-1, -1]  # no projection
        ins.append(w.tensor(f"{p}/output_state", (1, u), variable=True))
        ins.append(w.tensor(f"{p}/cell_state", (1, u), INT16, variable=True))
        for gate in ("input", "forget", "cell", "output"):
            ins.append(w.tensor(f"{p}/layer_norm_{gate}", (u,), INT16, data=bytes(2 * u)))
        inter = [w.tensor(f"{p}/intermediate_{j}", (0,), INT16 if j < 4 else INT8) for j in range(5)]
        h = w.tensor(f"{p}/output", (1, t, u))
        w.op(LSTM, ins, [h], _lstm_opts, intermediates=inter)
        fw = w.tensor(f"{p}/dense/weights", (u, u), data=bytes(u * u))
        fb = w.tensor(f"{p}/dense/bias", (u,), INT32, data=bytes(4 * u), scale=BIAS_SCALE)
        y = w.tensor(f"{p}/dense", (1, t, u))
        w.op(FULLY_CONNECTED, [h, fw, fb], [y], _fc_opts)
        x = y
    return w.finish([first], [x], f"tpulint benchmark lstm, {2 * blocks} ops")


def weights(total_mb: int, *, layers: int = 8) -> bytes:
    """A chain of FULLY_CONNECTED layers holding ``total_mb`` MiB of int8 weights."""
    w = _Writer(1 << 20)
    per = max(total_mb * 2**20 // layers, 1)
    n = max(int(per**0.5), 1)
    x = w.tensor("input", (1, n))
    first = x
    block = bytes(range(256)) * (n * n // 256 + 1)
    for k in range(layers):
        fw = w.tensor(f"dense{k}/weights", (n, n), data=block[: n * n])
        fb = w.tensor(f"dense{k}/bias", (n,), INT32, data=bytes(4 * n), scale=BIAS_SCALE)
        y = w.tensor(f"dense{k}", (1, n))
        w.op(FULLY_CONNECTED, [x, fw, fb], [y], _fc_opts)
        x = y
    return w.finish([first], [x], f"tpulint benchmark weights, {layers} x {n}x{n}")


def small(k: int) -> bytes:
    """The k-th model of the 1,000-model directory: a small CNN of 3-30 ops, shapes varying with k."""
    return cnn(3 + 3 * (k % 10), channels=8 * (1 + k % 4), size=4 + 2 * (k % 7))


# name -> builder of the standard set
STANDARD: dict[str, Callable[[], bytes]] = {
    "cnn_150": lambda: cnn(150),
    "cnn_1k": lambda: cnn(1000),
    "cnn_10k": lambda: cnn(10002),
    "lstm_10k": lambda: lstm(10000),
    "weights_256mb": lambda: weights(256),
}


def write_standard(out: Path, names: list[str] | None = None, log: Callable[[str], None] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names or list(STANDARD):
        path = out / f"{name}.tflite"
        if not path.exists():
            t0 = time.perf_counter()
            path.write_bytes(STANDARD[name]())
            if log:
                log(f"generated {path.name}: {path.stat().st_size:,} bytes in {time.perf_counter() - t0:.1f} s")
        paths.append(path)
    return paths


def write_small(out: Path, count: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        path = out / f"small_{k:04d}.tflite"
        if not path.exists():
            path.write_bytes(small(k))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--small", type=int, default=0, help="write this many small models to OUT/small/")
    ap.add_argument("--only", nargs="*", choices=sorted(STANDARD), help="generate only these standard models")
    args = ap.parse_args(argv)
    write_standard(args.out, args.only, log=lambda s: print(s, file=sys.stderr))
    if args.small:
        t0 = time.perf_counter()
        write_small(args.out / "small", args.small)
        print(f"generated {args.small} small models in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
