"""Rule documentation rendered from the registry: `tpulint rule CODE` and ``docs/rules.md``."""

from __future__ import annotations

from tpulint.registry import Rule, all_rules
from tpulint.ruledata import message_for, status_text


def rule_markdown(r: Rule, *, heading: str = "#") -> str:
    msg, fix = message_for(r.code)
    lines = [
        f"{heading} {r.code} {r.name}",
        "",
        f"- Family: {r.family} · default severity: **{r.severity.value}** · scope: {r.scope.value}",
        f"- Predicted compiler status: {status_text(r.status) if r.status else '—'}",
        f"- Message: {msg}",
        f"- Fix: {fix}",
        "",
        r.doc.replace("\n## ", f"\n{heading}# "),
        "",
    ]
    return "\n".join(lines)


def doc_section(doc: str, title: str) -> str:
    """The body of the ``## title`` section of a rule doc ("" when absent)."""
    out: list[str] = []
    inside = False
    for line in doc.splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip() == title
            continue
        if inside:
            out.append(line)
    return "\n".join(out).strip()


def rule_text(r: Rule) -> str:
    """The rule's documentation as plain text (SARIF ``help.text``)."""
    status = status_text(r.status) if r.status else "-"
    head = f"{r.code} {r.name} ({r.severity.value}): {r.summary}\nPredicted compiler status: {status}\n"
    body = r.doc.split("\n", 1)[1].strip() if "\n" in r.doc else ""
    return head + "\n" + body.replace("`", "") + "\n"


def rules_markdown() -> str:
    rules = all_rules()
    out = [
        "# tpulint rules",
        "",
        "Generated from the rule registry by `python -m tpulint.docs > docs/rules.md`; do not edit by hand.",
        "",
        "| code | name | severity | summary |",
        "| --- | --- | --- | --- |",
    ]
    for r in rules.values():
        out.append(f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.severity.value} | {r.summary} |")
    out.append("")
    for r in rules.values():
        out.append(rule_markdown(r, heading="##"))
    return "\n".join(out).rstrip() + "\n"


def rules_table() -> str:
    """The short rules table embedded in the README between the rules-table markers."""
    lines = ["| code | name | severity | summary |", "| --- | --- | --- | --- |"]
    for r in all_rules().values():
        lines.append(f"| {r.code} | {r.name} | {r.severity.value} | {r.summary} |")
    return "\n".join(lines) + "\n"


START, END = "<!-- rules-table:start -->", "<!-- rules-table:end -->"


def readme_with_rules(readme: str) -> str:
    """The README text with its rules table replaced by the current one."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{rules_table()}{END}{tail}"


if __name__ == "__main__":  # pragma: no cover
    import sys
    from pathlib import Path

    if "--readme" in sys.argv:
        p = Path(__file__).resolve().parents[1] / "README.md"
        p.write_text(readme_with_rules(p.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(rules_markdown())
