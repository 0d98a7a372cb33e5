"""``tpulint check --confirm [--compiler PATH] [--bench]``: confirm each prediction with the real
compiler (and, with ``--bench`` and an Edge TPU, measure the compiled model's latency).

The compiler runs with the settings the prediction was made for: ``-m`` from ``--runtime``, and
``-a`` / ``-i`` / ``-d`` / ``-k`` from the check options of the same names. Without
``--compiler-version`` the prediction is made for the version the compiler reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tpulint.commands.compile_cmd import combine_exit_codes, model_exit_code

if TYPE_CHECKING:
    from tpulint.confirm import CompilerInfo, Confirmation, OutputPlan
    from tpulint.context import Target
    from tpulint.report import ModelReport

#: ``check --confirm --bench`` measures this many inferences (after 1 first + 1 warm-up).
BENCH_ITERATIONS = 100


def bench_block(compiled_model: Path, *, iterations: int = BENCH_ITERATIONS) -> dict[str, Any]:
    """Benchmark a compiled model on an Edge TPU; never raises (the block says what happened)."""
    from tpulint import bench as bench_mod
    from tpulint.errors import TpulintError

    try:
        result = bench_mod.run_bench(compiled_model, iterations=iterations, warmup=1)
    except (bench_mod.NoEdgeTpuError, bench_mod.NoInterpreterError) as exc:
        return {"status": "unavailable", "code": exc.code, "message": f"not measured: {exc}", "result": None}
    except TpulintError as exc:
        return {"status": "error", "code": exc.code, "message": f"not measured: {exc}", "result": None}
    return {"status": "measured", "code": None, "message": None, "result": result.to_dict()}


class CheckConfirmer:
    """State of one ``check --confirm`` invocation: the compiler, where outputs go, the results."""

    def __init__(self, info: CompilerInfo, plan: OutputPlan, *, force: bool, timeout_s: float, bench: bool) -> None:
        self.info = info
        self.plan = plan
        self.force = force
        self.timeout_s = timeout_s
        self.bench = bench
        self.done: list[tuple[ModelReport, Confirmation]] = []

    @classmethod
    def from_options(
        cls,
        *,
        confirm: bool,
        compiler: str | None,
        out_dir: Path | None,
        force: bool,
        timeout_s: float,
        bench: bool,
    ) -> CheckConfirmer | None:
        """None without ``--confirm``; exits 4 (one line, where to get it) when there is no compiler."""
        from tpulint.commands.exits import EXIT_TOOL_MISSING, fail

        if not confirm:
            used = [
                n
                for n, v in (("--compiler", compiler), ("--out-dir", out_dir), ("--force", force), ("--bench", bench))
                if v
            ]
            if used:
                raise fail(f"{', '.join(used)} {'applies' if len(used) == 1 else 'apply'} only with --confirm")
            return None
        from tpulint.compiler.driver import CompilerError
        from tpulint.confirm import OutputPlan, locate_compiler

        try:
            info = locate_compiler(compiler, timeout_s=timeout_s)
        except CompilerError as exc:
            raise fail(str(exc), EXIT_TOOL_MISSING) from None
        if info.note:
            typer.echo(f"tpulint: note: {info.note}", err=True)
        return cls(
            info, OutputPlan(out_dir, False, prefix="tpulint-confirm-"), force=force, timeout_s=timeout_s, bench=bench
        )

    @property
    def modeled_version(self) -> str:
        return self.info.modeled

    def confirm(self, m: ModelReport, path: Path, target: Target) -> None:
        """Compile ``path``, compare with the prediction ``m`` (sets ``m.confirmation``)."""
        from tpulint.commands.exits import EXIT_TOOL_MISSING, fail
        from tpulint.compiler.driver import CompilerNotFoundError, CompilerUsageError
        from tpulint.confirm import ConfirmSettings, confirm_model, flags_for

        if not m.ok:
            return
        settings = ConfirmSettings(
            self.info,
            runtime=target.runtime,
            extra_flags=tuple(flags_for(target)),
            out_dir=self.plan.dir_for(path),
            force=self.force,
            timeout_s=self.timeout_s,
        )
        try:
            c = confirm_model(m, target, settings, model_path=path, temporary=self.plan.temporary)
        except CompilerNotFoundError as exc:
            raise fail(str(exc), EXIT_TOOL_MISSING) from None
        except CompilerUsageError as exc:
            raise fail(str(exc)) from None
        if self.bench:
            if c.run is not None and c.run.compiled_paths and c.error is None:
                c.bench = bench_block(c.run.compiled_paths[0])
            else:
                c.bench = {
                    "status": "skipped",
                    "code": None,
                    "message": "not measured: there is no compiled model",
                    "result": None,
                }
            if m.confirmation is not None:
                m.confirmation["bench"] = c.bench
        self.done.append((m, c))

    def finish(self) -> None:
        root = self.plan.temp_root
        if root is not None and root.is_dir() and not any(root.iterdir()):
            root.rmdir()

    def text_lines(self) -> list[str]:
        from tpulint.commands.render import outputs_line, side_by_side, verdict_lines

        lines: list[str] = []
        for m, c in self.done:
            lines += ["", f"== confirmation: {m.path}"]
            run = c.run
            head = f"edgetpu_compiler {self.info.version}"
            if run is not None:
                head += f", exit {run.exit_code}" if run.exit_code is not None else ", killed (timeout)"
            lines.append(head)
            if c.actual is not None:
                lines += side_by_side(m, c)
            lines += verdict_lines(c)
            out = outputs_line(c)
            if out:
                lines.append(out)
        return lines

    def emit_text(self, text_format: bool, output_file: Path | None) -> None:
        """Print the confirmations after a text report (appended to ``output_file`` if given);
        one stderr line per confirmation that could not be done or measurement that was not."""
        self.finish()
        if text_format:
            lines = self.text_lines()
            if output_file is not None:
                with output_file.open("a", encoding="utf-8") as fh:
                    fh.write("\n".join(lines) + "\n")
            else:
                for line in lines:
                    typer.echo(line)
        for m, c in self.done:
            if c.error is not None and not c.refused:
                typer.echo(f"tpulint: error: {m.path}: {c.error.code} {c.error}", err=True)
            if c.bench is not None and c.bench.get("status") != "measured" and not text_format:
                typer.echo(f"tpulint: note: {m.path}: --bench {c.bench.get('message')}", err=True)

    def exit_code(self) -> int | None:
        """2 an output exists, 3 an un-ignored, un-baselined TPU950, 1 a compiler failure; else None."""
        from tpulint.commands.exits import EXIT_FINDINGS, EXIT_MISMATCH, EXIT_USAGE

        codes: list[int] = []
        for m, c in self.done:
            code = model_exit_code(c)
            if code == EXIT_MISMATCH and not any(f.code == "TPU950" and not f.baselined for f in m.findings):
                continue  # the mismatch finding is ignored (--ignore TPU950) or baselined
            if code == EXIT_FINDINGS and c.refused:
                continue  # a refusal is a result; the findings decide exit 1
            codes.append(code)
        code = combine_exit_codes(codes)
        return code if code in (EXIT_USAGE, EXIT_MISMATCH, EXIT_FINDINGS) else None
