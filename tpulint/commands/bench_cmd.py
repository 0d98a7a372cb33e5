"""``tpulint bench MODEL``: inference latency on an Edge TPU, or on the CPU with ``--cpu``.

A thin wrapper over :func:`tpulint.bench.run_bench`. Exit codes: 0 measured; 4 no Edge TPU (or no
TFLite interpreter) to run on; 2 bad options or a model that cannot be read; 1 the interpreter
refused the model or failed while running it.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from tpulint import __version__


def run_bench_command(
    model: Path,
    *,
    iterations: int,
    warmup: int,
    device: str | None,
    cpu: bool,
    threads: int | None,
    fmt: str,
    samples: bool = False,
) -> int:
    """Run the benchmark and print it; returns the exit code. Errors are one line on stderr."""
    from tpulint import bench
    from tpulint.commands.exits import EXIT_FINDINGS, EXIT_OK, EXIT_TOOL_MISSING, EXIT_USAGE
    from tpulint.errors import ConfigError, ModelFormatError, ModelReadError, TpulintError

    try:
        result = bench.run_bench(
            model, iterations=iterations, warmup=warmup, device=device, cpu=cpu, num_threads=threads
        )
    except (bench.NoEdgeTpuError, bench.NoInterpreterError) as exc:
        typer.echo(f"tpulint: error: {exc.code} {exc}", err=True)
        return EXIT_TOOL_MISSING
    except (ConfigError, ModelReadError, ModelFormatError) as exc:
        typer.echo(f"tpulint: error: {exc.code} {exc}", err=True)
        return EXIT_USAGE
    except TpulintError as exc:
        typer.echo(f"tpulint: error: {exc.code} {exc}", err=True)
        return EXIT_FINDINGS
    if fmt == "json":
        doc = {"tool": {"name": "tpulint", "version": __version__}, "bench": result.to_dict(samples=samples)}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        typer.echo(bench.format_text(result))
    return EXIT_OK


# --- the typer command (registered by tpulint.cli) -------------------------------------------------


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def bench_command(
    model: Annotated[Path, typer.Argument(help="The .tflite model (compiled *_edgetpu.tflite for the Edge TPU).")],
    iterations: Annotated[int, typer.Option("--iterations", "-n", min=1, help="Timed inferences.")] = 100,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Untimed inferences after the first.")] = 1,
    device: Annotated[
        str | None, typer.Option("--device", help="Edge TPU to use: usb, pci, usb:N, pci:N or :N (default: any).")
    ] = None,
    cpu: Annotated[bool, typer.Option("--cpu", help="Run on the CPU interpreter instead (a baseline).")] = False,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Interpreter threads.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="text or json.")] = OutputFormat.text,
    samples: Annotated[bool, typer.Option("--samples", help="JSON: include every timed latency.")] = False,
) -> None:
    """Measure inference latency on a Coral Edge TPU (pycoral, else ai-edge-litert + libedgetpu), or
    on the CPU with --cpu: first inference separately, then mean/p50/p90/p99/min/max and inferences/s.

    Exit codes: 0 measured; 1 the interpreter refused the model or failed running it; 2 bad options
    or an unreadable model; 4 no Edge TPU (or no TFLite interpreter) to run on.
    """
    raise typer.Exit(
        run_bench_command(
            model,
            iterations=iterations,
            warmup=warmup,
            device=device,
            cpu=cpu,
            threads=threads,
            fmt=fmt.value,
            samples=samples,
        )
    )
