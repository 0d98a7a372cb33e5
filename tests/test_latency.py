"""The static latency estimate (tpulint/latency.py): the cycle formulas on hand-built models,
monotonicity, each term's arithmetic, and its accuracy against the corpus and Coral's figures."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from builders import M, O, T, build, conv_chain
from conftest import ROOT, corpus_or_skip

from tpulint.analyze import analyze_model
from tpulint.context import Target
from tpulint.graph import Graph
from tpulint.latency import (
    LatencyConstants,
    estimate,
    estimate_for_report,
    load_constants,
    op_cycles,
    op_work,
    ops_work,
)
from tpulint.model import parse_model
from tpulint.ruledata import rules_dir

sys.path.insert(0, str(ROOT / "benchmarks"))
import latency_accuracy

C = load_constants()
CONV = ("Conv2DOptions", {"StrideH": 1, "StrideW": 1})


def graph_of(m: M) -> Graph:
    model = parse_model(build(m))
    return Graph.build(model, model.subgraphs[0])


def single(op: O, tensors: list[T]) -> Graph:
    """A one-op model: its non-constant inputs are the graph inputs, its outputs the graph outputs."""
    inputs = [t.name for t in tensors if t.data is None and t.name in op.inputs]
    return graph_of(M(tensors=tensors, ops=[op], inputs=inputs, outputs=op.outputs))


def conv(h: int, w: int, cin: int, cout: int, k: int = 3, dtype: str = "INT8") -> Graph:
    return single(
        O("CONV_2D", ["x", "w", "b"], ["y"], version=3, options=CONV),
        [
            T("x", [1, h, w, cin], dtype),
            T("w", [cout, k, k, cin], "INT8", data=bytes(cout * k * k * cin)),
            T("b", [cout], "INT32", data=bytes(4 * cout)),
            T("y", [1, h, w, cout], dtype),
        ],
    )


def whole(g: Graph, **kw: object) -> float:
    return estimate(g, range(len(g.subgraph.ops)), **kw).tpu_compute_ms  # type: ignore[arg-type]


# --- the per-op formulas, with hand-computed cycles ---------------------------------------------


def test_conv_cycles_pad_output_channels_to_64_lanes() -> None:
    # 8x8 output pixels, 3x3x16 reduction = 144 -> 144/16 = 9 cycles per pixel per group of 64 outputs.
    assert op_cycles(conv(8, 8, 16, 32), conv(8, 8, 16, 32).op(0)) == 64 * 1 * 9
    # 65 output channels need two lane groups: twice the cycles of 64 for 1.6% more MACs.
    g64, g65 = conv(8, 8, 16, 64), conv(8, 8, 16, 65)
    assert op_cycles(g64, g64.op(0)) == 576
    assert op_cycles(g65, g65.op(0)) == 1152


def test_depthwise_cycles_one_lane_per_channel() -> None:
    g = single(
        O("DEPTHWISE_CONV_2D", ["x", "w", "b"], ["y"], version=2,
          options=("DepthwiseConv2DOptions", {"StrideH": 1, "StrideW": 1, "DepthMultiplier": 1})),
        [
            T("x", [1, 8, 8, 128], "INT8"),
            T("w", [1, 3, 3, 128], "INT8", data=bytes(9 * 128)),
            T("b", [128], "INT32", data=bytes(4 * 128)),
            T("y", [1, 8, 8, 128], "INT8"),
        ],
    )
    # 64 pixels * ceil(128/64)=2 lane groups * 9 taps / 16
    assert op_work(g, g.op(0)) == (64 * 128 * 9, 72.0)


def test_fully_connected_cycles() -> None:
    g = single(
        O("FULLY_CONNECTED", ["x", "w", "b"], ["y"], version=4, options=("FullyConnectedOptions", {})),
        [
            T("x", [1, 256], "INT8"),
            T("w", [100, 256], "INT8", data=bytes(100 * 256)),
            T("b", [100], "INT32", data=bytes(400)),
            T("y", [1, 100], "INT8"),
        ],
    )
    # 1 row * ceil(100/64)=2 * 256/16
    assert op_work(g, g.op(0)) == (25_600, 32.0)


def test_transpose_conv_cycles_count_input_pixels() -> None:
    g = single(
        O("TRANSPOSE_CONV", ["shape", "w", "x"], ["y"], version=3,
          options=("TransposeConvOptions", {"StrideH": 2, "StrideW": 2})),
        [
            T("shape", [4], "INT32", data=bytes(16)),
            T("w", [16, 3, 3, 8], "INT8", data=bytes(16 * 9 * 8)),
            T("x", [1, 4, 4, 8], "INT8"),
            T("y", [1, 8, 8, 16], "INT8"),
        ],
    )
    # 16 input pixels * 1 lane group * 3*3*8 / 16
    assert op_work(g, g.op(0)) == (16 * 8 * 16 * 9, 72.0)


def test_vector_ops_stream_1024_elements_per_cycle() -> None:
    add = single(
        O("ADD", ["x", "z"], ["y"], version=1),
        [T("x", [1, 8, 8, 16], "INT8"), T("z", [1, 8, 8, 16], "INT8"), T("y", [1, 8, 8, 16], "INT8")],
    )
    assert op_cycles(add, add.op(0)) == (1024 + 1024 + 1024) / 1024  # two read, one written
    pool = single(
        O("AVERAGE_POOL_2D", ["x"], ["y"], version=1,
          options=("Pool2DOptions", {"StrideH": 2, "StrideW": 2, "FilterHeight": 2, "FilterWidth": 2})),
        [T("x", [1, 8, 8, 16], "INT8"), T("y", [1, 4, 4, 16], "INT8")],
    )
    assert op_cycles(pool, pool.op(0)) == (1024 * 4 + 256) / 1024  # input read once per window tap
    reshape = single(
        O("RESHAPE", ["x", "s"], ["y"], options=("ReshapeOptions", {"NewShape": [1, 1024]})),
        [T("x", [1, 8, 8, 16], "INT8"), T("s", [2], "INT32", data=bytes(8)), T("y", [1, 1024], "INT8")],
    )
    assert op_cycles(reshape, reshape.op(0)) == 0.0


def test_macs_are_output_elements_times_the_reduction() -> None:
    # out_px * Cout * kh*kw*Cin, whatever the lane padding of the cycles
    assert op_work(conv(8, 8, 16, 65), conv(8, 8, 16, 65).op(0))[0] == 64 * 65 * 9 * 16
    assert op_work(conv(5, 7, 3, 8, k=5), conv(5, 7, 3, 8, k=5).op(0))[0] == 35 * 8 * 25 * 3


def test_report_macs_are_the_latency_models() -> None:
    """The report's per-op MACs and the estimate come from one per-op pass (ops_work)."""
    g = conv(5, 7, 3, 8, k=5)
    rep = analyze_model(g.model, Target.default())
    assert [o.macs for o in rep.ops] == [m for m, _ in ops_work(g)] == [35 * 8 * 25 * 3]
    assert rep.latency_estimate is not None and rep.latency_estimate["tpu_macs"] == 35 * 8 * 25 * 3


