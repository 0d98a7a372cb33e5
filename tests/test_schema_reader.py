"""The struct-based reader (tpulint/_schema.py, model.decode) against the ``tflite`` bindings.

The reader reads vectors in bulk with ``struct`` and takes the schema facts from the generated
``tpulint/_schema_data.py``. Here the same models are read a second way, through the generated
``tflite`` bindings one accessor call per element (the way the reader worked before), and every
field of every tensor, op, buffer and options table must be equal, type included.
"""

from __future__ import annotations

import dataclasses
import importlib
import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, FIXTURES

from tpulint import _schema, _schema_data
from tpulint.model import TENSOR_TYPES, load_model, parse_model

tflite = pytest.importorskip("tflite")
flatbuffers = pytest.importorskip("flatbuffers")

from tpulint._schema_gen import derive, getter_names, snake  # noqa: E402

MODELS = sorted(FIXTURES.rglob("*.tflite")) + (sorted(CORPUS.rglob("*.tflite")) if CORPUS.is_dir() else [])


# ---- the oracle: the generated bindings, element by element --------------------------------------


def _s(b: bytes | None) -> str:
    return b.decode("utf-8", "replace") if b else ""


def _ints(obj: Any, name: str) -> tuple[int, ...]:
    """A vector through the per-element accessor (``Shape(j)``), as plain ints."""
    if getattr(obj, f"{name}IsNone")():
        return ()
    return tuple(int(getattr(obj, name)(j)) for j in range(getattr(obj, f"{name}Length")()))


def _reflect_options(table: Any, names: dict[int, str], type_code: int) -> tuple[str | None, dict[str, Any]]:
    """The old reflection reader: every getter of the options class, called."""
    if type_code == 0 or table is None:
        return None, {}
    cls_name = names.get(type_code)
    if cls_name is None:
        return f"OPTIONS_{type_code}", {}
    try:
        cls = getattr(importlib.import_module(f"tflite.{cls_name}"), cls_name)
    except ImportError:
        return cls_name, {}
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    for g in getter_names(cls):
        fn = getattr(obj, g)
        if fn.__code__.co_argcount == 1:
            val = fn()
        elif hasattr(obj, g + "AsNumpy"):
            n = getattr(obj, g + "Length")()
            val = None if getattr(obj, g + "IsNone")() else tuple(fn(j) for j in range(n))
        else:
            continue
        if isinstance(val, bytes):
            val = val.decode("utf-8", "replace")
        if isinstance(val, (int, float, str, bool, tuple)) or val is None:
            out[snake(g)] = val
    return cls_name, out


def oracle(data: bytes) -> dict[str, Any]:
    """What the bindings say, in the shape of the Model dataclasses."""
    from tflite.Model import Model

    opt_names = dict(_schema_data.BUILTIN_OPTIONS)
    opt2_names = dict(_schema_data.BUILTIN_OPTIONS2)
    root = Model.GetRootAsModel(data, 0)
    opcodes = []
    for i in range(root.OperatorCodesLength()):
        oc = root.OperatorCodes(i)
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        opcodes.append((_schema.builtin_name(code), int(oc.Version()) or 1, _s(oc.CustomCode()) or None))
    buffers = []
    for i in range(root.BuffersLength()):
        b = root.Buffers(i)
        if int(b.Offset()) > 1:
            buffers.append((i, int(b.Size()), int(b.Offset()), -1))
            continue
        n = b.DataLength()
        buffers.append((i, n, 0, b._tab.Vector(b._tab.Offset(4)) if n else -1))
    subgraphs = []
    for si in range(root.SubgraphsLength()):
        sg = root.Subgraphs(si)
        tensors = []
        for ti in range(sg.TensorsLength()):
            t = sg.Tensors(ti)
            q = t.Quantization()
            quant = None
            if q is not None:
                scale = tuple(float(q.Scale(j)) for j in range(q.ScaleLength()))
                zp = tuple(int(q.ZeroPoint(j)) for j in range(q.ZeroPointLength()))
                if scale or zp:
                    quant = (scale, zp, int(q.QuantizedDimension()))
            bidx = int(t.Buffer())
            tensors.append(
                (
                    ti,
                    _s(t.Name()),
                    TENSOR_TYPES.get(int(t.Type()), f"TYPE_{int(t.Type())}"),
                    _ints(t, "Shape"),
                    _ints(t, "ShapeSignature") or None,
                    bidx,
                    buffers[bidx][1] if bidx < len(buffers) else 0,
                    quant,
                    bool(t.IsVariable()),
                    t.Sparsity() is not None,
                )
            )
        ops = []
        for oi in range(sg.OperatorsLength()):
            o = sg.Operators(oi)
            name, version, custom = opcodes[o.OpcodeIndex()]
            opt_type, options = _reflect_options(o.BuiltinOptions(), opt_names, int(o.BuiltinOptionsType()))
            t2 = int(o.BuiltinOptions2Type())
            if t2:
                name2, out2 = _reflect_options(o.BuiltinOptions2(), opt2_names, t2)
                options.update(out2)
                opt_type = opt_type or name2
            ops.append(
                (
                    si,
                    oi,
                    name,
                    _schema.builtin_code_of(name),
                    version,
                    custom,
                    _ints(o, "Inputs"),
                    _ints(o, "Outputs"),
                    _ints(o, "Intermediates"),
                    opt_type,
                    options,
                    0 if o.CustomOptionsIsNone() else int(o.CustomOptionsLength()),
                )
            )
        subgraphs.append((si, _s(sg.Name()), tensors, ops, _ints(sg, "Inputs"), _ints(sg, "Outputs")))
    metadata = {_s(root.Metadata(i).Name()): int(root.Metadata(i).Buffer()) for i in range(root.MetadataLength())}
    return {
        "schema_version": int(root.Version()),
        "description": _s(root.Description()),
        "opcodes": opcodes,
        "buffers": buffers,
        "metadata": metadata,
        "subgraphs": subgraphs,
    }


