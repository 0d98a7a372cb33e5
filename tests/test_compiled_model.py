"""Reading already-compiled ``*_edgetpu.tflite`` files (real ones; see fixtures/compiled/SOURCES.md)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from tpulint.compiler.compiled import (
    CompiledModel,
    decode_custom_op,
    decode_package,
    read_compiled_bytes,
    read_compiled_model,
)
from tpulint.errors import ModelFormatError, ModelReadError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "compiled"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
EXPECTED: dict[str, dict[str, Any]] = json.loads((FIX / "expected_from_truth.json").read_text())


def _check_against_truth(m: CompiledModel, compiled: dict[str, Any], hints: dict[str, Any], where: str) -> None:
    assert m.edgetpu_custom_op_count == compiled["edgetpu_custom_op_count"], where
    assert list(m.edgetpu_custom_op_indices) == compiled["edgetpu_custom_op_indices"], where
    assert list(m.operators) == compiled["operators"], where
    assert len(m.cpu_ops) == len(compiled["cpu_ops"]), where
    for got, exp in zip(m.cpu_ops, compiled["cpu_ops"], strict=True):
        assert (got.index, got.op) == (exp["index"], exp["op"]), where
        # truth.json keeps at most the first two output names of each CPU op.
        assert list(got.outputs[: len(exp["outputs"])]) == exp["outputs"], where
        assert len(exp["outputs"]) == min(2, len(got.outputs)), where
    assert [c.op for c in m.cpu_ops_before_first_custom_op] == compiled["cpu_ops_before_first_custom_op"], where
    assert [c.op for c in m.cpu_ops_after_last_custom_op] == compiled["cpu_ops_after_last_custom_op"], where
    assert [c.op for c in m.cpu_ops_between_custom_ops] == compiled["cpu_ops_between_custom_ops"], where
    assert list(m.min_runtime_versions) == hints["package_min_runtime_versions"], where
    assert list(m.package_compiler_versions) == hints["package_compiler_version_fields"], where
    exes = [
        {
            "custom_op_index": op.index,
            "type": e.type,
            "parameters_bytes": e.parameters_bytes,
            "name": e.name,
            "chip": e.chip,
            "input_layers": list(e.input_layers),
            "output_layers": list(e.output_layers),
        }
        for op in m.edgetpu_ops
        for p in op.packages
        for e in p.executables
    ]
    assert exes == compiled["executables"], where
    for op in m.edgetpu_ops:
        assert op.decode_error is None, where
        assert all(p.decode_error is None for p in op.packages), where


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_fixture_compiled_models(case: str) -> None:
    exp = EXPECTED[case]
    path = FIX / case / exp["compiled_file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == exp["compiled_sha256"]
    m = read_compiled_model(path)
    assert m.is_compiled and m.path == path
    assert m.description == exp["description"]
    hints = {k: exp[k] for k in ("package_min_runtime_versions", "package_compiler_version_fields")}
    _check_against_truth(m, exp, hints, case)


def test_split_concat_package_details() -> None:
    m = read_compiled_model(FIX / "coral_td__split_concat" / "split_concat_edgetpu.tflite")
    (op,) = m.edgetpu_ops
    assert op.index == 0 and op.custom_op_data_version == 0
    assert op.chip_versions == ()  # keys "1", "4", "5" only: the older custom-op data layout
    assert op.input_names == ("input1", "inputs/rnn1", "inputs/rnn2")
    (pkg,) = op.packages
    assert pkg.min_runtime_version == 13
    assert pkg.compiler_version == "cl/343520747"
    assert pkg.virtual_chip_id == 0
    types = sorted(e.type or "" for e in pkg.executables)
    assert types == ["EXECUTION_ONLY", "PARAMETER_CACHING"]
    caching = next(e for e in pkg.executables if e.type == "PARAMETER_CACHING")
    assert caching.parameters_bytes == 192 and caching.chip == "beagle"


def test_uncompiled_input_model_has_only_cpu_ops() -> None:
    # Corpus case jorgitou_conv_N32 comes from a repository without a licence: read it from
    # ../shared/corpus (testing only), never from fixtures/.
    case = CORPUS / "jorgitou_conv_N32"
    if not (case / "truth.json").is_file():
        pytest.skip(f"corpus case jorgitou_conv_N32 not found at {case} (../shared/corpus beside the checkout)")
    truth = json.loads((case / "truth.json").read_text())
    m = read_compiled_model(case / truth["files"]["input"]["name"])
    assert not m.is_compiled
    assert m.edgetpu_custom_op_count == 0 and m.min_runtime_versions == ()
    assert len(m.cpu_ops) == truth["mapping"]["input_op_count"] == 3
    assert [c.op for c in m.cpu_ops] == ["QUANTIZE", "CONV_2D", "CONV_2D"]
    assert m.cpu_ops_before_first_custom_op == () and m.cpu_ops_between_custom_ops == ()


def test_not_tflite_raises_format_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError):
        read_compiled_bytes(b"garbage!")
    with pytest.raises(ModelReadError):
        read_compiled_model(tmp_path / "missing_edgetpu.tflite")
    with pytest.raises(ModelReadError, match="is a directory"):
        read_compiled_model(tmp_path)
    if hasattr(os, "mkfifo"):  # opened like every model: a FIFO is refused, never waited on
        os.mkfifo(tmp_path / "pipe_edgetpu.tflite")
        with pytest.raises(ModelReadError, match="named pipe"):
            read_compiled_model(tmp_path / "pipe_edgetpu.tflite")
    data = (FIX / "coral_td__split_concat" / "split_concat_edgetpu.tflite").read_bytes()
    for cut in (16, 100, 1000, len(data) // 2):
        with contextlib.suppress(ModelFormatError):  # the only exception allowed
            read_compiled_bytes(data[:cut])


def _custom_options() -> bytes:
    import tflite

    data = (FIX / "coral_td__split_concat" / "split_concat_edgetpu.tflite").read_bytes()
    op = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0).Operators(0)
    return bytes(op.CustomOptionsAsNumpy().tobytes())


def test_decoders_never_raise_on_garbage() -> None:
    opts = _custom_options()
    good = decode_custom_op(0, opts)
    assert good.decode_error is None and good.packages[0].min_runtime_version == 13
    assert decode_custom_op(0, b"").decode_error is not None
    assert decode_custom_op(0, b"\x01\x02\x03 not flexbuffers").decode_error is not None
    bad_pkg = decode_package(b"DWN1 too short")
    assert bad_pkg.decode_error is not None and bad_pkg.min_runtime_version is None
    assert decode_package(b"\x00" * 64).decode_error is not None  # no DWN1 identifier
    rng = random.Random(7)
    for _ in range(200):
        mutated = bytearray(opts)
        for _ in range(rng.randrange(1, 12)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        decode_custom_op(0, bytes(mutated))  # must not raise
        cut = rng.randrange(len(opts))
        decode_custom_op(0, opts[:cut])


def test_corpus_compiled_models_match_truth() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"ground-truth corpus not found at {CORPUS} (expected ../shared/corpus beside the checkout)")
    cases = sorted(t.parent for t in CORPUS.glob("*/truth.json"))
    assert cases
    for case in cases:
        truth = json.loads((case / "truth.json").read_text())
        m = read_compiled_model(case / truth["files"]["compiled"]["name"])
        _check_against_truth(m, truth["compiled"], truth["compiler_version_hints"], case.name)
        assert m.description == truth["compiler_version_hints"]["tflite_description"], case.name
