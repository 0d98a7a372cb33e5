"""Confirmation runs against the real, closed-source ``edgetpu_compiler``.

* :mod:`.logparse` — parse its console output and ``*_edgetpu.log`` (every known format);
* :mod:`.compiled` — read an already-compiled ``*_edgetpu.tflite``;
* :mod:`.driver` — find and run the compiler, collect and copy its outputs;
* :mod:`.confirm` — compare a prediction with the compiler's per-op table.
"""

from __future__ import annotations

from tpulint.compiler.compiled import (
    CompiledModel,
    CpuOp,
    EdgeTpuOp,
    ExecutableInfo,
    PackageInfo,
    decode_custom_op,
    decode_package,
    read_compiled_bytes,
    read_compiled_model,
)
from tpulint.compiler.confirm import Disagreement, diff_counts
from tpulint.compiler.driver import (
    ENV_COMPILER,
    CompilerCrashError,
    CompilerError,
    CompilerFailedError,
    CompilerNotFoundError,
    CompilerOutputError,
    CompilerTimeoutError,
    CompileRun,
    CompilerUsageError,
    OutputExistsError,
    compiler_version,
    find_compiler,
    require_compiler,
    resolve_runtime,
    run_compiler,
    supported_runtimes,
)
from tpulint.compiler.logparse import (
    CompilerOutput,
    CompileSummary,
    ErrorKind,
    LogFile,
    OperatorRow,
    SearchAttempt,
    UnparsedOp,
    parse_compiler_output,
    parse_log_file,
    parse_size,
    parse_version,
)

__all__ = [
    "ENV_COMPILER",
    "CompileRun",
    "CompileSummary",
    "CompiledModel",
    "CompilerCrashError",
    "CompilerError",
    "CompilerFailedError",
    "CompilerNotFoundError",
    "CompilerOutput",
    "CompilerOutputError",
    "CompilerTimeoutError",
    "CompilerUsageError",
    "CpuOp",
    "Disagreement",
    "EdgeTpuOp",
    "ErrorKind",
    "ExecutableInfo",
    "LogFile",
    "OperatorRow",
    "OutputExistsError",
    "PackageInfo",
    "SearchAttempt",
    "UnparsedOp",
    "compiler_version",
    "decode_custom_op",
    "decode_package",
    "diff_counts",
    "find_compiler",
    "parse_compiler_output",
    "parse_log_file",
    "parse_size",
    "parse_version",
    "read_compiled_bytes",
    "read_compiled_model",
    "require_compiler",
    "resolve_runtime",
    "run_compiler",
    "supported_runtimes",
]
