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

from tpulint.commands.check_cmd import (
    CompilerVersion,
    ConfigFile,
    ExitZero,
    ExtendSelect,
    FailOnOpt,
    Ignore,
    NoColor,
    OutputFormat,
    Runtime,
    Select,
    ShowOpsOpt,
)
from tpulint.commands.choices import Format, ShowOps
from tpulint.commands.params import Arg, Opt


class IoType(str, Enum):
    uint8 = "uint8"
    int8 = "int8"


class Scale(str, Enum):
    unit = "unit"
    symmetric = "symmetric"
    raw = "raw"


def convert_command(
    model: Annotated[Path, Arg(help="A TensorFlow SavedModel directory or a Keras .keras / .h5 file.")],
    representative: Annotated[
        Path,
        Opt(
            "--representative",
            "-r",
            help="Calibration data: a .npy ([N,*input] or [N,1,*input]), an .npz (one array, or one per "
            "input name), or a directory of .jpg/.png/.bmp images.",
        ),
    ],
    output: Annotated[Path, Opt("--output", "-o", help="The .tflite file to write.")],
    samples: Annotated[int, Opt("--samples", min=1, help="Calibration samples to use at most.")] = 100,
    io_type: Annotated[IoType | None, Opt("--io-type", help="Input/output tensor type (default uint8).")] = None,
    float_io: Annotated[
        bool, Opt("--float-io", help="Keep float32 input/output (QUANTIZE/DEQUANTIZE then run on the CPU).")
    ] = False,
    input_shape: Annotated[
        list[str] | None,
        Opt(
            "--input-shape",
            help="Fixed input shape, e.g. 1,224,224,3 (NAME:1,... for one input of several). "
            "Needed when a dimension other than the batch is dynamic; a dynamic batch becomes 1.",
        ),
    ] = None,
    scale: Annotated[
        Scale | None,
        Opt(
            "--scale", help="Images: pixel range fed to the model, unit [0,1] (default), symmetric [-1,1], raw [0,255]."
        ),
    ] = None,
    mean: Annotated[
        float | None, Opt("--mean", help="Images: (pixel - mean) / std on 0..255 pixels (instead of --scale).")
    ] = None,
    std: Annotated[float | None, Opt("--std", help="Images: see --mean (default 1).")] = None,
    verbose: Annotated[bool, Opt("--verbose", help="Show TensorFlow's own log output.")] = False,
    fmt: OutputFormat = Format.text,
    runtime: Runtime = None,
    compiler_version: CompilerVersion = None,
    select: Select = None,
    extend_select: ExtendSelect = None,
    ignore: Ignore = None,
    fail_on: FailOnOpt = None,
    exit_zero: ExitZero = False,
    show_ops: ShowOpsOpt = ShowOps.all,
    no_color: NoColor = False,
    config: ConfigFile = None,
) -> int:
    """Convert a SavedModel or Keras model to a full-integer TFLite model for the Edge TPU, then check it.

    Settings: Optimize.DEFAULT with the representative data, TFLITE_BUILTINS_INT8 only, uint8 (or
    --io-type int8) input/output, a fixed input shape with batch 1. The written model is then
    checked exactly like `tpulint check OUTPUT` (same report, same exit code). Needs TensorFlow:
    pip install 'tpulint[convert]' (exit 4 without it); a conversion error exits 2.
    """
    from tpulint.commands.check_cmd import check
    from tpulint.commands.exits import EXIT_TOOL_MISSING, fail
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
    return check(
        [output],
        runtime=runtime,
        compiler_version=compiler_version,
        fmt=fmt,
        select=select,
        extend_select=extend_select,
        ignore=ignore,
        fail_on=fail_on,
        exit_zero=exit_zero,
        show_ops=show_ops,
        no_color=no_color,
        config=config,
    )  # check's exit code
