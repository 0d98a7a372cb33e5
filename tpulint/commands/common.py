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
    intermediate_tensors: str | None = None,
    search_delegate: bool = False,
    delegate_search_step: int = 1,
    num_segments: int = 1,
) -> Target:
    """The compiler target from flags > config > defaults; ``ValueError`` with a one-line message.

    ``intermediate_tensors`` is the ``-i`` flag as given: comma-separated tensor names.
    """
    from tpulint.ruledata import default_compiler

    names = tuple(x.strip() for x in (intermediate_tensors or "").split(",") if x.strip())
    return Target.checked(
        compiler_version or settings.config.compiler_version or default_compiler(),
        runtime if runtime is not None else settings.config.runtime,
        names=("--compiler-version", "--runtime"),
        multiple_subgraphs=multiple_subgraphs,
        intermediate_tensors=names,
        search_delegate=search_delegate,
        delegate_search_step=delegate_search_step,
        num_segments=num_segments,
    )


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    from tpulint.analyze import iter_model_paths

    return [p for p, _ in iter_model_paths(paths)]
