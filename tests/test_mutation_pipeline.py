"""Seeded mutation test of the whole pipeline: reader, rules, partition and the JSON report.

``test_mutation.py`` proves the verifier's promise (whatever it accepts, the generated bindings can
read). This test goes further: every mutant goes through :func:`tpulint.model.parse_model`,
:func:`tpulint.analyze.analyze_model` (every rule, the partition simulator, the memory rules) and
:func:`tpulint.emit.json_out.render`, and must end in a report or in a clean ``TpulintError`` with
a ``TPU9xx`` code and a one-line message, within a time bound. Nothing else may escape: the test
does not go through ``analyze_path``'s safety net (it catches a few exception types as a last
resort), so a crash in a rule shows up here as the crash it is. A smaller sample of mutants is
written to files and checked through ``analyze_path`` itself, which must never need that net.

Two kinds of mutants:

* byte-level, from ``test_mutation.mutate`` (truncation, bit flips, offset rewrites, length
  inflation, random spans), of the fixtures, the verifier's hand-made models and small corpus
  models; most are refused by the verifier, the rest reach the rules;
* field-level: a valid model with one to three of its scalar fields, shape / index / options vector
  elements, small constant buffers or vector lengths set to boundary values (0, -1, -2, 2**31 - 1,
  -2**31, 65535...): negative and huge dimensions, zero-sized and scalar tensors, -1 indices, empty
  op lists, zero-sized resize inputs, unknown types and versions. These stay valid flatbuffers and
  exercise the rules on the values real converters never write.
"""

from __future__ import annotations

import json
import random
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from broken_models import build, call_once_spec, external_buffer_model, tiny_model, variable_input, while_spec
from builders import M, O, T, conv_chain, i32
from builders import build as build_model
from conftest import CORPUS, FIXTURES
from test_mutation import blobs, mutate

from tpulint import verify as V
from tpulint.analyze import analyze_model, analyze_path
from tpulint.context import Target
from tpulint.emit import json_out
from tpulint.errors import TpulintError
from tpulint.model import parse_model
from tpulint.report import Report

SEED = 20240921
TIME_BOUND_S = 2.0  # per mutant: a hang or blow-up bound, not a performance target
# TPU907: a compiled model whose edgetpu-custom-op options or DWN1 package cannot be decoded (the
# mutants of fixtures/compiled/ models reach it once the flatbuffer around them is sound).
CLEAN_CODES = {"TPU901", "TPU902", "TPU903", "TPU904", "TPU905", "TPU906", "TPU907"}
SAFETY_NET = "malformed model ("  # analyze_path's last-resort message: it must never be needed
# Targets vary between mutants: old compilers and runtimes, -a, and -i naming tensors.
TARGETS = (
    Target(),
    Target(compiler="1.0", runtime=10),
    Target(compiler="14.1", runtime=13, multiple_subgraphs=True),
    Target(compiler="15.0", intermediate_tensors=("x", "s")),
)


