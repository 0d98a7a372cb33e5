#!/usr/bin/env python3
"""Score tpulint against the real compiler's results in a corpus (default ../shared/corpus).

Usage: python benchmarks/corpus_score.py [CORPUS_DIR] [--json]

One line per case (match/mismatch, predicted vs actual Edge TPU op count, CPU op list, the
compiler version and flags the case is scored with), then the totals.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tpulint.corpus import score_corpus, to_json, totals

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = ap.parse_args(argv)
    if not (args.corpus / "index.json").is_file() and not any(args.corpus.glob("*/truth.json")):
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    scores = score_corpus(args.corpus)
    if args.json:
        print(json.dumps(to_json(scores), indent=1))
        return 0
    for s in scores:
        mark = "match   " if s.exact else "MISMATCH"
        flags = " ".join(s.flags)
        print(
            f"{mark} {s.case[:58]:58} compiler {s.compiler:4} -m {s.runtime} {flags:3} "
            f"tpu {s.pred_tpu:4}/{s.truth_tpu:<4} first_cpu {s.pred_first}/{s.truth_first}"
            + (f" status {s.status_agreement:.2f}" if s.status_agreement is not None else "")
        )
        if not s.exact:
            if s.error:
                print(f"         error: {s.error}")
            extra = sorted(set(s.pred_cpu) - set(s.truth_cpu))
            missing = sorted(set(s.truth_cpu) - set(s.pred_cpu))
            if extra:
                print(f"         predicted CPU but mapped: {extra[:20]}{' ...' if len(extra) > 20 else ''}")
            if missing:
                print(f"         predicted TPU but on CPU: {missing[:20]}{' ...' if len(missing) > 20 else ''}")
    t = totals(scores)
    print()
    print(f"exact partition matches: {t['exact_partition_matches']}/{t['cases']} ({100 * t['exact_rate']:.1f}%)")
    print(
        f"tpu op count matches:    {t['tpu_count_matches']}/{t['cases']}  mean abs error {t['mean_abs_tpu_error']:.2f}"
    )
    print(f"first CPU op matches:    {t['first_cpu_op_matches']}/{t['cases']}")
    print(f"outcome matches:         {t['outcome_matches']}/{t['cases']}")
    print(f"per-op agreement:        {100 * t['per_op_agreement']:.2f}%")
    if t["status_row_agreement"] is not None:
        share = 100 * t["status_row_agreement"]
        print(f"(op type, status) rows:  {share:.1f}% over {t['cases_with_log']} cases with logs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
