"""CPU instructions per in-process ``tpulint.check``, counted by valgrind: a figure that does not move.

The wall-clock figures of ``speed.py`` move by up to ±40 % on a shared machine, more than most
single changes gain. This counts the instructions the interpreter executes instead (valgrind's
callgrind tool, with a fixed hash seed): the same code on the same model gives the same count to
within ~0.1 %, so two revisions compare exactly. Each figure is (instructions of a process doing ``N`` calls) minus (the
same process doing none), divided by ``N``; the calls come after one warm-up call, so imports,
first-use caches and the warm-up itself cancel out.

Instructions are not time (cache misses and branch mispredictions are not counted), but in this
pure-Python code they track the best-of-many wall times closely: about 10 instructions per
nanosecond on the reference machine.

Run::

    python benchmarks/instructions.py                    # the generated 150-op CNN, every phase
    python benchmarks/instructions.py MODEL ... --phase total --runs 5
    PYTHONPATH=/path/to/other/checkout python benchmarks/instructions.py   # another revision

It needs ``valgrind`` on PATH (not a Python package; ``apt-get install valgrind``) and takes about
a minute per model and phase (valgrind runs the interpreter ~50x slower).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHASES = ("total", "verify", "parse", "analyze")
_COLLECTED = re.compile(r"Collected\s*:\s*([\d,]+)")


def worker(model: str, phase: str, calls: int) -> None:
    """The measured process: one warm-up call of ``phase`` on ``model``, then ``calls`` more."""
    import tpulint
    from tpulint.analyze import analyze_model
    from tpulint.context import Target
    from tpulint.model import open_bytes, parse_model
    from tpulint.verify import verify_tflite

    data = open_bytes(Path(model))
    parsed = parse_model(data, path=Path(model), verify=False)
    target = Target.default()
    run = {
        "total": lambda: tpulint.check(model),
        "verify": lambda: verify_tflite(data),  # the verifier runs around a parse
        "parse": lambda: parse_model(data, path=Path(model), verify=False),
        "analyze": lambda: analyze_model(parsed, target),
    }[phase]
    run()
    for _ in range(calls):
        run()


def instructions(valgrind: str, model: Path, phase: str, calls: int) -> int:
    """Instructions of a worker process making ``calls`` calls (after its warm-up call)."""
    cmd = [
        valgrind,
        "--tool=callgrind",
        f"--callgrind-out-file={os.devnull}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(model),
        phase,
        str(calls),
    ]
    # A fixed hash seed: set and dict orders (and so the work done) are the same in every process.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    run = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    found = _COLLECTED.search(run.stderr)
    if run.returncode != 0 or found is None:
        tail = run.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"valgrind failed on {model.name} ({phase}): {' | '.join(tail)}")
    return int(found.group(1).replace(",", ""))


def per_call(valgrind: str, model: Path, phase: str, calls: int) -> float:
    return (instructions(valgrind, model, phase, calls) - instructions(valgrind, model, phase, 0)) / calls


def _default_model(work: Path) -> Path:
    sys.path.insert(0, str(HERE))
    import gen_models

    path = work / "cnn_150.tflite"
    path.write_bytes(gen_models.cnn(150))
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--worker"]:
        worker(args[1], args[2], int(args[3]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path, help="default: the generated 150-op CNN of speed.py")
    ap.add_argument("--phase", choices=[*PHASES, "all"], default="all")
    ap.add_argument("--runs", type=int, default=5, help="calls measured per process (after one warm-up)")
    opts = ap.parse_args(args)
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("instructions.py: valgrind is not on PATH (apt-get install valgrind); nothing measured", file=sys.stderr)
        return 2
    if opts.runs < 1:
        ap.error("--runs must be at least 1")
    phases = list(PHASES) if opts.phase == "all" else [opts.phase]
    import tpulint

    print(f"# instructions per call (valgrind callgrind), tpulint from {Path(tpulint.__file__).parent}")
    print("| model | phase | instructions per call | per op |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        models = opts.models or [_default_model(Path(tmp))]
        for model in models:
            from tpulint.model import load_model

            probe = load_model(model)
            ops = max(sum(len(sg.ops) for sg in probe.subgraphs), 1)
            probe.close()
            for phase in phases:
                n = per_call(valgrind, model, phase, opts.runs)
                print(f"| {model.name} | {phase} | {n / 1e6:,.2f} M | {n / ops / 1e3:,.0f} k |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
