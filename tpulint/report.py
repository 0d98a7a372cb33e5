"""The result of an analysis as plain data. The JSON report (schema_version 1) mirrors these classes.

Emitters read a finished :class:`Report`; nothing here depends on how it is printed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

SCHEMA_VERSION = 1

_ATOMS = (str, int, float, bool, type(None))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _names(obj: Any) -> tuple[str, ...]:
    """A dataclass instance's field names, looked up once per class."""
    kind = type(obj)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(obj))
    return names


def plain(obj: Any) -> Any:
    """``dataclasses.asdict`` without its cost: equal result, but strings and numbers are shared
    instead of deep-copied, and field lists are looked up once per class (a 10,000-op report or a
    1,000-model directory otherwise spends more time here than in the analysis)."""
    kind = type(obj)
    if kind in _ATOMS:
        return obj
    names = _FIELD_NAMES.get(kind)
    if names is None and is_dataclass(obj) and not isinstance(obj, type):
        names = _names(obj)
    if names is not None:
        return {name: plain(getattr(obj, name)) for name in names}
    if kind is list:
        return [plain(v) for v in obj]
    if kind is dict:
        return {plain(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple, as asdict rebuilds it
        return kind(*[plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return kind(plain(v) for v in obj)
    if isinstance(obj, dict):
        return kind((plain(k), plain(v)) for k, v in obj.items())
    return copy.deepcopy(obj)


@dataclass
class Finding:
    code: str
    name: str
    severity: str
    message: str
    observed: str
    fix: str
    subgraph: int | None = None
    op_index: int | None = None
    opcode: str | None = None
    op_name: str | None = None
    status: str | None = None  # the compiler status this finding predicts for the op
    compiler_error: str | None = None  # model-level: the compiler's own error text
    baselined: bool = False
    fingerprint: str = ""


@dataclass(slots=True)
class OpReport:
    subgraph: int
    index: int
    opcode: str
    version: int
    name: str
    placement: str  # "tpu" | "cpu"
    status: str | None  # verbatim compiler status string
    codes: list[str] = field(default_factory=list)
    segment: int | None = None  # Edge TPU subgraph number for tpu ops
    inputs: list[str] = field(default_factory=list)  # "[1,16,16,3] INT8"
    outputs: list[str] = field(default_factory=list)
    macs: int = 0
    param_bytes: int = 0
    custom_code: str | None = None  # set for custom ops (the compiler's log calls them CUSTOM)

    @property
    def log_name(self) -> str:
        """The operator name as the compiler's log prints it."""
        return "CUSTOM" if self.custom_code else self.opcode


@dataclass
class FirstCpuOp:
    subgraph: int
    index: int
    opcode: str
    name: str
    status: str | None
    codes: list[str]
    reason: str


@dataclass
class Summary:
    ops_total: int = 0
    ops_tpu: int = 0
    ops_cpu: int = 0
    tpu_subgraphs: int = 0
    first_cpu_op: FirstCpuOp | None = None
    outcome: str = "none"  # full | partial | none | compile_error
    macs_total: int = 0
    macs_tpu: int = 0
    params_total: int = 0
    params_tpu: int = 0
    on_chip_param_bytes: int = 0
    off_chip_param_bytes: int = 0
    compiler_error: str | None = None

    @property
    def macs_tpu_share(self) -> float:
        return self.macs_tpu / self.macs_total if self.macs_total else 0.0

    @property
    def params_tpu_share(self) -> float:
        return self.params_tpu / self.params_total if self.params_total else 0.0


@dataclass
class ModelReport:
    path: str
    ok: bool = True
    error: dict[str, str] | None = None
    runtime: int = 14
    compiler: str = "16.0"
    compiled: bool = False
    summary: Summary = field(default_factory=Summary)
    ops: list[OpReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    compiled_info: dict[str, Any] | None = None
    quantization: dict[str, Any] | None = None  # tpulint.quantmode.QuantMode.to_dict(); None for compiled input
    memory: dict[str, Any] | None = None  # tpulint.checks.memory.memory_dict(); None for compiled input
    segments: list[dict[str, Any]] | None = None  # --num-segments N: the predicted -n N pipeline split
    latency_estimate: dict[str, Any] | None = None  # tpulint.latency.LatencyEstimate.to_dict()
    file_size: int = 0
    confirmation: dict[str, Any] | None = None

    def to_dict(self, *, lists: Callable[[list[Any]], Any] | None = None) -> dict[str, Any]:
        """The JSON form; ``lists`` (if given) converts the ``ops`` and ``findings`` lists instead of
        :func:`plain` (the streaming JSON writer converts them lazily)."""
        if lists is None:
            d = plain(self)
        else:
            d = {
                f: lists(getattr(self, f)) if f in ("ops", "findings") else plain(getattr(self, f))
                for f in _names(self)
            }
        s = d["summary"]
        s["macs_tpu_share"] = round(self.summary.macs_tpu_share, 4)
        s["params_tpu_share"] = round(self.summary.params_tpu_share, 4)
        return d


@dataclass
class Report:
    tool_version: str
    models: list[ModelReport] = field(default_factory=list)

    def to_dict(self, *, models: Any = None) -> dict[str, Any]:
        """The JSON form; ``models`` (if given) replaces the list of converted model reports."""
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "tpulint", "version": self.tool_version},
            "models": [m.to_dict() for m in self.models] if models is None else models,
        }