def test_estimate_refuses_work_of_another_graph() -> None:
    g = conv(8, 8, 16, 32)
    with pytest.raises(ValueError, match="work has 2 entries"):
        estimate(g, [0], work=[(1, 1.0), (1, 1.0)])


def test_whole_model_time_is_cycles_over_clock() -> None:
    g = conv(8, 8, 16, 32)
    e = estimate(g, [0])
    assert e.tpu_cycles == 576
    assert e.tpu_compute_ms == pytest.approx(1e3 * 576 / C.clock_max_hz)
    reduced = estimate(g, [0], clock="reduced")
    assert reduced.tpu_compute_ms == pytest.approx(e.tpu_compute_ms * C.clock_max_hz / C.clock_reduced_hz)
    assert reduced.tpu_compute_ms > e.tpu_compute_ms
    with pytest.raises(ValueError, match="clock"):
        estimate(g, [0], clock="turbo")


# --- monotonicity and the terms ------------------------------------------------------------------


@pytest.mark.parametrize("axis", ["cin", "cout", "size"])
def test_more_macs_take_more_time(axis: str) -> None:
    times = []
    for n in (1, 2, 4):
        h, cin, cout = {"cin": (8, 16 * n, 64), "cout": (8, 16, 64 * n), "size": (8 * n, 16, 64)}[axis]
        g = conv(h, h, cin, cout)
        times.append((op_work(g, g.op(0))[0], whole(g), estimate(g, [0]).total_ms))
    assert [t[0] for t in times] == sorted({t[0] for t in times})
    assert times[0][1] < times[1][1] < times[2][1]
    assert times[0][2] < times[1][2] < times[2][2]


