"""Thin access layer over the ``tflite`` package's generated flatbuffer bindings.

Only :mod:`tpulint.model` uses this. It resolves builtin op names (including op codes newer than the
installed ``tflite`` package), and reads an operator's builtin options table into a plain dict of
its scalar and small-vector fields, with the getter list cached per options class.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

_NS: SimpleNamespace | None = None
_OPCODE_NAMES: dict[int, str] = {}
_NAME_TO_CODE: dict[str, int] = {}
_OPTIONS_NAMES: dict[int, str] = {}
_OPTIONS2_NAMES: dict[int, str] = {}
_GETTERS: dict[str, tuple[type, tuple[str, ...]]] = {}

# Methods on generated tables that are not plain field getters.
_SKIP_SUFFIXES = ("IsNone", "Length", "AsNumpy")
_SKIP_NAMES = {"Init", "GetRootAs"}


def load() -> SimpleNamespace:
    """Import the few binding classes the reader needs, once."""
    global _NS
    if _NS is None:
        mod_model = importlib.import_module("tflite.Model")
        _NS = SimpleNamespace(Model=mod_model.Model)
        ops = importlib.import_module("tflite.BuiltinOperator").BuiltinOperator
        for name, value in vars(ops).items():
            if not name.startswith("_") and isinstance(value, int):
                _OPCODE_NAMES[value] = name
                _NAME_TO_CODE[name] = value
        opts = importlib.import_module("tflite.BuiltinOptions").BuiltinOptions
        for name, value in vars(opts).items():
            if not name.startswith("_") and isinstance(value, int):
                _OPTIONS_NAMES[value] = name
        try:
            opts2 = importlib.import_module("tflite.BuiltinOptions2").BuiltinOptions2
            for name, value in vars(opts2).items():
                if not name.startswith("_") and isinstance(value, int):
                    _OPTIONS2_NAMES[value] = name
        except ImportError:  # pragma: no cover - older tflite packages
            pass
    return _NS


def builtin_name(code: int) -> str:
    load()
    return _OPCODE_NAMES.get(code, f"BUILTIN_{code}")


def builtin_code_of(name: str) -> int:
    load()
    if name in _NAME_TO_CODE:
        return _NAME_TO_CODE[name]
    if name.startswith("BUILTIN_"):
        try:
            return int(name[8:])
        except ValueError:
            return -1
    return -1


def _getters(cls_name: str) -> tuple[type, tuple[str, ...]] | None:
    hit = _GETTERS.get(cls_name)
    if hit is not None:
        return hit
    try:
        mod = importlib.import_module(f"tflite.{cls_name}")
    except ImportError:
        return None
    cls = getattr(mod, cls_name, None)
    if cls is None:
        return None
    names = []
    for attr, val in vars(cls).items():
        if attr.startswith("_") or attr in _SKIP_NAMES or attr.startswith("GetRootAs"):
            continue
        if not callable(val) or attr.endswith(_SKIP_SUFFIXES) or attr.endswith("BufferHasIdentifier"):
            continue
        names.append(attr)
    hit = (cls, tuple(names))
    _GETTERS[cls_name] = hit
    return hit


def _read_table(table: Any, names: dict[int, str], type_code: int) -> tuple[str | None, dict[str, Any]]:
    if type_code == 0 or table is None:
        return None, {}
    cls_name = names.get(type_code)
    if cls_name is None:
        return f"OPTIONS_{type_code}", {}
    found = _getters(cls_name)
    if found is None:
        return cls_name, {}
    cls, getters = found
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    for g in getters:
        fn = getattr(obj, g)
        try:
            if fn.__code__.co_argcount == 1:
                val = fn()
            elif hasattr(obj, g + "AsNumpy"):
                val = None if getattr(obj, g + "IsNone")() else tuple(getattr(obj, g + "AsNumpy")().tolist())
            else:
                continue
        except Exception:
            continue
        if isinstance(val, bytes):
            val = val.decode("utf-8", "replace")
        if isinstance(val, (int, float, str, bool, tuple)) or val is None:
            out[_snake(g)] = val
    return cls_name, out


def read_options(op: Any) -> tuple[str | None, dict[str, Any]]:
    """Return (options class name, {snake_case_field: value}) for an operator."""
    load()
    name, out = _read_table(op.BuiltinOptions(), _OPTIONS_NAMES, int(op.BuiltinOptionsType()))
    try:
        t2 = int(op.BuiltinOptions2Type())
    except Exception:  # pragma: no cover - older tflite packages
        t2 = 0
    if t2:
        name2, out2 = _read_table(op.BuiltinOptions2(), _OPTIONS2_NAMES, t2)
        out.update(out2)
        name = name or name2
    return name, out


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
