"""How fast is tpulint? One run measures everything and prints tables (no assertions, no targets enforced).

Measured on the same models -- ``fixtures/``, every ``*.tflite`` of ``../shared/corpus`` (when
present) and generated models (``benchmarks/gen_models.py``: 150 / 1,000 / 10,000-op CNNs, a
10,000-op LSTM stack with 140,000 tensors, a 256 MiB-weights model, 1,000 small CNNs):

1. cold CLI: the whole ``tpulint check MODEL`` process (interpreter start, imports, read, rules,
   output), median of ``--runs`` runs, for the text and JSON formats; ``tpulint --help`` too;
2. in-process analysis per model and per op (``tpulint.check``: ``load_model`` + ``analyze_model``, imports done),
   split into verify / parse / analyze;
3. peak RSS of ``tpulint check -f json`` against file size, relative to the same process on the
   smallest fixture (the interpreter with tpulint loaded);
4. throughput on a directory of 1,000 small models, single process and with ``--jobs N``;
5. TensorFlow's ``tf.lite.experimental.Analyzer.analyze`` as the reference (cold process and
   in-process), when a Python with TensorFlow is available (``--tf-python``; default
   ``/work/tfvenv/bin/python`` if it exists), with the ratio.

Run::

    python benchmarks/speed.py                  # everything (about 2-3 minutes on 2 cores)
    python benchmarks/speed.py --quick          # fewer repetitions, no 1,000-model directory
    python benchmarks/speed.py --json out.json  # also save the raw figures
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"
MOBILENETS = [
    CORPUS
    / "coral_td__mobilenet_v1_1.0_224_quant_embedding_extractor"
    / "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite",
    CORPUS / "coral_td__mobilenet_v2_1.0_224_quant__2021-05" / "mobilenet_v2_1.0_224_quant.tflite",
]
DEFAULT_TF_PYTHON = Path("/work/tfvenv/bin/python")

sys.path.insert(0, str(HERE))
import gen_models  # noqa: E402


def _tpulint_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "tpulint"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "tpulint.cli"]


# Peak RSS is read with wait4() on a process started by this small launcher: a process forked from
# a large parent (this one, after loading big models) inherits the parent's RSS high-water mark.
_LAUNCHER = """
import json, os, subprocess, sys, time
cmd = json.loads(sys.argv[1])
t0 = time.perf_counter()
proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps([time.perf_counter() - t0, os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024]))
"""


def run_child(cmd: Sequence[str]) -> tuple[float, int, int]:
    """Run a process; return (wall seconds, exit code, peak RSS in bytes)."""
    out = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, json.dumps(list(cmd))], capture_output=True, text=True, env=_env(), check=True
    )
    wall, code, rss = json.loads(out.stdout)
    return float(wall), int(code), int(rss)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PRE_COMMIT", None)
    return env


def median_time(cmd: Sequence[str], runs: int) -> dict[str, float]:
    run_child(cmd)  # warm the page cache
    times = []
    rss = 0
    code = 0
    for _ in range(runs):
        wall, code, peak = run_child(cmd)
        times.append(wall)
        rss = max(rss, peak)
    return {"median_s": statistics.median(times), "min_s": min(times), "rss": rss, "exit": code}


def _fmt_ms(s: float) -> str:
    return f"{1000 * s:,.1f}"


def _mb(n: float) -> str:
    return f"{n / 2**20:,.1f}"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = [f"\n## {title}\n"]
    out.append("| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)) + " |")
    out.append("| " + " | ".join("-" * w for w in widths) + " |")
    for r in cells[1:]:
        cols = (c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=True))
        out.append("| " + " | ".join(cols) + " |")
    return "\n".join(out)


def _numeric(c: str) -> bool:
    return bool(c) and (c[0].isdigit() or c[0] in "-+×x") and not c.startswith("x/")


# ---- 1. cold CLI ----------------------------------------------------------------------------------


def cold_cli(models: list[Path], runs: int) -> list[dict[str, Any]]:
    base = _tpulint_cmd()
    out = []
    for what, cmd in [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("tpulint --help", [*base, "--help"]),
    ]:
        r = median_time(cmd, runs)
        out.append({"what": what, "model": "", **r})
    for m in models:
        for fmt in ("text", "json"):
            r = median_time([*base, "check", str(m), "-f", fmt], runs)
            out.append({"what": f"tpulint check -f {fmt}", "model": m.name, "size": m.stat().st_size, **r})
    return out


# ---- 2. in-process --------------------------------------------------------------------------------


def _repeat(fn: Callable[[], Any], budget_s: float, min_runs: int = 3, max_runs: int = 25) -> float:
    """Best time of several runs: on a shared machine noise only ever adds time."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget_s and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def in_process(paths: list[Path], budget_s: float, rounds: int = 3) -> list[dict[str, Any]]:
    """Best time per model and phase over ``rounds`` interleaved rounds: the machine is shared, and
    a slow phase of a few seconds would otherwise spoil every run of the model measured in it."""
    import tpulint
    from tpulint.analyze import analyze_model
    from tpulint.context import Target
    from tpulint.errors import TpulintError
    from tpulint.model import load_model, open_bytes, parse_model
    from tpulint.verify import verify_tflite

    target = Target.default()
    rows: list[dict[str, Any]] = []
    phases: list[tuple[dict[str, Any], dict[str, Callable[[], Any]]]] = []
    for p in paths:
        try:
            probe = load_model(p)
        except TpulintError as exc:
            rows.append({"model": str(p), "error": exc.message})
            continue
        n_ops = sum(len(sg.ops) for sg in probe.subgraphs)
        n_tensors = sum(len(sg.tensors) for sg in probe.subgraphs)
        probe.close()
        data = open_bytes(p)
        model = parse_model(data, path=p, verify=False)

        def full(p: Path = p) -> None:
            tpulint.check(p)  # the Python API: read, verify, analyse (load_model + analyze_model)

        def verify(data: Any = data) -> None:
            verify_tflite(data)  # the verifier runs around the reader: this includes a parse

        def parse(data: Any = data, p: Path = p) -> None:
            parse_model(data, path=p, verify=False)

        def analyze(model: Any = model) -> None:
            analyze_model(model, target)

        row: dict[str, Any] = {"model": str(p), "size": p.stat().st_size, "ops": n_ops, "tensors": n_tensors}
        rows.append(row)
        phases.append((row, {"total_s": full, "verify_s": verify, "parse_s": parse, "analyze_s": analyze}))
    for _ in range(rounds):
        for row, fns in phases:
            for key, fn in fns.items():
                share = budget_s / rounds if key == "total_s" else budget_s / rounds / 3
                best = _repeat(fn, share)
                row[key] = min(row.get(key, best), best)
    for row, _ in phases:
        row["us_per_op"] = 1e6 * row["total_s"] / max(row["ops"], 1)
    return rows


