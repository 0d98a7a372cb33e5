"""Parse what the real ``edgetpu_compiler`` prints and the ``*_edgetpu.log`` file it writes.

Formats handled (all from real output, see ``docs``/``edgetpu_rules.md`` §2.2–2.6):

* compiler 1.0/2.0: no timer line; 2.0 prints ``On-chip memory available …`` before ``used``;
* 2.1, 14.1, 15.0: ``On-chip memory remaining …``; no timer / child-process lines; 14.1 wraps the
  "not all operations are supported" paragraph over several lines;
* 16.0: ``Started a compilation timeout timer of N seconds.``, ``Compilation child process
  completed within timeout period.`` and ``Compilation succeeded!`` / ``Compilation failed!``;
  with ``-d`` one compilation attempt per ``Try to compile segment with N ops`` (each possibly
  followed by ``Intermediate tensors: …``); with ``-n`` one summary block per segment;
* hard errors: ``Invalid model`` / ``Model not quantized``, ``Didn't find op for builtin opcode``
  / ``Model could not be parsed``, ``Model failed in Tflite interpreter``, ``large activation
  tensors``, ``Internal compiler error. Aborting!``, an uncaught C++ exception, ``Compilation
  timeout.``, a bare ``Compilation failed!``, and output that is only the version line.

Nothing here raises on unexpected text: lines that match no known pattern are kept in
``unrecognized_lines`` and, when nothing tells success from failure, ``error_kind`` is
``"unparseable"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

ErrorKind = Literal[
    "not_quantized",
    "invalid_model",
    "unparsed_op_version",
    "tflite_interpreter",
    "large_activations",
    "compiler_timeout",
    "internal_error",
    "silent_failure",
    "version_only",
    "unparseable",
]

MAPPED = "Mapped to Edge TPU"
TAIL = "More than one subgraph is not supported"

#: Per-op status strings seen in real logs (edgetpu_rules.md §2.4 and the corpus logs).
KNOWN_STATUSES: tuple[str, ...] = (
    MAPPED,
    TAIL,
    "Operation is otherwise supported, but not mapped due to some unspecified limitation",
    "Operation is working on an unsupported data type",
    "Tensor has unsupported rank (up to 3 innermost dimensions mapped)",
    "Operation version not supported",
    "Operation not supported",
    "Image-interpolation layer won't run precisely enough on Edge TPU",
    # Verbatim from a real 16.0 log (corpus case redax_rf_gemm_64_16_2_1, two SPLIT ops).
    "For example, a fully-connected or softmax layer with 2D output",
)

_UNITS = {
    "": 1,
    "B": 1,
    "K": 1024,
    "KB": 1024,
    "KIB": 1024,
    "M": 1024**2,
    "MB": 1024**2,
    "MIB": 1024**2,
    "G": 1024**3,
    "GB": 1024**3,
    "GIB": 1024**3,
}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMG]?I?B?)\s*$", re.IGNORECASE)


def parse_size(text: str | None) -> int | None:
    """``"6.89MiB"`` → bytes (int). The compiler prints two decimals, so the value is rounded."""
    if text is None:
        return None
    m = _SIZE.match(text)
    if m is None:
        return None
    unit = m.group(2).upper()
    if unit not in _UNITS:
        return None
    return round(float(m.group(1)) * _UNITS[unit])


def parse_version(version: str | None) -> tuple[int, int] | None:
    """``"16.0.384591198"`` → ``(16, 0)``; ``None`` for anything else (e.g. the redacted ``"cl/"``)."""
    if not version:
        return None
    m = re.match(r"^(\d+)\.(\d+)(?:\.|$)", version.strip())
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class OperatorRow:
    """One row of the per-op table: the compiler groups ops by (type, status)."""

    operator: str
    count: int
    status: str

    @property
    def mapped(self) -> bool:
        return self.status == MAPPED


@dataclass(frozen=True)
class UnparsedOp:
    """``Didn't find op for builtin opcode 'OP' version 'N'`` (op version too new for the compiler)."""

    op: str
    version: int


@dataclass(frozen=True)
class SearchAttempt:
    """One ``-d`` delegate-search try: ``Try to compile segment with N ops``."""

    segment_ops: int
    intermediate_tensors: tuple[str, ...]
    succeeded: bool | None  # None when the output ends before the attempt's outcome
    error_kind: ErrorKind | None


