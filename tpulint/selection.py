"""Which rule codes are reported: ruff-style ``select`` / ``extend-select`` / ``ignore``.

Selectors are full codes (``TPU301``), prefixes (``TPU3``, ``TPU30``) or ``ALL``. A selector that
matches no rule is an error, so typos do not silently disable a gate. Selection only filters what
is *reported* (and so the exit code); the prediction itself always uses every rule, so placement
never depends on what a user chooses to see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tpulint.registry import all_rules, expand_selector
from tpulint.report import ModelReport


def resolve(selectors: Iterable[str], known: Iterable[str], what: str) -> set[str]:
    known = list(known)
    out: set[str] = set()
    for s in selectors:
        hit = expand_selector(s, known)
        if not hit:
            raise ValueError(f"{what}: {s!r} matches no rule code (see `tpulint rules`)")
        out |= hit
    return out


@dataclass(frozen=True)
class Selection:
    codes: frozenset[str]

    @classmethod
    def build(
        cls,
        select: Iterable[str] = (),
        extend_select: Iterable[str] = (),
        ignore: Iterable[str] = (),
    ) -> Selection:
        known = list(all_rules())
        select = list(select)
        base = resolve(select, known, "select") if select else set(known)
        base |= resolve(extend_select, known, "extend-select")
        base -= resolve(ignore, known, "ignore")
        return cls(frozenset(base))

    def allows(self, code: str) -> bool:
        return code in self.codes

    def apply(self, report: ModelReport) -> None:
        report.findings = [f for f in report.findings if self.allows(f.code)]
