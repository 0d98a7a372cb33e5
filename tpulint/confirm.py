"""Confirm a prediction with the real ``edgetpu_compiler`` (``tpulint compile``, ``check --confirm``).

One confirmation: run the compiler on the model (:func:`tpulint.compiler.driver.run_compiler`),
read what it printed and the compiled model it wrote, and compare that with tpulint's prediction
for the same compiler version, ``-m`` runtime and flags. The comparison is stored as the model's
``confirmation`` block (JSON report) and a difference becomes a ``TPU950`` finding.

What is compared (the compiler's table has no op indices, so both counts and op identities are
used):

* the outcome: full / partial / none (nothing mapped) / compile_error (the compiler refused);
* per (op type, status) counts, placement per op type, first CPU op type and the op types kept on
  the CPU for their own reason (:func:`tpulint.compiler.confirm.diff_counts`, on the ``-s`` table);
* the ops left on the CPU in the compiled model, matched to the input's ops by op type and output
  tensor name (as the ground-truth corpus does): the exact set and the first CPU op's index;
* the number of Edge TPU subgraphs (``edgetpu-custom-op`` count).
"""

from __future__ import annotations

import re
import tempfile
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tpulint.compiler.compiled import CompiledModel
from tpulint.compiler.confirm import Disagreement, diff_counts
from tpulint.compiler.driver import (
    DEFAULT_TIMEOUT_S,
    CompilerError,
    CompilerFailedError,
    CompilerNotFoundError,
    CompileRun,
    OutputExistsError,
    compiler_version,
    require_compiler,
    run_compiler,
)
from tpulint.compiler.inspection import cached_bytes, required_runtime, streamed_bytes
from tpulint.compiler.logparse import parse_version
from tpulint.context import COMPILER_VERSIONS, Target
from tpulint.param_memory import streams_significantly
from tpulint.report import Finding, ModelReport, OpReport

# --- the compiler and its version ------------------------------------------------------------------


@dataclass(frozen=True)
class CompilerInfo:
    """The compiler that will run, and the compiler version tpulint models it as."""

    path: Path
    version: str  # what `--version` printed, e.g. "16.0.384591198"
    modeled: str  # the version tpulint predicts for, e.g. "16.0"
    note: str | None = None  # set when `version` is not one tpulint models

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "version": self.version, "modeled_as": self.modeled, "note": self.note}


def modeled_compiler(version: str | None) -> tuple[str, str | None]:
    """The tpulint compiler version for a real ``--version`` string, and a note if it is not exact."""
    from tpulint.ruledata import default_compiler

    parsed = parse_version(version)
    key = f"{parsed[0]}.{parsed[1]}" if parsed else None
    if key in COMPILER_VERSIONS:
        return str(key), None
    fallback = default_compiler()
    known = ", ".join(COMPILER_VERSIONS)
    if parsed is None:
        return fallback, f"cannot read a version from {version!r}: predicting for compiler {fallback}"
    return fallback, f"compiler {version} is not one tpulint models ({known}): predicting for {fallback}"


def locate_compiler(explicit: str | None, *, timeout_s: float = 60.0) -> CompilerInfo:
    """Find the compiler (``--compiler``, ``$TPULINT_EDGETPU_COMPILER``, PATH) and read its version.

    Raises :class:`CompilerNotFoundError` (with where it comes from) or another CompilerError.
    """
    path = require_compiler(explicit)
    version = compiler_version(path, timeout=min(timeout_s, 60.0))
    modeled, note = modeled_compiler(version)
    return CompilerInfo(path, version, modeled, note)


# --- compiler flags <-> prediction options ----------------------------------------------------------