@dataclass(frozen=True)
class CompileSummary:
    """The block printed after ``Model compiled successfully`` (one per ``-n`` segment)."""

    compile_ms: int | None = None
    input_model: str | None = None
    input_size: int | None = None
    output_model: str | None = None
    output_size: int | None = None
    on_chip_available: int | None = None  # compiler 2.0 only
    on_chip_used: int | None = None
    on_chip_remaining: int | None = None  # 2.1 and later
    off_chip_used: int | None = None
    edgetpu_subgraphs: int | None = None
    total_ops: int | None = None
    operation_log: str | None = None
    partial: bool = False
    ops_on_tpu: int | None = None
    ops_on_cpu: int | None = None
    operator_table: tuple[OperatorRow, ...] = ()


@dataclass(frozen=True)
class LogFile:
    """The ``*_edgetpu.log`` file: version, ``Input:``, ``Output:`` and the operator table."""

    compiler_version: str | None
    input_model: str | None
    output_model: str | None
    operator_table: tuple[OperatorRow, ...]
    unrecognized_lines: tuple[str, ...]

    @property
    def mapped_op_count(self) -> int:
        return sum(r.count for r in self.operator_table if r.mapped)

    @property
    def total_op_count(self) -> int:
        return sum(r.count for r in self.operator_table)


@dataclass(frozen=True)
class CompilerOutput:
    """Everything the compiler said. Summary fields come from the last summary block."""

    text: str
    compiler_version: str | None
    version: tuple[int, int] | None
    success: bool
    error_kind: ErrorKind | None
    error_text: tuple[str, ...]
    compile_ms: int | None = None
    input_model: str | None = None
    output_model: str | None = None
    input_size: int | None = None
    output_size: int | None = None
    on_chip_available: int | None = None
    on_chip_used: int | None = None
    on_chip_remaining: int | None = None
    off_chip_used: int | None = None
    edgetpu_subgraphs: int | None = None
    total_ops: int | None = None
    ops_on_tpu: int | None = None
    ops_on_cpu: int | None = None
    partial: bool = False
    operation_log: str | None = None
    operator_table: tuple[OperatorRow, ...] = ()
    delegate_search_step: int | None = None
    delegate_search: tuple[SearchAttempt, ...] = ()
    timeout_timer_s: int | None = None
    unparsed_ops: tuple[UnparsedOp, ...] = ()
    summaries: tuple[CompileSummary, ...] = ()
    log: LogFile | None = None
    truncated: bool = False
    unrecognized_lines: tuple[str, ...] = field(default=())

    @property
    def nothing_mapped(self) -> bool:
        """Compiled "successfully" but no Edge TPU subgraph (all three memory lines read 0.00B)."""
        return self.success and self.edgetpu_subgraphs == 0

    @property
    def mapped_op_count(self) -> int | None:
        """Ops mapped to the Edge TPU: the table's "Mapped" rows, else the summary line."""
        if self.operator_table:
            return sum(r.count for r in self.operator_table if r.mapped)
        if self.ops_on_tpu is not None:
            return self.ops_on_tpu
        if self.success and self.total_ops is not None and self.edgetpu_subgraphs == 0:
            return 0
        return None


# --- line patterns ---------------------------------------------------------------------------

