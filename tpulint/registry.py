"""The rule registry: every rule is declared once, with its code, name, severity and doc string.

A rule is a small predicate decorated with :func:`rule`. Its doc string (ruff's sections: What it
does / Why it matters on the Edge TPU / Example / How to fix / Compiler status / Sources) is the
user documentation that ``tpulint rules``, ``tpulint rule CODE``, ``docs/rules.md`` and the SARIF
rule list all render. The short message and fix templates are data in ``rules/messages.toml``.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tpulint.context import Target
    from tpulint.ruledata import OpSpec

FAMILIES = {
    "1": "op support",
    "2": "data type / quantization",
    "3": "shape / rank",
    "4": "runtime / op version",
    "5": "partition",
    "6": "memory",
    "7": "converter",
    "9": "model / tool",
}


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Scope(str, enum.Enum):
    OP = "op"  # evaluated per op; a violation can move the op to the CPU
    MODEL = "model"  # evaluated once per model; may stop compilation (compile_error)
    PARTITION = "partition"  # evaluated on the partition simulator's result
    MEMORY = "memory"  # evaluated on the memory estimate of the Edge TPU part
    COMPILED = "compiled"  # evaluated on what an already-compiled model's packages hold
    CONFIRM = "confirm"  # evaluated on a confirmation run of the real compiler (`--confirm`, `compile`)


@dataclass(frozen=True)
class Violation:
    """What a predicate reports: the values it saw, and optionally a more specific message."""

    observed: str
    message: str | None = None
    fix: str | None = None  # a fix specific to what was observed (else the rule's, rules/messages.toml)
    op_index: int | None = None  # for model-scope rules that point at an op
    subgraph: int | None = None
    status: str | None = None  # override the rule's predicted status id
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    scope: Scope
    status: str | None  # status id (rules/statuses.toml) this rule predicts for the op
    blocks: bool  # True: a violation keeps the op off the Edge TPU (or stops compilation)
    func: Callable[..., Iterable[Violation]]
    doc: str
    # Per-op rules that only concern some ops: the op-table check names (rules/edgetpu_ops.toml
    # `checks`) or the op types they read. Empty: the rule looks at every op.
    checks: tuple[str, ...] = ()
    opcodes: tuple[str, ...] = ()
    # Per-op rules that can only fire on some op types for a given target: a test of the op type,
    # its op-table entry (as the op's context has it) and the target, False when no op of that
    # type can fail the rule (None: any type can).
    when: Callable[[str, OpSpec | None, Target], bool] | None = None

    @property
    def family(self) -> str:
        return FAMILIES.get(self.code[3], "other")

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else self.name

    def run(self, *args: Any) -> Iterator[Violation]:
        return iter(self.func(*args))  # no wrapping generator: this runs once per op and rule

    def concerns(self, opcode: str, spec: OpSpec | None, target: Target | None = None) -> bool:
        """Whether this per-op rule can fire on an op of type ``opcode`` whose op-table entry is
        ``spec`` (its checks), and for ``target`` when given (:attr:`when`)."""
        if target is not None and self.when is not None and not self.when(opcode, spec, target):
            return False
        if not self.checks and not self.opcodes:
            return True
        op_checks = spec.checks if spec is not None else ()
        return opcode in self.opcodes or any(c in op_checks for c in self.checks)


_REGISTRY: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    *,
    severity: str = "error",
    scope: str = "op",
    status: str | None = None,
    blocks: bool = True,
    checks: tuple[str, ...] = (),
    opcodes: tuple[str, ...] = (),
    when: Callable[[str, OpSpec | None, Target], bool] | None = None,
) -> Callable[[Callable[..., Iterable[Violation]]], Callable[..., Iterable[Violation]]]:
    """Register a predicate as rule ``code``. The function's doc string is the rule's documentation.

    ``checks`` / ``opcodes`` say which ops a per-op rule concerns, and ``when`` (op type, its
    op-table entry, target) for which targets, so the engine only calls it for those; the predicate must still return
    nothing for any other op.
    """

    def deco(fn: Callable[..., Iterable[Violation]]) -> Callable[..., Iterable[Violation]]:
        if code in _REGISTRY:
            raise ValueError(f"rule code {code} registered twice")
        _BY_SCOPE.clear()
        if len(code) != 6 or not code.startswith("TPU") or not code[3:].isdigit():
            raise ValueError(f"bad rule code {code!r}")
        _REGISTRY[code] = Rule(
            code=code,
            name=name,
            severity=Severity(severity),
            scope=Scope(scope),
            status=status,
            blocks=blocks,
            func=fn,
            doc=inspect.cleandoc(fn.__doc__ or ""),
            checks=checks,
            opcodes=opcodes,
            when=when,
        )
        return fn

    return deco


def all_rules() -> dict[str, Rule]:
    """Every registered rule, by code (importing the check modules registers them)."""
    import tpulint.checks  # noqa: F401  (registration side effect)

    return dict(sorted(_REGISTRY.items()))


# rules_by_scope's answers, by selection; emptied when a rule is registered.
_BY_SCOPE: dict[frozenset[str] | None, dict[Scope, tuple[Rule, ...]]] = {}


def rules_by_scope(selected: frozenset[str] | None = None) -> dict[Scope, tuple[Rule, ...]]:
    """The rules of each scope in code order, all of them or the codes ``selected``: made once per
    selection (an analysis asks for them once per model)."""
    hit = _BY_SCOPE.get(selected)
    if hit is None:
        out: dict[Scope, list[Rule]] = {s: [] for s in Scope}
        for code, r in all_rules().items():
            if selected is None or code in selected:
                out[r.scope].append(r)
        hit = _BY_SCOPE[selected] = {s: tuple(rs) for s, rs in out.items()}
    return hit


def get_rule(code: str) -> Rule | None:
    return all_rules().get(code.upper())


def expand_selector(selector: str, known: Iterable[str]) -> set[str]:
    """Codes matched by a full code, a code prefix (``TPU3``) or ``ALL``; empty set if none match."""
    sel = selector.strip().upper()
    if sel == "ALL":
        return set(known)
    return {c for c in known if c.startswith(sel)}
