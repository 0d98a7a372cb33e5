"""Run the real ``edgetpu_compiler`` as a subprocess and collect what it says and writes.

The compiler is closed source and ships only as Coral's ``edgetpu-compiler`` apt package for
x86-64 Linux. tpulint never needs it; this module is for the optional confirmation run.

One run: a fresh temporary working directory, ``edgetpu_compiler -s [-m N] -o <tmp> [flags]
<model>``, stdout and stderr captured together (in order, so errors stay next to the attempt
they belong to), the ``*_edgetpu.log`` read, both parsed (:mod:`.logparse`), the compiled model
read (:mod:`.compiled`), and the outputs copied to ``out_dir`` (or beside the input). Existing
files are never overwritten without ``force``; the input model is never written to.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tpulint.compiler.compiled import CompiledModel, read_compiled_model
from tpulint.compiler.logparse import CompilerOutput, parse_compiler_output, parse_version
from tpulint.errors import ConfigError, ModelFormatError, ModelReadError, TpulintError

ENV_COMPILER = "TPULINT_EDGETPU_COMPILER"
COMPILER_NAME = "edgetpu_compiler"
DEFAULT_TIMEOUT_S = 600.0  # the 16.0 compiler has its own 180 s default timer (-t)
INSTALL_HINT = (
    "it comes only from Coral's apt repository (package `edgetpu-compiler`, "
    "deb https://packages.cloud.google.com/apt coral-edgetpu-stable main; x86-64 Linux only), "
    "or use Coral's Colab notebook google-coral/tutorials/compile_for_edgetpu.ipynb"
)
_OWNED_FLAGS = ("-o", "--out_dir", "-m", "--min_runtime_version")


class CompilerError(TpulintError):
    """Base of every confirmation-run error; ``run`` holds what was collected, if anything."""

    code = "TPU930"

    def __init__(self, message: str, *, run: CompileRun | None = None, details: str = "") -> None:
        super().__init__(" ".join(message.split()))  # always one line
        self.run = run
        self.details = details


class CompilerNotFoundError(CompilerError):
    code = "TPU931"


class CompilerTimeoutError(CompilerError):
    code = "TPU932"


class CompilerCrashError(CompilerError):
    code = "TPU933"


class CompilerFailedError(CompilerError):
    """The compiler refused the model: non-zero exit, or output that reports a failure."""

    code = "TPU934"


class CompilerOutputError(CompilerError):
    """Output tpulint cannot understand, or a reported success without an output model."""

    code = "TPU935"


class OutputExistsError(CompilerError):
    code = "TPU936"


class CompilerUsageError(ConfigError):
    """Invalid options for a compile (bad ``-m``, a flag tpulint sets itself)."""


@dataclass(frozen=True)
class CompileRun:
    """Everything one compiler run produced."""

    model: Path
    compiler: Path
    compiler_version: str | None
    runtime: int | None  # the -m passed, None for the compiler's default
    command: tuple[str, ...]
    exit_code: int | None  # negative: killed by that signal; None: never finished
    duration_s: float
    temp_dir: Path
    temp_dir_kept: bool
    console: str  # stdout and stderr, interleaved as printed
    log_text: str | None
    output: CompilerOutput
    compiled_paths: tuple[Path, ...]  # final locations of *_edgetpu.tflite
    log_paths: tuple[Path, ...]  # final locations of *_edgetpu.log
    compiled: tuple[CompiledModel, ...]
    input_sha256: str

    @property
    def success(self) -> bool:
        return self.output.success

    @property
    def compiled_model(self) -> CompiledModel | None:
        return self.compiled[0] if self.compiled else None


# --- finding the compiler ----------------------------------------------------------------------


def _executable(candidate: str, search_path: str | None) -> Path | None:
    if os.sep in candidate or (os.altsep and os.altsep in candidate):
        p = Path(candidate).expanduser()
        return p.resolve() if p.is_file() and os.access(p, os.X_OK) else None
    found = shutil.which(candidate, path=search_path)
    return Path(found).resolve() if found else None


def find_compiler(
    explicit: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Path | None:
    """The compiler to use: ``explicit``, else ``$TPULINT_EDGETPU_COMPILER``, else ``PATH``.

    A path given explicitly or by the environment variable that does not name an executable
    raises :class:`CompilerNotFoundError` (the user asked for that one; no silent fallback).
    Returns ``None`` only when nothing was asked for and ``edgetpu_compiler`` is not on PATH.
    """
    env = os.environ if environ is None else environ
    search_path = env.get("PATH")
    for origin, value in (("--compiler", explicit), (ENV_COMPILER, env.get(ENV_COMPILER))):
        if value is None or str(value) == "":
            continue
        found = _executable(os.fspath(value), search_path)
        if found is None:
            raise CompilerNotFoundError(f"{origin} names {os.fspath(value)!r}, not an executable file")
        return found
    return _executable(COMPILER_NAME, search_path)


def require_compiler(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Like :func:`find_compiler` but raises with install instructions when there is none."""
    found = find_compiler(explicit)
    if found is None:
        raise CompilerNotFoundError(
            f"{COMPILER_NAME} not found (option --compiler, ${ENV_COMPILER}, PATH); {INSTALL_HINT}"
        )
    return found


