"""Smoke test of the atheris harness (fuzz/fuzz_reader.py) without atheris and without fuzzing.

The fuzz run itself is not part of the suite (README, "Fuzzing"); this checks that the harness
imports, that its check accepts reports and clean errors and rejects anything else, that its seed
corpus can be written, and that it instruments every tpulint module the pipeline uses.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from broken_models import tiny_model
from conftest import FIXTURES, ROOT

HARNESS = ROOT / "fuzz" / "fuzz_reader.py"


def load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_reader", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_harness_runs_inputs_without_atheris(tmp_path: Path) -> None:
    harness = load_harness()
    assert harness.check_input(tiny_model()) == "ok"
    assert harness.check_input((FIXTURES / "int8_cnn.tflite").read_bytes()) == "ok"
    assert harness.check_input(b"") == "TPU902"
    assert harness.check_input(b"version https://git-lfs.github.com/spec/v1\n") == "TPU902"
    assert harness.check_input(tiny_model()[:100]) in {"TPU902", "TPU903"}
    harness.test_one_input(bytes(range(256)))
    count = harness.make_seeds(tmp_path / "seeds")
    seeds = sorted((tmp_path / "seeds").iterdir())
    assert count == len(seeds) > 10
    assert all(path.stat().st_size <= harness.SEED_MAX_BYTES for path in seeds)
    assert harness.replay([str(path) for path in seeds]) == 0


def test_harness_treats_unclean_errors_as_crashes() -> None:
    from tpulint.errors import ModelFormatError

    harness = load_harness()
    harness._check_clean(ModelFormatError("one line", "TPU903"))
    with pytest.raises(harness.UncleanError):
        harness._check_clean(ModelFormatError("two\nlines", "TPU903"))
    with pytest.raises(harness.UncleanError):
        harness._check_clean(ModelFormatError("not a TPU9xx code", "TPU101"))


def test_harness_instruments_every_module_the_pipeline_imports() -> None:
    """atheris instruments only modules imported inside instrument_imports(): checking inputs must
    load no tpulint module that the harness's up-front import missed (some are imported lazily)."""
    script = f"""
import importlib.util, json, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("fuzz_reader", {str(HARNESS)!r})
harness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(harness)
imported = set(harness._import_pipeline())
before = {{m for m in sys.modules if m.startswith("tpulint")}}
for path in sorted(Path({str(FIXTURES)!r}).rglob("*.tflite")):
    harness.check_input(path.read_bytes())
for data in (b"", b"version https://git-lfs.github.com/spec/v1\\n", bytes(64)):
    harness.check_input(data)
after = {{m for m in sys.modules if m.startswith("tpulint")}}
print(json.dumps({{"late": sorted(after - before), "not_instrumented": sorted(before - imported)}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    facts = json.loads(result.stdout)
    assert facts == {"late": [], "not_instrumented": []}


def test_structure_aware_mutations_find_fields_and_change_them() -> None:
    """Half the fuzzer's mutations set fields of a model that verifies: the harness must find the
    fields (from the verifier's walk) and produce a different input; a non-model gives none."""
    import random

    from conftest import FIXTURES

    harness = load_harness()
    data = (FIXTURES / "int8_cnn.tflite").read_bytes()
    sites = harness.field_sites(data)
    assert len(sites) > 100
    assert all(pos >= 0 and pos + size <= len(data) for pos, size in sites)
    rng = random.Random(7)
    mutants = [harness.mutate_fields(data, rng) for _ in range(20)]
    assert all(m is not None and len(m) == len(data) for m in mutants)
    assert sum(m != data for m in mutants if m is not None) >= 15
    assert harness.field_sites(b"not a model at all") == []
    assert harness.mutate_fields(b"TFL3" * 4, rng) is None
