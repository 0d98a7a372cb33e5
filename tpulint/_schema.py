"""Direct, bulk reads of the TFLite flatbuffer with :mod:`struct` (no ``tflite``/``flatbuffers``/numpy).

Only :mod:`tpulint.model` uses this (and :mod:`tpulint.verify`, for its compiled int32
unpackers). A flatbuffer table is a position in the buffer; its vtable (shared between tables with
the same layout, so parsed once per vtable position) gives the offset of each field, by slot.
Scalars, vectors and strings are read with one ``struct.unpack_from`` each, vectors as a whole
(never element by element).

Why not the generated ``tflite`` bindings: ``import tflite`` star-imports ~190 modules and pulls in
``flatbuffers`` and numpy (~250-300 ms of a cold ``tpulint check``), and every field access is
several Python calls. The schema facts the bindings carried (builtin op names, options-table names,
every options field with its slot, type and default) are data in :mod:`tpulint._schema_data`,
generated from the bindings by :mod:`tpulint._schema_gen`; ``tests/test_schema_reader.py`` checks
both the data and this reader against the installed ``tflite`` package.

The reader trusts offsets: :func:`tpulint.verify.verify_tflite` has checked them first (with
``verify=False`` a corrupt file raises ``struct.error``/``IndexError``, which the caller turns into
a format error).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from operator import add, itemgetter
from typing import Any

from tpulint import _schema_data as _data

# Slots (field index in the vtable) of the tables the reader walks; tensorflow/lite/schema/schema.fbs.
MODEL_VERSION, MODEL_OPERATOR_CODES, MODEL_SUBGRAPHS, MODEL_DESCRIPTION, MODEL_BUFFERS = 0, 1, 2, 3, 4
MODEL_METADATA = 6
OPCODE_DEPRECATED_BUILTIN, OPCODE_CUSTOM, OPCODE_VERSION, OPCODE_BUILTIN = 0, 1, 2, 3
SUBGRAPH_TENSORS, SUBGRAPH_INPUTS, SUBGRAPH_OUTPUTS, SUBGRAPH_OPERATORS, SUBGRAPH_NAME = 0, 1, 2, 3, 4
TENSOR_SHAPE, TENSOR_TYPE, TENSOR_BUFFER, TENSOR_NAME, TENSOR_QUANTIZATION = 0, 1, 2, 3, 4
TENSOR_IS_VARIABLE, TENSOR_SPARSITY, TENSOR_SHAPE_SIGNATURE = 5, 6, 7
QUANT_MIN, QUANT_MAX, QUANT_SCALE, QUANT_ZERO_POINT, QUANT_QUANTIZED_DIMENSION = 0, 1, 2, 3, 6
OP_OPCODE_INDEX, OP_INPUTS, OP_OUTPUTS, OP_OPTIONS_TYPE, OP_OPTIONS, OP_CUSTOM_OPTIONS = 0, 1, 2, 3, 4, 5
OP_MUTATING_VARIABLE_INPUTS, OP_INTERMEDIATES, OP_OPTIONS2_TYPE, OP_OPTIONS2 = 7, 8, 11, 12
BUFFER_DATA, BUFFER_OFFSET, BUFFER_SIZE = 0, 1, 2
METADATA_NAME, METADATA_BUFFER = 0, 1

u8: Callable[[Any, int], tuple[int]] = struct.Struct("<B").unpack_from
i8: Callable[[Any, int], tuple[int]] = struct.Struct("<b").unpack_from
u16: Callable[[Any, int], tuple[int]] = struct.Struct("<H").unpack_from
i32: Callable[[Any, int], tuple[int]] = struct.Struct("<i").unpack_from
u32: Callable[[Any, int], tuple[int]] = struct.Struct("<I").unpack_from
u64: Callable[[Any, int], tuple[int]] = struct.Struct("<Q").unpack_from

_OPCODE_NAMES: dict[int, str] = _data.BUILTIN_OPERATORS
_NAME_TO_CODE: dict[str, int] = {v: k for k, v in _OPCODE_NAMES.items()}

# One compiled unpacker per (element format, count): vectors are read in one call.
_VECTOR_UNPACK: dict[tuple[str, int], Callable[[Any, int], tuple[Any, ...]]] = {}
# Appended to every parsed vtable so that a slot past its end reads as absent (0) without a bounds test.
_PAD = (0,) * (1 + max((slot for spec in _data.OPTIONS_FIELDS.values() for _, slot, _, _ in spec), default=15))


def vector_unpacker(fmt: str, count: int) -> Callable[[Any, int], tuple[Any, ...]]:
    key = (fmt, count)
    fn = _VECTOR_UNPACK.get(key)
    if fn is None:
        fn = _VECTOR_UNPACK[key] = struct.Struct(f"<{count}{fmt}").unpack_from
    return fn


def int32_unpacker(count: int) -> Callable[[Any, int], tuple[int, ...]]:
    """``vector_unpacker("i", count)``, cached (the reader's hot loops look in
    :data:`SMALL_INT32_UNPACKERS` first)."""
    fn = INT32_UNPACKERS.get(count)
    if fn is None:
        fn = INT32_UNPACKERS[count] = vector_unpacker("i", count)
    return fn


INT32_UNPACKERS: dict[int, Callable[[Any, int], tuple[int, ...]]] = {}
# The unpackers of the vectors of up to 15 int32s (shapes, an op's tensor indices), made at import:
# the reader's hot loops index this (``SMALL_INT32_UNPACKERS[n]`` for n below its length) instead of a dict call.
SMALL_INT32_UNPACKERS: tuple[Callable[[Any, int], tuple[int, ...]], ...] = tuple(
    vector_unpacker("i", n) for n in range(16)
)


class Reader:
    """Field access on one flatbuffer; vtables are parsed once per vtable position."""

    __slots__ = ("as_bytes", "buf", "options_seen", "table_sizes", "vtables")

    def __init__(self, buf: Any) -> None:
        self.buf = buf
        # What makes a slice of ``buf`` bytes (hashable): nothing for bytes and a mapped file,
        # whose slices are bytes already (a call of bytes() on them costs as much as the slice).
        self.as_bytes: Callable[[Any], bytes] | None = None if isinstance(buf, (bytes, mmap.mmap)) else bytes
        self.vtables: dict[int, tuple[int, ...]] = {}
        self.table_sizes: dict[int, int] = {}  # inline size of the tables of each vtable, by its position
        # Scalar options decoded so far, by (class, vtable position, the table's bytes after its vtable offset).
        self.options_seen: dict[tuple[str, int, Any], dict[str, Any]] = {}

    def fields(self, pos: int) -> tuple[int, ...]:
        """Field offsets (relative to the table) by slot; 0 for an absent field. Index past the end: absent."""
        vt = pos - i32(self.buf, pos)[0]
        hit = self.vtables.get(vt)
        if hit is None:
            n = u16(self.buf, vt)[0] // 2
            hit = self.vtables[vt] = vector_unpacker("H", n)(self.buf, vt)[2:] + _PAD
        return hit

    def plan(self, pos: int, wanted: tuple[tuple[int, str], ...]) -> Plan:
        """How to read the fields ``wanted`` ((slot, struct format) pairs) of the table at ``pos``,
        and of every table sharing its vtable, in one ``struct`` call (see :class:`Plan`).

        Plans are shared by every reader, by vtable layout: the models of one converter have the
        same few layouts, and making a plan (its ``struct`` format) costs as much as reading a
        hundred tensors with it."""
        key = (self.fields(pos), wanted)
        plan = _PLANS.get(key)
        if plan is None:
            if len(_PLANS) >= _PLANS_MAX:  # a file of thousands of odd layouts: start again
                _PLANS.clear()
            plan = _PLANS[key] = Plan(*key)
        return plan

    def indirect(self, at: int) -> int:
        """Follow the offset stored at absolute position ``at``."""
        return at + u32(self.buf, at)[0]

    def vector(self, pos: int, off: int, fmt: str) -> tuple[Any, ...] | None:
        """A vector of scalars as a tuple; None when the field is absent."""
        if not off:
            return None
        at = pos + off
        vec = at + u32(self.buf, at)[0]
        n = u32(self.buf, vec)[0]
        if not n:
            return ()
        return vector_unpacker(fmt, n)(self.buf, vec + 4)

    def tables(self, pos: int, off: int) -> list[int]:
        """Positions of the tables of a vector of tables (empty when absent)."""
        if not off:
            return []
        at = pos + off
        vec = at + u32(self.buf, at)[0]
        n = u32(self.buf, vec)[0]
        if not n:
            return []
        rel = vector_unpacker("I", n)(self.buf, vec + 4)
        base = vec + 4
        return list(map(add, rel, range(base, base + 4 * n, 4)))  # each offset is from its own slot

    def string(self, pos: int, off: int) -> str | None:
        if not off:
            return None
        at = pos + off
        s = at + u32(self.buf, at)[0]
        n = u32(self.buf, s)[0]
        return str(self.buf[s + 4 : s + 4 + n], "utf-8", "replace")


class Plan:
    """The fields ``wanted`` of the tables that share one vtable, read in one call.

    ``plan.pick(plan.unpack(buf, pos) + plan.zeros)`` gives their values in ``wanted`` order (0 for
    an absent field); ``plan.offsets`` gives each field's offset in the table (0: absent), which
    an offset field (a vector, string or table) needs to find its target. A table's fields become
    one ``struct`` format in file order (the bytes in between skipped), instead of one call per
    field: the reader's loops run once per tensor, 100,000s of times in a large model. Fields that
    overlap (never written by a flatbuffers builder, but a file may say so) are read one by one.
    """

    __slots__ = ("offsets", "pick", "unpack", "zeros")

    def __init__(self, fields: tuple[int, ...], wanted: tuple[tuple[int, str], ...]) -> None:
        if len(wanted) < 2:
            raise ValueError("a plan reads at least two fields")  # itemgetter of one index gives no tuple
        self.offsets = tuple(fields[slot] for slot, _ in wanted)
        present = sorted((fields[slot], k, fmt) for k, (slot, fmt) in enumerate(wanted) if fields[slot])
        self.zeros = (0,)
        index = {k: i for i, (_, k, _) in enumerate(present)}
        # An absent field picks the 0 appended after the values.
        self.pick: Callable[[tuple[Any, ...]], tuple[Any, ...]] = itemgetter(
            *(index.get(k, len(present)) for k in range(len(wanted)))
        )
        self.unpack: _Unpack = _in_order(present)


_Unpack = Callable[[Any, int], tuple[Any, ...]]

# Plans by (vtable layout, fields wanted): see Reader.plan.
_PLANS: dict[tuple[tuple[int, ...], tuple[tuple[int, str], ...]], Plan] = {}
_PLANS_MAX = 4096


def _in_order(present: list[tuple[int, int, str]]) -> _Unpack:
    """One ``struct`` call for fields in file order ((offset, _, format), sorted); one call per
    field when they overlap."""
    fmt, end = "<", 0
    for offset, _, code in present:
        if offset < end:
            return _one_by_one(tuple((at, struct.Struct("<" + c).unpack_from) for at, _, c in present))
        fmt += "x" * (offset - end) + code
        end = offset + struct.calcsize("<" + code)
    return struct.Struct(fmt).unpack_from


def _one_by_one(readers: tuple[tuple[int, _Unpack], ...]) -> _Unpack:
    def unpack(buf: Any, pos: int) -> tuple[Any, ...]:
        return tuple(read(buf, pos + offset)[0] for offset, read in readers)

    return unpack


def builtin_name(code: int) -> str:
    """Builtin op name for a code; ``BUILTIN_<n>`` for codes newer than the schema tables."""
    return _OPCODE_NAMES.get(code, f"BUILTIN_{code}")


def builtin_code_of(name: str) -> int:
    code = _NAME_TO_CODE.get(name)
    if code is not None:
        return code
    if name.startswith("BUILTIN_"):
        try:
            return int(name[8:])
        except ValueError:
            return -1
    return -1


# ---- builtin options ------------------------------------------------------------------------------

# Per options class: (key, slot, reader kind, unpack function or vector element format, default),
# compiled on first use.
_Field = tuple[str, int, str, Any, Any]
_COMPILED: dict[str, tuple[_Field, ...]] = {}


def _compiled(cls_name: str) -> tuple[_Field, ...] | None:
    hit = _COMPILED.get(cls_name)
    if hit is None:
        spec = _data.OPTIONS_FIELDS.get(cls_name)
        if spec is None:
            return None
        fields: list[_Field] = []
        for key, slot, kind, default in spec:
            if kind in ("s", "t"):
                fields.append((key, slot, kind, None, default))
            elif kind[0] == "v":
                fields.append((key, slot, "v", kind[1], default))
            else:
                fields.append((key, slot, "x", struct.Struct("<" + kind).unpack_from, default))
        hit = _COMPILED[cls_name] = tuple(fields)
    return hit


def _read_table(r: Reader, pos: int, names: dict[int, str], type_code: int) -> tuple[str | None, dict[str, Any]]:
    if type_code == 0 or pos < 0:
        return None, {}
    cls_name = names.get(type_code)
    if cls_name is None:
        return f"OPTIONS_{type_code}", {}
    buf = r.buf
    key = None
    if cls_name in _SCALARS_ONLY:
        # Options of scalars only (convolutions, pooling, element-wise ops): tables of one class
        # with the same vtable and the same bytes hold the same values, and a model repeats a few
        # settings over and over. Their ops share one dict (read-only, like every model object).
        vt = pos - i32(buf, pos)[0]
        size = r.table_sizes.get(vt)
        if size is None:
            size = r.table_sizes[vt] = u16(buf, vt + 2)[0]
        raw = buf[pos + 4 : pos + size]
        key = (cls_name, vt, raw if r.as_bytes is None else r.as_bytes(raw))
        seen = r.options_seen.get(key)
        if seen is not None:
            return cls_name, seen
    spec = _compiled(cls_name)
    if spec is None:
        return cls_name, {}
    name, out = _read_fields(r, pos, cls_name, spec)
    if key is not None:
        r.options_seen[key] = out
    return name, out


# Options classes whose fields are all scalars (read the same from the same bytes, wherever they lie).
_SCALARS_ONLY: frozenset[str] = frozenset(
    name
    for name, spec in _data.OPTIONS_FIELDS.items()
    if all(kind not in ("s", "t") and kind[0] != "v" for _, _, kind, _ in spec)
)


def _read_fields(r: Reader, pos: int, cls_name: str, spec: tuple[_Field, ...]) -> tuple[str | None, dict[str, Any]]:
    buf = r.buf
    offs = r.fields(pos)
    out: dict[str, Any] = {}
    for key, slot, kind, unpack, default in spec:
        off = offs[slot]
        if kind == "x":
            out[key] = unpack(buf, pos + off)[0] if off else default
        elif kind == "v":
            out[key] = r.vector(pos, off, unpack)
        elif kind == "s":
            out[key] = r.string(pos, off)
        elif not off:  # "t": a sub-table/union, kept only as None when absent (as the bindings' reflection did)
            out[key] = None
    return cls_name, out


def read_options(r: Reader, op_pos: int, offs: tuple[int, ...]) -> tuple[str | None, dict[str, Any]]:
    """(options class name, {snake_case_field: value}) of the operator table at ``op_pos``."""
    buf = r.buf
    t1 = buf[op_pos + offs[OP_OPTIONS_TYPE]] if offs[OP_OPTIONS_TYPE] else 0
    t2 = buf[op_pos + offs[OP_OPTIONS2_TYPE]] if offs[OP_OPTIONS2_TYPE] else 0
    if not t1 and not t2:
        return None, {}
    at = op_pos + offs[OP_OPTIONS]  # Reader.indirect, inline: this runs once per op
    p1 = at + u32(buf, at)[0] if offs[OP_OPTIONS] else -1
    name, out = _read_table(r, p1, _data.BUILTIN_OPTIONS, t1)
    if t2:
        p2 = r.indirect(op_pos + offs[OP_OPTIONS2]) if offs[OP_OPTIONS2] else -1
        name2, out2 = _read_table(r, p2, _data.BUILTIN_OPTIONS2, t2)
        out = {**out, **out2}  # a new dict: the first may be shared (see _read_table)
        name = name or name2
    return name, out