# ---- 3. peak RSS ----------------------------------------------------------------------------------


def peak_rss(paths: list[Path], baseline_model: Path) -> dict[str, Any]:
    base = _tpulint_cmd()
    _, _, interp = run_child([sys.executable, "-c", "pass"])
    _, _, floor = run_child([*base, "check", str(baseline_model), "-f", "json", "-o", os.devnull])
    rows = []
    for p in paths:
        wall, code, peak = run_child([*base, "check", str(p), "-f", "json", "-o", os.devnull])
        size = p.stat().st_size
        rows.append({"model": p.name, "size": size, "peak": peak, "delta": peak - floor, "wall_s": wall, "exit": code})
    return {"python": interp, "floor": floor, "floor_model": baseline_model.name, "rows": rows}


# ---- 4. throughput --------------------------------------------------------------------------------


def _has_jobs() -> bool:
    out = subprocess.run([*_tpulint_cmd(), "check", "--help"], capture_output=True, text=True, env=_env())
    return "--jobs" in out.stdout


def throughput(directory: Path, jobs: list[int], work: Path, runs: int) -> list[dict[str, Any]]:
    base = _tpulint_cmd()
    count = len(list(directory.glob("*.tflite")))
    rows = []
    reference: bytes | None = None
    variants: list[int | None] = [None, *jobs] if _has_jobs() else [None]
    for j in variants:
        out = work / f"throughput_{j}.json"
        cmd = [*base, "check", str(directory), "-f", "json", "-o", str(out)]
        if j is not None:
            cmd += ["--jobs", str(j)]
        times = []
        for _ in range(runs):
            wall, code, _ = run_child(cmd)
            times.append(wall)
        text = out.read_bytes()
        if reference is None:
            reference = text
        rows.append(
            {
                "jobs": "(none)" if j is None else j,
                "models": count,
                "median_s": statistics.median(times),
                "min_s": min(times),
                "per_model_ms": 1000 * statistics.median(times) / max(count, 1),
                "identical": text == reference,
                "exit": code,
            }
        )
    return rows