def _typed(x: Any) -> Any:
    """Value with the type of every leaf, so that 1 != True != 1.0 in comparisons."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _typed(tuple(getattr(x, f.name) for f in dataclasses.fields(x)))
    if isinstance(x, (list, tuple)):
        return tuple(_typed(v) for v in x)
    if isinstance(x, dict):
        return tuple((k, _typed(v)) for k, v in x.items())
    return (type(x).__name__, x)


def as_oracle(m: Any) -> dict[str, Any]:
    return {
        "schema_version": m.schema_version,
        "description": m.description,
        "opcodes": list(m.opcodes),
        "buffers": [dataclasses.astuple(b) for b in m.buffers],
        "metadata": m.metadata,
        "subgraphs": [
            (
                sg.index,
                sg.name,
                [
                    (
                        t.index,
                        t.name,
                        t.dtype,
                        t.shape,
                        t.shape_signature,
                        t.buffer,
                        t.data_size,
                        None
                        if t.quantization is None
                        else (t.quantization.scale, t.quantization.zero_point, t.quantization.quantized_dimension),
                        t.is_variable,
                        t.has_sparsity,
                    )
                    for t in sg.tensors
                ],
                [
                    (
                        op.subgraph,
                        op.index,
                        op.opcode,
                        op.builtin_code,
                        op.version,
                        op.custom_code,
                        op.inputs,
                        op.outputs,
                        op.intermediates,
                        op.options_type,
                        op.options,
                        op.custom_options_size,
                    )
                    for op in sg.ops
                ],
                sg.inputs,
                sg.outputs,
            )
            for sg in m.subgraphs
        ],
    }


# ---- tests ----------------------------------------------------------------------------------------


def test_schema_data_matches_installed_tflite() -> None:
    """``_schema_data.py`` is what ``python -m tpulint._schema_gen`` derives from the installed bindings."""
    fresh = derive()
    if fresh["TFLITE_VERSION"] != _schema_data.TFLITE_VERSION:
        pytest.skip(f"installed tflite {fresh['TFLITE_VERSION']}, data generated from {_schema_data.TFLITE_VERSION}")
    assert fresh["BUILTIN_OPERATORS"] == _schema_data.BUILTIN_OPERATORS
    assert fresh["BUILTIN_OPTIONS"] == _schema_data.BUILTIN_OPTIONS
    assert fresh["BUILTIN_OPTIONS2"] == _schema_data.BUILTIN_OPTIONS2
    assert fresh["OPTIONS_FIELDS"] == _schema_data.OPTIONS_FIELDS


@pytest.mark.parametrize("path", MODELS, ids=lambda p: str(Path(p).relative_to(Path(p).parents[1])))
def test_reader_equals_bindings(path: Path) -> None:
    """Every field of every table, read in bulk, equals the per-element binding accessors' values."""
    model = load_model(path)
    try:
        assert _typed(as_oracle(model)) == _typed(oracle(path.read_bytes()))
    finally:
        model.close()


