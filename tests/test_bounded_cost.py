"""Bounded cost: work and memory grow with the file, not with what it declares.

Work is measured as Python-level calls (deterministic), memory with ``tracemalloc``; nothing here
is timed.

* Files built to make a reader do far more work than their size (``hostile_models.py``: one name,
  shape, quantization table, options table or custom code shared by thousands of tensors and ops)
  are refused by the verifier's read budget (TPU906) before it is spent: up front, or for tensor
  tables (which the reader checks as it decodes them) before each table is copied; the same
  sharing at a benign scale is accepted.
* Huge fan-in and fan-out graphs are analysed in time and memory linear in the file (doubling the
  graph doubles the memory, not quadruples it).
* A vector claiming 2**31 elements (tensors, shapes, options vectors) is refused before anything
  allocates it: the reader reads a vector only once it (or the verifier's walk) has checked that
  the vector lies inside the file and that the reads fit the budget.
* A model over 2 GiB whose weights live after the flatbuffer (``buffer.offset``/``size``) loads and
  is analysed with its weights memory-mapped, never copied: measured with ``getrusage`` in a
  subprocess on a sparse file.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import hostile_models as H
import pytest
from broken_models import TensorSpec, build, patch, tensors_vector_length_2_31, tiny_spec
from conftest import ROOT

from tpulint.analyze import analyze_model
from tpulint.context import Target
from tpulint.emit import json_out
from tpulint.errors import TpulintError
from tpulint.model import load_model, parse_model
from tpulint.report import Report
from tpulint.verify import READ_FACTOR

MiB = 1 << 20


def pipeline(data: bytes) -> tuple[str, str]:
    """parse -> analyse -> JSON: ("ok", json) or (code, message)."""
    try:
        model = parse_model(data)
    except TpulintError as error:
        return error.code, error.message
    try:
        report = Report(tool_version="test")
        report.models.append(analyze_model(model, Target(), label="hostile.tflite"))
        return "ok", json_out.render(report)
    finally:
        model.close()


def measured(data: bytes) -> tuple[str, str, int, int]:
    """:func:`pipeline` with the work it did and its peak traced allocation (bytes).

    Work is counted, not timed (no timing assertions in unit tests: a shared CI machine makes
    them flaky): the number of Python-level function calls, which is the same on every run.
    """
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    tracemalloc.start()
    sys.setprofile(count)
    try:
        outcome, text = pipeline(data)
    finally:
        sys.setprofile(None)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return outcome, text, calls, peak


# Each would make a reader without a read budget copy about 1 GB (or print it in the report).
REFUSED: dict[str, Callable[[], bytes]] = {
    "one name for 2,000 tensors": lambda: H.shared_name(readers=2000, name_bytes=500_000),
    "one 100,000-d shape for 2,000 tensors": lambda: H.shared_shape(readers=2000, rank=100_000),
    "one 100,000-channel quantization for 2,000 tensors": lambda: H.shared_quantization(2000, 100_000),
    "one 100,000-value options vector for 2,000 ops": lambda: H.shared_options(ops=2000, values=100_000),
    "one 500 KB custom code for 2,000 ops": lambda: H.long_custom_code(ops=2000, code_bytes=500_000),
    "one op naming one tensor 200,000 times": lambda: H.many_inputs_one_tensor(inputs=200_000),
}


@pytest.mark.parametrize("make", list(REFUSED.values()), ids=list(REFUSED))
def test_shared_data_is_refused_before_it_is_copied(make: Callable[[], bytes]) -> None:
    data = make()
    outcome, message, calls, peak = measured(data)
    assert outcome == "TPU906", (outcome, message[:200])
    assert f"more than {READ_FACTOR} times the {len(data)}-byte file" in message
    assert "\n" not in message
    assert calls < 50_000  # the verifier's walk of a few thousand tables, then the refusal
    assert peak < 2 * len(data) + 16 * MiB  # the walk's bookkeeping, and at most the read budget copied


BENIGN: dict[str, Callable[[], bytes]] = {
    "one name for 20 tensors": lambda: H.shared_name(readers=20, name_bytes=200),
    "one shape for 20 tensors": lambda: H.shared_shape(readers=20, rank=4),
    "one quantization for 20 tensors": lambda: H.shared_quantization(20, 64),
    "one options table for 20 ops": lambda: H.shared_options(ops=20, values=4),
    "one custom code for 20 ops": lambda: H.long_custom_code(ops=20, code_bytes=40),
}


@pytest.mark.parametrize("make", list(BENIGN.values()), ids=list(BENIGN))
def test_the_same_sharing_at_a_benign_scale_is_accepted(make: Callable[[], bytes]) -> None:
    outcome, text = pipeline(make())
    assert outcome == "ok", text
    assert json.loads(text)["models"][0]["ok"] is True


@pytest.mark.parametrize("make", [H.fan_in, H.fan_out], ids=["fan_in", "fan_out"])
def test_huge_fan_in_and_fan_out_cost_linear_time_and_memory(make: Callable[[int], bytes]) -> None:
    small, large = make(400), make(800)
    outcome_small, _, calls_small, peak_small = measured(small)
    outcome_large, text, calls_large, peak_large = measured(large)
    assert outcome_small == outcome_large == "ok"
    assert json.loads(text)["models"][0]["summary"]["ops_total"] == 801
    # Doubling the graph about doubles the cost (a quadratic step would quadruple it).
    assert peak_large < 2.6 * peak_small, (peak_small, peak_large)
    assert calls_large < 2.6 * calls_small, (calls_small, calls_large)
    assert len(text) < 64 * len(large)


def _assert_refused_without_allocating(data: bytes, codes: set[str]) -> None:
    outcome, message, calls, peak = measured(data)
    assert outcome in codes, (outcome, message)
    assert peak < 4 * MiB, peak
    assert calls < 10_000, calls  # refused up front, not after walking 2**31 declared elements


def test_tensor_vector_claiming_2_31_elements_allocates_nothing() -> None:
    _assert_refused_without_allocating(tensors_vector_length_2_31(), {"TPU906"})


def test_shape_and_options_vectors_claiming_2_31_elements_allocate_nothing() -> None:
    """The length prefix of a tensor's shape and of a ReshapeOptions.new_shape set to 2**31 and more."""
    import tflite

    data = H.shared_options(ops=2, values=4)
    root = tflite.Model.GetRootAs(data, 0)
    options = root.Subgraphs(0).Operators(0).BuiltinOptions()
    reshape = tflite.ReshapeOptions()
    reshape.Init(options.Bytes, options.Pos)
    new_shape = reshape._tab.Vector(reshape._tab.Offset(4)) - 4
    tensor = root.Subgraphs(0).Tensors(0)
    shape = tensor._tab.Vector(tensor._tab.Offset(4)) - 4
    for position in (new_shape, shape):
        assert struct.unpack_from("<I", data, position)[0] == 4
        for length in (2**31 - 1, 2**31, 2**32 - 1, 2**28):
            _assert_refused_without_allocating(patch(data, position, "<I", length), {"TPU903", "TPU906"})