_SWITCHES = {
    "-a": "multiple_subgraphs",
    "--enable_multiple_subgraphs": "multiple_subgraphs",
    "-d": "search_delegate",
    "--search_delegate": "search_delegate",
}
_VALUED = {
    "-i": "intermediate_tensors",
    "--intermediate_tensors": "intermediate_tensors",
    "-k": "delegate_search_step",
    "--delegate_search_step": "delegate_search_step",
    "-n": "num_segments",
    "--num_segments": "num_segments",
    "-t": "timeout_sec",
    "--timeout_sec": "timeout_sec",
}
_SHORT_SWITCHES = {"a": "multiple_subgraphs", "d": "search_delegate", "s": "show_operations"}


@dataclass(frozen=True)
class CompilerFlags:
    """What extra compiler flags mean for the prediction."""

    multiple_subgraphs: bool = False  # -a
    intermediate_tensors: tuple[str, ...] = ()  # -i
    search_delegate: bool = False  # -d
    delegate_search_step: int = 1  # -k
    not_modeled: tuple[str, ...] = ()  # flags passed on that the prediction does not model (-n, ...)


class FlagError(ValueError):
    """An extra compiler flag tpulint cannot read (a usage error)."""


def parse_extra_flags(flags: Sequence[str]) -> CompilerFlags:
    """Read ``-a``, ``-i``, ``-d`` and ``-k`` (and bundles such as ``-sa``) from extra compiler flags."""
    values: dict[str, Any] = {}
    not_modeled: list[str] = []
    i = 0
    while i < len(flags):
        arg = flags[i]
        name, eq, inline = arg.partition("=")
        if name in _SWITCHES:
            values[_SWITCHES[name]] = True
        elif name in _VALUED:
            if eq:
                value = inline
            elif i + 1 < len(flags):
                i += 1
                value = flags[i]
            else:
                raise FlagError(f"compiler flag {name} needs a value")
            key = _VALUED[name]
            if key == "intermediate_tensors":
                values[key] = tuple(x.strip() for x in value.split(",") if x.strip())
            elif key == "delegate_search_step":
                try:
                    values[key] = int(value)
                except ValueError:
                    raise FlagError(f"compiler flag {name} needs an integer, not {value!r}") from None
            else:
                not_modeled.append(f"{name} {value}")
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and set(arg[1:]) <= set(_SHORT_SWITCHES):
            for letter in arg[1:]:
                key = _SHORT_SWITCHES[letter]
                if key != "show_operations":
                    values[key] = True
        elif arg in ("-s", "--show_operations"):
            pass  # tpulint always passes -s
        else:
            not_modeled.append(arg)
        i += 1
    return CompilerFlags(not_modeled=tuple(not_modeled), **values)


def flags_for(target: Target) -> list[str]:
    """The compiler flags that make it do what ``target`` predicts (``-m`` is passed separately)."""
    out: list[str] = []
    if target.multiple_subgraphs:
        out.append("-a")
    if target.intermediate_tensors:
        out += ["-i", ",".join(target.intermediate_tensors)]
    if target.search_delegate:
        out.append("-d")
        if target.delegate_search_step != 1:
            out += ["-k", str(target.delegate_search_step)]
    return out


# --- comparing -------------------------------------------------------------------------------------


def _outcome(ops_total: int | None, ops_tpu: int | None) -> str | None:
    if ops_total is None or ops_tpu is None:
        return None
    if ops_tpu == 0:
        return "none"
    return "full" if ops_tpu >= ops_total else "partial"


def _ops0(m: ModelReport) -> list[OpReport]:
    return [o for o in m.ops if o.subgraph == 0]


def match_cpu_ops(m: ModelReport, compiled: CompiledModel) -> tuple[list[OpReport], list[str]]:
    """Input ops (of the prediction) the compiled model left on the CPU, by op type + output name.

    Returns the matched ops in input order and a description of compiled CPU ops matching none.
    """
    pool: dict[tuple[str, str], deque[OpReport]] = {}
    for o in sorted(_ops0(m), key=lambda o: o.index):
        pool.setdefault((o.opcode, o.name), deque()).append(o)
    matched: list[OpReport] = []
    unmatched: list[str] = []
    for c in compiled.cpu_ops:
        key = (c.op, c.outputs[0] if c.outputs else "")
        bucket = pool.get(key)
        if bucket:
            matched.append(bucket.popleft())
        else:
            unmatched.append(f"#{c.index} {c.op} '{key[1]}'")
    matched.sort(key=lambda o: o.index)
    return matched, unmatched


