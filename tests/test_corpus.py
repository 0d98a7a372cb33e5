"""Agreement with the real edgetpu_compiler on ../shared/corpus (skipped when it is absent).

The figure is printed; the test fails if exact partition agreement drops below 100% of the
`pair` cases, or if any (op type, status) row of a real log is predicted differently.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from tpulint.corpus import score_corpus, target_for, totals


@pytest.fixture(scope="module")
def scores(corpus: Path):  # type: ignore[no-untyped-def]
    return score_corpus(corpus)


def test_corpus_exact_partition_agreement(scores) -> None:  # type: ignore[no-untyped-def]
    t = totals(scores)
    print(
        f"\ncorpus: {t['exact_partition_matches']}/{t['cases']} exact partitions, "
        f"per-op {100 * t['per_op_agreement']:.2f}%, status rows {t['status_row_agreement']}"
    )
    assert t["cases"] >= 55
    bad = [s.case for s in scores if not s.exact]
    assert not bad, f"mismatched cases: {bad}"
    assert t["exact_rate"] == 1.0


def test_corpus_log_statuses(scores) -> None:  # type: ignore[no-untyped-def]
    with_logs = [s for s in scores if s.status_agreement is not None]
    assert len(with_logs) >= 19
    assert {s.case: s.status_agreement for s in with_logs} == {s.case: 1.0 for s in with_logs}


def test_target_comes_from_truth_not_names(corpus: Path) -> None:
    retina = json.loads((corpus / "retinanet_fpn_not_padded" / "truth.json").read_text())
    target, flags = target_for(retina)
    assert (target.compiler, target.effective_runtime, target.multiple_subgraphs) == ("16.0", 13, True)
    assert flags == ["-a", "-d"]
    # The same truth under another name gives the same target.
    renamed = dict(retina, case="something_else")
    assert target_for(renamed)[0] == target


def test_benchmark_script_prints_totals_and_json(corpus: Path) -> None:
    script = ROOT / "benchmarks" / "corpus_score.py"
    out = subprocess.run([sys.executable, str(script), str(corpus)], capture_output=True, text=True, check=True)
    assert "exact partition matches: 55/55" in out.stdout
    js = subprocess.run(
        [sys.executable, str(script), str(corpus), "--json"], capture_output=True, text=True, check=True
    )
    doc = json.loads(js.stdout)
    assert doc["totals"]["exact_partition_matches"] == doc["totals"]["cases"]
    assert all("compiler" in c for c in doc["cases"])
