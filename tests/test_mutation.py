"""Seeded mutation test: the verifier either accepts a damaged model or raises ModelFormatError.

Thousands of mutations (truncation, bit flips, 4- and 2-byte rewrites to boundary or random values,
length inflation) of the valid tiny model and of a few small corpus models. Whenever the verifier
accepts a mutant, the whole model is then read with the generated ``tflite`` bindings -- every
table, every vector, every string, every union -- and that must not raise: the verifier's promise
is that the reader is safe on anything it accepts.
"""

from __future__ import annotations

import importlib
import random
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tflite
from broken_models import (
    build,
    call_once_spec,
    external_buffer_model,
    no_identifier,
    tiny_model,
    variable_input,
    while_spec,
)
from tflite.BuiltinOptions import BuiltinOptions
from tflite.BuiltinOptions2 import BuiltinOptions2
from tflite.QuantizationDetails import QuantizationDetails
from tflite.SparseIndexVector import SparseIndexVector

from tpulint.errors import ModelFormatError
from tpulint.verify import verify_tflite

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SEED = 20240613
TIME_BOUND_S = 2.0  # per mutant; a robustness bound (a hang or blow-up), not a performance target
SMALL_CORPUS_INPUTS = 4  # the smallest input and compiled models of the corpus, when it is present
SMALL_CORPUS_COMPILED = 2

# ---- reading everything with the generated bindings -----------------------------------------------

_UNION_ENUMS: dict[str, tuple[str, type]] = {
    "BuiltinOptions": ("BuiltinOptionsType", BuiltinOptions),
    "BuiltinOptions2": ("BuiltinOptions2Type", BuiltinOptions2),
    "Details": ("DetailsType", QuantizationDetails),
    "ArraySegments": ("ArraySegmentsType", SparseIndexVector),
    "ArrayIndices": ("ArrayIndicesType", SparseIndexVector),
}


def _member_class(enum: type, value: int) -> type | None:
    """The binding class of a union member, or None for a type newer than the schema (tpulint's
    reader does not read those options either; the verifier only bounds-checks their offset)."""
    name = next((k for k, v in vars(enum).items() if v == value and not k.startswith("_")), None)
    if name is None:
        return None
    cls: type = getattr(importlib.import_module(f"tflite.{name}"), name)
    return cls