# --- version and -m ----------------------------------------------------------------------------


def compiler_version(path: Path, timeout: float = 30.0) -> str:
    """``edgetpu_compiler --version`` → ``"16.0.384591198"``."""
    rc, text, _ = _run([str(path), "--version"], cwd=None, timeout=timeout)
    out = parse_compiler_output(text)
    if rc is not None and rc < 0:
        raise CompilerCrashError(f"{path} --version was killed by {_signal_name(-rc)}")
    if out.compiler_version is None:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "<no output>")
        raise CompilerOutputError(
            f"{path} --version printed no 'Edge TPU Compiler version' line (exit {rc}): {first[:200]}",
            details=text,
        )
    return out.compiler_version


def supported_runtimes(version: str | None) -> range:
    """``-m`` values a compiler accepts: 16.0 → 10..14, older → 10..13 (unknown: 10..14)."""
    v = parse_version(version)
    if v is None or v[0] >= 16:
        return range(10, 15)
    return range(10, 14)


def resolve_runtime(requested: int | None, version: str | None) -> int | None:
    """Check a ``-m`` value against the compiler version; ``None`` keeps the compiler default."""
    if requested is None:
        return None
    ok = supported_runtimes(version)
    if requested not in ok:
        who = f"edgetpu_compiler {version}" if version else "edgetpu_compiler"
        raise CompilerUsageError(f"{who} accepts --min_runtime_version {ok.start}..{ok.stop - 1}, not {requested}")
    return requested


# --- running -----------------------------------------------------------------------------------


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def _run(cmd: Sequence[str], *, cwd: Path | None, timeout: float) -> tuple[int | None, str, float]:
    """Run ``cmd`` in its own process group; stdout+stderr merged. rc None means timed out."""
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        hint = " (not an x86-64 Linux executable?)" if exc.errno == errno.ENOEXEC else ""
        raise CompilerNotFoundError(f"cannot run {cmd[0]}: {exc.strerror or exc}{hint}") from exc
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the 16.0 compiler forks a child: end the group
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # something outside the group still holds the pipe
            proc.kill()
            out = b""
        rc = None
    return rc, out.decode("utf-8", "replace"), time.monotonic() - start


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_flags(extra_flags: Sequence[str]) -> None:
    for flag in extra_flags:
        name = flag.split("=", 1)[0]
        if name in _OWNED_FLAGS:
            raise CompilerUsageError(f"do not pass {name} in extra flags; use tpulint's --out-dir / --runtime options")


def _one_line_errors(out: CompilerOutput, limit: int = 300) -> str:
    lines = list(out.error_text) or [ln.strip() for ln in out.text.splitlines() if ln.strip()][-3:]
    text = " / ".join(lines) if lines else "no output"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _destination(model: Path, out_dir: Path | None, write_beside: bool) -> Path | None:
    if out_dir is not None:
        return out_dir
    return model.parent if write_beside else None


def _check_free(paths: Sequence[Path], model: Path, force: bool) -> None:
    for dest in paths:
        if dest.resolve() == model.resolve():
            raise OutputExistsError(f"{dest} is the input model; refusing to overwrite it")
        if dest.exists() and not force:
            raise OutputExistsError(f"{dest} already exists (use --force to replace it)")


def _copy_outputs(files: Sequence[Path], dest_dir: Path, model: Path, force: bool) -> list[Path]:
    dest_dir.mkdir(parents=True, exist_ok=True)
    targets = [dest_dir / f.name for f in files]
    _check_free(targets, model, force)
    for src, dest in zip(files, targets, strict=True):
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest_dir)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp_name)
            os.replace(tmp_name, dest)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
    return targets


