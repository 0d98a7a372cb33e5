"""Read an already-compiled ``*_edgetpu.tflite``: Edge TPU custom ops, CPU ops left, DWN1 packages.

A compiled model holds one ``CUSTOM`` op ``edgetpu-custom-op`` per Edge TPU subgraph. Its
``custom_options`` are a FlexBuffer map (libedgetpu ``tflite/custom_op_data.cc``): ``"1"`` version,
``"4"`` the serialized executable, ``"5"`` execution preference, ``"6"`` chip per executable,
``"7"`` the remaining executables, ``"3"`` a deprecated parameter-caching executable. Each
executable is a DarwiNN ``Package`` flatbuffer (file identifier ``DWN1``, libedgetpu
``executable/executable.fbs``) holding ``min_runtime_version``, ``compiler_version`` and a
``MultiExecutable`` whose entries are ``Executable`` tables (type, parameters, layer names, chip).

The package bytes come from the compiler, but a file on disk may be anything: the DWN1 reader
below checks every offset and returns ``None`` fields (with ``decode_error`` set) instead of
raising. Only a file that is not a TFLite model at all raises :class:`ModelFormatError`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tpulint.errors import ModelFormatError

if TYPE_CHECKING:
    from tpulint.model import Model

EDGETPU_CUSTOM_CODE = "edgetpu-custom-op"
EXECUTABLE_TYPES = {0: "STAND_ALONE", 1: "PARAMETER_CACHING", 2: "EXECUTION_ONLY"}
# executable.fbs ``DataType``.
LAYER_DATA_TYPES = {
    0: "FIXED_POINT8",
    1: "FIXED_POINT16",
    2: "SIGNED_FIXED_POINT32",
    3: "BFLOAT",
    4: "HALF",
    5: "SINGLE",
    8: "SIGNED_FIXED_POINT8",
    9: "SIGNED_FIXED_POINT16",
}


@dataclass(frozen=True)
class CpuOp:
    """An op the compiler left for the CPU, in the compiled model's order."""

    index: int
    op: str  # builtin name, or custom_code for custom ops
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class LayerInfo:
    """An input or output ``Layer`` of an executable: a tensor at the Edge TPU boundary."""

    name: str
    y_dim: int | None
    x_dim: int | None
    z_dim: int | None
    size_bytes: int | None  # padded, for batch 1
    data_type: str | None  # DWN1 ``DataType``: FIXED_POINT8 (uint8), SIGNED_FIXED_POINT8 (int8), ...
    zero_point: int | None
    scale: float | None  # ``dequantization_factor``
    execution_count: int  # per inference (> 1 inside a loop)

    @property
    def shape(self) -> tuple[int, ...]:
        """``(y, x, z)`` as the package stores it (``1`` for an absent dimension)."""
        return tuple(d if d is not None else 1 for d in (self.y_dim, self.x_dim, self.z_dim))


@dataclass(frozen=True)
class ExecutableInfo:
    type: str | None  # STAND_ALONE | PARAMETER_CACHING | EXECUTION_ONLY
    name: str | None
    chip: str | None
    parameters_bytes: int | None
    input_layers: tuple[str, ...]
    output_layers: tuple[str, ...]
    estimated_cycles: int | None
    parameter_caching_token: int | None
    input_layer_info: tuple[LayerInfo, ...] = ()
    output_layer_info: tuple[LayerInfo, ...] = ()
    batch_size: int | None = None
    scratch_size_bytes: int | None = None
    instruction_bytes: int = 0  # encoded instruction bitstreams, all chunks
    used_narrow_memory_bytes_per_tile: int | None = None

    @property
    def cached_bytes(self) -> int:
        """Parameter bytes loaded into on-chip memory once (a ``PARAMETER_CACHING`` executable)."""
        return (self.parameters_bytes or 0) if self.type == "PARAMETER_CACHING" else 0

    @property
    def streamed_bytes(self) -> int:
        """Parameter bytes sent to the Edge TPU on every inference (execution-only / stand-alone)."""
        return 0 if self.type == "PARAMETER_CACHING" else self.parameters_bytes or 0