def _value_for(kind: str, k: int) -> Any:
    """A non-default value for a field kind (``k`` makes fields of one table differ)."""
    if kind == "?":
        return True
    if kind in "fd":
        return 0.5 + k
    if kind in "bB":
        return 3 + k % 100
    return 7 + k


def _build_options(name: str, fields: tuple[tuple[str, int, str, Any], ...], set_fields: bool) -> tuple[bytes, int]:
    """A buffer holding one ``name`` table with every field set (or none), through the bindings."""
    mod = importlib.import_module(f"tflite.{name}")
    cls = getattr(mod, name)
    getters = {snake(g): g for g in getter_names(cls)}
    b = flatbuffers.Builder(256)
    refs: dict[str, int] = {}
    if set_fields:
        for k, (key, _, kind, _) in enumerate(fields):
            g = getters[key]
            if kind == "s":
                refs[key] = b.CreateString(f"text-{k}")
            elif kind[0] == "v":
                fmt = kind[1]
                vals = [_value_for(fmt, k + j) for j in range(3)]
                getattr(mod, f"Start{g}Vector")(b, len(vals))
                prepend = {
                    "?": b.PrependBool,
                    "b": b.PrependInt8,
                    "B": b.PrependUint8,
                    "h": b.PrependInt16,
                    "H": b.PrependUint16,
                    "i": b.PrependInt32,
                    "I": b.PrependUint32,
                    "q": b.PrependInt64,
                    "Q": b.PrependUint64,
                    "f": b.PrependFloat32,
                    "d": b.PrependFloat64,
                }[fmt]
                for v in reversed(vals):
                    prepend(v)
                refs[key] = b.EndVector()
    mod.Start(b)
    if set_fields:
        for k, (key, _, kind, _) in enumerate(fields):
            add = getattr(mod, f"Add{getters[key]}")
            add(b, refs[key] if key in refs else _value_for(kind, k))
    end = mod.End(b)
    b.Finish(end)
    data = bytes(b.Output())
    return data, struct.unpack_from("<I", data, 0)[0]


OPTION_CLASSES = sorted(_schema_data.OPTIONS_FIELDS)


@pytest.mark.parametrize("name", OPTION_CLASSES)
def test_every_options_table(name: str) -> None:
    """Each options class, all fields set and none set, reads as the reflection over the bindings does."""
    from flatbuffers.table import Table

    fields = _schema_data.OPTIONS_FIELDS[name]
    code = {v: k for k, v in _schema_data.BUILTIN_OPTIONS.items()}.get(name)
    names = _schema_data.BUILTIN_OPTIONS
    if code is None:
        code = {v: k for k, v in _schema_data.BUILTIN_OPTIONS2.items()}[name]
        names = _schema_data.BUILTIN_OPTIONS2
    for set_fields in (True, False):
        data, pos = _build_options(name, fields, set_fields)
        ours = _schema._read_table(_schema.Reader(data), pos, names, code)
        theirs = _reflect_options(Table(data, pos), names, code)
        assert _typed(ours) == _typed(theirs)
        if set_fields:
            assert all(v is not None for v in ours[1].values()), ours


def test_unknown_options_and_opcodes() -> None:
    """Codes newer than the schema tables keep working: BUILTIN_<n> and OPTIONS_<n>."""
    assert _schema.builtin_name(100000) == "BUILTIN_100000"
    assert _schema.builtin_code_of("BUILTIN_100000") == 100000
    assert _schema.builtin_code_of("CONV_2D") == 3
    assert _schema.builtin_code_of("NOT_AN_OP") == -1
    data, pos = _build_options("Conv2DOptions", _schema_data.OPTIONS_FIELDS["Conv2DOptions"], True)
    assert _schema._read_table(_schema.Reader(data), pos, _schema_data.BUILTIN_OPTIONS, 250) == ("OPTIONS_250", {})


