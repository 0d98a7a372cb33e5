"""Speed-ups that must not change a result: cached graph facts, the linear nearest-blocked-ancestor
pass, ``--jobs``, and the benchmark's model generator (issue 7)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, FIXTURES, ROOT

from tpulint.analyze import analyze_many, analyze_model, analyze_path
from tpulint.context import OpContext, Target
from tpulint.graph import Graph
from tpulint.model import Model, Op, load_model, parse_model
from tpulint.partition import _nearest_blocked_ancestor, _nearest_blocked_ancestors

MODELS = sorted(FIXTURES.glob("*.tflite")) + (sorted(CORPUS.rglob("*.tflite")) if CORPUS.is_dir() else [])


def _naive_producers(g: Graph, op: Op) -> list[int]:
    seen: list[int] = []
    for t in op.inputs:
        p = g.producer.get(t) if t >= 0 else None
        if p is not None and p not in seen:
            seen.append(p)
    return seen


def _naive_consumers(g: Graph, op: Op) -> list[int]:
    seen: list[int] = []
    for t in op.outputs:
        for c in g.tensor_consumers(t) if t >= 0 else ():
            if c not in seen:
                seen.append(c)
    return seen


def _naive_order(g: Graph) -> list[int]:
    n = len(g.subgraph.ops)
    if all(p < op.index for op in g.subgraph.ops for p in _naive_producers(g, op)):
        return list(range(n))
    indeg = {op.index: len(_naive_producers(g, op)) for op in g.subgraph.ops}
    ready = [i for i in range(n) if indeg[i] == 0]
    order: list[int] = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for c in _naive_consumers(g, g.op(i)):
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    order.extend(i for i in range(n) if i not in set(order))
    return order


def _graphs(path: Path) -> tuple[Model, list[Graph]]:
    m = load_model(path)
    return m, [Graph.build(m, sg) for sg in m.subgraphs]


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_cached_graph_facts_equal_recomputed(path: Path) -> None:
    m, graphs = _graphs(path)
    try:
        for g in graphs:
            for op in g.subgraph.ops:
                assert g.producers_of(op) == _naive_producers(g, op)
                assert g.consumers_of(op) == _naive_consumers(g, op)
                ins = [g.tensor(t) for t in op.inputs if t >= 0]
                assert g.data_inputs(op) == tuple(t for t in ins if not g._is_constant(t.index))
                assert g.const_inputs(op) == tuple(t for t in ins if g._is_constant(t.index))
                outs = [g.tensor(t) for t in op.outputs if t >= 0]
                assert g.outputs(op) == tuple(outs)
                assert g.activation_outputs(op) == tuple(t for t in outs if not g._is_constant(t.index))
                for t in op.inputs + op.outputs:
                    if t >= 0:
                        tensor = g.tensor(t)
                        assert g.label(t) == f"{tensor.shape_str()} {tensor.dtype}"
            assert g.execution_order() == _naive_order(g)
            assert g.file_order_is_topological()  # verified models are
            assert [g.is_constant(t) for t in range(len(g.subgraph.tensors))] == [
                g._is_constant(t) for t in range(len(g.subgraph.tensors))
            ]
            # callers may modify the op lists they get (tensor lists are immutable tuples)
            if g.subgraph.ops:
                g.producers_of(g.op(0)).clear()
                assert g.producers_of(g.op(0)) == _naive_producers(g, g.op(0))
    finally:
        m.close()


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_op_contexts_equal_made_one_by_one(path: Path) -> None:
    m, graphs = _graphs(path)
    try:
        for target in (Target.default(), Target(compiler="14.1", runtime=12)):
            for g in graphs:
                made = list(OpContext.for_ops(g, target))
                assert [c.op for c in made] == list(g.subgraph.ops)
                for ctx in made:
                    one = OpContext.make(g, ctx.op, target)
                    assert (ctx.graph, ctx.op, ctx.target, ctx.spec, ctx.runtime) == (
                        one.graph,
                        one.op,
                        one.target,
                        one.spec,
                        one.runtime,
                    )
                    assert ctx.activations == one.activations == one.data_inputs() + one.activation_outputs()
                    assert (ctx.data_inputs(), ctx.const_inputs(), ctx.activation_outputs(), ctx.outputs()) == (
                        one.data_inputs(),
                        one.const_inputs(),
                        one.activation_outputs(),
                        one.outputs(),
                    )
    finally:
        m.close()


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_nearest_blocked_ancestors_equal_search(path: Path) -> None:
    m, graphs = _graphs(path)
    try:
        g = graphs[0]
        n = len(g.subgraph.ops)
        rng = random.Random(path.name)
        for density in (0.02, 0.1, 0.4):
            blocked = {i: "not_supported" for i in range(n) if rng.random() < density}
            fast = _nearest_blocked_ancestors(g, blocked, g.execution_order())
            for i in range(n):
                assert fast.get(i, "missing") in (_nearest_blocked_ancestor(g, i, blocked), "missing")
            assert len(fast) == n  # corpus graphs are acyclic: every op is covered
    finally:
        m.close()


def test_nearest_blocked_ancestors_random_dags() -> None:
    """Random DAGs with diamonds and shared producers, against the breadth-first search."""
    sys.path.insert(0, str(ROOT / "tests"))
    from builders import M, O, T, build

    rng = random.Random(7)
    for _ in range(30):
        n = rng.randint(2, 40)
        tensors = [T("in", [1, 4])] + [T(f"t{i}", [1, 4]) for i in range(n)]
        ops = []
        for i in range(n):
            srcs = rng.sample(["in"] + [f"t{j}" for j in range(i)], k=min(i + 1, rng.randint(1, 3)))
            ops.append(O("ADD", srcs[:2] if len(srcs) > 1 else [srcs[0], srcs[0]], [f"t{i}"]))
        model = parse_model(build(M(tensors=tensors, ops=ops, inputs=["in"], outputs=[f"t{n - 1}"])))
        g = Graph.build(model, model.subgraphs[0])
        blocked = {i: "x" for i in range(n) if rng.random() < 0.3}
        fast = _nearest_blocked_ancestors(g, blocked, g.execution_order())
        assert fast == {i: _nearest_blocked_ancestor(g, i, blocked) for i in range(n)}


def test_unordered_graph_facts_equal_recomputed() -> None:
    """Ops out of execution order, a cycle and an op reading its own output: only an unverified
    model gets these to the graph (the verifier refuses them), and its cached facts must still
    equal the naive ones, the execution order (Kahn's) included."""
    sys.path.insert(0, str(ROOT / "tests"))
    from builders import M, O, T, build

    rng = random.Random(11)
    unordered = 0
    for case in range(40):
        n = rng.randint(2, 12)
        tensors = [T("in", [1, 4])] + [T(f"t{i}", [1, 4]) for i in range(n)]
        ops = [
            O("ADD", [rng.choice(["in"] + [f"t{j}" for j in range(n)]) for _ in range(2)], [f"t{i}"]) for i in range(n)
        ]
        rng.shuffle(ops)
        model = parse_model(build(M(tensors=tensors, ops=ops, inputs=["in"], outputs=[f"t{n - 1}"])), verify=False)
        g = Graph.build(model, model.subgraphs[0])
        assert g.execution_order() == _naive_order(g), case
        assert g.file_order_is_topological() == all(
            p < op.index for op in g.subgraph.ops for p in _naive_producers(g, op)
        )
        unordered += not g.file_order_is_topological()
        assert sorted(g.execution_order()) == list(range(n))
        for op in g.subgraph.ops:
            assert g.producers_of(op) == _naive_producers(g, op)
            assert g.consumers_of(op) == _naive_consumers(g, op)
    assert 10 < unordered < 40  # both kinds of graph were made


def test_jobs_give_identical_reports_in_order() -> None:
    paths = [*sorted(FIXTURES.glob("*.tflite")), FIXTURES / "missing.tflite", FIXTURES / "README.md"]
    target = Target.default()
    one = [r.to_dict() for r in analyze_many(paths, target, jobs=1)]
    two = [r.to_dict() for r in analyze_many(paths, target, jobs=2)]
    every = [r.to_dict() for r in analyze_many(paths, target, jobs=0)]
    assert one == two == every
    assert [r["path"] for r in two] == [str(p) for p in paths]
    assert one == [analyze_path(p, target).to_dict() for p in paths]


def test_generated_benchmark_models_are_valid(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import gen_models

    target = Target.default()
    for name, data in {
        "cnn": gen_models.cnn(30),
        "lstm": gen_models.lstm(20),
        "weights": gen_models.weights(1, layers=2),
        "small": gen_models.small(5),
    }.items():
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(data)
        m = load_model(path)  # verified
        report = analyze_model(m, target)
        m.close()
        assert report.ok and report.summary.ops_total == len(m.subgraphs[0].ops), name
        if name in ("cnn", "small", "weights"):
            assert report.summary.outcome == "full", name
    lstm = load_model(tmp_path / "lstm.tflite")
    assert sum(len(sg.tensors) for sg in lstm.subgraphs) >= 10 * sum(len(sg.ops) for sg in lstm.subgraphs)
    lstm.close()


def test_plain_equals_asdict() -> None:
    """ModelReport.to_dict's fast conversion gives exactly what dataclasses.asdict gives."""
    import dataclasses
    import json

    from tpulint.report import plain

    paths = [*sorted(FIXTURES.glob("*.tflite")), *sorted((FIXTURES / "compiled").rglob("*.tflite"))]
    for p in paths:
        for target in (Target.default(), Target(compiler="14.1", multiple_subgraphs=True)):
            r = analyze_path(p, target)
            fast, slow = plain(r), dataclasses.asdict(r)
            assert fast == slow
            assert json.dumps(fast, indent=2) == json.dumps(slow, indent=2)


def test_streamed_json_equals_rendered() -> None:
    """The CLI's streamed JSON writer produces exactly the text of json_out.render, byte for byte:
    several models (ok, compiled, unreadable), empty and non-empty op and finding lists."""
    import io

    from tpulint.emit import json_out
    from tpulint.report import Report

    paths = [
        *sorted(FIXTURES.glob("*.tflite")),
        *sorted((FIXTURES / "compiled").rglob("*.tflite")),
        FIXTURES / "missing.tflite",
        FIXTURES / "README.md",
    ]
    report = Report(tool_version="test", models=[analyze_path(p, Target.default()) for p in paths])
    assert any(not m.findings for m in report.models) and any(m.findings for m in report.models)
    assert any(not m.ops for m in report.models)
    out = io.StringIO()
    json_out.write(report, out)
    assert out.getvalue() == json_out.render(report)
    empty = io.StringIO()
    json_out.write(Report(tool_version="test"), empty)
    assert empty.getvalue() == json_out.render(Report(tool_version="test"))


def test_packed_quantization_decodes_to_the_same_values() -> None:
    """Scales and zero points kept as the file's bytes equal the decoded tuples; counting them
    (is_quantized, per_axis) needs no decoding."""
    import struct

    from tpulint.model import Quantization

    scales, zps = (0.5, 0.25, 0.125), (0, -3, 7)
    packed = Quantization.packed(struct.pack("<3f", *scales), struct.pack("<3q", *zps), 3)
    assert packed._scale is None and packed.channels == 3 and packed.per_axis
    assert packed == Quantization(scales, zps, 3)
    assert packed.scale == scales and packed.zero_point == zps and packed.quantized_dimension == 3
    assert packed != Quantization(scales, zps, 0)
    single = Quantization.packed(struct.pack("<f", 0.02), b"", 0)
    assert single.channels == 1 and not single.per_axis and single.zero_point == ()
    assert repr(Quantization((1.0,), (0,))) == "Quantization(scale=(1.0,), zero_point=(0,), quantized_dimension=0)"


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_reader_sets_every_field_its_constructors_would(path: Path) -> None:
    """The readers make Tensor, Quantization and Op objects without calling their constructors
    (a call per tensor or op): each has every field set, and equals the one the constructors make
    (their values: tests/test_schema_reader.py)."""
    from dataclasses import fields

    from tpulint.model import Quantization, Tensor

    m = load_model(path)
    try:
        for sg in m.subgraphs:
            for t in sg.tensors:
                values = [getattr(t, f.name) for f in fields(Tensor)]  # AttributeError: a field not set
                assert type(t) is Tensor and Tensor(*values) == t
                q = t.quantization
                if q is not None:
                    made = Quantization.packed(q._scale_raw, q._zero_point_raw, q.quantized_dimension)
                    assert type(q) is Quantization
                    assert {s: getattr(q, s) for s in Quantization.__slots__} == {
                        s: getattr(made, s) for s in Quantization.__slots__
                    }
            for op in sg.ops:
                values = [getattr(op, f.name) for f in fields(Op)]
                assert type(op) is Op and Op(*values) == op and Op(*values).options == op.options
    finally:
        m.close()


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_report_rows_have_every_field(path: Path) -> None:
    """The analysis makes each op's OpReport without calling its constructor: every field set,
    equal to the one the constructor makes."""
    from dataclasses import fields

    from tpulint.report import OpReport

    names = [f.name for f in fields(OpReport)]
    report = analyze_path(path, Target.default())
    for row in report.ops:
        values = [getattr(row, n) for n in names]  # AttributeError: a field not set
        assert type(row) is OpReport and OpReport(*values) == row


def test_check_leaves_the_collector_as_it_found_it(tmp_path: Path) -> None:
    """tpulint pauses the cyclic garbage collector while it reads and analyses a model; it is on
    again afterwards (also after an unreadable or malformed file), and stays off if the caller
    had turned it off."""
    import gc

    import tpulint

    corrupt = tmp_path / "corrupt.tflite"
    corrupt.write_bytes((FIXTURES / "int8_cnn.tflite").read_bytes()[:300])
    paths = [FIXTURES / "int8_cnn.tflite", tmp_path / "missing.tflite", corrupt]
    assert gc.isenabled()
    for p in paths:
        report = tpulint.check(p)
        assert report.ok == (p == paths[0])
        assert gc.isenabled()
    gc.disable()
    try:
        for p in paths:
            tpulint.check(p)
            assert not gc.isenabled()
    finally:
        gc.enable()
