#!/usr/bin/env python3
"""Score tpulint's parameter-memory prediction (tpulint.param_memory) against the real compiler.

Usage: python benchmarks/memory_accuracy.py [CORPUS_DIR] [--compiler-from log|target]
(default corpus ../shared/corpus)

For every ``pair`` case of the corpus the prediction is made twice:

* ``tpulint``: on the ops tpulint itself places on the Edge TPU (placement "tpu", subgraph 0);
* ``truth``: on the ops the real compiler mapped (all ops minus ``mapping.cpu_op_input_indices``),
  which isolates the memory rules from partition mistakes.

The compiler version only matters for SOFTMAX tables (stored by 16.0 only). ``--compiler-from log``
(default) takes it from the case's compiler log when there is one, else tpulint's default (16.0);
``--compiler-from target`` uses tpulint.corpus.target_for (as benchmarks/corpus_score.py does),
which also guesses it from the package's min_runtime_version (12 -> 15.0, although several
runtime-12 packages of the corpus hold 16.0-style softmax tables). The partition itself is always
predicted with target_for's compiler and flags. Truth bytes are the
``compiled.executables`` parameter sizes: PARAMETER_CACHING = cached, the others = streamed.
For cases whose log has the compiler's memory summary, the three predicted lines are printed next
to the log's. Ends with the share of cases whose predicted total is within 10% of the truth's.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tpulint.analyze import analyze_path
from tpulint.compiler.logparse import parse_size, parse_version
from tpulint.corpus import pair_cases, target_for
from tpulint.graph import Graph
from tpulint.model import load_model
from tpulint.param_memory import MemoryPrediction, predict
from tpulint.ruledata import default_compiler

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus"
TOLERANCE = 0.10
TARGET_SHARE = 0.90


@dataclass
class Row:
    case: str
    compiler: str
    truth_cached: int
    truth_streamed: int
    pred: MemoryPrediction  # on the truth's Edge TPU ops
    pred_tpulint: MemoryPrediction | None  # on tpulint's own Edge TPU ops (None: tpulint error)
    log: dict[str, Any]

    @property
    def truth_total(self) -> int:
        return self.truth_cached + self.truth_streamed


def truth_bytes(truth: dict[str, Any]) -> tuple[int, int]:
    cached = streamed = 0
    for e in (truth.get("compiled") or {}).get("executables") or []:
        n = e.get("parameters_bytes") or 0
        if e.get("type") == "PARAMETER_CACHING":
            cached += n
        else:
            streamed += n
    return cached, streamed


def rel_error(pred: int, truth: int) -> float:
    if truth == 0:
        return 0.0 if pred == 0 else float("inf")
    return (pred - truth) / truth


def within(pred: int, truth: int) -> bool:
    return abs(rel_error(pred, truth)) <= TOLERANCE


def memory_compiler(truth: dict[str, Any]) -> str:
    """The compiler version the case's log prints (major.minor), else tpulint's default."""
    if truth.get("compiler_version_source") == "log":
        ver = parse_version(truth.get("compiler_version"))
        if ver is not None:
            return f"{ver[0]}.{ver[1]}"
    return default_compiler()


def score_case(case_dir: Path, truth: dict[str, Any], compiler_from: str = "log") -> Row:
    target, _ = target_for(truth)
    compiler = memory_compiler(truth) if compiler_from == "log" else target.compiler
    path = case_dir / truth["files"]["input"]["name"]
    model = load_model(path)
    graph = Graph.build(model, model.subgraphs[0])
    mapping = truth["mapping"]
    cpu = set(mapping["cpu_op_input_indices"])
    truth_tpu = [i for i in range(len(graph.subgraph.ops)) if i not in cpu]
    pred = predict(graph, truth_tpu, compiler=compiler)
    rep = analyze_path(path, target)
    pred_tpulint = None
    if rep.ok:
        ours = [o.index for o in rep.ops if o.subgraph == 0 and o.placement == "tpu"]
        pred_tpulint = predict(graph, ours, compiler=compiler)
    cached, streamed = truth_bytes(truth)
    return Row(case_dir.name, compiler, cached, streamed, pred, pred_tpulint, truth.get("log") or {})


def cases(corpus: Path) -> list[tuple[Path, dict[str, Any]]]:
    return pair_cases(corpus)


def _fmt_rel(r: float) -> str:
    return "   n/a" if r == float("inf") else f"{r:+7.1%}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument(
        "--compiler-from",
        choices=("log", "target"),
        default="log",
        help="compiler version for the memory rules: the case's log (else 16.0), or tpulint.corpus.target_for",
    )
    args = ap.parse_args(argv)
    if not args.corpus.is_dir() or not any(args.corpus.glob("*/truth.json")):
        print(
            f"ground-truth corpus not found at {args.corpus} (expected <case>/truth.json); "
            "it sits beside the checkout as ../shared/corpus",
            file=sys.stderr,
        )
        return 2
    rows = [score_case(d, t, args.compiler_from) for d, t in cases(args.corpus)]
    if not rows:
        print(f"no pair cases in {args.corpus}", file=sys.stderr)
        return 2

    hdr = (
        f"{'case':48} {'cc':>4} {'t_cached':>9} {'t_strm':>7} {'t_total':>9} | "
        f"{'p_cached':>9} {'p_strm':>7} {'p_total':>9} {'err':>7} | {'tpulint':>9} {'err':>7}"
    )
    print("truth = truth's Edge TPU ops; tpulint = tpulint's predicted Edge TPU ops; cc = compiler for the rules")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        p = r.pred
        e = rel_error(p.total_bytes, r.truth_total)
        if r.pred_tpulint is not None:
            pt = r.pred_tpulint.total_bytes
            tl = f"{pt:9d} {_fmt_rel(rel_error(pt, r.truth_total))}"
        else:
            tl = f"{'error':>9} {'':7}"
        flag = "" if within(p.total_bytes, r.truth_total) else "  <-- >10%"
        print(
            f"{r.case[:48]:48} {r.compiler:>4} {r.truth_cached:9d} {r.truth_streamed:7d} {r.truth_total:9d} | "
            f"{p.cached_bytes:9d} {p.streamed_bytes:7d} {p.total_bytes:9d} {_fmt_rel(e)} | {tl}{flag}"
        )

    logged = [r for r in rows if any(r.log.get(k) for k in ("on_chip_memory_used", "off_chip_memory_used"))]
    if logged:
        print("\ncompiler memory summary (predicted on the truth's ops vs the log):")
        for r in logged:
            p = r.pred
            for label, ours, key in (
                ("on-chip used", p.on_chip_used_bytes, "on_chip_memory_used"),
                ("on-chip remaining", p.on_chip_remaining_bytes, "on_chip_memory_remaining"),
                ("off-chip used", p.off_chip_bytes, "off_chip_memory_used"),
            ):
                text = r.log.get(key)
                theirs = parse_size(text)
                err = _fmt_rel(rel_error(ours, theirs)) if theirs is not None else "    n/a"
                print(f"  {r.case[:40]:40} {label:18} predicted {ours / 2**20:7.2f} MiB  log {text!s:>9}  {err}")

    n = len(rows)
    ok = sum(within(r.pred.total_bytes, r.truth_total) for r in rows)
    exact = sum(r.pred.total_bytes == r.truth_total for r in rows)
    split = sum(r.pred.cached_bytes == r.truth_cached and r.pred.streamed_bytes == r.truth_streamed for r in rows)
    analysed = [(r, r.pred_tpulint) for r in rows if r.pred_tpulint is not None]
    ok_ours = sum(within(p.total_bytes, r.truth_total) for r, p in analysed)
    exact_ours = sum(p.total_bytes == r.truth_total for r, p in analysed)
    print()
    print(f"pair cases: {n}")
    print(f"truth placement:   within 10% of truth total {ok}/{n} = {ok / n:.1%} (target >= {TARGET_SHARE:.0%})")
    print(f"                   exact total {exact}/{n}, exact cached and streamed {split}/{n}")
    print(
        f"tpulint placement: within 10% of truth total {ok_ours}/{n} = {ok_ours / n:.1%}, exact total {exact_ours}/{n}"
        + (f" ({n - len(analysed)} case(s) tpulint could not analyse)" if len(analysed) < n else "")
    )
    return 0 if ok / n >= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
