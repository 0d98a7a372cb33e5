"""Read a ``.tflite`` file into plain Python objects.

This is the only module that reads the flatbuffer (through :mod:`tpulint._schema`, after
:mod:`tpulint.verify` has checked it). Everything downstream sees :class:`Model`,
:class:`Subgraph`, :class:`Op` and :class:`Tensor`. The file is memory-mapped;
weight data is never copied: a tensor knows the size of its constant data and can hand out a
``memoryview`` of it on demand (:meth:`Model.buffer_view`).

Tensors, ops, quantizations and buffers are ``__slots__`` classes, read-only by convention
(nothing downstream assigns to them, nor changes their tuples and the ops' options dicts, which
tensors and ops with equal values may share): a frozen dataclass costs five times as much to
create (every field goes through ``object.__setattr__``) and a per-instance ``__dict__`` doubles
the memory of a tensor, which matters for models with 100,000 tensors (issue 7).

Handled here: ``builtin_code`` vs ``deprecated_builtin_code``, op codes newer than the installed
``tflite`` package (named ``BUILTIN_<n>``), custom ops by ``custom_code``, every subgraph,
``shape_signature``, per-axis quantization, buffers stored outside the flatbuffer
(``offset``/``size``), metadata entries.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import stat
import struct
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from tpulint import _schema
from tpulint.errors import ModelFormatError, ModelReadError
from tpulint.pages import RELEASE_EVERY, release_pages
from tpulint.verify import TABLE_READ_COST

_T = TypeVar("_T")

if TYPE_CHECKING:
    from tpulint.verify import _ReaderOptions
    from tpulint.verify import _Walker as Walker

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
# The name of every code a tensor's type field (an int8) can hold: the reader looks it up without
# a call; a code newer than this schema reads as TYPE_<code>.
_TYPE_NAMES: dict[int, str] = {code: TENSOR_TYPES.get(code) or f"TYPE_{code}" for code in range(-128, 128)}
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


def element_count(dims: Iterable[int]) -> int:
    """Elements of a tensor of these dimensions, an unknown (-1) or 0 dimension counted as 1."""
    n = 1
    for d in dims:
        n *= max(d, 1)
    return n


class Quantization:
    """Affine quantization of a tensor (per-tensor when it has one scale).

    The reader keeps the scales and zero points as the bytes the file holds and decodes them on
    first use (:meth:`packed`): a per-channel quantized model holds tens of thousands of them
    (MoveNet: 36,000), the rules look at their number only, and making a Python float and int of
    each was a third of the time of reading such a model. Read-only by convention, like the
    other model objects.
    """

    __slots__ = ("_scale", "_scale_raw", "_zero_point", "_zero_point_raw", "channels", "quantized_dimension")

    def __init__(
        self, scale: tuple[float, ...] = (), zero_point: tuple[int, ...] = (), quantized_dimension: int = 0
    ) -> None:
        self._scale: tuple[float, ...] | None = tuple(scale)
        self._zero_point: tuple[int, ...] | None = tuple(zero_point)
        self._scale_raw = self._zero_point_raw = b""
        self.channels = len(self._scale)  # number of scales
        self.quantized_dimension = quantized_dimension

    @classmethod
    def packed(cls, scale: bytes, zero_point: bytes, quantized_dimension: int) -> Quantization:
        """From the file's little-endian float32 scales and int64 zero points."""
        q = cls.__new__(cls)
        q._scale = q._zero_point = None
        q._scale_raw, q._zero_point_raw = scale, zero_point
        q.channels = len(scale) // 4
        q.quantized_dimension = quantized_dimension
        return q

    @property
    def scale(self) -> tuple[float, ...]:
        if self._scale is None:
            raw = self._scale_raw
            self._scale = struct.unpack(f"<{len(raw) // 4}f", raw)
        return self._scale

    @property
    def zero_point(self) -> tuple[int, ...]:
        if self._zero_point is None:
            raw = self._zero_point_raw
            self._zero_point = struct.unpack(f"<{len(raw) // 8}q", raw)
        return self._zero_point

    @property
    def per_axis(self) -> bool:
        return self.channels > 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantization):
            return NotImplemented
        return (self.scale, self.zero_point, self.quantized_dimension) == (
            other.scale,
            other.zero_point,
            other.quantized_dimension,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable by the language, like the dataclasses here

    def __repr__(self) -> str:
        return (
            f"Quantization(scale={self.scale!r}, zero_point={self.zero_point!r}, "
            f"quantized_dimension={self.quantized_dimension!r})"
        )


@dataclass(slots=True)
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
        sig = self.shape_signature
        return sig is not None and len(sig) > 0 and min(sig) < 0

    @property
    def elements(self) -> int:
        return element_count(self.shape)

    @property
    def is_quantized(self) -> bool:
        return self.quantization is not None and self.quantization.channels > 0

    def shape_str(self) -> str:
        return "[" + ",".join(map(str, self.shape)) + "]"


@dataclass(slots=True)
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
    custom_options_at: int = -1  # file offset of the custom options bytes (-1: none)
    opcode_index: int = -1  # index into Model.opcodes

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


@dataclass(slots=True)
class BufferInfo:
    index: int
    size: int  # bytes of data
    external_offset: int  # > 1 when data lives outside the flatbuffer (models > 2 GB)
    inline_offset: int  # absolute file offset of inline data, or -1


class Buffers(Sequence[BufferInfo]):
    """The model's buffer table, stored as three integer columns; indexing makes a :class:`BufferInfo`.

    Large models have a buffer per constant tensor (90,000 in the LSTM stress model of
    ``benchmarks/``); three 8-byte columns instead of one object and four ints per buffer is a
    quarter of the memory.
    """

    __slots__ = ("_external", "_inline", "_sizes")

    def __init__(self, sizes: array[int], external: array[int], inline: array[int]) -> None:
        self._sizes, self._external, self._inline = sizes, external, inline

    def __len__(self) -> int:
        return len(self._sizes)

    def size(self, index: int) -> int:
        """Bytes of data of buffer ``index``."""
        return self._sizes[index]

    def start(self, index: int) -> int:
        """Absolute file offset of buffer ``index``'s data: after the flatbuffer when external, else
        inline (-1: no data)."""
        external = self._external[index]
        return external if external > 1 else self._inline[index]

    @overload
    def __getitem__(self, index: int) -> BufferInfo: ...
    @overload
    def __getitem__(self, index: slice) -> list[BufferInfo]: ...
    def __getitem__(self, index: int | slice) -> BufferInfo | list[BufferInfo]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return BufferInfo(index, self._sizes[index], self._external[index], self._inline[index])


@dataclass
class Model:
    path: Path | None
    file_size: int
    schema_version: int
    description: str
    subgraphs: tuple[Subgraph, ...]
    buffers: Buffers
    metadata: dict[str, int]  # metadata name -> buffer index
    opcodes: tuple[tuple[str, int, str | None], ...]  # (opcode, version, custom_code)
    _data: Any = field(repr=False, default=None)

    @cached_property
    def is_compiled(self) -> bool:
        """True for an ``*_edgetpu.tflite`` produced by the compiler (holds ``edgetpu-custom-op``)."""
        return any(code == EDGETPU_CUSTOM_CODE for _, _, code in self.opcodes)

    def _buffer_span(self, buffer_index: int) -> tuple[int, int] | None:
        """Where a buffer's data lies in the file (start, end); None when it has none (or the
        model is closed)."""
        buffers = self.buffers
        if not 0 <= buffer_index < len(buffers) or self._data is None:
            return None
        size = buffers.size(buffer_index)  # the columns, not a BufferInfo: this runs once per constant read
        if size <= 0:
            return None
        start = buffers.start(buffer_index)
        if start < 0 or start + size > self.file_size:
            return None
        return start, start + size

    def buffer_view(self, buffer_index: int) -> memoryview | None:
        """A zero-copy view of a buffer's data, or None when it has none."""
        span = self._buffer_span(buffer_index)
        return None if span is None else memoryview(self._data)[span[0] : span[1]]

    def buffer_is_zeros(self, buffer_index: int) -> bool:
        """Whether a buffer has data and all of it is zero bytes (a bias of zeros). Without the
        memoryview of :meth:`buffer_view`, which costs more than the test on a small buffer."""
        span = self._buffer_span(buffer_index)
        if span is None:
            return False
        start, end = span
        return bool(self._data[start:end] == bytes(end - start))

    def custom_options(self, op: Op) -> bytes:
        """A copy of ``op``'s custom options (empty when it has none or the model is closed)."""
        start, size = op.custom_options_at, op.custom_options_size
        if start < 0 or self._data is None or start + size > self.file_size:
            return b""
        return bytes(memoryview(self._data)[start : start + size])

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


def _not_regular(mode: int) -> str | None:
    """What a non-regular file is (opening or reading one could block forever), or None."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"))
    kind = next(
        (name for test, name in kinds if test(mode)), "a block device" if stat.S_ISBLK(mode) else "a special file"
    )
    return f"is {kind}, not a regular file: tpulint reads model files only"


def open_bytes(path: Path) -> Any:
    """Memory-map a regular file read-only (falls back to reading it when it cannot be mapped).

    Named pipes, sockets and devices are refused from ``fstat`` before any read: opening is
    non-blocking, so a FIFO named ``model.tflite`` with no writer cannot hang the run.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        if os.path.islink(path):
            raise ModelReadError(
                f"{path}: broken symbolic link (its target {os.readlink(path)!r} does not exist)"
            ) from exc
        raise ModelReadError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise ModelReadError(f"{path}: is a directory") from exc
    except PermissionError as exc:
        raise ModelReadError(f"{path}: permission denied") from exc
    except OSError as exc:
        raise ModelReadError(f"{path}: cannot open ({exc.strerror})") from exc
    try:
        st = os.fstat(fd)
        problem = _not_regular(st.st_mode)
        if problem is not None:
            raise ModelReadError(f"{path}: {problem}")
        size = st.st_size
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
        raise ModelFormatError(
            f"{where}: empty file (0 bytes), not a TFLite model: the download or copy failed; fetch the model again",
            "TPU902",
        )
    try:
        with gc_paused():
            model = _verified(data, size, path, where) if verify else decode(data, size, path)
        release_pages(data)
        return model
    except ModelFormatError as exc:
        raise ModelFormatError(f"{where}: {exc.message}", exc.code) from None
    except Exception as exc:  # with verify=False nothing has checked the offsets; never let a traceback out
        raise ModelFormatError(f"{where}: malformed TFLite flatbuffer ({type(exc).__name__}: {exc})", "TPU902") from exc


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    A large model means hundreds of thousands of new tuples and dicts; each of the collector's
    passes in between would walk all of them again (measured: a third of the read time of a
    10,000-op model). Nothing built here can form a cycle, so pausing frees nothing later than it
    would be freed otherwise; the collector runs normally again afterwards (and stays off if the
    caller had turned it off).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _verified(data: Any, size: int, path: Path | None, where: str) -> Model:
    """Another format named by its magic bytes, else the verifier around the reader (see
    :func:`tpulint.verify.read_checked`)."""
    from tpulint.sniff import SNIFF_BYTES, sniff

    head = bytes(data[:SNIFF_BYTES])
    what = sniff(head, size)
    if what is not None:
        raise ModelFormatError(what, "TPU902")
    from tpulint.verify import read_checked

    return read_checked(data, lambda check: decode(data, size, path, check))


def decode(data: Any, size: int, path: Path | None, check: Walker | None = None) -> Model:
    """Decode the flatbuffer into a :class:`Model`, trusting its offsets: call it through
    :func:`parse_model` (or :func:`tpulint.verify.read_checked`), which check them first.

    ``check``: the structural walk of :mod:`tpulint.verify`, when it has left the buffer, tensor
    and operator tables to the reader, which then checks them as it decodes them (see
    :class:`_TensorReader`).
    """
    S = _schema
    r = S.Reader(data)
    buf = data
    fields, vector, tables, string = r.fields, r.vector, r.tables, r.string
    u32, i32 = S.u32, S.i32
    root = u32(buf, 0)[0]
    mf = fields(root)

    opcodes: list[tuple[str, int, str | None]] = []
    opcode_codes: list[int] = []
    for oc in tables(root, mf[S.MODEL_OPERATOR_CODES]):
        f = fields(oc)
        off = f[S.OPCODE_BUILTIN]
        builtin = i32(buf, oc + off)[0] if off else 0
        off = f[S.OPCODE_DEPRECATED_BUILTIN]
        deprecated = S.i8(buf, oc + off)[0] if off else 0
        name = S.builtin_name(max(builtin, deprecated))
        off = f[S.OPCODE_VERSION]
        version = i32(buf, oc + off)[0] if off else 1
        opcodes.append((name, version or 1, string(oc, f[S.OPCODE_CUSTOM]) or None))
        opcode_codes.append(S.builtin_code_of(name))

    buffers = _read_vector(check, r, root, mf[S.MODEL_BUFFERS], "Buffer", 0, partial(_read_buffers, r))
    buffer_sizes = buffers._sizes
    release_pages(buf)  # the buffer tables lie among the weights: most of the file's pages

    metadata: dict[str, int] = {}
    for m in tables(root, mf[S.MODEL_METADATA]):
        f = fields(m)
        off = f[S.METADATA_BUFFER]
        metadata[string(m, f[S.METADATA_NAME]) or ""] = u32(buf, m + off)[0] if off else 0

    tensor_reader = _TensorReader(r, buffer_sizes)
    options_checks: dict[tuple[int, int], _ReaderOptions | None] = {}
    subgraphs: list[Subgraph] = []
    for si, sg in enumerate(tables(root, mf[S.MODEL_SUBGRAPHS])):
        sf = fields(sg)
        t_off, o_off = sf[S.SUBGRAPH_TENSORS], sf[S.SUBGRAPH_OPERATORS]
        tensors = _read_vector(check, r, sg, t_off, "Tensor", si, partial(tensor_reader.read, si))
        # Tensor indices above 256 are separate int objects (28 bytes each): in a large model the
        # ops' index tuples would hold ten of them per op. They are replaced by the tensors' own,
        # in a model large enough for them to add up (see _SHARED_INTS_FROM).
        same = _same_ints([t.index for t in tensors]) if len(tensors) >= _SHARED_INTS_FROM else None
        ops = _read_vector(
            check, r, sg, o_off, "Operator", si, partial(_read_ops, r, si, opcodes, opcode_codes, same, options_checks)
        )
        subgraphs.append(
            Subgraph(
                index=si,
                name=string(sg, sf[S.SUBGRAPH_NAME]) or "",
                tensors=tuple(tensors),
                ops=tuple(ops),
                inputs=vector(sg, sf[S.SUBGRAPH_INPUTS], "i") or (),
                outputs=vector(sg, sf[S.SUBGRAPH_OUTPUTS], "i") or (),
            )
        )

    off = mf[S.MODEL_VERSION]
    return Model(
        path=path,
        file_size=size,
        schema_version=u32(buf, root + off)[0] if off else 0,
        description=string(root, mf[S.MODEL_DESCRIPTION]) or "",
        subgraphs=tuple(subgraphs),
        buffers=buffers,
        metadata=metadata,
        opcodes=tuple(opcodes),
        _data=data,
    )


def _read_vector(
    check: Walker | None,
    r: _schema.Reader,
    pos: int,
    off: int,
    table: str,
    si: int,
    read: Callable[[Sequence[int], Walker | None], tuple[_T, array[int], int, int]],
) -> _T:
    """The buffers, or the tensors or ops of subgraph ``si``: the ``table`` tables ("Buffer",
    "Tensor", "Operator") of the vector in field ``off`` of the table at ``pos``, read by ``read``:
    with the walk's checks when the walk left them to the reader (see :class:`_TensorReader`),
    else (or after the walk has checked them: :class:`_Recheck`) without."""
    if check is not None and off:
        at = pos + off
        vec = at + _schema.u32(r.buf, at)[0]
        positions = check.take_tables(vec, table, si)
        if positions is not None:
            try:
                items, copies, budget, reads = read(positions, check)
                check.tables_read(vec, table, copies, budget, reads, si)
                return items
            except _Recheck:  # a defect, or a reference the reader does not check: the walk's checks
                check.walk_tables(vec, table, si)  # raise its error for a defect
            return read(positions, None)[0]
    return read(r.tables(pos, off), None)[0]


def _read_buffers(
    r: _schema.Reader, positions: Sequence[int], check: Walker | None
) -> tuple[Buffers, array[int], int, int]:
    """The buffers (tables at ``positions``); with ``check``, checked as the walk would check them
    (the table, its data vector, external data inside the file), with what was copied out of each
    (read budget: nothing but the table) and the walk's work and read budgets left."""
    S = _schema
    buf = r.buf
    fields, vtables = r.fields, r.vtables
    u32, u64, i32 = S.u32, S.u64, S.i32
    n = len(buf)
    last = n - 4
    budget, reads = (check.budget, check.reads) if check is not None else (0, 0)
    sizes = _Sizes(check, "Buffer")
    copies: array[int] = array("q")
    buffer_sizes, externals, inlines = array("q"), array("q"), array("q")
    for b in positions:
        if check is not None and b > last:
            raise _Recheck
        vt = b - i32(buf, b)[0]
        if check is not None:  # where everything lies, before anything is read
            if (size := sizes[vt]) < 0 or b + size > n:
                raise _Recheck
            budget -= size
            reads -= TABLE_READ_COST
            if budget < 0 or reads < 0:
                raise _Recheck
            copies.append(TABLE_READ_COST)
        f = vtables.get(vt) or fields(b)  # Reader.fields, without the call once the vtable is known
        off = f[S.BUFFER_DATA]
        length = 0
        inline = -1
        if off:
            vec = b + off + u32(buf, b + off)[0]
            if check is not None and vec > last:
                raise _Recheck
            length = u32(buf, vec)[0]
            if check is not None and vec + 4 + length > n:
                raise _Recheck
            if length > 0:
                inline = vec + 4  # the data follows the vector's length prefix
        off = f[S.BUFFER_OFFSET]
        ext_off = u64(buf, b + off)[0] if off else 0
        if ext_off > 1:  # data stored after the flatbuffer (models over 2 GB)
            off = f[S.BUFFER_SIZE]
            ext_size = u64(buf, b + off)[0] if off else 0
            if check is not None and ext_off + ext_size > n:
                raise _Recheck
            buffer_sizes.append(ext_size)
            externals.append(ext_off)
            inlines.append(-1)
            continue
        buffer_sizes.append(length)
        externals.append(0)
        inlines.append(inline)
    return Buffers(buffer_sizes, externals, inlines), copies, budget, reads


# The index vectors of an operator table, in the order of Op's fields.
_OP_INDEX_VECTORS = (_schema.OP_INPUTS, _schema.OP_OUTPUTS, _schema.OP_INTERMEDIATES)


def _read_ops(
    r: _schema.Reader,
    si: int,
    opcodes: list[tuple[str, int, str | None]],
    opcode_codes: list[int],
    same: Callable[[tuple[int, ...]], tuple[int, ...]] | None,
    options_checks: dict[tuple[int, int], _ReaderOptions | None],
    positions: Sequence[int],
    check: Walker | None,
) -> tuple[list[Op], array[int], int, int]:
    """The ops of subgraph ``si`` (tables at ``positions``); with ``check``, checked as the walk
    would check them and their options tables (as :class:`_TensorReader` does for tensors), with
    what was copied out of each (read budget) and the walk's work and read budgets left."""
    S = _schema
    buf = r.buf
    fields, vtables = r.fields, r.vtables
    u32, i32, int32_unpacker, small_unpackers = S.u32, S.i32, S.int32_unpacker, S.SMALL_INT32_UNPACKERS
    small = len(small_unpackers)  # vectors shorter than this have their unpacker ready
    nopcodes = len(opcodes)
    checking = check is not None
    n = len(buf)
    last = n - 4
    budget, reads = (check.budget, check.reads) if check is not None else (0, 0)
    copied = 0
    copies: array[int] = array("q")
    sizes = _Sizes(check, "Operator")
    new = object.__new__
    ops: list[Op] = []
    for oi, o in enumerate(positions):
        if not oi % RELEASE_EVERY:
            release_pages(buf)
        if check is not None and o > last:
            raise _Recheck
        vt = o - i32(buf, o)[0]
        if check is not None:  # where everything lies, before anything is read
            if (size := sizes[vt]) < 0 or o + size > n:
                raise _Recheck
            budget -= size
            copied = TABLE_READ_COST
        f = vtables.get(vt) or fields(o)  # Reader.fields, without the call once the vtable is known
        # The index vectors: inputs, outputs, intermediates (each read once, checked first).
        index_vectors: list[tuple[int, ...]] = []
        for slot in _OP_INDEX_VECTORS:
            off = f[slot]
            values: tuple[int, ...] = ()
            if off:
                at = o + off
                vec = at + u32(buf, at)[0]
                if checking and vec > last:
                    raise _Recheck
                length = u32(buf, vec)[0]
                if checking:
                    if vec + 4 + 4 * length > n:
                        raise _Recheck
                    copied += 4 * length
                if length:
                    values = (small_unpackers[length] if length < small else int32_unpacker(length))(buf, vec + 4)
                    if same is not None:
                        values = same(values)
            index_vectors.append(values)
        off = f[S.OP_CUSTOM_OPTIONS]
        copts = o + off + u32(buf, o + off)[0] if off else -1  # the vector: length, then bytes
        if check is not None:
            if off and (copts > last or copts + 4 + u32(buf, copts)[0] > n):
                raise _Recheck
            off = f[S.OP_MUTATING_VARIABLE_INPUTS]  # not read, but in the file
            if off:
                at = o + off
                vec = at + u32(buf, at)[0]
                if vec > last or vec + 4 + (length := u32(buf, vec)[0]) > n:
                    raise _Recheck
                copied += length
            off = f[S.OP_OPTIONS]
            if off and f[S.OP_OPTIONS_TYPE] and (union_type := buf[o + f[S.OP_OPTIONS_TYPE]]):
                at = o + off
                target = at + u32(buf, at)[0]
                if target > last:
                    raise _Recheck
                key = (target - i32(buf, target)[0], union_type)
                if key in options_checks:
                    options = options_checks[key]
                else:
                    options = options_checks[key] = check.reader_options_vtable(target, union_type)
                if options is None:
                    raise _Recheck
                size, refs, calls = options
                if size >= 0:  # a type this schema knows
                    if target + size > n:
                        raise _Recheck
                    budget -= size
                    copied += TABLE_READ_COST
                    for offset, width, copy in refs:
                        at = target + offset
                        vec = at + u32(buf, at)[0]
                        if vec > last:
                            raise _Recheck
                        length = u32(buf, vec)[0]
                        if width:
                            if vec + 4 + length * width > n:
                                raise _Recheck
                            copied += length * copy
                        else:  # a string
                            end = vec + 4 + length
                            if end >= n or buf[end]:
                                raise _Recheck
                            copied += end - vec
                    if calls:
                        check.control_flow.add(o)
            reads -= copied
            if budget < 0 or reads < 0:
                raise _Recheck
            copies.append(copied)
        off = f[S.OP_OPCODE_INDEX]
        oc_idx = u32(buf, o + off)[0] if off else 0
        if oc_idx >= nopcodes:  # the verifier's own error (its graph checks run on what this returns)
            raise ModelFormatError(
                f"subgraph {si} op {oi} refers to operator code {oc_idx} but the model has {nopcodes}", "TPU904"
            )
        name, version, custom = opcodes[oc_idx]
        # Op(...) without the call of its __init__ (as the tensor reader makes tensors): every field.
        op = new(Op)
        op.subgraph = si
        op.index = oi
        op.opcode = name
        op.builtin_code = opcode_codes[oc_idx]
        op.version = version
        op.custom_code = custom
        op.inputs, op.outputs, op.intermediates = index_vectors
        op.options_type, op.options = S.read_options(r, o, f)
        op.custom_options_size = u32(buf, copts)[0] if copts >= 0 else 0
        op.custom_options_at = copts + 4 if copts >= 0 else -1
        op.opcode_index = oc_idx
        ops.append(op)
    return ops, copies, budget, reads


class _Sizes(dict[int, int]):
    """The walk's verdict on each vtable of one kind of table the reader checks, by vtable
    position, asked once per vtable: the tables' size, or -1 when the vtable is unsound or names
    something the reader's checks do not cover (:meth:`tpulint.verify._Walker.reader_vtable`).
    Without the walk (nothing to check) it is never asked."""

    __slots__ = ("check", "table")

    def __init__(self, check: Walker | None, table: str) -> None:
        super().__init__()
        self.check, self.table = check, table

    def __missing__(self, vtable: int) -> int:
        assert self.check is not None
        size = self[vtable] = self.check.reader_vtable(vtable, self.table)
        return size


class _Recheck(Exception):
    """A buffer, tensor or operator table failed the reader's checks, or names something they do
    not cover."""


class _TensorReader:
    """Decodes the tensor tables of each subgraph, sharing between them one :class:`~tpulint._schema.Plan`
    per vtable, one tuple per distinct shape and one object per distinct quantization.

    Given the structural walk (``check``), it also checks each table as it decodes it, exactly as
    the walk would (:mod:`tpulint.verify`): the table and its vtable inside the file, the shape,
    name, quantization and shape signature inside it, the quantization's min, max, scale and zero
    point vectors too, strings NUL-terminated, and the walk's work and read budgets. Tensors are
    the most numerous tables of a model; checking them in the pass that reads them halves the
    Python steps spent on them (issue 7). Any failure, or a table naming something these checks do
    not cover (sparsity, variant sub-types, custom quantization), raises :class:`_Recheck`: the
    caller has the walk check the vector (raising its error) and reads it again unchecked.
    """

    __slots__ = ("buffer_sizes", "quant_plans", "quants", "reader", "shapes", "tensor_plans")

    def __init__(self, reader: _schema.Reader, buffer_sizes: array[int]) -> None:
        self.reader = reader
        self.buffer_sizes = buffer_sizes
        self.tensor_plans: dict[int, _schema.Plan] = {}  # by vtable position
        self.quant_plans: dict[int, _schema.Plan] = {}
        # Shapes repeat (every activation of a block, every bias of a width): one tuple per
        # distinct value.
        self.shapes: dict[tuple[int, ...], tuple[int, ...]] = {(): ()}
        self.quants: dict[tuple[bytes, bytes, int], Quantization] = {}

    def read(
        self, si: int, positions: Sequence[int], check: Walker | None
    ) -> tuple[list[Tensor], array[int], int, int]:
        """The tensors of subgraph ``si`` (tables at ``positions``); with ``check``, also what was
        copied out of each table (read budget) and the walk's work and read budgets left."""
        buf = self.reader.buf
        i32, u32, int32_unpacker, small_unpackers = (
            _schema.i32,
            _schema.u32,
            _schema.int32_unpacker,
            _schema.SMALL_INT32_UNPACKERS,
        )
        small = len(small_unpackers)  # vectors shorter than this have their unpacker ready
        r = self.reader
        tensor_plans, quant_plans = self.tensor_plans, self.quant_plans
        tensor_sizes, quant_sizes = _Sizes(check, "Tensor"), _Sizes(check, "QuantizationParameters")
        shapes, quants = self.shapes, self.quants
        buffer_sizes = self.buffer_sizes
        nbuffers = len(buffer_sizes)
        dtype_names = _TYPE_NAMES
        checking = check is not None
        n = len(buf)
        budget, reads = (check.budget, check.reads) if check is not None else (0, 0)
        copied = 0
        copies: array[int] = array("q")
        tensors: list[Tensor] = []
        as_bytes = self.reader.as_bytes
        new = object.__new__
        # A read past the end of the file raises struct.error: with the walk, that is a failed check
        # (every position is an unsigned offset from another, never negative).
        try:
            for ti, t in enumerate(positions):
                if not ti % RELEASE_EVERY:
                    release_pages(buf)  # a model with 100,000s of tensors never has all its pages resident
                # 1. Where everything lies (checked, with the walk: nothing is copied out yet).
                vt = t - i32(buf, t)[0]
                if checking:
                    if (size := tensor_sizes[vt]) < 0 or t + size > n:
                        raise _Recheck
                    budget -= size
                    copied = TABLE_READ_COST
                plan = tensor_plans.get(vt)  # the fields of the tensor, read in one call per vtable's plan
                if plan is None:
                    plan = tensor_plans[vt] = r.plan(t, _TENSOR_FIELDS)
                shape_at, code, bidx, name_at, quant_at, variable, sig_at, _ = plan.pick(
                    plan.unpack(buf, t) + plan.zeros
                )
                o_shape, _, _, o_name, o_quant, _, o_sig, o_sparsity = plan.offsets
                scale_at = scale_end = zp_at = zp_end = 0  # the quantization's vectors: none
                if o_quant:
                    q = t + o_quant + quant_at
                    vt = q - i32(buf, q)[0]
                    if checking:
                        if (size := quant_sizes[vt]) < 0 or q + size > n:
                            raise _Recheck
                        budget -= size
                        copied += TABLE_READ_COST
                    qplan = quant_plans.get(vt)
                    if qplan is None:
                        qplan = quant_plans[vt] = r.plan(q, _QUANT_FIELDS)
                    scale_at, zp_at, qdim, min_at, max_at = qplan.pick(qplan.unpack(buf, q) + qplan.zeros)
                    o_scale, o_zp, _, o_min, o_max = qplan.offsets
                    if o_scale:
                        scale_at += q + o_scale + 4  # the values, after the vector's length
                        scale_end = scale_at + 4 * u32(buf, scale_at - 4)[0]
                        if checking:
                            if scale_end > n:
                                raise _Recheck
                            copied += scale_end - scale_at
                    if o_zp:
                        zp_at += q + o_zp + 4
                        zp_end = zp_at + 8 * u32(buf, zp_at - 4)[0]
                        if checking:
                            if zp_end > n:
                                raise _Recheck
                            copied += zp_end - zp_at
                    if checking and (o_min or o_max):  # not read, but in the file
                        for vec in (q + o_min + min_at if o_min else -1, q + o_max + max_at if o_max else -1):
                            if vec >= 0:
                                if (end := vec + 4 + 4 * u32(buf, vec)[0]) > n:
                                    raise _Recheck
                                copied += end - vec - 4
                shape_length = sig_length = 0
                if o_shape:
                    shape_at += t + o_shape + 4
                    shape_length = u32(buf, shape_at - 4)[0]
                    if checking:
                        if shape_at + 4 * shape_length > n:
                            raise _Recheck
                        copied += 4 * shape_length
                if o_sig:
                    sig_at += t + o_sig + 4
                    sig_length = u32(buf, sig_at - 4)[0]
                    if checking:
                        if sig_at + 4 * sig_length > n:
                            raise _Recheck
                        copied += 4 * sig_length
                name_end = 0
                if o_name:
                    name_at += t + o_name + 4
                    name_end = name_at + u32(buf, name_at - 4)[0]
                    if checking:
                        if name_end >= n or buf[name_end]:
                            raise _Recheck
                        copied += name_end - name_at + 4
                if checking:
                    # The budgets, before anything is copied: a table that shares its name or shapes
                    # with thousands of others cannot make the reader copy more than they allow.
                    reads -= copied
                    if budget < 0 or reads < 0:
                        raise _Recheck
                    copies.append(copied)
                # 2. The tensor.
                quant = None
                if scale_end > scale_at or zp_end > zp_at:
                    # Tensors that share their quantization (a block's activations, the inputs and
                    # output of a concatenation, a stack of identical layers) share one object.
                    scales, zero_points = buf[scale_at:scale_end], buf[zp_at:zp_end]
                    if as_bytes is not None:
                        scales, zero_points = as_bytes(scales), as_bytes(zero_points)
                    key = (scales, zero_points, qdim)
                    quant = quants.get(key)
                    if quant is None:  # Quantization.packed, inline: one per tensor in most models
                        quant = quants[key] = new(Quantization)
                        quant._scale = quant._zero_point = None
                        quant._scale_raw, quant._zero_point_raw, quant.channels = scales, zero_points, len(scales) // 4
                        quant.quantized_dimension = qdim
                shape: tuple[int, ...] = ()
                if shape_length:
                    values = (small_unpackers[shape_length] if shape_length < small else int32_unpacker(shape_length))(
                        buf, shape_at
                    )
                    shape = shapes.setdefault(values, values)
                sig = None
                if sig_length:
                    values = (small_unpackers[sig_length] if sig_length < small else int32_unpacker(sig_length))(
                        buf, sig_at
                    )
                    sig = shapes.setdefault(values, values)
                name = ""
                if o_name:
                    raw = buf[name_at:name_end]
                    try:  # a slice of bytes, a bytearray or a mapped file, with a UTF-8 name: the common case
                        name = raw.decode() if as_bytes is None else str(raw, "utf-8")
                    except UnicodeDecodeError:
                        name = str(raw, "utf-8", "replace")
                # Tensor(...) without the call of its __init__: every field, in the order of Tensor's
                # (tests/test_perf_equivalence.py checks that the reader sets them all).
                tensor = new(Tensor)
                tensor.index = ti
                tensor.name = name
                tensor.dtype = dtype_names[code]
                tensor.shape = shape
                tensor.shape_signature = sig
                tensor.buffer = bidx
                tensor.data_size = buffer_sizes[bidx] if bidx < nbuffers else 0
                tensor.quantization = quant
                tensor.is_variable = variable != 0  # not bool(): a call per tensor
                tensor.has_sparsity = o_sparsity != 0
                tensors.append(tensor)
        except struct.error:
            if check is None:
                raise
            raise _Recheck from None
        return tensors, copies, budget, reads


# What the reader takes of a Tensor and a QuantizationParameters table: (slot, struct format), read
# by one Plan per vtable. Offsets to vectors, strings and tables are read as "I" (relative).
_TENSOR_FIELDS: tuple[tuple[int, str], ...] = (
    (_schema.TENSOR_SHAPE, "I"),
    (_schema.TENSOR_TYPE, "b"),
    (_schema.TENSOR_BUFFER, "I"),
    (_schema.TENSOR_NAME, "I"),
    (_schema.TENSOR_QUANTIZATION, "I"),
    (_schema.TENSOR_IS_VARIABLE, "B"),
    (_schema.TENSOR_SHAPE_SIGNATURE, "I"),
    (_schema.TENSOR_SPARSITY, "I"),  # only whether it is there
)
_QUANT_FIELDS: tuple[tuple[int, str], ...] = (
    (_schema.QUANT_SCALE, "I"),
    (_schema.QUANT_ZERO_POINT, "I"),
    (_schema.QUANT_QUANTIZED_DIMENSION, "i"),
    (_schema.QUANT_MIN, "I"),  # only checked (when the walk left the tensor tables to the reader)
    (_schema.QUANT_MAX, "I"),
)


# From how many tensors the ops' index tuples share the tensors' int objects. Below, the ints
# take at most about a megabyte (32,768 tensors, about four per op), and replacing them would
# cost more time than that saves memory: a quarter of the reading time of a 150-op model.
_SHARED_INTS_FROM = 32_768


def _same_ints(canonical: list[int]) -> Callable[[tuple[int, ...]], tuple[int, ...]]:
    """A function giving an index tuple back with ``canonical``'s int objects (-1 kept as is)."""
    n = len(canonical)
    table = [*canonical, -1]  # index -1 (no tensor) looks up the last entry: -1
    get = table.__getitem__

    def same(indices: tuple[int, ...]) -> tuple[int, ...]:
        if not indices or min(indices) < -1 or max(indices) >= n:
            return indices  # empty, or out of range (unverified input): left for the caller's checks
        return tuple(map(get, indices))

    return same


def read_i32_vector(view: memoryview | None) -> tuple[int, ...] | None:
    """Decode a constant int32 tensor (shape, axes, paddings...) from its buffer view."""
    if view is None or len(view) % 4:
        return None
    return struct.unpack(f"<{len(view) // 4}i", view)
