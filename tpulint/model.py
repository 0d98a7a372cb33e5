"""Read a ``.tflite`` file into plain, frozen Python objects.

This is the only module that touches the ``tflite`` generated bindings. Everything downstream sees
:class:`Model`, :class:`Subgraph`, :class:`Op` and :class:`Tensor`. The file is memory-mapped;
weight data is never copied: a tensor knows the size of its constant data and can hand out a
``memoryview`` of it on demand (:meth:`Model.buffer_view`).

Handled here: ``builtin_code`` vs ``deprecated_builtin_code``, op codes newer than the installed
``tflite`` package (named ``BUILTIN_<n>``), custom ops by ``custom_code``, every subgraph,
``shape_signature``, per-axis quantization, buffers stored outside the flatbuffer
(``offset``/``size``), metadata entries.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tpulint import _schema
from tpulint.errors import ModelFormatError, ModelReadError

# TensorType enum names (schema.fbs). Kept here so numbering never depends on the package version.
TENSOR_TYPES: dict[int, str] = {
    0: "FLOAT32",
    1: "FLOAT16",
    2: "INT32",
    3: "UINT8",
    4: "INT64",
    5: "STRING",
    6: "BOOL",
    7: "INT16",
    8: "COMPLEX64",
    9: "INT8",
    10: "FLOAT64",
    11: "COMPLEX128",
    12: "UINT64",
    13: "RESOURCE",
    14: "VARIANT",
    15: "UINT32",
    16: "UINT16",
    17: "INT4",
    18: "BFLOAT16",
}
TYPE_BYTES: dict[str, float] = {
    "FLOAT32": 4,
    "FLOAT16": 2,
    "INT32": 4,
    "UINT8": 1,
    "INT64": 8,
    "BOOL": 1,
    "INT16": 2,
    "COMPLEX64": 8,
    "INT8": 1,
    "FLOAT64": 8,
    "COMPLEX128": 16,
    "UINT64": 8,
    "UINT32": 4,
    "UINT16": 2,
    "INT4": 0.5,
    "BFLOAT16": 2,
}
EDGETPU_CUSTOM_CODE = "edgetpu-custom-op"


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of a tensor (per-tensor when ``len(scale) == 1``)."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int = 0

    @property
    def per_axis(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...] | None
    buffer: int
    data_size: int  # bytes of constant data (0 for activations)
    quantization: Quantization | None
    is_variable: bool = False
    has_sparsity: bool = False

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_constant(self) -> bool:
        return self.data_size > 0

    @property
    def is_dynamic(self) -> bool:
        return self.shape_signature is not None and any(d < 0 for d in self.shape_signature)

    @property
    def elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= max(d, 1)
        return n

    @property
    def is_quantized(self) -> bool:
        return self.quantization is not None and len(self.quantization.scale) > 0

    def shape_str(self) -> str:
        return "[" + ",".join(str(d) for d in self.shape) + "]"


@dataclass(frozen=True)
class Op:
    subgraph: int
    index: int
    opcode: str  # builtin name ("CONV_2D"), "CUSTOM" for custom ops, "BUILTIN_<n>" if unknown
    builtin_code: int
    version: int
    custom_code: str | None
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...]
    options_type: str | None
    options: dict[str, Any] = field(hash=False, compare=False)
    custom_options_size: int = 0

    @property
    def type_name(self) -> str:
        """What the compiler's log calls this op: the builtin name, or the custom code."""
        if self.opcode == "CUSTOM" and self.custom_code:
            return self.custom_code
        return self.opcode


@dataclass(frozen=True)
class Subgraph:
    index: int
    name: str
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class BufferInfo:
    index: int
    size: int  # bytes of data
    external_offset: int  # > 1 when data lives outside the flatbuffer (models > 2 GB)
    inline_offset: int  # absolute file offset of inline data, or -1