_VERSION = re.compile(r"^Edge TPU Compiler version (\S+)")
_SEARCH = re.compile(r"^Searching for valid delegate with step (\d+)")
_TRY = re.compile(r"^Try to compile segment with (\d+) ops")
_INTERMEDIATE = re.compile(r"^Intermediate tensors:\s*(.*)$")
_TIMER = re.compile(r"^Started a compilation timeout timer of (\d+) seconds")
_COMPILED = re.compile(r"^Model compiled successfully in (\d+) ms")
_FIELDS: dict[str, re.Pattern[str]] = {
    "input_model": re.compile(r"^Input model:\s*(.*?)\s*$"),
    "input_size": re.compile(r"^Input size:\s*(.*?)\s*$"),
    "output_model": re.compile(r"^Output model:\s*(.*?)\s*$"),
    "output_size": re.compile(r"^Output size:\s*(.*?)\s*$"),
    "on_chip_available": re.compile(r"^On-chip memory available for caching model parameters:\s*(.*?)\s*$"),
    "on_chip_used": re.compile(r"^On-chip memory used for caching model parameters:\s*(.*?)\s*$"),
    "on_chip_remaining": re.compile(r"^On-chip memory remaining for caching model parameters:\s*(.*?)\s*$"),
    "off_chip_used": re.compile(r"^Off-chip memory used for streaming uncached model parameters:\s*(.*?)\s*$"),
    "edgetpu_subgraphs": re.compile(r"^Number of Edge TPU subgraphs:\s*(\d+)"),
    "total_ops": re.compile(r"^Total number of operations:\s*(\d+)"),
    "operation_log": re.compile(r"^Operation log:\s*(.*?)\s*$"),
    "ops_on_tpu": re.compile(r"^Number of operations that will run on Edge TPU:\s*(\d+)"),
    "ops_on_cpu": re.compile(r"^Number of operations that will run on CPU:\s*(\d+)"),
}
_SIZE_FIELDS = {"input_size", "output_size", "on_chip_available", "on_chip_used", "on_chip_remaining", "off_chip_used"}
# Summary lines that prove a compile finished even when "Model compiled successfully" was cut off.
_SUMMARY_PROOF = {"output_model", "edgetpu_subgraphs", "total_ops"}
_INT_FIELDS = {"edgetpu_subgraphs", "total_ops", "ops_on_tpu", "ops_on_cpu"}
_PARTIAL = re.compile(r"^Model successfully compiled but not all operations are supported")
_SEE_LOG = re.compile(r"^See the operation log file for individual operation details")
_TABLE_HEADER = re.compile(r"^Operator\s+Count\s+Status\s*$")
_CHILD_DONE = re.compile(r"^Compilation child process completed within timeout period")
_SUCCEEDED = re.compile(r"^Compilation succeeded!")
_FAILED_BANG = re.compile(r"^Compilation failed!")
_FAILED_REASON = re.compile(r"^Compilation failed:\s*(.*)$")
_INTERNAL = re.compile(r"^Internal compiler error\. Aborting!")
_INVALID = re.compile(r"^Invalid model:\s*(.*)$")
_NOT_QUANT = re.compile(r"^Model not quantized")
_NOT_PARSED = re.compile(r"^Model could not be parsed")
_ERROR = re.compile(r"^ERROR:\s*(.*)$")
_DIDNT_FIND = re.compile(r"Didn't find op for builtin opcode '([^']+)' version '(\d+)'")
_COMPILER_TIMEOUT = re.compile(r"^Compilation timeout\.")
_CXX_ABORT = re.compile(r"terminating with uncaught exception|^terminate called")
_ROW = re.compile(r"^(?P<op>\S(?:.*?\S)?)\s{2,}(?P<count>\d+)\s+(?P<status>\S.*?)\s*$")
_ROW_1SPACE = re.compile(r"^(?P<op>\S+)\s+(?P<count>\d+)\s+(?P<status>\S.*?)\s*$")
_LOG_INPUT = re.compile(r"^Input:\s*(.*?)\s*$")
_LOG_OUTPUT = re.compile(r"^Output:\s*(.*?)\s*$")


def parse_table_row(line: str) -> OperatorRow | None:
    """One ``Operator  Count  Status`` row; robust to column widths (31/11 chars in real logs)."""
    s = line.rstrip()
    for pattern in (_ROW, _ROW_1SPACE):
        m = pattern.match(s)
        if m is not None:
            return OperatorRow(m.group("op"), int(m.group("count")), m.group("status"))
    # An operator name of 31+ characters runs straight into the count: split on a known status.
    for status in KNOWN_STATUSES:
        if s.endswith(status):
            head = s[: -len(status)].rstrip()
            m = re.match(r"^(?P<op>\S.*?)\s*(?P<count>\d+)$", head)
            if m is not None:
                return OperatorRow(m.group("op"), int(m.group("count")), status)
    return None