@dataclass(frozen=True)
class PackageInfo:
    """One DWN1 ``Package`` (one per executable stored in a custom op)."""

    min_runtime_version: int | None
    compiler_version: str | None
    virtual_chip_id: int | None
    executables: tuple[ExecutableInfo, ...]
    decode_error: str | None = None


@dataclass(frozen=True)
class EdgeTpuOp:
    """One ``edgetpu-custom-op`` and what its custom options hold."""

    index: int
    custom_options_size: int
    custom_op_data_version: int | None
    execution_preference: int | None
    chip_versions: tuple[int, ...]
    packages: tuple[PackageInfo, ...]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    decode_error: str | None = None


@dataclass(frozen=True)
class CompiledModel:
    path: Path | None
    description: str
    subgraph_count: int
    operators: tuple[str, ...]  # subgraph 0, in order; custom ops by custom_code
    edgetpu_ops: tuple[EdgeTpuOp, ...]
    cpu_ops: tuple[CpuOp, ...]

    @property
    def is_compiled(self) -> bool:
        return bool(self.edgetpu_ops)

    @property
    def edgetpu_custom_op_count(self) -> int:
        return len(self.edgetpu_ops)

    @property
    def edgetpu_custom_op_indices(self) -> tuple[int, ...]:
        return tuple(op.index for op in self.edgetpu_ops)

    @property
    def cpu_ops_before_first_custom_op(self) -> tuple[CpuOp, ...]:
        idx = self.edgetpu_custom_op_indices
        return tuple(c for c in self.cpu_ops if idx and c.index < idx[0])

    @property
    def cpu_ops_after_last_custom_op(self) -> tuple[CpuOp, ...]:
        idx = self.edgetpu_custom_op_indices
        return tuple(c for c in self.cpu_ops if idx and c.index > idx[-1])

    @property
    def cpu_ops_between_custom_ops(self) -> tuple[CpuOp, ...]:
        idx = self.edgetpu_custom_op_indices
        return tuple(c for c in self.cpu_ops if idx and idx[0] < c.index < idx[-1])

    @property
    def min_runtime_versions(self) -> tuple[int, ...]:
        """Sorted distinct ``min_runtime_version`` of every package (the ``-m`` it was built for)."""
        return tuple(
            sorted(
                {
                    p.min_runtime_version
                    for op in self.edgetpu_ops
                    for p in op.packages
                    if p.min_runtime_version is not None
                }
            )
        )

    @property
    def package_compiler_versions(self) -> tuple[str, ...]:
        """Distinct package ``compiler_version`` strings (nearly always the redacted ``"cl/"``)."""
        seen: dict[str, None] = {}
        for op in self.edgetpu_ops:
            for p in op.packages:
                if p.compiler_version is not None:
                    seen.setdefault(p.compiler_version, None)
        return tuple(seen)


# --- a bounds-checked flatbuffer table reader (just what DWN1 needs) ---------------------------


class _Bad(Exception):
    pass