@dataclass
class Model:
    path: Path | None
    file_size: int
    schema_version: int
    description: str
    subgraphs: tuple[Subgraph, ...]
    buffers: tuple[BufferInfo, ...]
    metadata: dict[str, int]  # metadata name -> buffer index
    opcodes: tuple[tuple[str, int, str | None], ...]  # (opcode, version, custom_code)
    _data: Any = field(repr=False, default=None)

    @cached_property
    def is_compiled(self) -> bool:
        """True for an ``*_edgetpu.tflite`` produced by the compiler (holds ``edgetpu-custom-op``)."""
        return any(code == EDGETPU_CUSTOM_CODE for _, _, code in self.opcodes)

    def buffer_view(self, buffer_index: int) -> memoryview | None:
        """A zero-copy view of a buffer's data, or None when it has none."""
        if not 0 <= buffer_index < len(self.buffers) or self._data is None:
            return None
        info = self.buffers[buffer_index]
        if info.size <= 0:
            return None
        start = info.external_offset if info.external_offset > 1 else info.inline_offset
        if start < 0 or start + info.size > self.file_size:
            return None
        return memoryview(self._data)[start : start + info.size]

    def tensor_data(self, tensor: Tensor) -> memoryview | None:
        return self.buffer_view(tensor.buffer)

    def metadata_bytes(self, name: str) -> bytes | None:
        idx = self.metadata.get(name)
        if idx is None:
            return None
        view = self.buffer_view(idx)
        return bytes(view) if view is not None else None

    def iter_ops(self) -> Iterator[Op]:
        for sg in self.subgraphs:
            yield from sg.ops

    def close(self) -> None:
        data, self._data = self._data, None
        if isinstance(data, mmap.mmap):
            with contextlib.suppress(BufferError):  # a memoryview is still alive; the GC frees it
                data.close()


def _s(b: bytes | None) -> str:
    return b.decode("utf-8", "replace") if b else ""


def _int_vector(obj: Any, name: str) -> tuple[int, ...]:
    if getattr(obj, f"{name}IsNone")():
        return ()
    n = getattr(obj, f"{name}Length")()
    if n == 0:
        return ()
    return tuple(int(x) for x in getattr(obj, f"{name}AsNumpy")())


def _read_quant(t: Any) -> Quantization | None:
    q = t.Quantization()
    if q is None:
        return None
    scale: tuple[float, ...] = ()
    zp: tuple[int, ...] = ()
    if not q.ScaleIsNone() and q.ScaleLength() > 0:
        scale = tuple(float(x) for x in q.ScaleAsNumpy())
    if not q.ZeroPointIsNone() and q.ZeroPointLength() > 0:
        zp = tuple(int(x) for x in q.ZeroPointAsNumpy())
    if not scale and not zp:
        return None
    return Quantization(scale=scale, zero_point=zp, quantized_dimension=int(q.QuantizedDimension()))


