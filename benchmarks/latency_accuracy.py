#!/usr/bin/env python3
"""How accurate the static latency ESTIMATE (tpulint/latency.py) is on the corpus (default ../shared/corpus).

Usage: python benchmarks/latency_accuracy.py [CORPUS_DIR]

(a) Cycle model: for every pair case whose compiled model records the compiler's own DWN1
    ``estimated_cycles``, compare our Edge TPU cycles with the compiler's. The ops are placed as the
    compiler actually placed them (truth.json), so only the cycle model is tested.
(b) End to end: for the corpus models that match a published Coral benchmark row, compare the
    estimated total with the published milliseconds. These cases use tpulint's own predicted
    placement and off-chip bytes from the input model alone, exactly as ``tpulint check`` sees it.
    Nothing in the estimate was fitted to these figures.

Exits 0 (with a message) when the corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tpulint.compiler.compiled import read_compiled_model
from tpulint.graph import Graph
from tpulint.latency import LatencyEstimate, estimate, estimate_for_report, load_constants
from tpulint.model import load_model

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus"

# Compiler cycle counts that are floor/degenerate values, not estimates. Compiler 1.0 reports 16
# cycles for whole models, e.g. 100 ADDs on 256x256x3 (iwatake_mat_add500) and a 3-MAC conv
# (iwatake_stride_2x2x3). Cases at or below this are listed but left out of the error statistics.
DEGENERATE_CYCLES = 16

# Published latencies in ms. These are published facts, not outputs of tpulint. All come from
# ../shared/research/edgetpu_rules.md section 4.3:
#   "CI"    pycoral benchmarks/reference/inference_reference_x86_64.csv (identical to
#           google-coral/edgetpu basic_engine_reference_x86_64.csv): Xeon E5-1650 v3 + USB Accelerator
#           on USB 3.0, Python, mean of 200 invokes.
#   "table" coral.ai/docs/edgetpu/benchmarks, column "Desktop CPU + USB Accelerator (USB 3.0)", C++.
#   "FAQ"   the older Coral FAQ table (quoted in freedomtan/edge_tpu_python_scripts README), USB column.
MOBILENET_V1_224 = {"CI": 2.17, "table": 2.4, "FAQ": 2.2}  # CI row mobilenet_v1_1.0_224_quant
MOBILENET_V2_224 = {"CI": 2.29, "table": 2.6, "FAQ": 2.3}  # CI row mobilenet_v2_1.0_224_quant
DEEPLAB_V3_513 = {"table": 52.0}  # table row "DeepLab V3 (513x513)"
SSD_MOBILENET_V2 = {"table": 7.2, "CI": 5.36}  # table "MobileNet v2 SSD (224x224)"; CI ssd_mobilenet_v2_face


@dataclass(frozen=True)
class PublishedRow:
    case: str
    label: str
    published_ms: dict[str, float]
    note: str
    loose: bool = False  # not the same model as the published row: shown, never used as a check


PUBLISHED: tuple[PublishedRow, ...] = (
    PublishedRow(
        "coral_td__mobilenet_v2_1.0_224_quant__2021-05",
        "MobileNet v2 224",
        MOBILENET_V2_224,
        "the model of the CI row",
    ),
    PublishedRow(
        "cmpss_mobilenet_v2_1.0_224_quant",
        "MobileNet v2 224",
        MOBILENET_V2_224,
        "retrained head: a 1280x5 classifier instead of 1280x1001",
    ),
    PublishedRow(
        "coral_td__mobilenet_v1_1.0_224_quant_embedding_extractor",
        "MobileNet v1 224",
        MOBILENET_V1_224,
        "embedding extractor: MobileNet v1 WITHOUT its 1024x1001 classifier (~1 M MAC, <0.2% of the MACs)",
    ),
    PublishedRow(
        "coral_td__deeplabv3_mnv2_pascal_quant",
        "DeepLab V3 513x513",
        DEEPLAB_V3_513,
        "the ASPP tail stays on the CPU; its cost rests on the assumed CPU element rate",
    ),
    PublishedRow(
        "cmpss_ssd_detect",
        "MobileNet v2 SSD (LOOSE)",
        SSD_MOBILENET_V2,
        "NOT the published model: 300x300 with 2 classes; the table row is a 224 COCO model and the CI "
        "row a 320 face model. NMS cost is not modelled",
        loose=True,
    ),
)


@dataclass(frozen=True)
class CycleCase:
    case: str
    compiler_cycles: int
    our_cycles: float
    degenerate: bool

    @property
    def error(self) -> float:
        """Relative error of our cycles against the compiler's (+0.1 = 10% more)."""
        return self.our_cycles / self.compiler_cycles - 1.0


def corpus_present(corpus: Path) -> bool:
    return (corpus / "index.json").is_file() or any(corpus.glob("*/truth.json"))


