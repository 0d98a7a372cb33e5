"""The analysis pipeline: model -> rules -> partition -> :class:`~tpulint.report.ModelReport`.

Each step is a plain function on plain data. Model-level rules run first (they may stop the
"compilation": unparseable op versions, dynamic shapes, Flex or unknown custom ops, a float model
on compilers that reject it). Then every op of subgraph 0 is checked against every per-op rule
(all failures are collected, not only the first), the partition simulator places the ops, and the
partition and memory rules add their findings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tpulint import __version__, latency, param_memory
from tpulint.baseline import fill_fingerprints
from tpulint.checks.compiled import CompiledContext
from tpulint.checks.memory import MemoryContext, memory_dict, segment_dict
from tpulint.checks.partition_rules import PartitionContext
from tpulint.context import ModelContext, OpContext, Target
from tpulint.errors import ModelFormatError, ModelReadError, TpulintError
from tpulint.graph import Graph
from tpulint.model import Model, Op, Tensor, gc_paused, load_model, parse_model
from tpulint.partition import simulate
from tpulint.registry import Rule, Scope, Severity, Violation, rules_by_scope
from tpulint.report import Finding, FirstCpuOp, ModelReport, OpReport, Report, Summary
from tpulint.ruledata import errors as error_texts
from tpulint.ruledata import message_for, prepare_checks, status_text, statuses

# When several rules block one op, the status the compiler prints is the first of these that applies
# (op support is decided before data types, data types before shapes, ...).
# Order found in the real logs of ../shared/corpus (all 19 log tables reproduced): data type, then
# op type, then version, then rank, then SPLIT's 2-D output check, then size limits.
STATUS_PRIORITY = (
    "unsupported_dtype",
    "not_supported",
    "version_not_supported",
    "unsupported_rank",
    "split_2d_output",
    "imprecise_interpolation",
    "unspecified_limitation",
    "more_than_one_subgraph",
)

# Model-level rules that stop compilation, with the compiler error text (rules/statuses.toml) they
# predict. TPU203 only stops compilers marked `not_quantized_is_error`.
COMPILE_ERRORS = {
    "TPU402": "op_version",
    "TPU302": "dynamic_shape",
    "TPU113": "flex_op",
    "TPU114": "custom_op",
    "TPU203": "not_quantized",
    "TPU205": "prepare_failed",
    "TPU206": "prepare_failed",
    "TPU207": "prepare_failed",
    "TPU208": "prepare_failed",
    "TPU209": "prepare_failed",
    "TPU305": "prepare_failed",
}
# The errors TFLite raises while it prepares the nodes (AllocateTensors): it stops at the first
# failing node in operator order, and within a node at the kernel's first failing check
# (``extra["precedence"]``, tpulint.checks.prepare). The other errors keep the rule order.
PREPARE_ERRORS = frozenset({"flex_op", "custom_op", "prepare_failed"})


def _finding(
    r: Rule,
    v: Violation,
    *,
    graph: Graph | None = None,
    op: Op | None = None,
    severity: Severity | None = None,
) -> Finding:
    msg, fix = message_for(r.code)
    sg = v.subgraph if v.subgraph is not None else (op.subgraph if op else None)
    idx = v.op_index if v.op_index is not None else (op.index if op else None)
    if op is None and graph is not None and idx is not None and 0 <= idx < len(graph.subgraph.ops):
        op = graph.op(idx)
    name = ""
    if op is not None and graph is not None and op.outputs and op.outputs[0] >= 0:
        name = graph.tensor(op.outputs[0]).name
    status_id = v.status or r.status
    return Finding(
        code=r.code,
        name=r.name,
        severity=(severity or r.severity).value,
        message=v.message or msg or r.summary,
        observed=v.observed,
        fix=v.fix or fix,
        subgraph=sg,
        op_index=idx,
        opcode=op.type_name if op is not None else None,
        op_name=name or None,
        status=status_text(status_id) if status_id else None,
    )


def _op_name(graph: Graph, op: Op) -> str:
    if op.outputs and op.outputs[0] >= 0:
        return graph.tensor(op.outputs[0]).name
    return ""


def analyze_model(
    model: Model, target: Target, *, label: str | None = None, selected: set[str] | None = None
) -> ModelReport:
    """Predict what the compiler does with ``model`` for ``target``."""
    rules = rules_by_scope(None if selected is None else frozenset(selected))
    report = ModelReport(
        path=label or (str(model.path) if model.path else "<bytes>"),
        runtime=target.effective_runtime,
        compiler=target.compiler,
        compiled=model.is_compiled,
        file_size=model.file_size,
        options={
            "multiple_subgraphs": target.multiple_subgraphs,
            "intermediate_tensors": list(target.intermediate_tensors),
            "search_delegate": target.search_delegate,
            "num_segments": target.num_segments,
        },
    )
    graphs = [Graph.build(model, sg) for sg in model.subgraphs]
    if not graphs:
        raise ModelFormatError("model has no subgraphs", "TPU902")
    mctx = ModelContext(model=model, target=target, graphs=graphs)
    main = graphs[0]

    if model.is_compiled:
        return _compiled_report(report, model, main, rules, mctx)

    # 1. Model-level rules.
    compile_error: tuple[str, Finding] | None = None
    first_key: tuple[int, int, int, int] | None = None
    for rank, r in enumerate(rules[Scope.MODEL]):
        for v in r.run(mctx):
            g = graphs[v.subgraph] if v.subgraph is not None and v.subgraph < len(graphs) else main
            f = _finding(r, v, graph=g)
            err_id = COMPILE_ERRORS.get(r.code)
            stops = err_id is not None and (r.code != "TPU203" or target.spec.not_quantized_is_error)
            if r.code == "TPU203" and not stops:
                f.severity = Severity.WARNING.value
            if stops and err_id is not None:
                f.compiler_error = _error_text(err_id, model, v, target.compiler)
                key = _error_order(err_id, rank, v)
                if first_key is None or key < first_key:
                    compile_error, first_key = (err_id, f), key
            report.findings.append(f)

    # 2. Per-op rules on every op of subgraph 0 (each op only meets the rules that concern its type).
    per_op: dict[int, list[tuple[Rule, Violation]]] = {}
    rules_for: dict[str, list[Rule]] = {}
    for octx in OpContext.for_ops(main, target):
        op = octx.op
        op_rules = rules_for.get(op.opcode)
        if op_rules is None:
            op_rules = rules_for[op.opcode] = [r for r in rules[Scope.OP] if r.concerns(op.opcode, octx.spec, target)]
        for r in op_rules:
            for v in r.func(octx):  # Rule.run without the call: this runs once per op and rule
                per_op.setdefault(op.index, []).append((r, v))

    blocked: dict[int, str] = {}
    for idx, hits in per_op.items():
        ids = [s for s in (v.status or r.status for r, v in hits if r.blocks) if s]
        if ids:
            blocked[idx] = min(ids, key=lambda s: STATUS_PRIORITY.index(s) if s in STATUS_PRIORITY else 99)

    # 3. Partition.
    part = simulate(
        main,
        blocked,
        multiple_subgraphs=target.multiple_subgraphs,
        intermediate_tensors=target.intermediate_tensors,
    )
    intermediate_cut = part.forced & part.past_intermediate
    pctx = PartitionContext(graph=main, partition=part, intermediate_cut=intermediate_cut)
    part_hits: dict[int, list[tuple[Rule, Violation]]] = {}
    for r in rules[Scope.PARTITION]:
        for v in r.run(pctx):
            if v.op_index is not None:
                part_hits.setdefault(v.op_index, []).append((r, v))

    # 4. Ops and their findings, in execution order.
    texts = statuses()
    placements, op_statuses, segments = part.placement, part.status, part.segment
    ops, findings = report.ops, report.findings
    no_hits: list[tuple[Rule, Violation]] = []
    work = latency.ops_work(main)  # (MACs, cycles) per op: the report's MACs, then the latency estimate
    main_ops, labels, tensors = main.subgraph.ops, main.labels, main.subgraph.tensors
    const_lists = [consts for _, consts, _, _ in main.all_tensor_lists()]  # by op index
    new = object.__new__
    for i in main.execution_order():
        op = main_ops[i]
        params = 0
        for t in const_lists[i]:  # the op's bytes of constant data
            params += t.data_size
        outputs = op.outputs
        hits = per_op.get(i, no_hits)
        more = part_hits.get(i)
        if more:
            hits = [*hits, *more]
        for r, v in hits:
            findings.append(_finding(r, v, graph=main, op=op))
        placement = placements[i]
        status_id = op_statuses[i]
        if compile_error is not None:
            placement, status_id = "cpu", ""
        # OpReport(...) without the call of its __init__ (this runs once per op): every field
        # (tests/test_perf_equivalence.py checks them).
        row = new(OpReport)
        row.subgraph = 0
        row.index = i
        row.opcode = op.type_name
        row.version = op.version
        row.name = tensors[outputs[0]].name if outputs and outputs[0] >= 0 else ""  # _op_name, inline
        row.placement = placement
        row.status = texts[status_id] if status_id else None
        row.codes = sorted({r.code for r, _ in hits}) if hits else []
        row.segment = segments.get(i) if placement == "tpu" else None
        row.inputs = labels(op.inputs)
        row.outputs = labels(outputs)
        row.macs = work[i][0]
        row.param_bytes = params
        row.custom_code = op.custom_code
        ops.append(row)
    # Ops of other subgraphs (control-flow bodies) are not compiled.
    for g in graphs[1:]:
        for op in g.subgraph.ops:
            report.ops.append(
                OpReport(
                    subgraph=g.subgraph.index,
                    index=op.index,
                    opcode=op.type_name,
                    version=op.version,
                    name=_op_name(g, op),
                    placement="cpu",
                    status=status_text("more_than_one_subgraph") if compile_error is None else None,
                    codes=["TPU502"],
                    inputs=g.labels(op.inputs),
                    outputs=g.labels(op.outputs),
                    custom_code=op.custom_code,
                )
            )

    # 5. Memory: the compiler's parameter layout and cache fill for the ops on the Edge TPU.
    tpu_ops = list(part.tpu_ops) if compile_error is None else []
    n_ops = len(main.subgraph.ops)
    params_total = _unique_param_bytes(const_lists)
    # The ops on the Edge TPU are distinct op indices: all of them when there are as many.
    tpu_param_bytes = params_total if len(tpu_ops) == n_ops else _unique_param_bytes(const_lists[i] for i in tpu_ops)
    memory = param_memory.predict(main, tpu_ops, compiler=target.compiler)
    for r in rules[Scope.MEMORY]:
        for v in r.run(MemoryContext(param_bytes_tpu=tpu_param_bytes, prediction=memory)):
            report.findings.append(_finding(r, v))

    report.summary = _summary(report, params_total, tpu_param_bytes, compile_error)
    report.summary.on_chip_param_bytes = memory.cached_bytes
    report.summary.off_chip_param_bytes = memory.streamed_bytes
    report.memory = memory_dict(memory)
    if target.num_segments > 1 and len(tpu_ops) >= target.num_segments:
        report.segments = [segment_dict(seg) for seg in param_memory.segments(main, tpu_ops, target.num_segments)]
    report.quantization = mctx.quant_mode().to_dict()
    try:  # an estimate only: a model with absurd (but valid) sizes gets none rather than an error
        report.latency_estimate = latency.estimate_for_report(main, report, work=work).to_dict() if report.ops else None
    except (OverflowError, ValueError):
        report.latency_estimate = None
    report.findings.sort(key=_finding_order)
    fill_fingerprints(report)
    return report


def _finding_order(f: Finding) -> tuple[int, int, int, str]:
    return (f.subgraph if f.subgraph is not None else -1, f.op_index if f.op_index is not None else -1, 0, f.code)


def _unique_param_bytes(const_lists: Iterable[tuple[Tensor, ...]]) -> int:
    """Bytes of constant data of some ops (their constant inputs), each buffer counted once."""
    seen: set[int] = set()
    total = 0
    for consts in const_lists:
        for t in consts:
            if t.buffer not in seen:
                seen.add(t.buffer)
                total += t.data_size
    return total


def _error_order(err_id: str, rank: int, v: Violation) -> tuple[int, int, int, int]:
    """Which compile error the compiler meets first: the prepare errors, by subgraph, node and
    check (their first rule, TPU113, also comes first of the compile-error rules by code), then the
    others in rule order (``rank``)."""
    if err_id in PREPARE_ERRORS:
        return (0, v.subgraph or 0, v.op_index or 0, int((v.extra or {}).get("precedence", 0)))
    return (1, rank, 0, 0)


def _error_text(err_id: str, model: Model, v: Violation, compiler: str) -> str:
    tmpl = error_texts()[err_id]
    name = model.path.name if model.path else "model.tflite"
    extra = v.extra or {}
    node = v.op_index if v.op_index is not None else 0
    op = extra.get("op")
    if op is None and v.op_index is not None and model.subgraphs:
        sg = model.subgraphs[v.subgraph or 0]
        if 0 <= v.op_index < len(sg.ops):
            op = sg.ops[v.op_index].type_name
    prepare = prepare_checks()
    failures = prepare["failure"]
    failure = failures.get(compiler, failures["default"])
    fields = {
        "model": name,
        "op": op or "?",
        "version": extra.get("version", "?"),
        "node": node,
        "detail": extra.get("detail", ""),
    }
    head, marker, _ = tmpl.partition("{failure}")
    if err_id == "prepare_failed" and marker:  # the ERROR lines, as many times as this compiler prints them
        prints = prepare["prints"]
        return str(head.format(**fields)) * int(prints.get(compiler, prints["default"])) + failure
    return str(tmpl.format(**fields, failure=failure))


def _summary(
    report: ModelReport, params_total: int, tpu_param_bytes: int, compile_error: tuple[str, Finding] | None
) -> Summary:
    ops0 = report.ops
    s = Summary(ops_total=len(ops0))
    segments: set[int | None] = set()
    macs_total = macs_tpu = ops_tpu = 0
    first: OpReport | None = None  # the first CPU op of subgraph 0, else of any subgraph
    for o in ops0:  # one pass: this runs once per op
        macs_total += o.macs
        if o.placement == "tpu":
            ops_tpu += 1
            macs_tpu += o.macs
            segments.add(o.segment)
        elif o.placement == "cpu" and (first is None or (o.subgraph == 0 and first.subgraph != 0)):
            first = o
    s.ops_tpu = ops_tpu
    s.ops_cpu = s.ops_total - ops_tpu
    s.tpu_subgraphs = len(segments)
    s.macs_total = macs_total
    s.macs_tpu = macs_tpu
    s.params_total = params_total
    s.params_tpu = tpu_param_bytes
    if compile_error is not None:
        s.outcome = "compile_error"
        s.compiler_error = compile_error[1].compiler_error
        s.tpu_subgraphs = 0
    elif s.ops_cpu == 0 and s.ops_total:
        s.outcome = "full"
    elif s.ops_tpu == 0:
        s.outcome = "none"
    else:
        s.outcome = "partial"
    if first is not None:
        reason = ""
        for f in report.findings:
            if f.op_index == first.index and f.subgraph == first.subgraph:
                reason = f"{f.code} {f.message}: {f.observed}"
                break
        if compile_error is not None:
            reason = f"{compile_error[1].code} {compile_error[1].message}: {compile_error[1].observed}"
        s.first_cpu_op = FirstCpuOp(
            subgraph=first.subgraph,
            index=first.index,
            opcode=first.opcode,
            name=first.name,
            status=first.status,
            codes=first.codes,
            reason=reason,
        )
    return s


def _compiled_report(
    report: ModelReport, model: Model, main: Graph, rules: dict[Scope, tuple[Rule, ...]], mctx: ModelContext
) -> ModelReport:
    """Already-compiled input: report what the real compiler did (no prediction)."""
    for r in rules[Scope.MODEL]:
        if r.code == "TPU910":
            for v in r.run(mctx):
                report.findings.append(_finding(r, v, graph=main))
    seg = 0
    for op in main.subgraph.ops:
        is_tpu = op.custom_code == "edgetpu-custom-op"
        report.ops.append(
            OpReport(
                subgraph=0,
                index=op.index,
                opcode=op.type_name,
                version=op.version,
                name=_op_name(main, op),
                placement="tpu" if is_tpu else "cpu",
                status=None,
                segment=seg if is_tpu else None,
                inputs=main.labels(op.inputs),
                outputs=main.labels(op.outputs),
                custom_code=op.custom_code,
            )
        )
        seg += int(is_tpu)
    custom = [o for o in report.ops if o.placement == "tpu"]
    cpu = [o for o in report.ops if o.placement == "cpu"]
    s = Summary(ops_total=len(report.ops), ops_tpu=len(custom), ops_cpu=len(cpu), tpu_subgraphs=len(custom))
    s.outcome = "none" if not custom else ("full" if not cpu else "partial")
    if cpu:
        f = cpu[0]
        s.first_cpu_op = FirstCpuOp(0, f.index, f.opcode, f.name, None, [], "left on the CPU by the compiler")
    from tpulint.compiler.compiled import compiled_from_model
    from tpulint.compiler.inspection import compiled_facts, decode_errors

    cm = compiled_from_model(model)
    errors = decode_errors(cm)
    if errors:
        raise ModelFormatError(f"malformed Edge TPU custom op: {errors[0]}", "TPU907")
    facts = compiled_facts(cm)
    s.on_chip_param_bytes = facts["parameters"]["cached_bytes"]
    s.off_chip_param_bytes = facts["parameters"]["streamed_bytes"]
    s.params_tpu = s.on_chip_param_bytes + s.off_chip_param_bytes
    report.summary = s
    report.compiled_info = facts
    cctx = CompiledContext(compiled=cm, target=mctx.target)
    for r in rules[Scope.COMPILED]:
        for v in r.run(cctx):
            report.findings.append(_finding(r, v, graph=main))
    fill_fingerprints(report)
    return report


def analyze_path(
    path: Path, target: Target, *, selected: set[str] | None = None, label: str | None = None
) -> ModelReport:
    """Analyse one file; read/format errors become ``ok=False`` reports, never exceptions."""

    def load() -> Model:
        if path.is_dir():  # only a directory a search could not list gets here
            raise ModelReadError(f"{path}: {_directory_error(path)}")
        return load_model(path)

    return _analyze(load, target, label or str(path), selected)


def analyze_bytes(data: bytes, target: Target, *, label: str = "-", selected: set[str] | None = None) -> ModelReport:
    """:func:`analyze_path` for a model held in memory (``tpulint check -`` reads it from standard
    input); ``label`` names it in the report and in error messages."""
    return _analyze(lambda: parse_model(data, path=Path(label)), target, label, selected)


def _analyze(load: Callable[[], Model], target: Target, shown: str, selected: set[str] | None) -> ModelReport:
    # One pause of the cyclic collector for reading, analysing and freeing the model: a model and a
    # report are many small acyclic objects (tpulint.model.gc_paused). Resumed between the read and
    # the analysis, the collector would walk every object of the model the first time it ran.
    with gc_paused():
        return _load_and_analyze(load, target, shown, selected)


def _load_and_analyze(load: Callable[[], Model], target: Target, shown: str, selected: set[str] | None) -> ModelReport:
    try:
        model = load()
    except TpulintError as exc:
        return ModelReport(
            path=shown,
            ok=False,
            error={"code": exc.code, "message": exc.message},
            runtime=target.effective_runtime,
            compiler=target.compiler,
        )
    try:
        return analyze_model(model, target, label=shown, selected=selected)
    except TpulintError as exc:
        return ModelReport(
            path=shown,
            ok=False,
            error={"code": exc.code, "message": f"{shown}: {exc.message}"},
            runtime=target.effective_runtime,
            compiler=target.compiler,
        )
    except (IndexError, KeyError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        return ModelReport(
            path=shown,
            ok=False,
            error={"code": "TPU902", "message": f"{shown}: malformed model ({type(exc).__name__}: {exc})"},
            runtime=target.effective_runtime,
            compiler=target.compiler,
        )
    finally:
        model.close()


def iter_model_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Path, bool]]:
    """Expand directories recursively to their ``*.tflite`` files. Yields (path, given_explicitly).

    See :func:`find_models` for what a search yields besides model files.
    """
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for q in find_models(p):
                yield q, False
        else:
            yield p, True


def find_models(root: Path) -> list[Path]:
    """Every ``*.tflite`` under directory ``root``, sorted, searching linked directories too.

    Directory symlinks are followed, but every real directory is searched once (by device and
    inode), so a symlink loop cannot make the search run forever and a directory linked twice is not
    reported twice. Besides model files it returns, so that they are reported rather than silently
    skipped: directories that cannot be listed (:func:`analyze_path` reports why), and ``*.tflite``
    names that are not regular files (broken or looping symlinks, named pipes, devices).
    """
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    todo = [root]
    while todo:
        directory = todo.pop()
        try:
            st = directory.stat()
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            with os.scandir(directory) as entries:
                listed = [(Path(entry.path), _entry_kind(entry)) for entry in entries]
        except OSError:
            found.append(directory)  # unreadable (or vanished): analyze_path says why
            continue
        for path, kind in listed:
            if kind == "dir":
                todo.append(path)
            elif path.name.endswith(".tflite"):
                found.append(path)
    return sorted(found)


def _entry_kind(entry: os.DirEntry[str]) -> str:
    """'dir' for a directory or a link to one, else 'other' (files, broken links, pipes...)."""
    try:
        return "dir" if entry.is_dir() else "other"
    except OSError:  # a symlink loop or a permission problem: report it as a file if it is named *.tflite
        return "other"


def _directory_error(path: Path) -> str:
    """Why a directory a search returned cannot be searched."""
    try:
        with os.scandir(path):
            pass
    except PermissionError:
        return "permission denied: cannot list this directory's files"
    except OSError as exc:
        return f"cannot list this directory ({exc.strerror})"
    return "is a directory"


def analyze_paths(
    paths: Iterable[str | os.PathLike[str]], target: Target, *, selected: set[str] | None = None
) -> Report:
    report = Report(tool_version=__version__)
    for p, _ in iter_model_paths(paths):
        report.models.append(analyze_path(p, target, selected=selected))
    return report


def cpu_count() -> int:
    """CPUs this process may use (``--jobs 0``)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return max(os.cpu_count() or 1, 1)


def analyze_many(paths: Iterable[Path], target: Target, *, jobs: int = 1) -> Iterator[ModelReport]:
    """:func:`analyze_path` for every path, in input order, using up to ``jobs`` processes (0: one per CPU).

    The reports are the same as with ``jobs=1``: each model is analysed independently, by the same
    code; only where it runs changes. With one job (or one model) nothing is started and reports
    are produced lazily, one by one.
    """
    todo = list(paths)
    workers = min(cpu_count() if jobs <= 0 else jobs, len(todo))
    if workers <= 1:
        for p in todo:
            yield analyze_path(p, target)
        return
    from concurrent.futures import ProcessPoolExecutor
    from itertools import repeat

    # Several models per task keep the inter-process traffic small; small enough chunks keep the
    # workers equally busy when model sizes differ.
    chunk = max(1, min(32, len(todo) // (4 * workers)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(analyze_path, todo, repeat(target), chunksize=chunk)