def open_bytes(path: Path) -> Any:
    """Memory-map a file read-only (falls back to reading it for empty/special files)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError as exc:
        raise ModelReadError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise ModelReadError(f"{path}: is a directory") from exc
    except PermissionError as exc:
        raise ModelReadError(f"{path}: permission denied") from exc
    except OSError as exc:
        raise ModelReadError(f"{path}: cannot open ({exc.strerror})") from exc
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return b""
        try:
            return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            with os.fdopen(os.dup(fd), "rb") as fh:
                return fh.read()
    except IsADirectoryError as exc:
        raise ModelReadError(f"{path}: is a directory") from exc
    finally:
        os.close(fd)


def load_model(path: str | os.PathLike[str], *, verify: bool = True) -> Model:
    """Read and (by default) bounds-check a ``.tflite`` file."""
    p = Path(path)
    if p.is_dir():
        raise ModelReadError(f"{p}: is a directory")
    data = open_bytes(p)
    try:
        return parse_model(data, path=p, verify=verify)
    except BaseException:
        if isinstance(data, mmap.mmap):
            data.close()
        raise


def parse_model(data: Any, *, path: Path | None = None, verify: bool = True) -> Model:
    """Parse TFLite flatbuffer bytes (``bytes``, ``bytearray`` or ``mmap``) into a :class:`Model`."""
    size = len(data)
    where = str(path) if path is not None else "<bytes>"
    if size == 0:
        raise ModelFormatError(f"{where}: empty file (0 bytes), not a TFLite model", "TPU902")
    if verify:
        _verify(data, size, where)
    try:
        return _parse(data, size, path)
    except ModelFormatError:
        raise
    except Exception as exc:  # the bindings have no verifier; never let a traceback out
        raise ModelFormatError(f"{where}: malformed TFLite flatbuffer ({type(exc).__name__}: {exc})", "TPU902") from exc


def _verify(data: Any, size: int, where: str) -> None:
    from tpulint.sniff import SNIFF_BYTES, sniff

    head = bytes(data[:SNIFF_BYTES])
    what = sniff(head, size)
    if what is not None:
        raise ModelFormatError(f"{where}: {what}", "TPU902")
    from tpulint.verify import verify_tflite

    try:
        verify_tflite(data)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{where}: {exc.message}", exc.code) from None


def _parse(data: Any, size: int, path: Path | None) -> Model:
    S = _schema.load()
    buf = data
    root = S.Model.GetRootAsModel(buf, 0)

    opcodes: list[tuple[str, int, str | None]] = []
    for i in range(root.OperatorCodesLength()):
        oc = root.OperatorCodes(i)
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        name = _schema.builtin_name(code)
        custom = _s(oc.CustomCode()) or None
        opcodes.append((name, int(oc.Version()) or 1, custom))

    buffers: list[BufferInfo] = []
    for i in range(root.BuffersLength()):
        b = root.Buffers(i)
        ext_off = int(b.Offset())
        if ext_off > 1:
            buffers.append(BufferInfo(i, int(b.Size()), ext_off, -1))
            continue
        n = b.DataLength()
        inline = -1
        if n > 0:
            # Position of the data vector: the vector's length prefix sits just before it.
            o = b._tab.Offset(4)
            vec = b._tab.Vector(o)
            inline = vec
        buffers.append(BufferInfo(i, int(n), 0, inline))

    metadata: dict[str, int] = {}
    for i in range(root.MetadataLength()):
        m = root.Metadata(i)
        metadata[_s(m.Name())] = int(m.Buffer())

    subgraphs: list[Subgraph] = []
    for si in range(root.SubgraphsLength()):
        sg = root.Subgraphs(si)
        tensors: list[Tensor] = []
        for ti in range(sg.TensorsLength()):
            t = sg.Tensors(ti)
            bidx = int(t.Buffer())
            dsize = buffers[bidx].size if 0 <= bidx < len(buffers) else 0
            sig = _int_vector(t, "ShapeSignature") or None
            tensors.append(
                Tensor(
                    index=ti,
                    name=_s(t.Name()),
                    dtype=TENSOR_TYPES.get(int(t.Type()), f"TYPE_{int(t.Type())}"),
                    shape=_int_vector(t, "Shape"),
                    shape_signature=sig,
                    buffer=bidx,
                    data_size=dsize,
                    quantization=_read_quant(t),
                    is_variable=bool(t.IsVariable()),
                    has_sparsity=t.Sparsity() is not None,
                )
            )
        ops: list[Op] = []
        for oi in range(sg.OperatorsLength()):
            o = sg.Operators(oi)
            oc_idx = int(o.OpcodeIndex())
            if not 0 <= oc_idx < len(opcodes):
                raise ModelFormatError(f"subgraph {si} op {oi}: opcode index {oc_idx} out of range")
            name, version, custom = opcodes[oc_idx]
            opt_type, options = _schema.read_options(o)
            ops.append(
                Op(
                    subgraph=si,
                    index=oi,
                    opcode=name,
                    builtin_code=_schema.builtin_code_of(name),
                    version=version,
                    custom_code=custom,
                    inputs=_int_vector(o, "Inputs"),
                    outputs=_int_vector(o, "Outputs"),
                    intermediates=_int_vector(o, "Intermediates"),
                    options_type=opt_type,
                    options=options,
                    custom_options_size=0 if o.CustomOptionsIsNone() else int(o.CustomOptionsLength()),
                )
            )
        subgraphs.append(
            Subgraph(
                index=si,
                name=_s(sg.Name()),
                tensors=tuple(tensors),
                ops=tuple(ops),
                inputs=_int_vector(sg, "Inputs"),
                outputs=_int_vector(sg, "Outputs"),
            )
        )

    return Model(
        path=path,
        file_size=size,
        schema_version=int(root.Version()),
        description=_s(root.Description()),
        subgraphs=tuple(subgraphs),
        buffers=tuple(buffers),
        metadata=metadata,
        opcodes=tuple(opcodes),
        _data=data,
    )


def read_i32_vector(view: memoryview | None) -> tuple[int, ...] | None:
    """Decode a constant int32 tensor (shape, axes, paddings...) from its buffer view."""
    if view is None or len(view) % 4:
        return None
    return struct.unpack(f"<{len(view) // 4}i", view)