def test_reader_vectors_are_bounded_by_the_file_after_verification() -> None:
    """Whatever the verifier accepts, every int vector the reader builds fits in the file."""
    data = H.shared_options(ops=20, values=4)
    model = parse_model(data)
    try:
        elements = sum(len(t.shape) for sg in model.subgraphs for t in sg.tensors)
        elements += sum(len(op.inputs) + len(op.outputs) for op in model.iter_ops())
        elements += sum(len(v) for op in model.iter_ops() for v in op.options.values() if isinstance(v, tuple))
        assert 4 * elements <= READ_FACTOR * len(data)
    finally:
        model.close()


# ---- a model over 2 GiB with its weights stored after the flatbuffer ---------------------------------

WEIGHTS = 1 << 30  # 1 GiB of external weights
EXTERNAL_OFFSET = (1 << 31) + (1 << 20)  # past 2 GiB: beyond any flatbuffer offset


def _external_model(path: Path) -> int:
    """Write a sparse model: a small flatbuffer, then 1 GiB of weights at byte 2 GiB + 1 MiB."""
    spec = tiny_spec()
    spec.subgraphs[0].tensors[1] = TensorSpec("w", [1, WEIGHTS], buffer=1, quantized=True)
    spec.buffers[1] = (EXTERNAL_OFFSET, WEIGHTS)
    head = build(spec)
    size = EXTERNAL_OFFSET + WEIGHTS
    with path.open("wb") as stream:
        stream.write(head)
        stream.seek(EXTERNAL_OFFSET)
        stream.write(b"\x07" * 4096)  # the first page of the weights is real data
        stream.truncate(size)
    return size