def test_streamed_bytes_add_exactly_bytes_over_bandwidth() -> None:
    g = conv(8, 8, 16, 32)
    base = estimate(g, [0])
    for n in (1, 1_000_000, 12_345_678):
        e = estimate(g, [0], streamed_param_bytes=n)
        assert e.streaming_ms == pytest.approx(1e3 * n / C.usb_bytes_per_s)
        assert e.total_ms - base.total_ms == pytest.approx(1e3 * n / C.usb_bytes_per_s)
        assert (e.tpu_compute_ms, e.io_ms, e.cpu_ms, e.overhead_ms) == (
            base.tpu_compute_ms, base.io_ms, base.cpu_ms, base.overhead_ms)


def test_io_counts_boundary_activations_and_instructions() -> None:
    g = conv(8, 8, 16, 32)  # int8: 1024 bytes in, 2048 bytes out
    e = estimate(g, [0], instruction_bytes=5000)
    assert (e.boundary_input_bytes, e.boundary_output_bytes, e.instruction_bytes) == (1024, 2048, 5000)
    assert e.instruction_bytes_from_compiled
    assert e.io_ms == pytest.approx(1e3 * (1024 + 2048 + 5000) / C.usb_bytes_per_s)
    default = estimate(g, [0])
    assert default.instruction_bytes == round(C.instruction_bytes_per_op)
    assert not default.instruction_bytes_from_compiled
    f32 = estimate(conv(8, 8, 16, 32, dtype="FLOAT32"), [0], instruction_bytes=0)
    assert (f32.boundary_input_bytes, f32.boundary_output_bytes) == (4096, 8192)


def test_cpu_ops_add_cpu_time() -> None:
    g = graph_of(conv_chain(shape=[1, 8, 8, 64]))  # two 1x1 convs of 64x64 on 8x8
    macs = 64 * 64 * 64
    all_tpu = estimate(g, [0, 1])
    assert all_tpu.cpu_ms == 0 and all_tpu.cpu_macs == 0
    half = estimate(g, [0])
    assert half.cpu_macs == macs and half.tpu_macs == macs
    assert half.cpu_ms == pytest.approx(1e3 * macs / C.cpu_macs_per_s)
    none = estimate(g, [])
    assert none.cpu_ms == pytest.approx(2 * half.cpu_ms)
    assert (none.tpu_compute_ms, none.io_ms, none.overhead_ms, none.tpu_segments) == (0, 0, 0, 0)
    # An op without MACs on the CPU costs its elements (read + written) at the element rate.
    relu = O("RELU", ["a"], ["b"])
    g2 = graph_of(conv_chain(relu, shape=[1, 8, 8, 64]))
    e = estimate(g2, [0, 2])
    assert e.cpu_elements == 2 * 4096
    assert e.cpu_ms == pytest.approx(1e3 * 2 * 4096 / C.cpu_elements_per_s)
    assert e.cpu_ms > estimate(g2, [0, 1, 2]).cpu_ms


def test_overhead_per_segment_and_per_segment_io() -> None:
    g = graph_of(conv_chain(shape=[1, 8, 8, 16]))  # input -> conv -> a -> conv -> output, 1024 B each
    one = estimate(g, [0, 1], instruction_bytes=0)
    assert one.overhead_ms == C.overhead_ms_per_segment
    assert (one.boundary_input_bytes, one.boundary_output_bytes) == (1024, 1024)
    three = estimate(g, [0, 1], tpu_segments=3, instruction_bytes=0)
    assert three.overhead_ms == pytest.approx(3 * C.overhead_ms_per_segment)
    assert three.total_ms - one.total_ms == pytest.approx(2 * C.overhead_ms_per_segment)
    # Two segments: `a` leaves the first and enters the second.
    two = estimate(g, [0, 1], segment_of={0: 0, 1: 1}, instruction_bytes=0)
    assert two.tpu_segments == 2
    assert two.overhead_ms == pytest.approx(2 * C.overhead_ms_per_segment)
    assert (two.boundary_input_bytes, two.boundary_output_bytes) == (2048, 2048)
    assert two.io_ms == pytest.approx(1e3 * 4096 / C.usb_bytes_per_s)
    with pytest.raises(ValueError, match="contradicts"):
        estimate(g, [0, 1], segment_of={0: 0, 1: 1}, tpu_segments=3)
    with pytest.raises(ValueError, match=">= 1"):
        estimate(g, [0, 1], tpu_segments=0)


def test_cpu_op_between_tpu_ops_is_a_boundary() -> None:
    g = graph_of(conv_chain(O("RELU", ["a"], ["b"]), shape=[1, 8, 8, 16]))
    e = estimate(g, [0, 2], instruction_bytes=0)
    assert (e.boundary_input_bytes, e.boundary_output_bytes) == (2048, 2048)  # input + b in, a + output out


