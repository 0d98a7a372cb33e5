"""Derive the TFLite schema tables that :mod:`tpulint._schema` needs from the ``tflite`` bindings.

A development tool, never imported on the check path (it imports the ``tflite`` package, i.e.
``flatbuffers`` and numpy). It writes ``tpulint/_schema_data.py``::

    python -m tpulint._schema_gen > tpulint/_schema_data.py

``tests/test_schema_reader.py`` fails when the committed data differs from what the installed
``tflite`` package gives, and checks the reader against the bindings field by field.

Per options table, the fields are those the old reflection-based reader returned (every public
getter of the generated class except ``Init``/``GetRootAs*``/``*IsNone``/``*Length``/``*AsNumpy``),
in class order, as ``(snake_case name, vtable slot, kind, default)`` where kind is a ``struct``
format character for a scalar, ``"v" + char`` for a vector of scalars, ``"s"`` for a string and
``"t"`` for a sub-table or union value (read as None when absent and left out when present, as the
reflection did: it kept only plain values).
"""

from __future__ import annotations

import importlib
import inspect
import pprint
import re
from typing import Any

_SKIP_SUFFIXES = ("IsNone", "Length", "AsNumpy")
_SKIP_NAMES = {"Init", "GetRootAs"}
_FLAGS = {
    "Bool": "?",
    "Int8": "b",
    "Uint8": "B",
    "Int16": "h",
    "Uint16": "H",
    "Int32": "i",
    "Uint32": "I",
    "Int64": "q",
    "Uint64": "Q",
    "Float32": "f",
    "Float64": "d",
}
_OFFSET = re.compile(r"self\._tab\.Offset\((\d+)\)")
_SCALAR = re.compile(r"self\._tab\.Get\(flatbuffers\.number_types\.(\w+)Flags")
_VECTOR = re.compile(r"GetVectorAsNumpy\(flatbuffers\.number_types\.(\w+)Flags")

Field = tuple[str, int, str, Any]


def snake(name: str) -> str:
    """``DilationHFactor`` -> ``dilation_h_factor`` (the old reader's key names)."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def getter_names(cls: type) -> list[str]:
    """The getters the old reflection reader called, in class order."""
    names = []
    for attr, val in vars(cls).items():
        if attr.startswith("_") or attr in _SKIP_NAMES or attr.startswith("GetRootAs"):
            continue
        if not callable(val) or attr.endswith(_SKIP_SUFFIXES) or attr.endswith("BufferHasIdentifier"):
            continue
        names.append(attr)
    return names


def _empty_table() -> tuple[bytes, int]:
    import flatbuffers

    b = flatbuffers.Builder(16)
    b.StartObject(0)
    t = b.EndObject()
    b.Finish(t)
    data = bytes(b.Output())
    return data, int.from_bytes(data[:4], "little")


def table_fields(cls: type) -> tuple[Field, ...]:
    """Field descriptors of one generated options class."""
    data, pos = _empty_table()
    empty = cls()
    empty.Init(data, pos)
    fields: list[Field] = []
    for g in getter_names(cls):
        fn = getattr(cls, g)
        src = inspect.getsource(fn)
        m = _OFFSET.search(src)
        if m is None:
            raise ValueError(f"{cls.__name__}.{g}: no field offset in its source")
        slot = (int(m.group(1)) - 4) // 2
        if fn.__code__.co_argcount == 1:
            default = getattr(empty, g)()
            if "self._tab.String(" in src:
                fields.append((snake(g), slot, "s", None))
            elif (s := _SCALAR.search(src)) is not None:
                fields.append((snake(g), slot, _FLAGS[s.group(1)], default))
            elif "self._tab.Indirect(" in src or "self._tab.Union(" in src:
                fields.append((snake(g), slot, "t", None))
            else:
                raise ValueError(f"{cls.__name__}.{g}: unknown getter kind")
        elif hasattr(cls, g + "AsNumpy"):
            v = _VECTOR.search(inspect.getsource(getattr(cls, g + "AsNumpy")))
            if v is None:
                raise ValueError(f"{cls.__name__}.{g}AsNumpy: unknown element type")
            fields.append((snake(g), slot, "v" + _FLAGS[v.group(1)], None))
        # getters of vectors of tables/strings were skipped by the reflection reader: skip them too
    return tuple(fields)


def _enum(module: str) -> dict[int, str]:
    cls = getattr(importlib.import_module(f"tflite.{module}"), module)
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


def derive() -> dict[str, Any]:
    """Everything ``_schema_data`` holds, from the installed ``tflite`` package."""
    import tflite

    operators = _enum("BuiltinOperator")
    options = _enum("BuiltinOptions")
    options.pop(0, None)
    try:
        options2 = _enum("BuiltinOptions2")
    except ImportError:  # pragma: no cover - older tflite packages
        options2 = {}
    options2.pop(0, None)
    layouts: dict[str, tuple[Field, ...]] = {}
    for name in sorted({*options.values(), *options2.values()}):
        try:
            mod = importlib.import_module(f"tflite.{name}")
        except ImportError:
            continue
        cls = getattr(mod, name, None)
        if cls is not None:
            layouts[name] = table_fields(cls)
    version = getattr(tflite, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("tflite")
    return {
        "TFLITE_VERSION": version,
        "BUILTIN_OPERATORS": dict(sorted(operators.items())),
        "BUILTIN_OPTIONS": dict(sorted(options.items())),
        "BUILTIN_OPTIONS2": dict(sorted(options2.items())),
        "OPTIONS_FIELDS": layouts,
    }


def render(data: dict[str, Any]) -> str:
    out = [
        '"""TFLite schema tables for :mod:`tpulint._schema`. GENERATED by ``python -m tpulint._schema_gen``;',
        "do not edit (tests/test_schema_reader.py checks it against the installed ``tflite`` package).",
        '"""',
        "",
        "from typing import Any",
        "",
    ]
    types = {
        "TFLITE_VERSION": "str",
        "BUILTIN_OPERATORS": "dict[int, str]",
        "BUILTIN_OPTIONS": "dict[int, str]",
        "BUILTIN_OPTIONS2": "dict[int, str]",
        "OPTIONS_FIELDS": "dict[str, tuple[tuple[str, int, str, Any], ...]]",
    }
    for key, value in data.items():
        text = pprint.pformat(value, width=110, sort_dicts=False)
        out.append(f"{key}: {types[key]} = {text}")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(derive()), end="")