def _op_ref(o: OpReport | None, status: str | None = None, *, predicted: bool = True) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"index": o.index, "opcode": o.opcode, "name": o.name, "status": o.status if predicted else status}


def _table_status(run: CompileRun | None, op: OpReport | None) -> str | None:
    """The compiler's status for a CPU op: its type's only non-mapped status in the table, if one."""
    if run is None or op is None:
        return None
    found = {r.status for r in run.output.operator_table if r.operator == op.log_name and not r.mapped}
    return found.pop() if len(found) == 1 else None


def _describe(ops: Sequence[OpReport], limit: int = 5) -> str:
    text = ", ".join(f"#{o.index} {o.opcode}" for o in ops[:limit])
    return text + (f" and {len(ops) - limit} more" if len(ops) > limit else "")


@dataclass
class Actual:
    """What the real compiler did, as far as its output and compiled model tell."""

    outcome: str | None
    ops_total: int | None
    ops_tpu: int | None
    ops_cpu: int | None
    tpu_subgraphs: int | None
    cpu_ops: list[OpReport] | None  # matched input ops left on the CPU (None: no compiled model)
    unmatched_cpu_ops: list[str] = field(default_factory=list)
    # From the DWN1 packages of the compiled model (None: no compiled model, or nothing mapped).
    min_runtime_version: int | None = None
    cached_bytes: int | None = None
    streamed_bytes: int | None = None

    @property
    def first_cpu_op(self) -> OpReport | None:
        return self.cpu_ops[0] if self.cpu_ops else None


def actual_result(m: ModelReport, run: CompileRun | None, failed: bool) -> Actual:
    if failed or run is None:
        return Actual("compile_error", None, None, None, 0 if failed else None, None)
    out = run.output
    cm = run.compiled_model
    cpu_ops: list[OpReport] | None = None
    unmatched: list[str] = []
    if cm is not None:
        cpu_ops, unmatched = match_cpu_ops(m, cm)
    total = sum(r.count for r in out.operator_table) if out.operator_table else out.total_ops
    tpu = out.mapped_op_count
    if total is None and cm is not None:
        total = len(_ops0(m))
    if tpu is None and total is not None and cm is not None:
        tpu = total - len(cm.cpu_ops) if cm.edgetpu_ops else 0
    cpu = total - tpu if total is not None and tpu is not None else None
    subgraphs = cm.edgetpu_custom_op_count if cm is not None else out.edgetpu_subgraphs
    actual = Actual(_outcome(total, tpu), total, tpu, cpu, subgraphs, cpu_ops, unmatched)
    if cm is not None and cm.is_compiled:
        actual.min_runtime_version = required_runtime(cm)
        actual.cached_bytes, actual.streamed_bytes = cached_bytes(cm), streamed_bytes(cm)
    return actual


_REFUSED_NODE = re.compile(r"Node number (\d+) \((.+?)\) failed to prepare")


def refused_node(lines: Sequence[str]) -> tuple[int, str] | None:
    """(node, op) of the first ``Node number N (OP) failed to prepare`` line: where the
    compiler's TFLite stopped, or None."""
    for line in lines:
        found = _REFUSED_NODE.search(line)
        if found:
            return int(found.group(1)), found.group(2)
    return None


