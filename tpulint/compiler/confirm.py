"""Compare a prediction with what the real compiler reported, on per-op-type counts.

The compiler's table has no op indices (one row per (op type, status)), so the comparison is on
counts: totals, Edge TPU / CPU op counts, placement per op type, status wording per op type, the
first CPU op's type and the set of "blocking" op types (CPU ops whose status is not the
``More than one subgraph is not supported`` tail status). Pure data: no model, no core imports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tpulint.compiler.logparse import MAPPED, TAIL, OperatorRow

DisagreementKind = Literal[
    "total_ops",
    "tpu_ops",
    "cpu_ops",
    "placement",
    "status",
    "first_cpu_op",
    "blockers",
    # Added by tpulint.confirm, which also has the compiled model and the compiler's outcome:
    "outcome",
    "tpu_subgraphs",
    "cpu_op_set",
    "runtime",
    "parameter_streaming",
    "compile_error",  # both failed, but the compiler's TFLite refused another node than predicted
]


@dataclass(frozen=True)
class Disagreement:
    kind: DisagreementKind
    op_type: str | None
    status: str | None
    predicted: int | str | None
    actual: int | str | None
    message: str


def _blockers(pairs: Sequence[tuple[str, str, int]]) -> set[str]:
    return {op for op, status, n in pairs if n > 0 and status not in (MAPPED, TAIL)}


def diff_counts(predicted: Sequence[tuple[str, str]], actual_table: Sequence[OperatorRow]) -> list[Disagreement]:
    """Disagreements between predicted ``(op_type, status)`` per op (input order) and the table.

    Returns an empty list when the prediction matches the compiler on every count compared.
    """
    out: list[Disagreement] = []
    pred = Counter(predicted)
    act: Counter[tuple[str, str]] = Counter()
    for row in actual_table:
        act[(row.operator, row.status)] += row.count

    p_total, a_total = sum(pred.values()), sum(act.values())
    if p_total != a_total:
        out.append(
            Disagreement(
                "total_ops", None, None, p_total, a_total, f"predicted {p_total} ops, the compiler counted {a_total}"
            )
        )
    p_tpu = sum(n for (_, s), n in pred.items() if s == MAPPED)
    a_tpu = sum(n for (_, s), n in act.items() if s == MAPPED)
    if p_tpu != a_tpu:
        out.append(
            Disagreement(
                "tpu_ops",
                None,
                MAPPED,
                p_tpu,
                a_tpu,
                f"predicted {p_tpu} ops on the Edge TPU, the compiler mapped {a_tpu}",
            )
        )
    p_cpu, a_cpu = p_total - p_tpu, a_total - a_tpu
    if p_cpu != a_cpu:
        out.append(
            Disagreement(
                "cpu_ops", None, None, p_cpu, a_cpu, f"predicted {p_cpu} ops on the CPU, the compiler left {a_cpu}"
            )
        )

    for op in sorted({o for o, _ in pred} | {o for o, _ in act}):
        pm = pred[(op, MAPPED)]
        am = act[(op, MAPPED)]
        pn = sum(n for (o, _), n in pred.items() if o == op)
        an = sum(n for (o, _), n in act.items() if o == op)
        if pm != am or pn - pm != an - am:
            msg = f"{op}: predicted {pm} of {pn} on the Edge TPU, the compiler mapped {am} of {an}"
            out.append(Disagreement("placement", op, None, f"{pm}/{pn} mapped", f"{am}/{an} mapped", msg))
            continue
        for status in sorted({s for o, s in pred if o == op} | {s for o, s in act if o == op}):
            if status != MAPPED and pred[(op, status)] != act[(op, status)]:
                out.append(
                    Disagreement(
                        "status",
                        op,
                        status,
                        pred[(op, status)],
                        act[(op, status)],
                        f"{op}: {pred[(op, status)]} predicted vs {act[(op, status)]} reported with status {status!r}",
                    )
                )

    first = next(((o, s) for o, s in predicted if s != MAPPED), None)
    cpu_types = {o for (o, s), n in act.items() if s != MAPPED and n > 0}
    cpu_list = ", ".join(sorted(cpu_types)) or None
    if first is None and cpu_types:
        out.append(
            Disagreement(
                "first_cpu_op",
                None,
                None,
                None,
                cpu_list,
                "predicted every op on the Edge TPU, but the compiler left some on the CPU",
            )
        )
    elif first is not None and not cpu_types:
        out.append(
            Disagreement(
                "first_cpu_op",
                first[0],
                first[1],
                first[0],
                None,
                f"predicted {first[0]} as the first CPU op; the compiler mapped every op",
            )
        )
    elif first is not None and first[0] not in cpu_types:
        out.append(
            Disagreement(
                "first_cpu_op",
                first[0],
                first[1],
                first[0],
                cpu_list,
                f"predicted {first[0]} as the first CPU op; the compiler left no {first[0]} on the CPU",
            )
        )

    p_block = _blockers([(o, s, n) for (o, s), n in pred.items()])
    a_block = _blockers([(o, s, n) for (o, s), n in act.items()])
    if p_block != a_block:
        out.append(
            Disagreement(
                "blockers",
                None,
                None,
                ", ".join(sorted(p_block)) or "none",
                ", ".join(sorted(a_block)) or "none",
                "op types kept on the CPU for their own reason differ",
            )
        )
    return out