def test_check_path_imports_no_bindings() -> None:
    """Reading a model imports neither tflite, flatbuffers nor numpy (they cost ~250 ms per process)."""
    import subprocess
    import sys

    code = (
        "import sys; from tpulint.model import load_model; from tpulint.analyze import analyze_model;"
        "from tpulint.context import Target;"
        f"m = load_model({str(FIXTURES / 'lstm.tflite')!r}); analyze_model(m, Target.default());"
        "print(sorted(n for n in ('tflite', 'flatbuffers', 'numpy', 'rich', 'pydantic') if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize(
    "name", ["lstm.tflite", "int8_cnn.tflite", "uint8_cnn.tflite", "rule_TPU103_unequal_dilation.tflite"]
)
def test_parse_bytes_bytearray_memoryview_and_mmap_agree(name: str) -> None:
    """Slices of bytes and of a mapped file are bytes; of a bytearray or a memoryview they are
    not, and the reader makes them bytes where it keys on them (options, quantization)."""
    path = FIXTURES / name
    data = path.read_bytes()
    a = parse_model(data)
    b = parse_model(memoryview(bytearray(data)))
    d = parse_model(bytearray(data))
    c = load_model(path)
    try:
        assert _typed(as_oracle(a)) == _typed(as_oracle(b)) == _typed(as_oracle(c)) == _typed(as_oracle(d))
        for m in (b, c, d):  # equal quantizations are shared whatever holds the bytes
            shared = {id(t.quantization) for t in m.subgraphs[0].tensors if t.quantization is not None}
            assert len(shared) == len(
                {id(t.quantization) for t in a.subgraphs[0].tensors if t.quantization is not None}
            )
    finally:
        c.close()


def test_index_vectors_of_any_length() -> None:
    """Index and shape vectors read through the small-vector unpackers (up to 15 values) and
    through the cached ones for longer vectors give the file's values."""
    from builders import M, O, T, build

    assert all(len(_schema.SMALL_INT32_UNPACKERS[n](bytes(4 * n), 0)) == n for n in range(16))
    for n in (1, 15, 16, 40):
        names = [f"x{i}" for i in range(n)]
        m = M(
            tensors=[*(T(x, [1, 1, 1, 2], "INT8", scale=[0.1]) for x in names), T("y", [1, 1, 1, 2 * n], "INT8")],
            ops=[O("CONCATENATION", names, ["y"], options=("ConcatenationOptions", {"Axis": 3}))],
            inputs=names,
            outputs=["y"],
        )
        model = parse_model(build(m))
        assert model.subgraphs[0].ops[0].inputs == tuple(range(n))
        assert model.subgraphs[0].inputs == tuple(range(n))
        assert model.subgraphs[0].tensors[n].shape == (1, 1, 1, 2 * n)


def test_buffer_is_zeros_agrees_with_the_buffers_bytes() -> None:
    """Model.buffer_is_zeros: the buffer has data and every byte of it is 0, whatever holds the
    file; a buffer without data, out of range, or of a closed model is not."""
    path = FIXTURES / "int8_cnn.tflite"
    data = bytearray(path.read_bytes())
    first = parse_model(bytes(data))
    with_data = [i for i in range(len(first.buffers)) if first.buffer_view(i) is not None]
    zeroed = with_data[0]
    start = first.buffers[zeroed].inline_offset
    data[start : start + first.buffers[zeroed].size] = bytes(first.buffers[zeroed].size)
    models = [parse_model(bytes(data)), parse_model(bytearray(data)), parse_model(memoryview(bytes(data)))]
    for m in models:
        for i in range(len(m.buffers)):
            view = m.buffer_view(i)
            assert m.buffer_is_zeros(i) == (view is not None and not any(view)), i
        assert m.buffer_is_zeros(zeroed) and not m.buffer_is_zeros(with_data[1])
        assert not m.buffer_is_zeros(len(m.buffers)) and not m.buffer_is_zeros(-1)
        m.close()
        assert not m.buffer_is_zeros(zeroed)


# ---- Plan: a table's fields in one struct call -----------------------------------------------------


def _table_with_fields(offsets: tuple[int, ...], values: bytes) -> tuple[bytes, int]:
    """A vtable at byte 0 giving ``offsets`` by slot, then the table (soffset + ``values``)."""
    vtable = struct.pack(f"<HH{len(offsets)}H", 4 + 2 * len(offsets), 4 + len(values), *offsets)
    vtable += bytes(-len(vtable) % 4)
    table = struct.pack("<i", len(vtable)) + values  # the table's offset back to its vtable
    return vtable + table, len(vtable)


def test_plan_reads_present_fields_in_wanted_order_and_zero_for_absent_ones() -> None:
    # slot 0 at +8 (uint32 7), slot 1 at +4 (int32 -5), slot 2 absent; file order differs from slot order
    buf, pos = _table_with_fields((8, 4, 0), struct.pack("<iI", -5, 7))
    plan = _schema.Reader(buf).plan(pos, ((0, "I"), (1, "i"), (2, "I")))
    assert plan.pick(plan.unpack(buf, pos) + plan.zeros) == (7, -5, 0)
    assert plan.offsets == (8, 4, 0)


