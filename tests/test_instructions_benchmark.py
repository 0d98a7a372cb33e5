"""benchmarks/instructions.py: its worker runs every phase, and it says so when valgrind is missing.

The counts themselves are figures, not assertions (no timing or instruction budgets in the tests).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "instructions.py"
MODEL = ROOT / "fixtures" / "int8_cnn.tflite"


@pytest.mark.parametrize("phase", ["total", "verify", "parse", "analyze"])
def test_worker_runs_each_phase(phase: str) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--worker", str(MODEL), phase, "2"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""  # nothing printed inside the measured process


def test_without_valgrind_it_says_so_and_exits_2(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(MODEL)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(bin_dir)},
    )
    assert run.returncode == 2
    assert "valgrind is not on PATH" in run.stderr


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_counts_a_fixture_with_valgrind() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(MODEL), "--phase", "parse", "--runs", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    row = next(line for line in run.stdout.splitlines() if line.startswith("| int8_cnn.tflite | parse |"))
    millions = float(row.split("|")[3].split()[0].replace(",", ""))
    assert millions > 0  # a positive count (a real parse costs instructions), whatever its size