def _compare_refused_nodes(predicted_error: str, actual_error: Sequence[str]) -> list[Disagreement]:
    """Both sides failed: when the compiler's TFLite refused a node, did tpulint predict that node?"""
    actual = refused_node(actual_error)
    if actual is None:
        return []
    predicted = refused_node(predicted_error.splitlines())
    if predicted == actual:
        return []
    said = f"node {predicted[0]} ({predicted[1]})" if predicted is not None else "another error"
    got = f"node {actual[0]} ({actual[1]})"
    message = (
        f"predicted the compiler's TFLite to refuse {said}, it refused {got}"
        if predicted is not None
        else f"predicted another compile error, the compiler's TFLite refused {got}"
    )
    return [Disagreement("compile_error", actual[1], None, said, got, message)]


def compare(
    m: ModelReport, run: CompileRun | None, actual: Actual, *, package_runtime: int | None = None
) -> list[Disagreement]:
    """Every difference between the prediction ``m`` and the compiler's result (``package_runtime``:
    the ``min_runtime_version`` the target's compiler and ``-m`` write into the package)."""
    s = m.summary
    out: list[Disagreement] = []
    if s.outcome != actual.outcome and actual.outcome is not None:
        out.append(
            Disagreement(
                "outcome",
                None,
                None,
                s.outcome,
                actual.outcome,
                f"predicted outcome {s.outcome}, the compiler's was {actual.outcome}",
            )
        )
    if s.outcome == actual.outcome == "compile_error" and run is not None:
        out.extend(_compare_refused_nodes(s.compiler_error or "", run.output.error_text))
    if s.outcome == "compile_error" or actual.outcome == "compile_error" or run is None:
        return out  # no per-op result to compare on one side
    predicted_pairs = [(o.log_name, o.status) for o in _ops0(m) if o.status is not None]
    table = run.output.operator_table
    if table:
        out.extend(diff_counts(predicted_pairs, table))
    kinds = {d.kind for d in out}
    stamp = package_runtime
    refused = " (a device with the target runtime would refuse it)"
    if stamp is not None and actual.min_runtime_version is not None and actual.min_runtime_version != stamp:
        out.append(
            Disagreement(
                "runtime",
                None,
                None,
                stamp,
                actual.min_runtime_version,
                f"predicted a package for Edge TPU runtime {stamp}, the compiled package requires runtime "
                f"{actual.min_runtime_version}"
                + (refused if actual.min_runtime_version > m.runtime else ""),
            )
        )
    if actual.streamed_bytes is not None and actual.cached_bytes is not None:
        a_total = actual.cached_bytes + actual.streamed_bytes
        p_total = s.on_chip_param_bytes + s.off_chip_param_bytes
        a_streams = streams_significantly(actual.streamed_bytes, a_total)
        p_streams = streams_significantly(s.off_chip_param_bytes, p_total)
        if a_streams != p_streams:
            out.append(
                Disagreement(
                    "parameter_streaming",
                    None,
                    None,
                    s.off_chip_param_bytes,
                    actual.streamed_bytes,
                    f"predicted {s.off_chip_param_bytes:,} of {p_total:,} parameter bytes streamed, the compiled "
                    f"model streams {actual.streamed_bytes:,} of {a_total:,}",
                )
            )
    if actual.tpu_subgraphs is not None and actual.tpu_subgraphs != s.tpu_subgraphs:
        out.append(
            Disagreement(
                "tpu_subgraphs",
                None,
                None,
                s.tpu_subgraphs,
                actual.tpu_subgraphs,
                f"predicted {s.tpu_subgraphs} Edge TPU subgraph(s), the compiled model has {actual.tpu_subgraphs}",
            )
        )
    if actual.cpu_ops is not None:
        predicted_cpu = [o for o in _ops0(m) if o.placement == "cpu"]
        p_idx = {o.index for o in predicted_cpu}
        a_idx = {o.index for o in actual.cpu_ops}
        if p_idx != a_idx:
            only_p = sorted((o for o in predicted_cpu if o.index not in a_idx), key=lambda o: o.index)
            only_a = [o for o in actual.cpu_ops if o.index not in p_idx]
            parts = []
            if only_p:
                parts.append(f"predicted on the CPU but mapped: {_describe(only_p)}")
            if only_a:
                parts.append(f"left on the CPU but predicted mapped: {_describe(only_a)}")
            out.append(
                Disagreement(
                    "cpu_op_set",
                    None,
                    None,
                    ",".join(str(i) for i in sorted(p_idx)) or "none",
                    ",".join(str(i) for i in sorted(a_idx)) or "none",
                    "; ".join(parts),
                )
            )
        p_first = min(predicted_cpu, key=lambda o: o.index) if predicted_cpu else None
        a_first = actual.first_cpu_op
        p_key = (p_first.index, p_first.opcode) if p_first else None
        a_key = (a_first.index, a_first.opcode) if a_first else None
        if p_key != a_key and "first_cpu_op" not in kinds:
            p_text = f"#{p_first.index} {p_first.opcode}" if p_first else "none"
            a_text = f"#{a_first.index} {a_first.opcode}" if a_first else "none"
            out.append(
                Disagreement(
                    "first_cpu_op",
                    p_first.opcode if p_first else None,
                    None,
                    p_text,
                    a_text,
                    f"predicted first CPU op {p_text}, the compiled model's is {a_text}",
                )
            )
    return out