# ---- 5. TensorFlow Analyzer -----------------------------------------------------------------------

_TF_CHILD = """
import sys, time
t0 = time.perf_counter()
import tensorflow as tf
t1 = time.perf_counter()
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    tf.lite.experimental.Analyzer.analyze(model_path=sys.argv[1])
t2 = time.perf_counter()
times = []
for _ in range(5):
    with contextlib.redirect_stdout(io.StringIO()):
        a = time.perf_counter()
        tf.lite.experimental.Analyzer.analyze(model_path=sys.argv[1])
        times.append(time.perf_counter() - a)
times.sort()
print(f"{t1 - t0} {t2 - t1} {times[len(times) // 2]} {tf.__version__}", file=sys.stderr)
"""


def tf_analyzer(tf_python: Path, models: list[Path], runs: int) -> list[dict[str, Any]]:
    rows = []
    for m in models:
        cmd = [str(tf_python), "-c", _TF_CHILD, str(m)]
        walls = []
        detail = ""
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            walls.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                return [{"model": m.name, "error": proc.stderr.strip().splitlines()[-1:]}]
            detail = proc.stderr.strip().splitlines()[-1]
        imp, first, warm, version = detail.split()
        rows.append(
            {
                "model": m.name,
                "cold_s": statistics.median(walls),
                "import_s": float(imp),
                "first_analyze_s": float(first),
                "warm_analyze_s": float(warm),
                "tf_version": version,
            }
        )
    return rows


# ---- main -----------------------------------------------------------------------------------------


def _corpus_models() -> list[Path]:
    return sorted(CORPUS.rglob("*.tflite")) if CORPUS.is_dir() else []