def _lines(text: str) -> list[str]:
    return [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def parse_log_file(text: str) -> LogFile:
    """Parse a ``*_edgetpu.log`` file (never raises)."""
    version = input_model = output_model = None
    rows: list[OperatorRow] = []
    unknown: list[str] = []
    in_table = False
    for line in _lines(text):
        stripped = line.strip()
        if not stripped:
            continue
        if (m := _VERSION.match(stripped)) is not None:
            version = m.group(1)
        elif (m := _LOG_INPUT.match(stripped)) is not None:
            input_model = m.group(1)
        elif (m := _LOG_OUTPUT.match(stripped)) is not None:
            output_model = m.group(1)
        elif _TABLE_HEADER.match(stripped):
            in_table = True
        elif in_table and (row := parse_table_row(stripped)) is not None:
            rows.append(row)
        else:
            unknown.append(line)
    return LogFile(version, input_model, output_model, tuple(rows), tuple(unknown))


# --- console -----------------------------------------------------------------------------------

_KIND_PRIORITY: tuple[ErrorKind, ...] = (
    "unparsed_op_version",
    "not_quantized",
    "invalid_model",
    "large_activations",
    "compiler_timeout",
    "tflite_interpreter",
    "internal_error",
    "unparseable",
    "silent_failure",
)


@dataclass
class _Attempt:
    """One compilation inside a console capture (one per -d try or -n segment)."""

    segment_ops: int | None = None
    intermediate: tuple[str, ...] = ()
    outcome: bool | None = None
    kinds: set[ErrorKind] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    summary: dict[str, object] | None = None
    table: list[OperatorRow] = field(default_factory=list)
    started: bool = False  # saw a timer / try / compiled line

    def fail(self, line: str, kind: ErrorKind | None) -> None:
        self.outcome = False
        self.errors.append(line)
        if kind is not None:
            self.kinds.add(kind)

    @property
    def kind(self) -> ErrorKind | None:
        if self.outcome is not False:
            return None
        for k in _KIND_PRIORITY:
            if k in self.kinds:
                return k
        return "silent_failure"


def _classify_reason(reason: str) -> ErrorKind:
    low = reason.lower()
    if "large activation" in low:
        return "large_activations"
    if "tflite interpreter" in low:
        return "tflite_interpreter"
    if "not quantized" in low:
        return "not_quantized"
    return "unparseable"


def _summary_of(attempt: _Attempt) -> CompileSummary:
    s = attempt.summary or {}
    return CompileSummary(
        compile_ms=_int_or_none(s.get("compile_ms")),
        input_model=_str_or_none(s.get("input_model")),
        input_size=_int_or_none(s.get("input_size")),
        output_model=_str_or_none(s.get("output_model")),
        output_size=_int_or_none(s.get("output_size")),
        on_chip_available=_int_or_none(s.get("on_chip_available")),
        on_chip_used=_int_or_none(s.get("on_chip_used")),
        on_chip_remaining=_int_or_none(s.get("on_chip_remaining")),
        off_chip_used=_int_or_none(s.get("off_chip_used")),
        edgetpu_subgraphs=_int_or_none(s.get("edgetpu_subgraphs")),
        total_ops=_int_or_none(s.get("total_ops")),
        operation_log=_str_or_none(s.get("operation_log")),
        partial=bool(s.get("partial")) or (_int_or_none(s.get("ops_on_cpu")) or 0) > 0,
        ops_on_tpu=_int_or_none(s.get("ops_on_tpu")),
        ops_on_cpu=_int_or_none(s.get("ops_on_cpu")),
        operator_table=tuple(attempt.table),
    )


def _int_or_none(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _str_or_none(v: object) -> str | None:
    return v if isinstance(v, str) else None


class _ConsoleParser:
    def __init__(self) -> None:
        self.version: str | None = None
        self.search_step: int | None = None
        self.timer: int | None = None
        self.attempts: list[_Attempt] = [_Attempt()]
        self.unparsed: list[UnparsedOp] = []
        self.unknown: list[str] = []
        self.in_table = False
        self.in_partial_paragraph = False

    @property
    def cur(self) -> _Attempt:
        return self.attempts[-1]

    def _new_attempt_if_done(self) -> None:
        if self.cur.outcome is not None or self.cur.summary is not None:
            self.attempts.append(_Attempt())

    def feed(self, lines: Iterable[str]) -> None:
        for raw in lines:
            self._line(raw)

    def _line(self, raw: str) -> None:
        line = raw.strip()
        if not line:
            self.in_partial_paragraph = False
            return
        if self.in_table:
            row = parse_table_row(line)
            if row is not None and not _is_known_line(line):
                self.cur.table.append(row)
                return
            self.in_table = False
        if (m := _VERSION.match(line)) is not None:
            self.version = m.group(1)
            return
        if (m := _SEARCH.match(line)) is not None:
            self.search_step = int(m.group(1))
            return
        if (m := _TRY.match(line)) is not None:
            if self.cur.started or self.cur.outcome is not None or self.cur.summary is not None:
                self.attempts.append(_Attempt())
            self.cur.segment_ops = int(m.group(1))
            self.cur.started = True
            return
        if (m := _INTERMEDIATE.match(line)) is not None:
            self.cur.intermediate = tuple(t for t in m.group(1).split(",") if t)
            return
        if (m := _TIMER.match(line)) is not None:
            self.timer = int(m.group(1))
            if self.cur.outcome is not None or self.cur.summary is not None:
                self.attempts.append(_Attempt())
            self.cur.started = True
            return
        if (m := _COMPILED.match(line)) is not None:
            self._new_attempt_if_done()
            self.cur.started = True
            self.cur.outcome = True
            self.cur.summary = {"compile_ms": int(m.group(1))}
            return
        for name, pattern in _FIELDS.items():
            if (m := pattern.match(line)) is not None:
                self._summary_field(name, m.group(1))
                return
        if _PARTIAL.match(line):
            self._summary_field("partial", "1")
            self.in_partial_paragraph = True
            return
        if _SEE_LOG.match(line):
            return
        if _TABLE_HEADER.match(line):
            self.in_table = True
            if self.cur.summary is None and self.cur.outcome is None:
                self.cur.summary = {}
            return
        if _CHILD_DONE.match(line):
            return
        if _SUCCEEDED.match(line):
            if self.cur.outcome is None:
                self.cur.outcome = True
            return
        if _FAILED_BANG.match(line):
            if self.cur.summary is not None and self.cur.outcome:
                # A summary is never followed by failure within one attempt: new segment.
                self.attempts.append(_Attempt())
            self.cur.fail(line, None)
            return
        if (m := _FAILED_REASON.match(line)) is not None:
            self.cur.fail(line, _classify_reason(m.group(1)))
            return
        if _INTERNAL.match(line) or _CXX_ABORT.search(line):
            self.cur.fail(line, "internal_error")
            return
        if _COMPILER_TIMEOUT.match(line):
            self.cur.fail(line, "compiler_timeout")
            return
        if _INVALID.match(line):
            self.cur.fail(line, "invalid_model")
            return
        if _NOT_QUANT.match(line):
            self.cur.fail(line, "not_quantized")
            return
        if _NOT_PARSED.match(line):
            self.cur.fail(line, "invalid_model")
            return
        if _ERROR.match(line) is not None:
            if (d := _DIDNT_FIND.search(line)) is not None:
                self.unparsed.append(UnparsedOp(d.group(1), int(d.group(2))))
                self.cur.fail(line, "unparsed_op_version")
            else:  # context for the failure line that follows ("Compilation failed: …")
                self.cur.errors.append(line)
            return
        if self.in_partial_paragraph:
            return  # 14.1 wraps the "not all operations are supported" sentence over lines
        self.unknown.append(raw.rstrip())

    def _summary_field(self, name: str, value: str) -> None:
        if self.cur.summary is None:
            if self.cur.outcome is False:
                self.attempts.append(_Attempt())
            self.cur.summary = {}
        if name in self.cur.summary and name != "partial":
            # The same field twice: a new segment's summary began without "Model compiled".
            self.attempts.append(_Attempt(summary={}))
        target = self.cur.summary
        assert target is not None
        if name in _SIZE_FIELDS:
            target[name] = parse_size(value)
        elif name in _INT_FIELDS:
            target[name] = int(value)
        elif name == "partial":
            target[name] = True
        else:
            target[name] = value


def _is_known_line(line: str) -> bool:
    return any(
        p.match(line) for p in (_CHILD_DONE, _SUCCEEDED, _FAILED_BANG, _FAILED_REASON, _VERSION, _TIMER, _TRY, _SEARCH)
    )


def parse_compiler_output(console: str, log_text: str | None = None) -> CompilerOutput:
    """Parse the compiler's console output (stdout and stderr, in order) and, if given, its log.

    Never raises. Success is decided by the last attempt that reached an outcome: a ``-d`` search
    that ends in a successful compile is a success; a ``-n`` run whose last segment fails is not.
    A summary block (``Input model:`` … ``Number of Edge TPU subgraphs:``) counts as success,
    because the compiler prints it only after a successful compile. When the console is empty
    but a log file is given, the log's presence counts as success (the compiler writes it only
    next to an output model).
    """
    log = parse_log_file(log_text) if log_text is not None else None
    parser = _ConsoleParser()
    parser.feed(_lines(console))

    attempts = [
        a
        for a in parser.attempts
        if a.started or a.outcome is not None or a.summary is not None or a.errors or a.segment_ops is not None
    ]
    for a in attempts:
        if a.outcome is None and a.summary is not None and a.summary.keys() & _SUMMARY_PROOF:
            a.outcome = True
    done = [a for a in attempts if a.outcome is not None]
    last_done = done[-1] if done else None
    truncated = bool(attempts) and attempts[-1].outcome is None and attempts[-1].started
    console_blank = not console.strip()

    error_kind: ErrorKind | None
    error_text: tuple[str, ...] = ()
    if last_done is not None:
        success = bool(last_done.outcome) and not truncated
        if last_done.outcome:
            error_kind = None if success else "unparseable"
        else:
            error_kind = last_done.kind
            error_text = tuple(last_done.errors)
        if truncated and last_done.outcome:
            error_text = ("compiler output ends inside a compilation attempt",)
    elif console_blank and log is not None and log.operator_table:
        success, error_kind = True, None
    elif parser.version is not None and not parser.unknown and not attempts:
        success, error_kind = False, "version_only"
        error_text = (f"Edge TPU Compiler version {parser.version}",)
    else:
        success, error_kind = False, "unparseable"
        errs = [e for a in attempts for e in a.errors]
        error_text = tuple(errs or [ln for ln in parser.unknown if ln.strip()][:20])

    summaries = tuple(_summary_of(a) for a in attempts if a.summary is not None and a.outcome)
    last = summaries[-1] if summaries else CompileSummary()
    loose = next((tuple(a.table) for a in reversed(attempts) if a.table), ())
    table = last.operator_table or loose or (log.operator_table if log is not None else ())
    search = tuple(
        SearchAttempt(a.segment_ops, a.intermediate, a.outcome, a.kind) for a in attempts if a.segment_ops is not None
    )
    version = parser.version or (log.compiler_version if log is not None else None)
    return CompilerOutput(
        text=console,
        compiler_version=version,
        version=parse_version(version),
        success=success,
        error_kind=error_kind,
        error_text=error_text,
        compile_ms=last.compile_ms,
        input_model=last.input_model or (log.input_model if log is not None else None),
        output_model=last.output_model or (log.output_model if log is not None else None),
        input_size=last.input_size,
        output_size=last.output_size,
        on_chip_available=last.on_chip_available,
        on_chip_used=last.on_chip_used,
        on_chip_remaining=last.on_chip_remaining,
        off_chip_used=last.off_chip_used,
        edgetpu_subgraphs=last.edgetpu_subgraphs,
        total_ops=last.total_ops,
        ops_on_tpu=last.ops_on_tpu,
        ops_on_cpu=last.ops_on_cpu,
        partial=last.partial,
        operation_log=last.operation_log,
        operator_table=table,
        delegate_search_step=parser.search_step,
        delegate_search=search,
        timeout_timer_s=parser.timer,
        unparsed_ops=tuple(parser.unparsed),
        summaries=summaries,
        log=log,
        truncated=truncated,
        unrecognized_lines=tuple(parser.unknown),
    )


def table_counts(rows: Sequence[OperatorRow]) -> dict[tuple[str, str], int]:
    """Sum rows by (operator, status); the compiler never repeats a pair, but be safe."""
    out: dict[tuple[str, str], int] = {}
    for r in rows:
        out[(r.operator, r.status)] = out.get((r.operator, r.status), 0) + r.count
    return out