def rule_models() -> list[tuple[str, bytes]]:
    """One small model per op that a rule reads closely (constant axes, paddings, sizes, options),
    so that field-level mutants put boundary values where each rule looks."""
    conv = ("Conv2DOptions", {"StrideH": 1, "StrideW": 1, "DilationHFactor": 1, "DilationWFactor": 1})

    def single(op: O, x: list[int], y: list[int], *consts: T, dtype: str = "INT8") -> M:
        return M(tensors=[T("x", x, dtype), *consts, T("y", y, dtype)], ops=[op], inputs=["x"], outputs=["y"])

    models = {
        "strided_slice": single(
            O("STRIDED_SLICE", ["x", "begin", "end", "strides"], ["y"], version=2, options=("StridedSliceOptions", {})),
            [1, 8, 8, 4],
            [1, 4, 4, 4],
            T("begin", [4], "INT32", data=i32(0, 0, 0, 0)),
            T("end", [4], "INT32", data=i32(1, 8, 8, 4)),
            T("strides", [4], "INT32", data=i32(1, 2, 2, 1)),
        ),
        "softmax": single(O("SOFTMAX", ["x"], ["y"], options=("SoftmaxOptions", {"Beta": 1.0})), [1, 20], [1, 20]),
        "mean": single(
            O("MEAN", ["x", "axis"], ["y"], version=2, options=("ReducerOptions", {"KeepDims": True})),
            [1, 8, 8, 6],
            [1, 1, 1, 6],
            T("axis", [2], "INT32", data=i32(1, 2)),
        ),
        "pad": single(
            O("PAD", ["x", "pads"], ["y"], version=2),
            [1, 8, 8, 4],
            [1, 10, 10, 4],
            T("pads", [4, 2], "INT32", data=i32(0, 0, 1, 1, 1, 1, 0, 0)),
        ),
        "transpose": single(
            O("TRANSPOSE", ["x", "perm"], ["y"], version=2),
            [1, 8, 6, 4],
            [1, 6, 8, 4],
            T("perm", [4], "INT32", data=i32(0, 2, 1, 3)),
        ),
        "prelu": single(
            O("PRELU", ["x", "alpha"], ["y"]), [1, 4, 4, 4], [1, 4, 4, 4], T("alpha", [1, 1, 4], data=bytes(4))
        ),
        "fully_connected": single(
            O("FULLY_CONNECTED", ["x", "w", None], ["y"], version=4, options=("FullyConnectedOptions", {})),
            [1, 8],
            [1, 4],
            T("w", [4, 8], data=bytes(32)),
        ),
        "resize_bilinear": single(
            O("RESIZE_BILINEAR", ["x", "size"], ["y"], options=("ResizeBilinearOptions", {"AlignCorners": True})),
            [1, 3, 3, 8],
            [1, 6, 6, 8],
            T("size", [2], "INT32", data=i32(6, 6)),
        ),
        "pack": M(
            tensors=[T("x", [4, 4]), T("z", [4, 4]), T("y", [2, 4, 4])],
            ops=[O("PACK", ["x", "z"], ["y"], version=2, options=("PackOptions", {"ValuesCount": 2, "Axis": 0}))],
            inputs=["x", "z"],
            outputs=["y"],
        ),
        "split": M(
            tensors=[T("axis", [], "INT32", data=i32(2)), T("x", [1, 4, 32]), T("y0", [1, 4, 16]), T("y1", [1, 4, 16])],
            ops=[O("SPLIT", ["axis", "x"], ["y0", "y1"], version=2, options=("SplitOptions", {"NumSplits": 2}))],
            inputs=["x"],
            outputs=["y0", "y1"],
        ),
        "reshape": single(
            O("RESHAPE", ["x", "shape"], ["y"], options=("ReshapeOptions", {"NewShape": [1, 32]})),
            [1, 4, 8],
            [1, 32],
            T("shape", [2], "INT32", data=i32(1, 32)),
        ),
        "depthwise": single(
            O(
                "DEPTHWISE_CONV_2D",
                ["x", "w", "b"],
                ["y"],
                version=2,
                options=("DepthwiseConv2DOptions", {"StrideH": 1, "StrideW": 1, "DepthMultiplier": 1}),
            ),
            [1, 6, 6, 4],
            [1, 4, 4, 4],
            T("w", [1, 3, 3, 4], data=bytes(36)),
            T("b", [4], "INT32", data=bytes(16)),
        ),
        "transpose_conv": single(
            O("TRANSPOSE_CONV", ["shape", "w", "x"], ["y"], version=2, options=("TransposeConvOptions", {})),
            [1, 4, 4, 4],
            [1, 8, 8, 4],
            T("shape", [4], "INT32", data=i32(1, 8, 8, 4)),
            T("w", [4, 2, 2, 4], data=bytes(64)),
        ),
        "batch_matmul": M(
            tensors=[T("x", [1, 4, 8]), T("z", [1, 8, 4]), T("y", [1, 4, 4])],
            ops=[O("BATCH_MATMUL", ["x", "z"], ["y"], options=("BatchMatMulOptions", {}))],
            inputs=["x", "z"],
            outputs=["y"],
        ),
        "concat_constant": conv_chain(
            O("CONCATENATION", ["a", "k"], ["b"], options=("ConcatenationOptions", {"Axis": 3})),
            shape=[1, 4, 4, 4],
            extra_tensors=[T("k", [1, 4, 4, 4], data=bytes(64))],
        ),
        "custom": conv_chain(O("CUSTOM", ["a"], ["b"], custom_code="TFLite_Detection_PostProcess"), shape=[1, 4, 4, 4]),
        "dynamic": single(
            O("CONV_2D", ["x", "w", "b"], ["y"], version=3, options=conv),
            [1, 4, 4, 4],
            [1, 4, 4, 4],
            T("w", [4, 1, 1, 4], data=bytes(16)),
            T("b", [4], "INT32", data=bytes(16)),
        ),
    }
    models["dynamic"].tensors[0].signature = [-1, 4, 4, 4]
    return [(f"rule_{name}", build_model(m)) for name, m in models.items()]