# --- one confirmation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmSettings:
    """How to run the compiler for a confirmation."""

    compiler: CompilerInfo
    runtime: int | None = None  # -m; None: the compiler's default
    extra_flags: tuple[str, ...] = ()
    out_dir: Path | None = None
    write_beside: bool = False
    force: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S


@dataclass
class Confirmation:
    """The result of confirming one model; ``to_dict()`` is the JSON ``confirmation`` block."""

    status: str  # match | mismatch | error | skipped
    settings: ConfirmSettings
    target: Target
    run: CompileRun | None = None
    error: CompilerError | None = None  # the compiler failed (refused the model, crashed, ...)
    refused: bool = False  # the error is the compiler refusing the model (TPU934)
    actual: Actual | None = None
    disagreements: list[Disagreement] = field(default_factory=list)
    output_dir: Path | None = None
    output_dir_temporary: bool = False
    note: str | None = None
    bench: dict[str, Any] | None = None

    @property
    def mismatch(self) -> bool:
        return self.status == "mismatch"

    def to_dict(self, m: ModelReport) -> dict[str, Any]:
        s = m.summary
        cpu_ops = sorted((o for o in _ops0(m) if o.placement == "cpu"), key=lambda o: o.index)
        predicted = {
            "compiler": self.target.compiler,
            "runtime": self.target.effective_runtime,
            "outcome": s.outcome,
            "ops_total": s.ops_total,
            "ops_tpu": s.ops_tpu,
            "ops_cpu": s.ops_cpu,
            "tpu_subgraphs": s.tpu_subgraphs,
            "first_cpu_op": _op_ref(cpu_ops[0] if cpu_ops else None),
            "cpu_op_indices": [o.index for o in cpu_ops],
            "on_chip_param_bytes": s.on_chip_param_bytes,
            "off_chip_param_bytes": s.off_chip_param_bytes,
            "package_runtime": self.target.package_runtime,
        }
        run = self.run
        written = run is not None and bool(run.compiled_paths or run.log_paths)
        a = self.actual
        actual: dict[str, Any] | None = None
        if a is not None:
            actual = {
                "outcome": a.outcome,
                "ops_total": a.ops_total,
                "ops_tpu": a.ops_tpu,
                "ops_cpu": a.ops_cpu,
                "tpu_subgraphs": a.tpu_subgraphs,
                "first_cpu_op": _op_ref(a.first_cpu_op, _table_status(run, a.first_cpu_op), predicted=False),
                "cpu_op_indices": [o.index for o in a.cpu_ops] if a.cpu_ops is not None else None,
                "unmatched_cpu_ops": a.unmatched_cpu_ops,
                "min_runtime_version": a.min_runtime_version,
                "cached_param_bytes": a.cached_bytes,
                "streamed_param_bytes": a.streamed_bytes,
            }
        compiler_block: dict[str, Any] | None = None
        if run is not None:
            o = run.output
            compiler_block = {
                "success": o.success,
                "exit_code": run.exit_code,
                "duration_s": round(run.duration_s, 3),
                "command": list(run.command),
                "runtime_flag": run.runtime,
                "error_kind": o.error_kind,
                "error_text": list(o.error_text),
                "console": run.console,  # stdout + stderr as printed: nothing is lost on a failure
                "compile_ms": o.compile_ms,
                "input_size": o.input_size,
                "output_size": o.output_size,
                "on_chip_memory_available": o.on_chip_available,
                "on_chip_memory_used": o.on_chip_used,
                "on_chip_memory_remaining": o.on_chip_remaining,
                "off_chip_memory_used": o.off_chip_used,
                "edgetpu_subgraphs": o.edgetpu_subgraphs,
                "total_ops": o.total_ops,
                "ops_on_tpu": o.ops_on_tpu,
                "ops_on_cpu": o.ops_on_cpu,
                "operator_table": [
                    {"operator": r.operator, "count": r.count, "status": r.status} for r in o.operator_table
                ],
                "delegate_search": [
                    {"segment_ops": t.segment_ops, "succeeded": t.succeeded, "error_kind": t.error_kind}
                    for t in o.delegate_search
                ],
                "compiled_models": [
                    {
                        "path": str(c.path) if c.path else None,
                        "edgetpu_custom_ops": c.edgetpu_custom_op_count,
                        "cpu_ops": [{"index": x.index, "op": x.op, "outputs": list(x.outputs)} for x in c.cpu_ops],
                        "min_runtime_versions": list(c.min_runtime_versions),
                    }
                    for c in run.compiled
                ],
            }
        return {
            "status": self.status,
            "compiler": self.settings.compiler.to_dict(),
            "flags": list(self.settings.extra_flags),
            "predicted": predicted,
            "actual": actual,
            "run": compiler_block,
            "disagreements": [
                {
                    "kind": d.kind,
                    "op_type": d.op_type,
                    "status": d.status,
                    "predicted": d.predicted,
                    "actual": d.actual,
                    "message": d.message,
                }
                for d in self.disagreements
            ],
            "outputs": {  # dir: where the outputs are (null when the compiler wrote none)
                "dir": str(self.output_dir) if self.output_dir and written else None,
                "temporary": self.output_dir_temporary and written,
                "compiled_models": [str(p) for p in run.compiled_paths] if run else [],
                "logs": [str(p) for p in run.log_paths] if run else [],
            },
            "error": {"code": self.error.code, "message": str(self.error)} if self.error is not None else None,
            "note": self.note,
            "bench": self.bench,
        }


