"""Shared option handling for the sub-commands: configuration + target, as ``check`` does it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tpulint.context import Target
from tpulint.settings import CheckSettings


def make_target(
    settings: CheckSettings,
    *,
    runtime: int | None,
    compiler_version: str | None,
    multiple_subgraphs: bool = False,
    intermediate_tensors: Sequence[str] = (),
) -> Target:
    """The compiler target from flags > config > defaults; ``ValueError`` with a one-line message."""
    from tpulint.context import COMPILER_VERSIONS
    from tpulint.ruledata import compilers, default_compiler

    cv = compiler_version or settings.config.compiler_version or default_compiler()
    if cv not in COMPILER_VERSIONS:
        raise ValueError(f"unknown --compiler-version {cv!r} (known: {', '.join(COMPILER_VERSIONS)})")
    rt = runtime if runtime is not None else settings.config.runtime
    spec = compilers()[cv]
    if rt is not None and not spec.min_runtime <= rt <= spec.default_runtime:
        raise ValueError(
            f"--runtime {rt} is not supported by compiler {cv} (it accepts {spec.min_runtime}-{spec.default_runtime})"
        )
    return Target(
        compiler=cv,
        runtime=rt,
        multiple_subgraphs=multiple_subgraphs,
        intermediate_tensors=tuple(intermediate_tensors),
    )


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    from tpulint.analyze import iter_model_paths

    return [p for p, _ in iter_model_paths(paths)]