def run_compiler(
    model: Path,
    *,
    compiler: Path,
    runtime: int | None = None,
    out_dir: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    extra_flags: Sequence[str] = (),
    force: bool = False,
    write_beside: bool = False,
    keep_temp: bool = False,
    version: str | None = None,
) -> CompileRun:
    """Compile ``model`` with the real compiler and return what happened.

    Outputs go to ``out_dir``, else beside the input when ``write_beside``, else they stay in
    the temporary directory (``CompileRun.temp_dir``, kept). Raises a :class:`CompilerError`
    subclass (with ``.run`` set when the compiler ran) for every outcome but success; a partial
    mapping or a model with nothing mapped is a success, as the compiler says. ``version`` is the
    compiler's ``--version`` when the caller has already read it (saves one probe).
    """
    model = Path(model)
    if not model.is_file():
        raise ModelReadError(f"{model}: no such file" if not model.exists() else f"{model}: not a file")
    _check_flags(extra_flags)
    if version is None and runtime is not None:
        version = compiler_version(compiler, timeout=min(timeout_s, 60.0))
    rt = resolve_runtime(runtime, version)
    dest_dir = _destination(model, out_dir, write_beside)
    stem = model.name[: -len(".tflite")] if model.name.endswith(".tflite") else model.stem
    if dest_dir is not None:
        _check_free([dest_dir / f"{stem}_edgetpu.tflite", dest_dir / f"{stem}_edgetpu.log"], model, force)

    input_hash = _sha256(model)
    tmp = Path(tempfile.mkdtemp(prefix="tpulint-compile-"))
    cmd = [str(compiler), "-s", "-o", str(tmp)]
    if rt is not None:
        cmd += ["-m", str(rt)]
    cmd += [*extra_flags, str(model.resolve())]
    try:
        return _run_in(model, compiler, cmd, tmp, timeout_s, rt, version, dest_dir, force, keep_temp, input_hash)
    except BaseException:
        if not keep_temp:
            shutil.rmtree(tmp, ignore_errors=True)
        raise


def _run_in(
    model: Path,
    compiler: Path,
    cmd: list[str],
    tmp: Path,
    timeout_s: float,
    rt: int | None,
    version: str | None,
    dest_dir: Path | None,
    force: bool,
    keep_temp: bool,
    input_hash: str,
) -> CompileRun:
    rc, console, duration = _run(cmd, cwd=tmp, timeout=timeout_s)
    logs = sorted(tmp.glob("*_edgetpu.log"))
    log_text = logs[0].read_text("utf-8", "replace") if logs else None
    output = parse_compiler_output(console, log_text)
    compiled_files = sorted(tmp.glob("*_edgetpu.tflite"))

    def record(
        compiled: tuple[CompiledModel, ...] = (),
        paths: Sequence[Path] = (),
        log_paths: Sequence[Path] = (),
        kept: bool = keep_temp,
    ) -> CompileRun:
        return CompileRun(
            model=model,
            compiler=compiler,
            compiler_version=output.compiler_version or version,
            runtime=rt,
            command=tuple(cmd),
            exit_code=rc,
            duration_s=duration,
            temp_dir=tmp,
            temp_dir_kept=kept,
            console=console,
            log_text=log_text,
            output=output,
            compiled_paths=tuple(paths),
            log_paths=tuple(log_paths),
            compiled=compiled,
            input_sha256=input_hash,
        )

    if _sha256(model) != input_hash:
        raise CompilerError(f"{model} changed while the compiler ran", run=record())
    if rc is None:
        raise CompilerTimeoutError(
            f"edgetpu_compiler did not finish within {timeout_s:g} s and was killed",
            run=record(),
            details=console,
        )
    if rc < 0:
        raise CompilerCrashError(
            f"edgetpu_compiler was killed by {_signal_name(-rc)} (exit {rc}) after {duration:.1f} s",
            run=record(),
            details=console,
        )
    if rc != 0 or (not output.success and output.error_kind != "unparseable"):
        kind = f" [{output.error_kind}]" if output.error_kind else ""
        raise CompilerFailedError(
            f"edgetpu_compiler failed (exit {rc}){kind}: {_one_line_errors(output)}",
            run=record(),
            details=console,
        )
    if not output.success:
        raise CompilerOutputError(
            f"cannot understand edgetpu_compiler output (exit 0): {_one_line_errors(output)}",
            run=record(),
            details=console,
        )
    if not compiled_files:
        raise CompilerOutputError(
            f"edgetpu_compiler reported success but wrote no *_edgetpu.tflite in {tmp}",
            run=record(),
            details=console,
        )
    try:
        compiled = tuple(read_compiled_model(p) for p in compiled_files)
    except (ModelFormatError, ModelReadError) as exc:
        raise CompilerOutputError(f"cannot read the compiled model: {exc.message}", run=record()) from exc
    if dest_dir is None:  # the outputs stay where the compiler wrote them
        return record(compiled, compiled_files, logs, kept=True)
    copied = _copy_outputs([*compiled_files, *logs], dest_dir, model, force)
    paths, log_paths = copied[: len(compiled_files)], copied[len(compiled_files) :]
    compiled = tuple(replace(c, path=p) for c, p in zip(compiled, paths, strict=True))
    if not keep_temp:
        shutil.rmtree(tmp, ignore_errors=True)
    return record(compiled, paths, log_paths)