def _boundary_by_definition(g: Graph, seg_of: dict[int, int]) -> tuple[int, int]:
    """The boundary bytes segment by segment, as documented: a segment's inputs are the tensors its
    ops read that none of its ops produce (constants excluded); its outputs the tensors its ops
    produce that a graph output, a CPU op or another segment reads."""
    tensors, ops = g.subgraph.tensors, g.subgraph.ops
    size = {t.index: max(t.elements, 1) * {"INT8": 1, "UINT8": 1, "INT16": 2}.get(t.dtype, 4) for t in tensors}
    bytes_in = bytes_out = 0
    for seg in set(seg_of.values()):
        members = [i for i, s in seg_of.items() if s == seg]
        produced = {t for i in members for t in ops[i].outputs if t >= 0 and g.producer.get(t) == i}
        read = {t.index for i in members for t in g.data_inputs(ops[i])}
        bytes_in += sum(size[t] for t in read - produced)
        for t in produced:
            readers = [r for r in range(len(ops)) if t in ops[r].inputs]
            if t in g.graph_outputs or any(seg_of.get(r) != seg for r in readers):
                bytes_out += size[t]
    return bytes_in, bytes_out


@pytest.mark.parametrize("seed", range(3))
def test_boundary_bytes_equal_their_definition_for_random_placements(seed: int) -> None:
    """The one-pass count of the boundary bytes equals the segment-by-segment definition for
    random placements and segments of the ops of every fixture."""
    import random

    from conftest import FIXTURES

    from tpulint.latency import _boundary_bytes, _Elements

    rng = random.Random(seed)
    checked = 0
    for path in sorted(FIXTURES.glob("*.tflite")):
        model = parse_model(path.read_bytes(), path=path)
        g = Graph.build(model, model.subgraphs[0])
        n = len(g.subgraph.ops)
        if not n or any(t.dtype not in ("INT8", "UINT8", "INT16", "FLOAT32", "INT32") for t in g.subgraph.tensors):
            continue
        seg_of = {i: rng.randrange(3) for i in range(n) if rng.random() < 0.7}
        assert _boundary_bytes(g, seg_of, _Elements()) == _boundary_by_definition(g, seg_of), path.name
        checked += 1
    assert checked > 20


def test_bad_arguments() -> None:
    g = conv(4, 4, 8, 8)
    with pytest.raises(ValueError, match="outside"):
        estimate(g, [1])
    with pytest.raises(ValueError, match=">= 0"):
        estimate(g, [0], streamed_param_bytes=-1)


def test_to_dict_total_and_method() -> None:
    e = estimate(conv(8, 8, 16, 32), [0], streamed_param_bytes=1000)
    d = e.to_dict()
    json.dumps(d)
    parts = ("tpu_compute_ms", "streaming_ms", "io_ms", "cpu_ms", "overhead_ms")
    assert d["total_ms"] == pytest.approx(sum(d[k] for k in parts))
    assert all(d[k] > 0 for k in parts if k != "cpu_ms")
    assert set(d) == {f.name for f in dataclasses.fields(e)}
    assert d == dataclasses.asdict(e) and list(d) == list(dataclasses.asdict(e))
    assert "ESTIMATE" in e.method and "not a measurement" in e.method and "\n" not in e.method


def test_constants_file_marks_every_number_with_its_kind() -> None:
    """Every numeric constant in rules/latency.toml has a comment above it naming its kind (keys
    right below one another, like max_hz and reduced_hz, share one comment)."""
    assert (rules_dir() / "latency.toml").is_file()
    text = (rules_dir() / "latency.toml").read_text()
    comment: list[str] = []
    checked = 0
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            comment.append(s)
        elif s.startswith("["):
            comment = []
        elif re.match(r"^\w+\s*=\s*[-\d.]", s):
            block = " ".join(comment)
            assert re.search(r"\b(EVIDENCE|FITTED|ASSUMPTION)\b", block), f"no evidence/assumption note for {s!r}"
            checked += 1
        elif not s:
            comment = []
    assert checked >= 11