def _mismatch_finding(c: Confirmation) -> Finding | None:
    from tpulint.checks.confirmation import ConfirmContext
    from tpulint.registry import get_rule
    from tpulint.ruledata import message_for

    rule = get_rule("TPU950")
    assert rule is not None
    ctx = ConfirmContext(c.settings.compiler.version, c.target.compiler, c.disagreements)
    for v in rule.run(ctx):
        msg, fix = message_for(rule.code)
        return Finding(
            code=rule.code,
            name=rule.name,
            severity=rule.severity.value,
            message=v.message or msg,
            observed=v.observed,
            fix=fix,
        )
    return None


def confirm_model(
    m: ModelReport, target: Target, settings: ConfirmSettings, *, model_path: Path, temporary: bool = False
) -> Confirmation:
    """Compile ``model_path`` and compare with the prediction ``m`` (made for ``target``).

    Sets ``m.confirmation`` and adds a TPU950 finding on a mismatch. A compiler that refuses the
    model is a result (compared with a predicted ``compile_error``); a compiler that crashes,
    times out or prints something unreadable, or an existing output without ``force``, makes the
    status ``error``. :class:`CompilerNotFoundError` and usage errors propagate.
    """
    c = Confirmation("skipped", settings, target, output_dir=settings.out_dir, output_dir_temporary=temporary)
    if settings.out_dir is None and settings.write_beside:
        c.output_dir = model_path.parent
    if target.compiler != settings.compiler.modeled:
        c.note = (
            f"the prediction is for compiler {target.compiler}, but the compiler that ran is "
            f"{settings.compiler.version}: differences are expected"
        )
    if not m.ok:
        c.note = "the model could not be read, so there is no prediction to confirm"
    elif m.compiled:
        c.note = "the input is already compiled for the Edge TPU: nothing to confirm"
    else:
        _run_and_compare(c, m, target, settings, model_path)
    m.confirmation = c.to_dict(m)
    finding = _mismatch_finding(c) if c.mismatch else None
    if finding is not None:
        from tpulint.baseline import fill_fingerprints

        m.findings.append(finding)
        fill_fingerprints(m)
    return c