def test_plan_reads_overlapping_fields_one_by_one() -> None:
    """A file may point two fields at the same bytes (no builder does): each is read as its own type."""
    buf, pos = _table_with_fields((4, 4), struct.pack("<i", -1))
    plan = _schema.Reader(buf).plan(pos, ((0, "i"), (1, "I")))
    assert plan.pick(plan.unpack(buf, pos) + plan.zeros) == (-1, 2**32 - 1)


def test_plans_are_shared_by_vtable_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers of different files share the plan of one layout; another layout or other fields
    get their own; the shared plans start again past their limit."""
    wanted = ((0, "I"), (1, "i"))
    buf, pos = _table_with_fields((8, 4), struct.pack("<iI", -5, 7))
    other, other_pos = _table_with_fields((8, 4), struct.pack("<iI", 1, 2))  # same layout, other values
    swapped, swapped_pos = _table_with_fields((4, 8), struct.pack("<iI", -5, 7))
    plan = _schema.Reader(buf).plan(pos, wanted)
    assert _schema.Reader(other).plan(other_pos, wanted) is plan
    assert plan.pick(plan.unpack(other, other_pos) + plan.zeros) == (2, 1)
    assert _schema.Reader(swapped).plan(swapped_pos, wanted) is not plan
    assert _schema.Reader(buf).plan(pos, ((1, "i"), (0, "I"))) is not plan
    monkeypatch.setattr(_schema, "_PLANS", {})
    monkeypatch.setattr(_schema, "_PLANS_MAX", 2)
    first = _schema.Reader(buf).plan(pos, wanted)
    _schema.Reader(swapped).plan(swapped_pos, wanted)
    assert len(_schema._PLANS) == 2 and _schema.Reader(buf).plan(pos, wanted) is first
    _schema.Reader(buf).plan(pos, ((1, "i"), (0, "I")))  # a third: the limit
    assert len(_schema._PLANS) == 1


def test_plan_needs_two_fields() -> None:
    buf, pos = _table_with_fields((4,), struct.pack("<i", 1))
    with pytest.raises(ValueError, match="two fields"):
        _schema.Reader(buf).plan(pos, ((0, "i"),))


def test_scalar_options_read_once_per_class_vtable_and_bytes() -> None:
    """Decoded scalar options are reused for an identical table of the same class only: one table
    read as two classes (a vtable can be shared by tables of different types) gives each class's
    own fields, and the ops of one class with the same table bytes share one dict (read-only)."""
    code_of = {name: code for code, name in _schema_data.BUILTIN_OPTIONS.items()}
    buf, pos = _table_with_fields((4, 5), struct.pack("<bbxx", 1, 1))  # slot 0 = 1, slot 1 = 1 (one byte each)
    r = _schema.Reader(buf)
    add = _schema._read_table(r, pos, _schema_data.BUILTIN_OPTIONS, code_of["AddOptions"])
    fc = _schema._read_table(r, pos, _schema_data.BUILTIN_OPTIONS, code_of["FullyConnectedOptions"])
    assert add == ("AddOptions", {"fused_activation_function": 1, "pot_scale_int16": True})
    assert fc[0] == "FullyConnectedOptions"
    assert fc[1]["fused_activation_function"] == 1 and fc[1]["weights_format"] == 1
    again = _schema._read_table(r, pos, _schema_data.BUILTIN_OPTIONS, code_of["AddOptions"])
    assert again == add and again[1] is add[1]


def test_tensor_names_decode_as_utf8_with_replacement(tmp_path: Path) -> None:
    """Names are UTF-8; bytes that are not become U+FFFD, whatever holds the model's bytes."""
    from builders import M, O, T, build

    data = build(
        M(
            tensors=[T("in_QQQ", [1, 4]), T("out_é", [1, 4])],
            ops=[O("RELU", ["in_QQQ"], ["out_é"])],
            inputs=["in_QQQ"],
            outputs=["out_é"],
        )
    )
    assert data.count(b"QQQ") == 1
    data = data.replace(b"QQQ", b"\xff\xfe\xed")
    path = tmp_path / "names.tflite"
    path.write_bytes(data)
    want = [b"in_\xff\xfe\xed".decode("utf-8", "replace"), "out_é"]
    assert "\ufffd" in want[0]
    mapped = load_model(path)
    try:
        for m in (parse_model(data), parse_model(bytearray(data)), parse_model(memoryview(data)), mapped):
            assert [t.name for t in m.subgraphs[0].tensors] == want
    finally:
        mapped.close()