def test_model_over_2_gib_with_external_weights_is_mapped_not_copied(tmp_path: Path) -> None:
    if sys.maxsize < 2**32:
        pytest.skip("a 32-bit Python cannot map a 3 GiB file")
    path = tmp_path / "over 2 GiB ü.tflite"
    try:
        size = _external_model(path)
    except OSError as error:
        pytest.skip(f"the filesystem refused a sparse {EXTERNAL_OFFSET + WEIGHTS}-byte file: {error}")
    if path.stat().st_blocks * 512 > 64 * MiB:
        path.unlink()
        pytest.skip("the filesystem does not keep sparse files sparse")
    before = path.stat()
    script = textwrap.dedent(
        """
        import json, mmap, resource, sys
        from pathlib import Path
        from tpulint.analyze import analyze_path
        from tpulint.context import Target
        from tpulint.emit import json_out
        from tpulint.model import load_model
        from tpulint.report import Report

        def rss_mb():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

        path = Path(sys.argv[1])
        report = analyze_path(path, Target())  # warm up: imports, rule tables
        base = rss_mb()
        report = analyze_path(path, Target())
        rendered = json_out.render(Report(tool_version="t", models=[report]))
        model = load_model(path)
        view = model.buffer_view(1)
        out = {
            "ok": report.ok, "error": report.error, "file_size": report.file_size,
            "json_ok": json.loads(rendered)["models"][0]["ok"],
            "params_total": report.summary.params_total,
            "view_len": len(view), "view_is_mapped": isinstance(view.obj, mmap.mmap),
            "first_bytes": bytes(view[:4]).hex(),
            "rss_growth_mb": rss_mb() - base,
        }
        print(json.dumps(out))
        """
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=300, check=False
        )
    finally:
        after = path.stat()
        path.unlink()
    assert result.returncode == 0, result.stderr[-2000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["ok"] is True and facts["json_ok"] is True, facts
    assert facts["file_size"] == size
    assert facts["params_total"] == WEIGHTS  # the external buffer's size, read without reading it
    assert facts["view_len"] == WEIGHTS and facts["view_is_mapped"] is True
    assert facts["first_bytes"] == "07070707"
    # The weights (1 GiB) were neither copied nor read: memory stays near what the code needs.
    assert facts["rss_growth_mb"] < 200, facts
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_external_weights_view_is_zero_copy(tmp_path: Path) -> None:
    """The same without a sparse file: an external buffer is a memoryview into the mapped file."""
    from broken_models import external_buffer_model

    path = tmp_path / "external.tflite"
    path.write_bytes(external_buffer_model())
    model = load_model(path)
    try:
        view = model.buffer_view(1)
        assert view is not None and isinstance(view.obj, mmap.mmap)
        assert bytes(view) == bytes(range(16))
        del view
    finally:
        model.close()
    assert os.path.getsize(path) == len(external_buffer_model())


def test_reader_reads_only_options_the_verifier_checks_and_charges() -> None:
    """The reader's options tables (generated into tpulint._schema_data) name only union members
    and fields the verifier's schema walks, so every options string and vector the reader copies
    has been bounds-checked and charged to the read budget."""
    from tpulint import _schema_data as data
    from tpulint import verify

    for union, members in (("BuiltinOptions", data.BUILTIN_OPTIONS), ("BuiltinOptions2", data.BUILTIN_OPTIONS2)):
        known = verify._UNION_MEMBERS[union]
        for type_code, name in members.items():
            assert 1 <= type_code <= len(known) and known[type_code - 1] == name, (union, type_code, name)
    for cls_name, fields in data.OPTIONS_FIELDS.items():
        layout = verify._LAYOUTS[cls_name]
        for key, slot, kind, _ in fields:
            assert slot in layout.declared, (cls_name, key)
            declared = layout.declared[slot][1]
            if kind[0] in "vs":  # copied by the reader: must be a vector / string the walk checks
                assert declared[0] == kind[0], (cls_name, key, kind, declared)


def test_released_pages_read_back_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Giving back the pages of the mapped model (tpulint.pages) loses nothing: weights read after
    the reader and the verifier released them are the file's bytes, and bytes input is untouched."""
    from tpulint import pages
    from tpulint.pages import RELEASE_EVERY, release_pages

    monkeypatch.setattr(pages, "RELEASE_MIN_BYTES", 0)  # release even this small file's pages

    path = tmp_path / "weights.tflite"
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import gen_models

    data = gen_models.lstm(RELEASE_EVERY // 8)  # more tensors than one release period
    path.write_bytes(data)
    m = load_model(path)
    try:
        assert isinstance(m._data, mmap.mmap)
        assert sum(len(sg.tensors) for sg in m.subgraphs) > RELEASE_EVERY
        checked = 0
        for i in range(len(m.buffers)):
            info = m.buffers[i]
            view = m.buffer_view(i)
            if view is not None:
                assert bytes(view) == data[info.inline_offset : info.inline_offset + info.size]
                checked += 1
        assert checked > 100
        release_pages(m._data)
        info = m.buffers[len(m.buffers) - 1]
        assert (
            bytes(m.buffer_view(len(m.buffers) - 1) or b"") == data[info.inline_offset : info.inline_offset + info.size]
        )
    finally:
        m.close()
    raw = bytearray(data)
    release_pages(raw)
    assert raw == data