def _summarise(rows: list[dict[str, Any]]) -> list[Any]:
    ok = [r for r in rows if "error" not in r]
    if not ok:
        return ["-"] * 8
    totals = [r["total_s"] for r in ok]
    per_op = [r["us_per_op"] for r in ok]
    return [
        len(rows),
        sum(r["ops"] for r in ok),
        _fmt_ms(statistics.median(totals)),
        _fmt_ms(max(totals)),
        f"{statistics.median(per_op):,.0f}",
        _fmt_ms(sum(totals)),
        len(rows) - len(ok),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="tpulint speed benchmark (prints tables; asserts nothing)")
    ap.add_argument("--runs", type=int, default=7, help="repetitions of each cold process (median)")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions; skip the 1,000-model directory")
    ap.add_argument("--tf-python", type=Path, default=None, help="a Python with TensorFlow (reference)")
    ap.add_argument("--no-tf", action="store_true", help="skip the TensorFlow reference")
    ap.add_argument("--jobs", type=int, nargs="*", default=[1, 2], help="--jobs values for the throughput run")
    ap.add_argument("--small", type=int, default=1000, help="size of the small-model directory")
    ap.add_argument("--work", type=Path, default=None, help="keep generated models here (reused if present)")
    ap.add_argument("--json", type=Path, default=None, help="also write every figure to this file")
    ap.add_argument("--verbose", action="store_true", help="list every corpus model")
    args = ap.parse_args(argv)
    runs = 3 if args.quick else args.runs
    budget = 0.3 if args.quick else 1.0

    tmp = None
    work = args.work
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="tpulint-speed-")
        work = Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        }
    }
    try:
        log("generating models ...")
        gen_dir = work / "generated"
        # In a child process: building the 256 MiB model makes a process large, and children forked
        # from a large process report its RSS as their own peak.
        gen_cmd = [sys.executable, str(HERE / "gen_models.py"), str(gen_dir)]
        if not args.quick:
            gen_cmd += ["--small", str(args.small)]
        subprocess.run(gen_cmd, check=True)
        by_name = {name: gen_dir / f"{name}.tflite" for name in gen_models.STANDARD}
        small_dir = gen_dir / "small"

        # Byte-compile tpulint first, as an install does: a checkout edited since its last run (or an
        # environment with PYTHONDONTWRITEBYTECODE) would otherwise compile every module in every run.
        spec = importlib.util.find_spec("tpulint")
        for location in (spec.submodule_search_locations or []) if spec else []:
            subprocess.run([sys.executable, "-m", "compileall", "-q", location], check=False, capture_output=True)

        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"# tpulint speed — Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}; "
            f"load average at start {load} (other work on the machine slows every figure)"
        )

        # 1. cold CLI
        log("cold CLI ...")
        cli_models = [FIXTURES / "int8_cnn.tflite", *[m for m in MOBILENETS if m.is_file()]]
        cold = cold_cli(cli_models, runs)
        results["cold_cli"] = cold
        print(
            table(
                f"Cold CLI (whole process, median of {runs})",
                ["command", "model", "KiB", "median ms", "min ms", "peak RSS MiB", "exit"],
                [
                    [
                        r["what"],
                        r["model"],
                        f"{r.get('size', 0) / 1024:,.0f}" if r.get("size") else "",
                        _fmt_ms(r["median_s"]),
                        _fmt_ms(r["min_s"]),
                        _mb(r["rss"]),
                        r["exit"],
                    ]
                    for r in cold
                ],
            )
        )

        # 3. RSS
        log("peak RSS ...")
        rss_models = [
            by_name["cnn_150"],
            *[m for m in MOBILENETS if m.is_file()][:1],
            by_name["cnn_10k"],
            by_name["lstm_10k"],
            by_name["weights_256mb"],
        ]
        fixtures = sorted(FIXTURES.glob("*.tflite"))
        smallest = min(fixtures, key=lambda p: p.stat().st_size)
        rss = peak_rss(rss_models, smallest)
        results["rss"] = rss
        print(
            table(
                f"Peak RSS of `tpulint check -f json` (interpreter alone {_mb(rss['python'])} MiB; "
                f"with tpulint on {rss['floor_model']}: {_mb(rss['floor'])} MiB)",
                ["model", "file MiB", "peak RSS MiB", "above tpulint floor MiB", "wall s"],
                [
                    [r["model"], _mb(r["size"]), _mb(r["peak"]), _mb(r["delta"]), f"{r['wall_s']:.2f}"]
                    for r in rss["rows"]
                ],
            )
        )

        # 2. in-process
        log("in-process analysis ...")
        fixtures = sorted(FIXTURES.glob("*.tflite"))
        corpus = _corpus_models()
        gen_rows = in_process([by_name[n] for n in ("cnn_150", "cnn_1k", "cnn_10k", "lstm_10k")], budget)
        fix_rows = in_process(fixtures, budget / 4)
        corpus_rows = in_process(corpus, budget / 4)
        results["in_process"] = {"generated": gen_rows, "fixtures": fix_rows, "corpus": corpus_rows}
        detail_rows = gen_rows + (
            [r for r in corpus_rows if Path(r["model"]) in MOBILENETS]
            + sorted((r for r in corpus_rows if "error" not in r), key=lambda r: -r["total_s"])[:3]
        )
        if args.verbose:
            detail_rows = gen_rows + fix_rows + corpus_rows
        seen: set[str] = set()
        lines = []
        for r in detail_rows:
            if r["model"] in seen or "error" in r:
                continue
            seen.add(r["model"])
            lines.append(
                [
                    Path(r["model"]).name,
                    f"{r['size'] / 1024:,.0f}",
                    f"{r['ops']:,}",
                    f"{r['tensors']:,}",
                    _fmt_ms(r["verify_s"]),
                    _fmt_ms(r["parse_s"]),
                    _fmt_ms(r["analyze_s"]),
                    _fmt_ms(r["total_s"]),
                    f"{r['us_per_op']:,.0f}",
                ]
            )
        print(
            table(
                "In-process `tpulint.check(path)`: verify (around a parse) + analyze (imports done; best of 3 rounds)",
                [
                    "model",
                    "KiB",
                    "ops",
                    "tensors",
                    "verify+parse ms",
                    "parse ms",
                    "analyze ms",
                    "total ms",
                    "µs/op (total)",
                ],
                lines,
            )
        )
        print(
            table(
                "In-process analysis, whole sets",
                ["set", "models", "ops", "median ms", "max ms", "median µs/op", "sum ms", "unreadable"],
                [["fixtures", *_summarise(fix_rows)], ["corpus", *_summarise(corpus_rows)]],
            )
        )
        cnn = {Path(r["model"]).stem: r for r in gen_rows}
        if {"cnn_150", "cnn_10k"} <= set(cnn):
            ratio = cnn["cnn_10k"]["us_per_op"] / cnn["cnn_150"]["us_per_op"]
            results["linearity_cnn_10k_vs_150"] = ratio
            print(
                f"\nLinearity: µs/op of cnn_10k / cnn_150 = {ratio:.2f} "
                f"({cnn['cnn_150']['us_per_op']:.0f} → {cnn['cnn_1k']['us_per_op']:.0f} → "
                f"{cnn['cnn_10k']['us_per_op']:.0f} µs/op for 150 / 1,000 / 10,000 ops)"
            )

        # 4. throughput
        if not args.quick:
            log("throughput ...")
            tp = throughput(small_dir, args.jobs, work, 1 if args.quick else 3)
            results["throughput"] = tp
            print(
                table(
                    f"Throughput: `tpulint check DIR -f json` on {args.small} small models (3-30 ops), 3 runs",
                    ["--jobs", "models", "median s", "min s", "ms/model", "same output", "exit"],
                    [
                        [
                            r["jobs"],
                            r["models"],
                            f"{r['median_s']:.2f}",
                            f"{r['min_s']:.2f}",
                            f"{r['per_model_ms']:.1f}",
                            "yes" if r["identical"] else "NO",
                            r["exit"],
                        ]
                        for r in tp
                    ],
                )
            )

        # 5. TensorFlow
        tf_python = args.tf_python or (DEFAULT_TF_PYTHON if DEFAULT_TF_PYTHON.is_file() else None)
        if args.no_tf or tf_python is None:
            print("\n(TensorFlow reference skipped: no --tf-python)")
        else:
            log("TensorFlow Analyzer ...")
            tf_models = [m for m in MOBILENETS if m.is_file()] or [FIXTURES / "int8_cnn.tflite"]
            tf_rows = tf_analyzer(tf_python, tf_models, max(2, runs // 2))
            results["tf_analyzer"] = tf_rows
            ours = {r["model"]: r for r in cold if r["what"] == "tpulint check -f text"}
            ours_json = {r["model"]: r for r in cold if r["what"] == "tpulint check -f json"}
            lines = []
            for r in tf_rows:
                if "error" in r:
                    lines.append([r["model"], "error", str(r["error"]), "", "", "", ""])
                    continue
                mine = ours.get(r["model"])
                mine_j = ours_json.get(r["model"])
                lines.append(
                    [
                        r["model"],
                        _fmt_ms(r["cold_s"]),
                        _fmt_ms(r["import_s"]),
                        _fmt_ms(r["warm_analyze_s"]),
                        _fmt_ms(mine["median_s"]) if mine else "",
                        f"{r['cold_s'] / mine['median_s']:.1f}×" if mine else "",
                        f"{r['cold_s'] / mine_j['median_s']:.1f}×" if mine_j else "",
                    ]
                )
            print(
                table(
                    f"TensorFlow {tf_rows[0].get('tf_version', '')} Analyzer.analyze vs tpulint check (cold processes)",
                    [
                        "model",
                        "TF process ms",
                        "TF import ms",
                        "TF analyze ms (warm)",
                        "tpulint text ms",
                        "ratio (text)",
                        "ratio (json)",
                    ],
                    lines,
                )
            )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    finally:
        if tmp is not None:
            tmp.cleanup()
        elif args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