class _Table:
    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        soff = _i32(buf, pos)
        self.vt = pos - soff
        vt_len = _u16(buf, self.vt)
        if vt_len < 4 or vt_len % 2:
            raise _Bad("bad vtable")
        _need(buf, self.vt, vt_len)
        self.vt_len = vt_len

    @classmethod
    def root(cls, buf: bytes, identifier: bytes | None = None) -> _Table:
        if len(buf) < 8:
            raise _Bad("buffer too small")
        if identifier is not None and buf[4:8] != identifier:
            raise _Bad(f"no {identifier.decode()} identifier")
        return cls(buf, _u32(buf, 0))

    def _field(self, slot: int) -> int | None:
        vo = 4 + 2 * slot
        if vo + 2 > self.vt_len:
            return None
        off = _u16(self.buf, self.vt + vo)
        return self.pos + off if off else None

    def int32(self, slot: int, default: int | None = None) -> int | None:
        p = self._field(slot)
        return default if p is None else _i32(self.buf, p)

    def int16(self, slot: int, default: int | None = None) -> int | None:
        p = self._field(slot)
        return default if p is None else struct.unpack_from("<h", self.buf, _need(self.buf, p, 2))[0]

    def int64(self, slot: int, default: int | None = None) -> int | None:
        p = self._field(slot)
        return default if p is None else struct.unpack_from("<q", self.buf, _need(self.buf, p, 8))[0]

    def uint64(self, slot: int, default: int | None = None) -> int | None:
        p = self._field(slot)
        return default if p is None else struct.unpack_from("<Q", self.buf, _need(self.buf, p, 8))[0]

    def float32(self, slot: int) -> float | None:
        p = self._field(slot)
        return None if p is None else float(struct.unpack_from("<f", self.buf, _need(self.buf, p, 4))[0])

    def table(self, slot: int) -> _Table | None:
        p = self._field(slot)
        return None if p is None else _Table(self.buf, p + _u32(self.buf, p))

    def _vector(self, slot: int) -> tuple[int, int] | None:
        p = self._field(slot)
        if p is None:
            return None
        start = p + _u32(self.buf, p)
        n = _u32(self.buf, start)
        if n > len(self.buf) - start:  # every element takes at least one byte
            raise _Bad("vector too long")
        return start + 4, n

    def bytes_(self, slot: int) -> bytes | None:
        v = self._vector(slot)
        if v is None:
            return None
        start, n = v
        _need(self.buf, start, n)
        return self.buf[start : start + n]

    def string(self, slot: int) -> str | None:
        b = self.bytes_(slot)
        return None if b is None else b.decode("utf-8", "replace")

    def vector_len(self, slot: int) -> int:
        v = self._vector(slot)
        return 0 if v is None else v[1]

    def tables(self, slot: int) -> list[_Table]:
        v = self._vector(slot)
        if v is None:
            return []
        start, n = v
        _need(self.buf, start, 4 * n)
        return [_Table(self.buf, start + 4 * i + _u32(self.buf, start + 4 * i)) for i in range(n)]

    def strings(self, slot: int) -> list[bytes]:
        v = self._vector(slot)
        if v is None:
            return []
        start, n = v
        _need(self.buf, start, 4 * n)
        out = []
        for i in range(n):
            s = start + 4 * i + _u32(self.buf, start + 4 * i)
            ln = _u32(self.buf, s)
            _need(self.buf, s + 4, ln)
            out.append(self.buf[s + 4 : s + 4 + ln])
        return out


def _need(buf: bytes, pos: int, n: int) -> int:
    if pos < 0 or n < 0 or pos + n > len(buf):
        raise _Bad(f"offset {pos}+{n} outside {len(buf)}-byte buffer")
    return pos


def _u16(buf: bytes, pos: int) -> int:
    return int(struct.unpack_from("<H", buf, _need(buf, pos, 2))[0])


def _u32(buf: bytes, pos: int) -> int:
    return int(struct.unpack_from("<I", buf, _need(buf, pos, 4))[0])


def _i32(buf: bytes, pos: int) -> int:
    return int(struct.unpack_from("<i", buf, _need(buf, pos, 4))[0])