def _run_and_compare(c: Confirmation, m: ModelReport, target: Target, settings: ConfirmSettings, path: Path) -> None:
    try:
        c.run = run_compiler(
            path,
            compiler=settings.compiler.path,
            runtime=settings.runtime,
            out_dir=settings.out_dir,
            timeout_s=settings.timeout_s,
            extra_flags=settings.extra_flags,
            force=settings.force,
            write_beside=settings.write_beside,
            version=settings.compiler.version,
        )
    except CompilerNotFoundError:
        raise
    except CompilerFailedError as exc:  # the compiler refused the model: that is a result
        c.error, c.run, c.refused = exc, exc.run, True
    except CompilerError as exc:  # timeout, crash, unreadable output, existing output
        c.error, c.run = exc, exc.run
        c.status = "error"
        return
    if c.run is not None and c.output_dir is None:
        c.output_dir = c.run.temp_dir if c.run.temp_dir_kept else None
        c.output_dir_temporary = c.output_dir is not None
    c.actual = actual_result(m, c.run, c.refused)
    c.disagreements = compare(m, c.run, c.actual, package_runtime=target.package_runtime)
    c.status = "mismatch" if c.disagreements else "match"


# --- where outputs go ------------------------------------------------------------------------------


class OutputPlan:
    """Chooses each model's output directory: ``--out-dir``, beside the model, or one temp dir."""

    def __init__(self, out_dir: Path | None, write_beside: bool, prefix: str = "tpulint-compile-") -> None:
        self.out_dir = out_dir
        self.write_beside = write_beside
        self.prefix = prefix
        self.temp_root: Path | None = None
        self._seen: dict[str, int] = {}

    @property
    def temporary(self) -> bool:
        return self.out_dir is None and not self.write_beside

    def dir_for(self, model: Path) -> Path | None:
        """The ``out_dir`` to pass to the driver (None: beside the model)."""
        if self.out_dir is not None:
            return self.out_dir
        if self.write_beside:
            return None
        if self.temp_root is None:
            self.temp_root = Path(tempfile.mkdtemp(prefix=self.prefix))
        stem = model.name[: -len(".tflite")] if model.name.endswith(".tflite") else model.stem
        n = self._seen[stem] = self._seen.get(stem, 0) + 1
        return self.temp_root if n == 1 else self.temp_root / str(n)  # same name again: a subdirectory


__all__ = [
    "Actual",
    "CompilerFlags",
    "CompilerInfo",
    "ConfirmSettings",
    "Confirmation",
    "FlagError",
    "OutputExistsError",
    "OutputPlan",
    "actual_result",
    "compare",
    "confirm_model",
    "flags_for",
    "locate_compiler",
    "match_cpu_ops",
    "modeled_compiler",
    "parse_extra_flags",
]