def _truth(case_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((case_dir / "truth.json").read_text())
    return data


def compiled_facts(path: Path) -> tuple[int | None, int]:
    """(estimated_cycles, instruction bytes) summed over the executables run on every invoke
    (EXECUTION_ONLY / STAND_ALONE). Cycles are None when no executable records them."""
    cm = read_compiled_model(path)
    cycles: int | None = None
    instr = 0
    for op in cm.edgetpu_ops:
        for pkg in op.packages:
            for ex in pkg.executables:
                if ex.type == "PARAMETER_CACHING":
                    continue
                instr += ex.instruction_bytes
                if ex.estimated_cycles is not None:
                    cycles = (cycles or 0) + ex.estimated_cycles
    return cycles, instr


def _graph(path: Path) -> Graph:
    model = load_model(path)
    return Graph.build(model, model.subgraphs[0])


def cycle_cases(corpus: Path) -> list[CycleCase]:
    """Every pair case whose compiled model records estimated_cycles, in name order."""
    out = []
    for case_dir in sorted(p for p in corpus.iterdir() if (p / "truth.json").is_file()):
        truth = _truth(case_dir)
        files = truth.get("files") or {}
        if truth.get("kind") != "pair" or not files.get("input") or not files.get("compiled"):
            continue
        cycles, _ = compiled_facts(case_dir / files["compiled"]["name"])
        if cycles is None:
            continue
        mapping = truth["mapping"]
        cpu = set(mapping["cpu_op_input_indices"])
        tpu = [i for i in range(mapping["input_op_count"]) if i not in cpu]
        graph = _graph(case_dir / files["input"]["name"])
        ours = estimate(graph, tpu).tpu_cycles
        out.append(CycleCase(case_dir.name, cycles, ours, cycles <= DEGENERATE_CYCLES))
    return out


@dataclass(frozen=True)
class PublishedResult:
    row: PublishedRow
    estimate: LatencyEstimate  # tpulint's predicted placement, input model only
    with_compiled_instructions: LatencyEstimate | None  # same, with the compiled model's instruction bytes

    def errors(self) -> dict[str, float]:
        return {k: self.estimate.total_ms / v - 1.0 for k, v in self.row.published_ms.items()}


def published_results(corpus: Path) -> list[PublishedResult]:
    """The estimate for each :data:`PUBLISHED` case present in ``corpus``."""
    from tpulint import check

    out = []
    for row in PUBLISHED:
        case_dir = corpus / row.case
        if not (case_dir / "truth.json").is_file():
            continue
        files = _truth(case_dir)["files"]
        path = case_dir / files["input"]["name"]
        report = check(path)
        graph = _graph(path)
        est = estimate_for_report(graph, report)
        compiled = None
        if files.get("compiled"):
            _, instr = compiled_facts(case_dir / files["compiled"]["name"])
            compiled = estimate_for_report(graph, report, instruction_bytes=instr)
        out.append(PublishedResult(row, est, compiled))
    return out


def _pct(x: float) -> str:
    return f"{100 * x:+.0f}%"


def _terms(e: LatencyEstimate) -> str:
    return (
        f"tpu {e.tpu_compute_ms:.3f} + stream {e.streaming_ms:.3f} + io {e.io_ms:.3f} "
        f"(in {e.boundary_input_bytes:,} B, out {e.boundary_output_bytes:,} B, instr {e.instruction_bytes:,} B) "
        f"+ cpu {e.cpu_ms:.3f} + overhead {e.overhead_ms:.3f} ({e.tpu_segments} segment(s)) = {e.total_ms:.2f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT)
    args = ap.parse_args(argv)
    if not corpus_present(args.corpus):
        print(f"corpus not found at {args.corpus}: nothing to compare (see tests/conftest.py)")
        return 0
    c = load_constants()
    print("ESTIMATE, not a measurement (constants: rules/latency.toml)")
    print(
        "\n(a) Edge TPU cycles: ours vs the compiler's estimated_cycles (the compiler's real placement; "
        f"{c.clock_max_hz / 1e6:g} MHz turns both into ms alike)"
    )
    print(f"{'case':62} {'compiler':>12} {'ours':>12} {'error':>7}")
    cases = cycle_cases(args.corpus)
    for k in cases:
        note = f"  (excluded: compiler floor value <= {DEGENERATE_CYCLES} cycles)" if k.degenerate else ""
        print(f"{k.case[:62]:62} {k.compiler_cycles:>12,} {k.our_cycles:>12,.0f} {_pct(k.error):>7}{note}")
    used = [k for k in cases if not k.degenerate]
    if used:
        errs = [abs(k.error) for k in used]
        rms_log = math.sqrt(statistics.fmean(math.log(k.our_cycles / k.compiler_cycles) ** 2 for k in used))
        print(
            f"  {len(used)} cases: mean |error| {100 * statistics.fmean(errs):.1f}%, "
            f"max {100 * max(errs):.1f}%, rms log error {rms_log:.3f}"
        )

    print("\n(b) End-to-end estimate (tpulint's predicted placement, input model only) vs published latency")
    results = published_results(args.corpus)
    for r in results:
        row = r.row
        errs = r.errors()
        print(f"\n{row.label}: {row.case}\n  note: {row.note}")
        print(f"  estimate: {_terms(r.estimate)}")
        print("  vs published: " + ", ".join(f"{k} {v:g} ms -> {_pct(errs[k])}" for k, v in row.published_ms.items()))
        if r.with_compiled_instructions is not None:
            e2 = r.with_compiled_instructions
            print(
                f"  (with the compiled model's {e2.instruction_bytes:,} instruction bytes: {e2.total_ms:.2f} ms: "
                + ", ".join(f"{k} {_pct(e2.total_ms / v - 1)}" for k, v in row.published_ms.items())
                + ")"
            )
    print("\nSummary (b), held-out rows only (the LOOSE row is not a check):")
    for r in results:
        if not r.row.loose:
            errs = r.errors()
            print(
                f"  {r.row.label:20} {r.row.case[:56]:56} {r.estimate.total_ms:6.2f} ms  "
                + ", ".join(f"{k} {v:g} {_pct(errs[k])}" for k, v in r.row.published_ms.items())
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