# Field slots (declaration order) from libedgetpu executable/executable.fbs.
_PKG_MIN_RUNTIME, _PKG_MULTI_EXE, _PKG_COMPILER_VERSION, _PKG_VIRTUAL_CHIP = 0, 1, 4, 5
_EXE_NAME, _EXE_BATCH, _EXE_SCRATCH, _EXE_BITSTREAMS, _EXE_PARAMETERS = 1, 3, 4, 5, 6
_EXE_INPUTS, _EXE_OUTPUTS, _EXE_CHIP, _EXE_CYCLES32, _EXE_NARROW_PER_TILE = 8, 9, 10, 11, 12
_EXE_TYPE, _EXE_CACHING_TOKEN, _EXE_CYCLES64 = 13, 14, 16
_BITSTREAM_BYTES = 0  # InstructionBitstream.bitstream
# Layer: name, size_bytes, y_dim, x_dim, z_dim, numerics, data_type, (union type, union),
# execution_count_per_inference.
_LAYER_NAME, _LAYER_SIZE, _LAYER_Y, _LAYER_X, _LAYER_Z, _LAYER_NUMERICS, _LAYER_TYPE = 0, 1, 2, 3, 4, 5, 6
_LAYER_EXEC_COUNT = 9
_NUMERICS_ZERO_POINT, _NUMERICS_SCALE = 0, 1


def _layer(t: _Table) -> LayerInfo:
    numerics = t.table(_LAYER_NUMERICS)
    dtype = t.int16(_LAYER_TYPE, 0)
    return LayerInfo(
        name=t.string(_LAYER_NAME) or "",
        y_dim=t.int32(_LAYER_Y),
        x_dim=t.int32(_LAYER_X),
        z_dim=t.int32(_LAYER_Z),
        size_bytes=t.int32(_LAYER_SIZE),
        data_type=LAYER_DATA_TYPES.get(dtype if dtype is not None else 0, f"TYPE_{dtype}"),
        zero_point=numerics.int32(_NUMERICS_ZERO_POINT, 0) if numerics is not None else None,
        scale=numerics.float32(_NUMERICS_SCALE) if numerics is not None else None,
        execution_count=t.int32(_LAYER_EXEC_COUNT, 1) or 1,
    )


def _decode_executable(data: bytes) -> ExecutableInfo:
    exe = _Table.root(data)
    type_code = exe.int16(_EXE_TYPE, 0)
    cycles = exe.int64(_EXE_CYCLES64)
    if cycles is None:
        cycles = exe.int32(_EXE_CYCLES32)
    inputs = tuple(_layer(t) for t in exe.tables(_EXE_INPUTS))
    outputs = tuple(_layer(t) for t in exe.tables(_EXE_OUTPUTS))
    return ExecutableInfo(
        type=EXECUTABLE_TYPES.get(type_code if type_code is not None else 0, f"TYPE_{type_code}"),
        name=exe.string(_EXE_NAME),
        chip=exe.string(_EXE_CHIP),
        parameters_bytes=exe.vector_len(_EXE_PARAMETERS),
        input_layers=tuple(layer.name for layer in inputs),
        output_layers=tuple(layer.name for layer in outputs),
        estimated_cycles=cycles,
        parameter_caching_token=exe.uint64(_EXE_CACHING_TOKEN),
        input_layer_info=inputs,
        output_layer_info=outputs,
        batch_size=exe.int32(_EXE_BATCH),
        scratch_size_bytes=exe.int32(_EXE_SCRATCH),
        instruction_bytes=sum(b.vector_len(_BITSTREAM_BYTES) for b in exe.tables(_EXE_BITSTREAMS)),
        used_narrow_memory_bytes_per_tile=exe.int32(_EXE_NARROW_PER_TILE),
    )


def decode_package(data: bytes) -> PackageInfo:
    """Decode a DWN1 ``Package``; never raises (``decode_error`` says what went wrong)."""
    try:
        pkg = _Table.root(bytes(data), b"DWN1")
        min_rt = pkg.int32(_PKG_MIN_RUNTIME)
        compiler_version = pkg.string(_PKG_COMPILER_VERSION)
        chip_id = pkg.int32(_PKG_VIRTUAL_CHIP, 0)
    except (_Bad, struct.error) as exc:
        return PackageInfo(None, None, None, (), f"DWN1 package: {exc}")
    executables: list[ExecutableInfo] = []
    error = None
    try:
        multi = pkg.bytes_(_PKG_MULTI_EXE)
        if multi:
            for blob in _Table.root(multi).strings(0):
                executables.append(_decode_executable(blob))
    except (_Bad, struct.error) as exc:
        error = f"DWN1 executables: {exc}"
    return PackageInfo(min_rt, compiler_version, chip_id, tuple(executables), error)


