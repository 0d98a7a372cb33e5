"""TPU95x: what a confirmation run with the real ``edgetpu_compiler`` found (``--confirm``, ``compile``).

These rules never run during a prediction (their scope is ``confirm``): :mod:`tpulint.confirm`
evaluates them on the comparison of a finished prediction with the compiler's own result.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tpulint.registry import Violation, rule

if TYPE_CHECKING:  # the compiler package is only imported for confirmation runs
    from tpulint.compiler.confirm import Disagreement

#: How many disagreements the finding's ``observed`` text lists (the JSON block has all of them).
OBSERVED_LIMIT = 4


@dataclass(frozen=True)
class ConfirmContext:
    """A prediction compared with one real compiler run."""

    compiler_version: str | None  # what `edgetpu_compiler --version` printed
    predicted_for: str  # the compiler version tpulint modelled
    disagreements: Sequence[Disagreement]


@rule("TPU950", "confirmation-mismatch", scope="confirm", severity="error", status=None, blocks=False)
def check_confirmation(ctx: ConfirmContext) -> Iterator[Violation]:
    """The real `edgetpu_compiler` disagreed with tpulint's prediction for this model.

    ## What it does
    Only with `tpulint check --confirm` or `tpulint compile`: the model is compiled by the real
    compiler, and its result (the per-operator table it prints with `-s`, the summary lines and
    the compiled `*_edgetpu.tflite`) is compared with the prediction: outcome (full, partial,
    nothing mapped, compilation failed), Edge TPU and CPU op counts, placement and status per op
    type, the first CPU op, the set of ops left on the CPU and the number of Edge TPU subgraphs;
    when both sides fail in the compiler's TFLite, the node it refused ("Node number N (OP)
    failed to prepare"). Any difference is reported once per model, with every disagreement
    listed in the JSON report's `confirmation.disagreements`; the exit code is then 3.

    ## Why it matters on the Edge TPU
    tpulint's rules are learned from a corpus of real compiler runs. A compiler version, a flag
    or a model feature the corpus does not cover can make them drift; a CI job that confirms a
    few representative models catches that the day it happens instead of trusting a stale
    prediction.

    ## Example
    **Bad:** a prediction for another compiler than the one that runs: with compiler 16.0 installed,
    the 1.0 prediction (nothing mapped) disagrees with the 16.0 result (2 of 3 ops mapped).

    ```sh
    tpulint check --confirm --compiler-version 1.0 model.tflite
    ```

    **Good:** predict for the compiler version, runtime and flags the real compiler uses.

    ```sh
    tpulint check --confirm --compiler-version 16.0 model.tflite
    ```

    ## How to fix
    Read the disagreements. If the prediction was made for other settings than the compiler
    ran with (another `--compiler-version`, `--runtime` or flags), predict for the same ones. If
    not, the real compiler is right by definition: report the model, the compiler version and
    its log so the rule can be corrected, and rely on the compiler's result meanwhile.
    `--ignore TPU950` hides the finding (and exit code 3).

    ## Compiler status
    (none — this compares the prediction with the compiler's own result)

    ## Sources
    The compiler's `-s` table and summary lines (edgetpu_rules.md §2.2–2.6); the compiled
    model's `edgetpu-custom-op` and CPU ops (google-coral/libedgetpu `tflite/public/edgetpu.h`).
    """
    if not ctx.disagreements:
        return
    shown = "; ".join(d.message for d in ctx.disagreements[:OBSERVED_LIMIT])
    more = len(ctx.disagreements) - OBSERVED_LIMIT
    if more > 0:
        shown += f"; and {more} more"
    version = ctx.compiler_version or "unknown version"
    n = len(ctx.disagreements)
    yield Violation(
        observed=f"edgetpu_compiler {version} vs the prediction for compiler {ctx.predicted_for}: {shown}",
        message=f"The real edgetpu_compiler disagreed with the prediction ({n} difference{'s' if n != 1 else ''})",
    )
