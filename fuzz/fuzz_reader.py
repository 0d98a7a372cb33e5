#!/usr/bin/env python3
"""Coverage-guided fuzzing of tpulint's reader and analysis with atheris (libFuzzer for Python).

Every input goes through what ``tpulint check --format json`` does with a file's bytes: sniff,
verify, parse (:func:`tpulint.model.parse_model`), every rule, the partition simulator
(:func:`tpulint.analyze.analyze_model`) and the JSON report (:func:`tpulint.emit.json_out.render`).
The only acceptable failure is a :class:`tpulint.errors.TpulintError` with a ``TPU9xx`` code and a
one-line message; any other exception is a crash: atheris prints its traceback and saves the input
as ``crash-<sha1>`` (in the current directory, or ``-artifact_prefix=DIR/``). libFuzzer's own
limits catch hangs (``-timeout``, seconds per input) and memory blow-ups (``-rss_limit_mb``).

Half of the mutations are structure-aware (:func:`custom_mutator`): byte-level mutants of a
flatbuffer mostly stop at the verifier, so the harness also takes inputs that verify and sets their
scalar fields and int vector elements (shapes, indices, options, small constants) to boundary
values, which reach the rules. The target compiler, runtime, ``-a`` and ``-i`` vary with the input.

Install and run (see the README's "Fuzzing" section)::

    pip install -e '.[fuzz]'
    python fuzz/fuzz_reader.py --make-seeds fuzz/seeds        # fixtures + non-model samples
    mkdir -p fuzz/corpus fuzz/crashes
    python fuzz/fuzz_reader.py -atheris_runs=1000000 -max_len=16384 -timeout=10 \\
        -rss_limit_mb=2048 -artifact_prefix=fuzz/crashes/ fuzz/corpus fuzz/seeds

``-atheris_runs=N`` stops after N executions (libFuzzer's ``-runs`` counts differently under
atheris); the first directory collects the inputs that find new coverage. To use several cores,
run one process per core with its own ``-seed=K`` on the same corpus directories, or add
``-fork=2 -ignore_crashes=1`` to keep going after a crash.

Without atheris the module still imports: :func:`check_input` is the same check, used by
``tests/test_fuzz_harness.py`` as a smoke test and to replay saved crashes
(``python fuzz/fuzz_reader.py --replay FILE...``).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

CLEAN_CODES = frozenset({"TPU901", "TPU902", "TPU903", "TPU904", "TPU905", "TPU906"})
SEED_MAX_BYTES = 32 * 1024  # larger fixtures make every mutation slower for little new coverage


class UncleanError(AssertionError):
    """A TpulintError without a TPU9xx code or with a multi-line message: a crash too."""


def _import_pipeline() -> list[str]:
    """Import every tpulint module up front and return their names.

    atheris instruments only what is imported inside its ``instrument_imports()`` block, and
    tpulint imports some modules lazily, inside functions: importing the whole package here puts
    all of them under coverage (``tests/test_fuzz_harness.py`` checks that checking inputs then
    loads no tpulint module that escaped instrumentation).
    """
    import importlib
    import pkgutil

    import tpulint

    names = ["tpulint"]
    for info in pkgutil.walk_packages(tpulint.__path__, "tpulint."):
        try:
            importlib.import_module(info.name)
        except ImportError:  # a module for an optional extra; the pipeline does not use it
            continue
        names.append(info.name)
    return names


def _targets() -> tuple[Any, ...]:
    from tpulint.context import Target

    return (
        Target(),
        Target(compiler="1.0", runtime=10),
        Target(compiler="14.1", runtime=13, multiple_subgraphs=True),
        Target(compiler="15.0", intermediate_tensors=("x", "input")),
    )


def check_input(data: bytes) -> str:
    """Run the whole ``check`` pipeline on ``data``; return "ok" or the clean error's code.

    The target (compiler version, runtime, ``-a``, ``-i``) varies with the input's length, so the
    fuzzer explores every compiler's rules. Raises whatever the pipeline raises other than a clean
    :class:`~tpulint.errors.TpulintError`.
    """
    from tpulint.analyze import analyze_model
    from tpulint.emit import json_out
    from tpulint.errors import TpulintError
    from tpulint.model import parse_model
    from tpulint.report import Report

    try:
        model = parse_model(data)
    except TpulintError as error:
        _check_clean(error)
        return error.code
    try:
        report = Report(tool_version="fuzz")
        targets = _targets()
        report.models.append(analyze_model(model, targets[len(data) % len(targets)], label="fuzz.tflite"))
        json_out.render(report)
    except TpulintError as error:
        _check_clean(error)
        return error.code
    finally:
        model.close()
    return "ok"


def _check_clean(error: Exception) -> None:
    code = getattr(error, "code", "")
    message = str(error)
    if code not in CLEAN_CODES or not message or "\n" in message:
        raise UncleanError(f"unclean error {code!r}: {message!r}") from error


def test_one_input(data: bytes) -> None:
    check_input(data)


# ---- structure-aware mutation -----------------------------------------------------------------------
# Byte-level mutants of a flatbuffer mostly stop at the verifier. Half of the mutations instead take
# an input that verifies and set one of its scalar fields (options, types, indices, versions) or int
# vector elements (shapes, op inputs and outputs, small constant buffers such as axes, paddings and
# resize sizes) to a boundary value: still a valid model, but with the values that break rules.

_INT32_VALUES = (0, 1, 2, -1, -2, 3, 4, 7, 255, 256, 16000, 65535, 2**16 + 1, 2**31 - 1, -(2**31))
_BYTE_VALUES = (0, 1, 2, 3, 4, 5, 6, 9, 17, 18, 19, 127, 128, 255)


def field_sites(data: bytes) -> list[tuple[int, int]]:
    """(position, size) of every scalar field and the first int vector elements of a model, from
    the verifier's own walk of the schema; empty when the input is not a structurally sound TFLite
    flatbuffer."""
    import struct

    from tpulint import verify
    from tpulint.errors import ModelFormatError

    if len(data) < 8 or data[4:8] != verify.TFLITE_IDENTIFIER:
        return []
    try:  # the structural walk is enough: mutants that then fail the graph checks are fine
        tables = verify.walked_tables(data)
    except (ModelFormatError, struct.error):
        return []
    sites: list[tuple[int, int]] = []
    for pos, layout, fields in tables:
        for slot, offset in enumerate(fields):
            if not offset or slot not in layout.declared:
                continue
            kind = layout.declared[slot][1]
            if kind.isdigit():
                sites.append((pos + offset, int(kind)))
            elif kind in ("v4", "v1"):
                target = pos + offset + struct.unpack_from("<I", data, pos + offset)[0]
                length = struct.unpack_from("<I", data, target)[0]
                if kind == "v4":
                    sites += [(target + 4 + 4 * j, 4) for j in range(min(length, 8))]
                elif layout.name == "Buffer" and length <= 64:  # small constants: axes, sizes, paddings
                    sites += [(target + 4 + j, 4) for j in range(0, length - 3, 4)]
    return sites


def mutate_fields(data: bytes, rng: random.Random) -> bytes | None:
    """Set one to three fields of a valid model to boundary values; None if ``data`` does not verify."""
    import struct

    sites = field_sites(data)
    if not sites:
        return None
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        pos, size = rng.choice(sites)
        if size == 1:
            out[pos] = rng.choice(_BYTE_VALUES)
        elif size == 2:
            struct.pack_into("<h", out, pos, rng.choice((0, 1, -1, 32767)))
        elif size == 4:
            struct.pack_into("<i", out, pos, rng.choice((*_INT32_VALUES, rng.randrange(-64, 64))))
        else:
            struct.pack_into("<q", out, pos, rng.choice((0, 1, -1, 2**32, 2**63 - 1, -(2**63))))
    return bytes(out)


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    import atheris

    rng = random.Random(seed)
    if rng.random() < 0.5:
        mutant = mutate_fields(data, rng)
        if mutant is not None and len(mutant) <= max_size:
            return mutant
    result: bytes = atheris.Mutate(data, max_size)
    return result


def make_seeds(out: Path) -> int:
    """Write the seed corpus: the small fixtures and a few non-model files sniff recognises."""
    root = Path(__file__).resolve().parents[1]
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    fixtures = root / "fixtures"
    for path in sorted(fixtures.rglob("*.tflite")):
        if path.stat().st_size <= SEED_MAX_BYTES:
            (out / "__".join(path.relative_to(fixtures).parts)).write_bytes(path.read_bytes())
            count += 1
    samples = {
        "lfs_pointer": b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 4242\n",
        "onnx_head": b"\x08\x07\x12\x07pytorch\x1a\x052.1.0:\x10\n\x05input\x12\x07output",
        "hdf5_head": b"\x89HDF\r\n\x1a\n" + bytes(64),
        "size_prefixed": b"\x10\x00\x00\x00\x0c\x00\x00\x00TFL3" + bytes(16),
        "one_byte": b"\x00",
    }
    for name, data in samples.items():
        (out / name).write_bytes(data)
        count += 1
    return count


def replay(paths: list[str]) -> int:
    """Run saved inputs without atheris; print each outcome; return 1 if any crashed."""
    import traceback

    failed = 0
    for name in paths:
        try:
            print(f"{name}: {check_input(Path(name).read_bytes())}")
        except Exception:
            failed = 1
            print(f"{name}: CRASH")
            traceback.print_exc()
    return failed


def main(argv: list[str]) -> int:
    if len(argv) > 2 and argv[1] == "--make-seeds":
        print(f"wrote {make_seeds(Path(argv[2]))} seed inputs to {argv[2]}")
        return 0
    if len(argv) > 1 and argv[1] == "--replay":
        return replay(argv[2:])
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: pip install -e '.[fuzz]'", file=sys.stderr)
        return 2
    with atheris.instrument_imports(include=["tpulint"]):
        _import_pipeline()
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