def decode_custom_op(index: int, options: bytes) -> EdgeTpuOp:
    """Decode an ``edgetpu-custom-op``'s FlexBuffer options; never raises."""
    version = preference = None
    chips: tuple[int, ...] = ()
    blobs: list[bytes] = []
    try:
        from flatbuffers import flexbuffers

        root = flexbuffers.GetRoot(bytearray(options)).AsMap
        keys = {k.AsKey for k in root.Keys}
        if "1" in keys:
            version = int(root["1"].AsInt)
        if "5" in keys:
            preference = int(root["5"].AsInt)
        if "6" in keys:
            chips = tuple(int(v.AsInt) for v in root["6"].AsVector)
        if "4" in keys:
            blobs.append(bytes(root["4"].AsStringBytes))
        if "7" in keys:
            blobs.extend(bytes(v.AsStringBytes) for v in root["7"].AsVector)
    except Exception as exc:  # the FlexBuffer reader has no verifier; any garbage may surface here
        return EdgeTpuOp(
            index, len(options), version, preference, chips, (), (), (), f"custom options: {type(exc).__name__}: {exc}"
        )
    packages = tuple(decode_package(b) for b in blobs)
    return EdgeTpuOp(index, len(options), version, preference, chips, packages, (), ())


# --- the TFLite side ----------------------------------------------------------------------------


def read_compiled_model(path: str | Path) -> CompiledModel:
    """Read a compiled (or any) ``.tflite`` file with tpulint's own reader
    (:func:`tpulint.model.load_model`: memory-mapped, verified, one-line errors, no wait on a FIFO)."""
    from tpulint.model import load_model

    model = load_model(Path(path))
    try:
        return compiled_from_model(model)
    finally:
        model.close()


def read_compiled_bytes(data: bytes, *, path: Path | None = None) -> CompiledModel:
    """Edge TPU custom ops and CPU ops of subgraph 0. Raises ModelFormatError if not TFLite."""
    from tpulint.model import parse_model

    where = str(path) if path is not None else "<bytes>"
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFormatError(f"{where}: not a TFLite model (no 'TFL3' file identifier)")
    return compiled_from_model(parse_model(data, path=path))


def compiled_from_model(model: Model) -> CompiledModel:
    """The compiled-model view of a model tpulint has read: subgraph 0's Edge TPU custom ops (their
    options decoded) and the ops left on the CPU, with their output tensor names."""
    if not model.subgraphs:
        return CompiledModel(model.path, model.description, 0, (), (), ())
    sg = model.subgraphs[0]
    tensors = sg.tensors

    def names_of(idx: Sequence[int]) -> tuple[str, ...]:
        n = len(tensors)
        return tuple(tensors[t].name if t < n else f"<tensor {t}>" for t in idx if t >= 0)

    tpu_ops: list[EdgeTpuOp] = []
    cpu_ops: list[CpuOp] = []
    for op in sg.ops:
        if op.custom_code == EDGETPU_CUSTOM_CODE:
            decoded = decode_custom_op(op.index, model.custom_options(op))
            tpu_ops.append(
                EdgeTpuOp(
                    decoded.index,
                    decoded.custom_options_size,
                    decoded.custom_op_data_version,
                    decoded.execution_preference,
                    decoded.chip_versions,
                    decoded.packages,
                    names_of(op.inputs),
                    names_of(op.outputs),
                    decoded.decode_error,
                )
            )
        else:
            cpu_ops.append(CpuOp(op.index, op.type_name, names_of(op.outputs)))
    operators = tuple(op.type_name for op in sg.ops)
    return CompiledModel(model.path, model.description, len(model.subgraphs), operators, tuple(tpu_ops), tuple(cpu_ops))