def test_constants_are_validated() -> None:
    raw = {
        "clock": {"max_hz": 1.0, "reduced_hz": 1.0},
        "tpu": {"lanes": 64, "reduce_width": 16, "vector_elements_per_cycle": 0, "op_fixed_cycles": 0,
                "free_ops": [], "pool_ops": []},
        "usb": {"bytes_per_s": 1, "instruction_bytes_per_op": 0},
        "invoke": {"overhead_ms_per_segment": 0},
        "cpu": {"macs_per_s": 1, "elements_per_s": 1},
    }
    with pytest.raises(ValueError, match="> 0"):
        LatencyConstants.from_dict(raw)
    raw["tpu"]["vector_elements_per_cycle"] = 1  # type: ignore[index]
    c = LatencyConstants.from_dict(raw)
    g = conv(8, 8, 16, 32)
    assert estimate(g, [0], constants=c).tpu_cycles == 576  # the array shape, not the clock, sets cycles


def test_benchmark_without_corpus_exits_0(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "latency_accuracy.py"), str(tmp_path)],
        capture_output=True, text=True, check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "corpus not found" in r.stdout


# --- accuracy on the corpus -----------------------------------------------------------------------

TOLERANCE = 0.25


def test_cycles_within_25_percent_of_the_compiler() -> None:
    corpus = corpus_or_skip()
    cases = latency_accuracy.cycle_cases(corpus)
    used = [k for k in cases if not k.degenerate]
    assert len(used) >= 10, [k.case for k in cases]
    # The exclusions are only the compiler's floor values, never a case we merely predict badly.
    assert all(k.compiler_cycles <= latency_accuracy.DEGENERATE_CYCLES for k in cases if k.degenerate)
    failures = [f"{k.case}: ours {k.our_cycles:,.0f} vs {k.compiler_cycles:,} ({100 * k.error:+.1f}%)"
                for k in used if abs(k.error) > TOLERANCE]
    assert not failures, "\n".join(failures)


def test_conv_macs_on_a_corpus_model_follow_the_shapes() -> None:
    corpus = corpus_or_skip()
    path = corpus / "coral_td__deeplabv3_mnv2_pascal_quant"
    if not path.is_dir():
        pytest.skip("deeplab case absent")
    tflite = next(p for p in path.glob("*.tflite") if "_edgetpu" not in p.name)
    g = latency_accuracy._graph(tflite)
    rep = analyze_model(g.model, Target.default())
    convs = 0
    for o in rep.ops:
        op = g.op(o.index)
        out, w = g.tensor(op.outputs[0]), g.tensor(op.inputs[1]) if len(op.inputs) > 1 else None
        if o.opcode == "CONV_2D":
            convs += 1
            assert o.macs == out.elements * w.shape[1] * w.shape[2] * w.shape[3]
        elif o.opcode == "DEPTHWISE_CONV_2D":
            assert o.macs == out.elements * w.shape[1] * w.shape[2]
        elif o.opcode in ("ADD", "RESHAPE", "CONCATENATION", "AVERAGE_POOL_2D", "RESIZE_BILINEAR"):
            assert o.macs == 0
    assert convs > 30


@pytest.fixture(scope="module")
def published() -> list[latency_accuracy.PublishedResult]:
    return latency_accuracy.published_results(corpus_or_skip())


@pytest.mark.parametrize("label", ["MobileNet v1 224", "MobileNet v2 224", "DeepLab V3 513x513"])
def test_published_latency_within_25_percent(published: list[latency_accuracy.PublishedResult], label: str) -> None:
    rows = [r for r in published if r.row.label == label and not r.row.loose]
    if not rows:
        pytest.skip(f"no corpus case for {label}")
    failures = [
        f"{r.row.case}: estimate {r.estimate.total_ms:.2f} ms vs {src} {r.row.published_ms[src]} ms ({100 * err:+.0f}%)"
        for r in rows
        for src, err in r.errors().items()
        if abs(err) > TOLERANCE
    ]
    assert not failures, "\n".join(failures)


def test_published_cases_use_tpulints_placement(published: list[latency_accuracy.PublishedResult]) -> None:
    """The MobileNets map whole: one segment, no CPU time, no streamed parameters."""
    for r in published:
        if r.row.label.startswith("MobileNet v") and not r.row.loose:
            e = r.estimate
            assert (e.tpu_segments, e.cpu_ops, e.streamed_param_bytes) == (1, 0, 0), r.row.case
            assert e.boundary_input_bytes == 224 * 224 * 3


def test_estimate_for_report_rejects_failed_reports(tmp_path: Path) -> None:
    from tpulint import check

    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model")
    report = check(bad)
    with pytest.raises(ValueError, match="no placement"):
        estimate_for_report(conv(4, 4, 8, 8), report)