def seed_models() -> list[tuple[str, bytes, int, int]]:
    """(name, valid model, byte-level mutants, random field-level mutants): about 5,000 and 2,500.

    Models under :data:`EXHAUSTIVE_BELOW` bytes also get every single-field mutant
    (:func:`exhaustive_field_mutants`), about 6,000 in all.
    """
    seeds = [
        ("tiny", tiny_model(), 400, 200),
        ("while", build(while_spec()), 150, 100),
        ("call_once", build(call_once_spec([1])), 80, 60),
        ("external_buffer", external_buffer_model(), 80, 60),
        ("variable", variable_input(), 80, 60),
    ]
    seeds += [(name, data, 60, 40) for name, data in rule_models()]
    for path in sorted(FIXTURES.glob("*.tflite")):
        seeds.append((path.name, path.read_bytes(), 200, 80))
    for path in sorted(FIXTURES.glob("compiled/*/*.tflite")):
        seeds.append((path.name, path.read_bytes(), 60, 40))
    if CORPUS.is_dir():
        inputs = sorted(
            (p for p in CORPUS.glob("*/*.tflite") if not p.name.endswith("_edgetpu.tflite")),
            key=lambda p: (p.stat().st_size, p.name),
        )
        for path in inputs[:4]:
            seeds.append((path.name, path.read_bytes(), 150, 100))
        lstm = CORPUS / "coral_td__keras_lstm_mnist_ptq" / "keras_lstm_mnist_ptq.tflite"
        if lstm.is_file():  # variable tensors, intermediates, optional inputs
            seeds.append((lstm.name, lstm.read_bytes(), 100, 100))
    return seeds


# ---- field-level mutations ------------------------------------------------------------------------

Site = tuple[int, int, str]  # (byte position, size, what it is)


def field_sites(data: bytes) -> tuple[list[Site], list[Site], list[Site]]:
    """Every scalar field, the first elements of every int vector (and of small constant buffers),
    and every vector length of a valid model, found by the verifier's own schema walk."""
    scalars: list[Site] = []
    elements: list[Site] = []
    lengths: list[Site] = []
    for pos, layout, fields in V.walked_tables(data):
        for slot, offset in enumerate(fields):
            if not offset or slot not in layout.declared:
                continue
            name, kind = layout.declared[slot]
            what = f"{layout.name}.{name}"
            if kind.isdigit():
                scalars.append((pos + offset, int(kind), what))
                continue
            if kind[0] not in "vVs":
                continue
            target = pos + offset + struct.unpack_from("<I", data, pos + offset)[0]
            length = struct.unpack_from("<I", data, target)[0]
            lengths.append((target, 4, f"{what} length"))
            if layout.name == "Buffer":
                if 0 < length <= 256:  # small constants: axes, paddings, shapes, resize sizes
                    elements += [(target + 4 + j, 4, f"{what}[{j}:{j + 4}]") for j in range(0, length - 3, 4)]
            elif kind in ("v4", "v8"):
                size = int(kind[1])
                elements += [(target + 4 + j * size, size, f"{what}[{j}]") for j in range(min(length, 8))]
    return scalars, elements, lengths


_INT32_VALUES = (0, 1, 2, 3, 4, -1, -2, -3, 7, 255, 256, 16000, 65535, 2**20, 2**31 - 1, -(2**31))
_INT64_VALUES = (0, 1, -1, 2**32, 2**63 - 1, -(2**63))
_BYTE_VALUES = (0, 1, 2, 3, 4, 5, 6, 9, 17, 18, 19, 127, 128, 255)


def mutate_field(
    data: bytes, rng: random.Random, sites: tuple[list[Site], list[Site], list[Site]]
) -> tuple[str, bytes]:
    """Set one to three fields, vector elements or vector lengths of ``data`` to boundary values."""
    scalars, elements, lengths = sites
    out = bytearray(data)
    changes = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.1 and lengths:  # empty op lists, scalar shapes, one element fewer
            pos, _, what = rng.choice(lengths)
            old = struct.unpack_from("<I", out, pos)[0]
            value = rng.choice((0, 0, max(old - 1, 0), min(old, 1)))
            struct.pack_into("<I", out, pos, value)
        else:
            pos, size, what = rng.choice(scalars if roll < 0.5 or not elements else elements)
            if size == 1:
                value = rng.choice((*_BYTE_VALUES, rng.randrange(256)))
                out[pos] = value
            elif size == 4:
                value = rng.choice((*_INT32_VALUES, rng.randrange(-100, 100)))
                struct.pack_into("<i", out, pos, value)
            else:
                value = rng.choice((*_INT64_VALUES, rng.randrange(-100, 100)))
                struct.pack_into("<q", out, pos, value)
        changes.append(f"{what} := {value}")
    return "; ".join(changes), bytes(out)