def _getters(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, fn in vars(cls).items():
        if name == "Init" or name.startswith(("_", "GetRootAs")) or name.endswith("BufferHasIdentifier"):
            continue
        if callable(fn):
            yield name, fn


def read_everything(obj: Any) -> int:
    """Call every getter of a generated table object, recursively; return how many values were read."""
    count = 0
    for name, fn in _getters(type(obj)):
        nargs = fn.__code__.co_argcount
        if name in _UNION_ENUMS:
            type_getter, enum = _UNION_ENUMS[name]
            union_type = getattr(obj, type_getter)()
            table = fn(obj)
            if union_type and table is not None:
                member_cls = _member_class(enum, union_type)
                if member_cls is not None:
                    member = member_cls()
                    member.Init(table.Bytes, table.Pos)
                    count += read_everything(member)
        elif nargs == 1:
            value = fn(obj)
            count += 1
            if hasattr(value, "_tab"):
                count += read_everything(value)
        elif nargs == 2:  # element j of a vector
            length = getattr(obj, f"{name}Length")()
            numpy_getter = getattr(obj, f"{name}AsNumpy", None)
            if numpy_getter is not None:  # a vector of scalars: all of it at once, plus both ends
                numpy_getter()
                indices: range | tuple[int, ...] = tuple({0, length - 1}) if length else ()
            else:
                indices = range(length)
            for j in indices:
                value = fn(obj, j)
                count += 1
                if hasattr(value, "_tab"):
                    count += read_everything(value)
    return count


def read_model(data: bytes) -> int:
    return read_everything(tflite.Model.GetRootAs(data, 0))


# ---- mutations ---------------------------------------------------------------------------------


def _boundary_u32(n: int, rng: random.Random) -> int:
    choices = [0, 1, 2, 3, 4, 8, n - 8, n - 4, n - 1, n, n + 1, n + 4, 2**31 - 1, 2**31, 2**32 - 1, 2**32 - 4]
    return rng.choice([*choices, rng.randrange(n), rng.randrange(2**32)]) % 2**32


def blobs(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges of buffer data and custom options: mutating them proves little, so mutate() mostly
    aims elsewhere (compiled models are mostly one big Edge TPU custom-options blob)."""
    model = tflite.Model.GetRootAs(data, 0)
    ranges = []
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        if buffer.DataLength() > 64:
            start = buffer._tab.Vector(buffer._tab.Offset(4))
            ranges.append((start, start + buffer.DataLength()))
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            if op.CustomOptionsLength() > 64:
                start = op._tab.Vector(op._tab.Offset(14))
                ranges.append((start, start + op.CustomOptionsLength()))
    return ranges


def _position(n: int, align: int, rng: random.Random, avoid: list[tuple[int, int]]) -> int:
    for _ in range(20):
        pos = rng.randrange(max(n // align, 1)) * align
        if not any(start <= pos < end for start, end in avoid):
            break
    return pos


def mutate(data: bytes, rng: random.Random, avoid: list[tuple[int, int]]) -> tuple[str, bytes]:
    """Apply one random mutation, mostly outside the ``avoid`` ranges; return (description, mutant)."""
    n = len(data)
    kind = rng.randrange(6)
    out = bytearray(data)
    if kind == 0:
        size = rng.randrange(n)
        return f"truncate to {size}", bytes(data[:size])
    if kind == 1:
        flips = [_position(n, 1, rng, avoid) * 8 + rng.randrange(8) for _ in range(rng.randint(1, 3))]
        for bit in flips:
            out[bit // 8] ^= 1 << (bit % 8)
        return f"flip bits {flips}", bytes(out)
    if kind == 2:  # rewrite an aligned 4-byte word (offsets, lengths, indices) to a boundary/random value
        pos = _position(n, 4, rng, avoid)
        value = _boundary_u32(n, rng)
        struct.pack_into("<I", out, pos, value)
        return f"u32 at {pos} := {value}", bytes(out)
    if kind == 3:  # rewrite a 2-byte word (vtable sizes and field offsets)
        pos = _position(n, 2, rng, avoid)
        value = rng.choice([0, 1, 2, 3, 4, 5, 6, 0x7FFF, 0xFFFF, rng.randrange(0x10000), rng.randrange(64)])
        struct.pack_into("<H", out, pos, value)
        return f"u16 at {pos} := {value}", bytes(out)
    if kind == 4:  # length inflation: grow a small word (most likely a length, a count or an index)
        for _ in range(50):
            pos = _position(n, 4, rng, avoid)
            old = struct.unpack_from("<I", data, pos)[0]
            if 0 < old < 4096:
                break
        value = rng.choice([old + 1, old * 2, old + rng.randrange(1, n + 1), old * 1000, old << 16]) % 2**32
        struct.pack_into("<I", out, pos, value)
        return f"inflate u32 at {pos}: {old} -> {value}", bytes(out)
    start = _position(n, 1, rng, avoid)  # overwrite a short span with random bytes
    span = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    out[start : start + len(span)] = span
    return f"overwrite {len(span)} bytes at {start}", bytes(out[:n])


def _seed_models() -> list[tuple[str, bytes, int]]:
    """(name, valid model, number of mutations): about 15,000 mutations, 19,000 with the corpus."""
    seeds = [
        ("tiny", tiny_model(), 10000),
        ("tiny_no_identifier", no_identifier(), 600),
        ("while", build(while_spec()), 2200),
        ("call_once", build(call_once_spec([1])), 600),
        ("external_buffer", external_buffer_model(), 600),
        ("variable", variable_input(), 600),
    ]
    if CORPUS.is_dir():
        by_size = sorted(CORPUS.glob("*/*.tflite"), key=lambda p: (p.stat().st_size, p.name))
        inputs = [p for p in by_size if not p.name.endswith("_edgetpu.tflite")]
        compiled = [p for p in by_size if p.name.endswith("_edgetpu.tflite")]
        for path in inputs[:SMALL_CORPUS_INPUTS]:
            seeds.append((path.name, path.read_bytes(), 800))
        for path in compiled[:SMALL_CORPUS_COMPILED]:
            seeds.append((path.name, path.read_bytes(), 500))
        lstm = CORPUS / "coral_td__keras_lstm_mnist_ptq" / "keras_lstm_mnist_ptq.tflite"
        if lstm.is_file():  # variable tensors, intermediates, optional inputs
            seeds.append((lstm.name, lstm.read_bytes(), 300))
    return seeds


def _check_mutant(label: str, mutant: bytes) -> bool:
    """Verify one mutant; on acceptance read it all. Return whether the verifier accepted it."""
    start = time.monotonic()
    try:
        verify_tflite(mutant)
    except ModelFormatError as error:
        assert error.code in {"TPU902", "TPU903", "TPU904", "TPU905", "TPU906"}, (label, error.code)
        assert str(error), label
        accepted = False
    except Exception as error:  # the failure this test exists to find
        pytest.fail(f"{label}: verify_tflite raised {type(error).__name__}: {error}")
    else:
        accepted = True
    elapsed = time.monotonic() - start
    assert elapsed < TIME_BOUND_S, f"{label}: verify_tflite took {elapsed:.2f} s"
    if accepted:
        try:
            read_model(mutant)
        except Exception as error:
            pytest.fail(f"{label}: accepted by verify_tflite, but reading it raised {type(error).__name__}: {error}")
    return accepted


def test_seed_models_verify_and_read_cleanly() -> None:
    for name, data, _ in _seed_models():
        verify_tflite(data)
        assert read_model(data) > 10, name


@pytest.mark.parametrize("seed_index", range(2))
def test_mutants_never_escape_model_format_error(seed_index: int) -> None:
    """Half of the mutants each (two test cases so pytest-xdist can spread them over two cores)."""
    total = accepted = 0
    for model_index, (name, data, count) in enumerate(_seed_models()):
        rng = random.Random(SEED * 1000 + model_index * 10 + seed_index)
        avoid = blobs(data)
        for k in range(count // 2):
            description, mutant = mutate(data, rng, avoid)
            accepted += _check_mutant(f"{name} mutant {seed_index}:{k} ({description})", mutant)
            total += 1
    assert total >= 7000
    # Sanity: the mutations are not all trivially rejected (some land in data or names and stay valid).
    assert 0 < accepted < total
