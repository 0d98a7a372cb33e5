"""``tpulint convert MODEL --representative DATA -o model.tflite``: convert for the Edge TPU, then check.

The conversion is :func:`tpulint.convert.convert` (TensorFlow, an optional extra, imported only
there); the check afterwards is the ``check`` command itself, called on the written model, so the
report and the exit code are exactly those of ``tpulint check model.tflite``.

Exit codes: those of ``check`` (0, 1, 2) once the model is written; 2 for a bad argument, unreadable
model or calibration data, or a conversion failure; 4 when TensorFlow is not installed.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from tpulint.commands.choices import FailOn, Format, ShowOps


class IoType(str, Enum):
    uint8 = "uint8"
    int8 = "int8"


class Scale(str, Enum):
    unit = "unit"
    symmetric = "symmetric"
    raw = "raw"


def convert_command(
    model: Annotated[Path, typer.Argument(help="A TensorFlow SavedModel directory or a Keras .keras / .h5 file.")],
    representative: Annotated[
        Path,
        typer.Option(
            "--representative",
            "-r",
            help="Calibration data: a .npy ([N,*input] or [N,1,*input]), an .npz (one array, or one per "
            "input name), or a directory of .jpg/.png/.bmp images.",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .tflite file to write.")],
    samples: Annotated[int, typer.Option("--samples", min=1, help="Calibration samples to use at most.")] = 100,
    io_type: Annotated[
        IoType | None, typer.Option("--io-type", help="Input/output tensor type (default uint8).")
    ] = None,
    float_io: Annotated[
        bool, typer.Option("--float-io", help="Keep float32 input/output (QUANTIZE/DEQUANTIZE then run on the CPU).")
    ] = False,
    input_shape: Annotated[
        list[str] | None,
        typer.Option(
            "--input-shape",
            help="Fixed input shape, e.g. 1,224,224,3 (NAME:1,... for one input of several). "
            "Needed when a dimension other than the batch is dynamic; a dynamic batch becomes 1.",
        ),
    ] = None,
    scale: Annotated[
        Scale | None,
        typer.Option(
            "--scale", help="Images: pixel range fed to the model, unit [0,1] (default), symmetric [-1,1], raw [0,255]."
        ),
    ] = None,
    mean: Annotated[
        float | None, typer.Option("--mean", help="Images: (pixel - mean) / std on 0..255 pixels (instead of --scale).")
    ] = None,
    std: Annotated[float | None, typer.Option("--std", help="Images: see --mean (default 1).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show TensorFlow's own log output.")] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Report format (as for check).")] = Format.text,
    runtime: Annotated[
        int | None, typer.Option("--runtime", "-m", help="Edge TPU runtime version to target (10-14).")
    ] = None,
    compiler_version: Annotated[
        str | None, typer.Option("--compiler-version", help="Compiler to model: 16.0, 15.0, 14.1, 2.1, 2.0, 1.0.")
    ] = None,
    select: Annotated[list[str] | None, typer.Option("--select", help="Only these codes/prefixes.")] = None,
    extend_select: Annotated[list[str] | None, typer.Option("--extend-select", help="Add codes/prefixes.")] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Ignore these codes/prefixes.")] = None,
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Lowest severity that fails (exit 1). Default: error.")
    ] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even with findings.")] = False,
    show_ops: Annotated[ShowOps, typer.Option("--show-ops", help="Op table in text output.")] = ShowOps.all,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also NO_COLOR / PRE_COMMIT=1).")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (default: nearest tpulint.toml / pyproject.toml).")
    ] = None,
) -> None:
    """Convert a SavedModel or Keras model to a full-integer TFLite model for the Edge TPU, then check it.

    Settings: Optimize.DEFAULT with the representative data, TFLITE_BUILTINS_INT8 only, uint8 (or
    --io-type int8) input/output, a fixed input shape with batch 1. The written model is then
    checked exactly like `tpulint check OUTPUT` (same report, same exit code). Needs TensorFlow:
    pip install 'tpulint[convert]' (exit 4 without it); a conversion error exits 2.
    """
    from tpulint.cli import EXIT_TOOL_MISSING, FailOn, Format, ShowOps, check, fail
    from tpulint.convert import ConvertError, ConvertOptions, TensorFlowMissingError, normalization, parse_input_shapes

    if float_io and io_type is not None:
        raise fail("--float-io and --io-type exclude each other")
    try:
        mean_std = normalization(scale.value if scale else None, mean, std)
        options = ConvertOptions(
            io_type="float32" if float_io else (io_type or IoType.uint8).value,
            samples=samples,
            mean=mean_std[0],
            std=mean_std[1],
            input_shapes=parse_input_shapes(input_shape or []),
        )
    except ConvertError as exc:
        raise fail(str(exc)) from None

    from tpulint.convert import convert

    try:
        result = convert(model, representative, output, options, verbose=verbose)
    except TensorFlowMissingError as exc:
        raise fail(str(exc), EXIT_TOOL_MISSING) from None
    except ConvertError as exc:
        raise fail(str(exc)) from None
    shapes = ", ".join(f"{name} [{','.join(map(str, s))}]" for name, s in result.input_shapes.items())
    typer.echo(
        f"tpulint: converted {model} with TensorFlow {result.tf_version} -> {output} "
        f"({result.size:,} bytes; {options.io_type} I/O; input {shapes}; {result.samples} calibration samples)",
        err=True,
    )
    check(
        [output],
        runtime=runtime,
        compiler_version=compiler_version,
        fmt=Format(fmt.value),
        select=select,
        extend_select=extend_select,
        ignore=ignore,
        fail_on=FailOn(fail_on.value) if fail_on is not None else None,
        exit_zero=exit_zero,
        show_ops=ShowOps(show_ops.value),
        no_color=no_color,
        config=config,
    )  # raises typer.Exit with check's exit code