EXHAUSTIVE_BELOW = 3000  # bytes: the fixtures of one or two ops and the verifier's hand-made models
_EXHAUSTIVE_VALUES = {1: (5, 127, 255), 4: (0, -1, 2**31 - 1, -(2**31)), 8: (-1, 2**63 - 1)}
_EXHAUSTIVE_FIELDS = ("Options.", "Tensor.type", "Tensor.buffer", "Operator.opcode_index", "OperatorCode.")


def exhaustive_field_mutants(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Every vector element, options / type / index field and vector length of ``data``, one at a
    time, set to each of a few boundary values (every vector length to 0)."""
    scalars, elements, lengths = field_sites(data)
    chosen = elements + [site for site in scalars if any(key in site[2] for key in _EXHAUSTIVE_FIELDS)]
    for pos, size, what in chosen:
        for value in _EXHAUSTIVE_VALUES[size]:
            out = bytearray(data)
            if size == 1:
                out[pos] = value
            else:
                struct.pack_into("<i" if size == 4 else "<q", out, pos, value)
            yield f"{what} := {value}", bytes(out)
    for pos, _, what in lengths:
        out = bytearray(data)
        struct.pack_into("<I", out, pos, 0)
        yield f"{what} := 0", bytes(out)


# ---- the pipeline -------------------------------------------------------------------------------------


def run_pipeline(data: bytes, target: Target) -> tuple[str, str]:
    """Reader, rules, partition and JSON report on ``data``: ("ok", json) or (error code, message).

    Only :class:`TpulintError` is caught: anything else is the crash this test exists to find.
    """
    try:
        model = parse_model(data)
    except TpulintError as error:
        return error.code, error.message
    try:
        report = Report(tool_version="test")
        report.models.append(analyze_model(model, target, label="mutant.tflite"))
        return "ok", json_out.render(report)
    except TpulintError as error:
        return error.code, error.message
    finally:
        model.close()


def check_mutant(label: str, data: bytes, target: Target, parse_json: bool = False) -> str:
    start = time.monotonic()
    try:
        outcome, text = run_pipeline(data, target)
    except Exception as error:  # the failure this test exists to find
        pytest.fail(f"{label}: the pipeline raised {type(error).__name__}: {error}")
    elapsed = time.monotonic() - start
    assert elapsed < TIME_BOUND_S, f"{label}: took {elapsed:.2f} s"
    if outcome == "ok":
        if parse_json:
            document = json.loads(text)
            assert document["models"][0]["ok"] is True, label
    else:
        assert outcome in CLEAN_CODES, (label, outcome, text)
        assert text and "\n" not in text, (label, text)  # one clear line
    return outcome


def _mutants(seed_index: int) -> Iterator[tuple[str, bytes, Target]]:
    for model_index, (name, data, byte_count, field_count) in enumerate(seed_models()):
        rng = random.Random(SEED * 1000 + model_index * 10 + seed_index)
        avoid = blobs(data)
        for k in range(byte_count // 2):
            description, mutant = mutate(data, rng, avoid)
            yield f"{name} byte mutant {seed_index}:{k} ({description})", mutant, TARGETS[k % len(TARGETS)]
        sites = field_sites(data)
        for k in range(field_count // 2):
            description, mutant = mutate_field(data, rng, sites)
            yield f"{name} field mutant {seed_index}:{k} ({description})", mutant, TARGETS[k % len(TARGETS)]
        if len(data) < EXHAUSTIVE_BELOW:
            for k, (description, mutant) in enumerate(exhaustive_field_mutants(data)):
                if k % 2 == seed_index:
                    yield f"{name} single-field mutant ({description})", mutant, TARGETS[k // 2 % len(TARGETS)]


def _edge_cases() -> dict[str, bytes]:
    """Named values real converters never write, each in an otherwise valid model."""
    cases: dict[str, bytes] = {}

    def conv(shape: list[int]) -> bytes:
        return build_model(conv_chain(O("RELU", ["a"], ["b"]), shape=shape))

    cases["negative dims"] = conv([1, -3, 8, 4])
    cases["huge dims"] = conv([1, 2**31 - 1, 2**31 - 1, 4])
    cases["huge element count"] = conv([65535, 65535, 65535, 4])
    cases["zero-size tensors"] = conv([1, 0, 8, 4])
    cases["scalar tensors"] = build_model(
        M(tensors=[T("x", []), T("y", [])], ops=[O("RELU", ["x"], ["y"])], inputs=["x"], outputs=["y"])
    )
    cases["empty op list"] = build_model(M(tensors=[T("x", [1, 4])], ops=[], inputs=["x"], outputs=["x"]))
    cases["-1 inputs"] = build_model(
        M(
            tensors=[T("x", [1, 8]), T("w", [4, 8], data=bytes(32)), T("y", [1, 4])],
            ops=[O("FULLY_CONNECTED", ["x", "w", None], ["y"], version=4, options=("FullyConnectedOptions", {}))],
            inputs=["x"],
            outputs=["y"],
        )
    )
    for name, size in (("resize from zero size", [1, 0, 0, 8]), ("resize from negative size", [1, -1, -1, 8])):
        cases[name] = build_model(
            M(
                tensors=[T("x", size), T("size", [2], "INT32", data=i32(6, 6)), T("y", [1, 6, 6, 8])],
                ops=[O("RESIZE_BILINEAR", ["x", "size"], ["y"], options=("ResizeBilinearOptions", {}))],
                inputs=["x"],
                outputs=["y"],
            )
        )
    cases["negative axes and paddings"] = build_model(
        M(
            tensors=[
                T("x", [1, 8, 8, 4]),
                T("pads", [4, 2], "INT32", data=i32(-1, -9, 0, 0, 2**31 - 1, 0, 0, 0)),
                T("y", [1, 8, 8, 4]),
            ],
            ops=[O("PAD", ["x", "pads"], ["y"], version=2)],
            inputs=["x"],
            outputs=["y"],
        )
    )
    cases["axis out of range"] = build_model(
        M(
            tensors=[T("x", [1, 8, 8, 6]), T("axis", [2], "INT32", data=i32(-7, 99)), T("y", [1, 1, 1, 6])],
            ops=[O("MEAN", ["x", "axis"], ["y"], version=2, options=("ReducerOptions", {"KeepDims": True}))],
            inputs=["x"],
            outputs=["y"],
        )
    )
    return cases


@pytest.mark.parametrize("name", list(_edge_cases()))
def test_named_edge_cases_end_in_a_report_or_a_clean_error(name: str) -> None:
    data = _edge_cases()[name]
    for target in TARGETS:
        check_mutant(name, data, target, parse_json=True)


def test_seed_models_analyse_cleanly() -> None:
    for name, data, _, _ in seed_models():
        for target in TARGETS:
            assert run_pipeline(data, target)[0] == "ok", name


@pytest.mark.parametrize("seed_index", range(2))
def test_mutants_end_in_a_report_or_a_clean_error(seed_index: int) -> None:
    """Half of the mutants each (two cases, so that pytest-xdist can spread them over two cores)."""
    outcomes: dict[str, int] = {}
    for k, (label, mutant, target) in enumerate(_mutants(seed_index)):
        outcome = check_mutant(label, mutant, target, parse_json=k % 16 == 0)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    total = sum(outcomes.values())
    assert total >= 4000, outcomes
    # Sanity: many mutants reach the rules, and the verifier refuses many others for several reasons.
    assert outcomes.get("ok", 0) > total // 5, outcomes
    assert len(set(outcomes) & CLEAN_CODES) >= 4, outcomes


def test_mutant_files_through_analyze_path(tmp_path: Path) -> None:
    """A sample written to disk and read the way the CLI reads it: mmap, sniff, verify, analyse.
    analyze_path's last-resort safety net must never be what turns a mutant into an error."""
    rng = random.Random(SEED)
    sample = [m for k, m in enumerate(_mutants(0)) if k % 25 == 0]
    assert len(sample) > 100
    for k, (label, mutant, target) in enumerate(sample):
        path = tmp_path / f"mutant {k} ü.tflite"
        path.write_bytes(mutant)
        start = time.monotonic()
        report = analyze_path(path, target)
        assert time.monotonic() - start < TIME_BOUND_S, label
        if not report.ok:
            assert report.error is not None, label
            assert report.error["code"] in CLEAN_CODES, (label, report.error)
            assert SAFETY_NET not in report.error["message"], (label, report.error)
            assert "\n" not in report.error["message"], (label, report.error)
        assert path.read_bytes() == mutant, f"{label}: the file was modified"
        if rng.random() < 0.5:
            path.unlink()
