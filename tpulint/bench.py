"""Measure inference latency of a .tflite model on a Coral Edge TPU, or on the CPU as a baseline.

Backends, in order of preference for the Edge TPU:

* Google's pycoral (``pycoral.utils.edgetpu.make_interpreter``), when importable. It is not on
  PyPI (the PyPI name ``pycoral`` is an unrelated project) and is only detected at run time.
* ``ai_edge_litert.interpreter`` (``pip install 'tpulint[device]'``), then
  ``tflite_runtime.interpreter``, with the libedgetpu delegate loaded through ``load_delegate``.

``cpu=True`` runs the plain interpreter without a delegate. Nothing here imports an interpreter
(or numpy) at module import time: ``tpulint check`` must stay fast.

How it measures (after Coral's ``classify_image.py`` / ``inference_benchmarks.py``): one interpreter,
inputs filled once with seeded random data, the first ``invoke()`` timed separately (on the Edge TPU
it includes loading the parameters into its memory), ``warmup`` untimed invokes, then
``iterations`` invokes each timed with ``time.perf_counter_ns``.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import platform
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tpulint.errors import ConfigError, ModelFormatError, ModelReadError, TpulintError

if TYPE_CHECKING:
    import ctypes

    import numpy as np

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"
_EDGETPU_CUSTOM_OP_BYTES = EDGETPU_CUSTOM_OP.encode()

_EDGETPU_LIBRARIES = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}

#: Backend names, as reported in BackendInfo and BenchResult.
PYCORAL = "pycoral"
AI_EDGE_LITERT = "ai_edge_litert"
TFLITE_RUNTIME = "tflite_runtime"
_PLAIN_INTERPRETERS = (AI_EDGE_LITERT, TFLITE_RUNTIME)

_DEVICE_RE = re.compile(r"^(?:usb|pci)?(?::\d+)?$")
_RUNTIME_VERSION_RE = re.compile(r"RuntimeVersion\((\d+)\)")
_PACKAGE_VERSION_RE = re.compile(
    r"Package requires runtime version \((\d+)\), which is newer than this runtime version \((\d+)\)"
)
_UNRESOLVED_OP_RE = re.compile(r"unresolved custom op: (\S+?)\.?(?:\s|$)")

_INSTALL_INTERPRETER = "pip install 'tpulint[device]' (ai-edge-litert)"
_INSTALL_RUNTIME = "install libedgetpu1-std from Coral's apt repository (coral-edgetpu-stable)"
_CPU_HINT = "or run `tpulint bench --cpu` for a CPU baseline"
_INT_INPUT_HIGH = 8  # int32/int64 inputs are usually indices or lengths: keep them small


# --------------------------------------------------------------------------- errors


class BenchError(TpulintError):
    """A latency benchmark could not run; the message is one line and says what to do."""

    code = "TPU920"


class NoInterpreterError(BenchError):
    """No TensorFlow Lite interpreter (ai_edge_litert, tflite_runtime, pycoral) is importable."""

    code = "TPU921"


class NoEdgeTpuError(BenchError):
    """The libedgetpu delegate library is missing, is not a delegate, or found no Edge TPU."""

    code = "TPU922"


class ModelLoadError(BenchError):
    """The interpreter refused the model (e.g. an Edge TPU compiled model on the CPU)."""

    code = "TPU923"


class RuntimeVersionError(BenchError):
    """The model was compiled for a newer Edge TPU runtime than the installed libedgetpu."""

    code = "TPU924"


class InterpreterMismatchError(BenchError):
    """libedgetpu and the TFLite interpreter were built from different TensorFlow versions."""

    code = "TPU925"


class InvokeError(BenchError):
    """``invoke()`` failed after the model loaded."""

    code = "TPU926"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class LibraryStatus:
    """Whether one Python package can be imported, and its version or the import error."""

    name: str
    available: bool
    version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class EdgeTpuDevice:
    """One Edge TPU as libedgetpu lists it: ``type`` is "usb" or "pci"."""

    type: str
    path: str


@dataclass(frozen=True)
class BackendInfo:
    """What this machine can use for ``tpulint bench``."""

    platform: str
    pycoral: LibraryStatus
    ai_edge_litert: LibraryStatus
    tflite_runtime: LibraryStatus
    delegate_library: str
    delegate_loadable: bool
    delegate_error: str | None
    edge_tpus: tuple[EdgeTpuDevice, ...] | None  # None: the devices could not be listed
    runtime_version: str | None  # libedgetpu's own string, e.g. "BuildLabel(...),RuntimeVersion(14)"

    @property
    def runtime_version_number(self) -> int | None:
        return parse_runtime_version(self.runtime_version)

    @property
    def cpu_backend(self) -> str | None:
        """The interpreter ``run_bench(cpu=True)`` would use."""
        for status in (self.ai_edge_litert, self.tflite_runtime):
            if status.available:
                return status.name
        return None

    @property
    def edgetpu_backend(self) -> str | None:
        """The library ``run_bench()`` would load an Edge TPU model with (None: it cannot)."""
        if not self.delegate_loadable:
            return None
        return PYCORAL if self.pycoral.available else self.cpu_backend

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["edge_tpus"] = (
            None if self.edge_tpus is None else [dataclasses.asdict(d) for d in self.edge_tpus]
        )
        data["runtime_version_number"] = self.runtime_version_number
        data["cpu_backend"] = self.cpu_backend
        data["edgetpu_backend"] = self.edgetpu_backend
        return data


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape and numpy dtype name of one model input or output."""

    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class BenchResult:
    """One benchmark run. Times are milliseconds."""

    model_path: str
    model_size_bytes: int
    edgetpu_model: bool  # contains edgetpu-custom-op, i.e. compiled by edgetpu_compiler
    target: str  # "edgetpu" or "cpu"
    backend: str  # pycoral | ai_edge_litert | tflite_runtime
    backend_version: str | None
    interpreter_library: str  # the package whose Interpreter ran the model
    interpreter_version: str | None
    delegate: str | None  # delegate library loaded, None on the CPU
    device: str | None  # requested Edge TPU ("usb", "pci:0", ...); None = any / CPU
    runtime_version: str | None  # libedgetpu version string, None on the CPU or when unknown
    num_threads: int | None  # as requested; None = the interpreter's default
    iterations: int
    warmup: int
    seed: int
    load_ms: float  # delegate + interpreter creation + allocate_tensors
    first_invoke_ms: float
    mean_ms: float
    stdev_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    inferences_per_second: float
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    cpu_governor: str | None
    warnings: tuple[str, ...] = ()
    latencies_ms: tuple[float, ...] = field(default=(), repr=False)

    @property
    def runtime_version_number(self) -> int | None:
        return parse_runtime_version(self.runtime_version)

    def to_dict(self, *, samples: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; ``samples=True`` adds every timed latency."""
        data = dataclasses.asdict(self)
        data["inputs"] = [_spec_dict(s) for s in self.inputs]
        data["outputs"] = [_spec_dict(s) for s in self.outputs]
        data["warnings"] = list(self.warnings)
        data["runtime_version_number"] = self.runtime_version_number
        if samples:
            data["latencies_ms"] = list(self.latencies_ms)
        else:
            del data["latencies_ms"]
        return data


def _spec_dict(spec: TensorSpec) -> dict[str, Any]:
    return {"name": spec.name, "shape": list(spec.shape), "dtype": spec.dtype}


@dataclass(frozen=True)
class _Runtime:
    """An importable interpreter: what run_bench calls to build one."""

    backend: str
    backend_version: str | None
    interpreter_library: str
    interpreter_version: str | None
    interpreter_cls: Any
    load_delegate: Callable[..., Any] | None  # None for pycoral, whose make_interpreter loads it


# --------------------------------------------------------------------------- small helpers


def edgetpu_library_name(system: str | None = None) -> str:
    """libedgetpu's file name on this (or the given) ``platform.system()``."""
    system = system or platform.system()
    return _EDGETPU_LIBRARIES.get(system, _EDGETPU_LIBRARIES["Linux"])


def validate_device(device: str | None) -> str | None:
    """Check an Edge TPU device string: None, "usb", "pci", "usb:N", "pci:N" or ":N"."""
    if device is None:
        return None
    if device == "cpu":
        raise ConfigError("device 'cpu' is not an Edge TPU: use cpu=True (`--cpu`) for a CPU baseline")
    if not device or not _DEVICE_RE.match(device):
        raise ConfigError(f"invalid Edge TPU device {device!r}: use usb, pci, usb:N, pci:N or :N")
    return device


def parse_runtime_version(version: str | None) -> int | None:
    """The N of ``RuntimeVersion(N)`` in libedgetpu's version string."""
    if not version:
        return None
    match = _RUNTIME_VERSION_RE.search(version)
    return int(match.group(1)) if match else None


def is_edgetpu_model(model: bytes | str | os.PathLike[str]) -> bool:
    """True when the model has an ``edgetpu-custom-op`` operator code (compiled for the Edge TPU).

    A byte search rules most models out at once; a hit is confirmed against the operator codes.
    """
    data = model if isinstance(model, bytes) else Path(model).read_bytes()
    if _EDGETPU_CUSTOM_OP_BYTES not in data:
        return False
    try:
        from tflite.Model import Model

        parsed = Model.GetRootAs(data, 0)
        return any(
            parsed.OperatorCodes(i).CustomCode() == _EDGETPU_CUSTOM_OP_BYTES
            for i in range(parsed.OperatorCodesLength())
        )
    except Exception:  # an unparsable file: the byte hit is the best evidence there is
        return True


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def _package_version(root: str) -> str | None:
    module = importlib.import_module(root)
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        from importlib.metadata import version as dist_version

        return dist_version(root.replace("_", "-"))
    except Exception:
        return None


def _import_status(import_name: str, root: str) -> tuple[LibraryStatus, Any]:
    """Import ``import_name``; a broken install (ImportError, OSError from a .so, ...) is 'absent'."""
    try:
        module = importlib.import_module(import_name)
    except Exception as exc:
        return LibraryStatus(root, False, error=_one_line(f"{type(exc).__name__}: {exc}")), None
    return LibraryStatus(root, True, version=_package_version(root)), module


def _cpu_governor() -> str | None:
    """The scaling governors of all CPUs ("performance", "ondemand,powersave"), None if unknown."""
    found: set[str] = set()
    for path in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_governor"):
        try:
            found.add(path.read_text().strip())
        except OSError:
            continue
    return ",".join(sorted(found)) if found else None


# --------------------------------------------------------------------------- libedgetpu via ctypes


def _probe_delegate_library(name: str) -> tuple[ctypes.CDLL | None, str | None]:
    """dlopen the delegate library and check it is a TFLite delegate plugin.

    Done before ``load_delegate`` because a failed ``load_delegate`` also prints an
    "Exception ignored in Delegate.__del__" traceback from the interpreter package.
    """
    import ctypes

    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        return None, _one_line(str(exc)) or f"cannot load {name}"
    missing = [
        s for s in ("tflite_plugin_create_delegate", "tflite_plugin_destroy_delegate") if not hasattr(lib, s)
    ]
    if missing:
        return None, f"{name} is not a TFLite delegate plugin (no {missing[0]})"
    return lib, None


def _c_runtime_version(lib: ctypes.CDLL) -> str | None:
    """``edgetpu_version()`` from libedgetpu's C API (edgetpu_c.h), None if not exported."""
    import ctypes

    if not hasattr(lib, "edgetpu_version"):
        return None
    fn = lib.edgetpu_version
    fn.argtypes = []
    fn.restype = ctypes.c_char_p
    raw = fn()
    return raw.decode("utf-8", "replace") if raw else None


def _c_list_edge_tpus(lib: ctypes.CDLL) -> tuple[EdgeTpuDevice, ...] | None:
    """``edgetpu_list_devices()`` from libedgetpu's C API, None if not exported."""
    import ctypes

    if not (hasattr(lib, "edgetpu_list_devices") and hasattr(lib, "edgetpu_free_devices")):
        return None

    class CDevice(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("path", ctypes.c_char_p)]

    list_fn = lib.edgetpu_list_devices
    list_fn.argtypes = [ctypes.POINTER(ctypes.c_size_t)]
    list_fn.restype = ctypes.POINTER(CDevice)
    free_fn = lib.edgetpu_free_devices
    free_fn.argtypes = [ctypes.POINTER(CDevice)]
    free_fn.restype = None
    count = ctypes.c_size_t(0)
    array = list_fn(ctypes.byref(count))
    if not array:
        return ()
    try:
        kinds = {0: "pci", 1: "usb"}  # enum edgetpu_device_type: EDGETPU_APEX_PCI, EDGETPU_APEX_USB
        return tuple(
            EdgeTpuDevice(
                kinds.get(array[i].type, str(array[i].type)),
                (array[i].path or b"").decode("utf-8", "replace"),
            )
            for i in range(count.value)
        )
    finally:
        free_fn(array)


def _pycoral_devices(pycoral: Any) -> tuple[EdgeTpuDevice, ...] | None:
    try:
        listed = pycoral.list_edge_tpus()
    except Exception:
        return None
    return tuple(EdgeTpuDevice(str(d.get("type", "")), str(d.get("path", ""))) for d in listed)


def _pycoral_runtime_version(pycoral: Any) -> str | None:
    try:
        version = pycoral.get_runtime_version()
    except Exception:
        return None
    return str(version) if version else None


# --------------------------------------------------------------------------- detection


def detect_backends(*, delegate_library: str | None = None) -> BackendInfo:
    """Which interpreters import, whether libedgetpu loads, which Edge TPUs it lists.

    ``delegate_library`` overrides the platform's libedgetpu name (a path works too).
    """
    pycoral_status, pycoral = _import_status("pycoral.utils.edgetpu", PYCORAL)
    litert_status, _ = _import_status("ai_edge_litert.interpreter", AI_EDGE_LITERT)
    tflite_status, _ = _import_status("tflite_runtime.interpreter", TFLITE_RUNTIME)
    lib_name = delegate_library or edgetpu_library_name()
    lib, lib_error = _probe_delegate_library(lib_name)

    edge_tpus: tuple[EdgeTpuDevice, ...] | None = None
    runtime_version: str | None = None
    if pycoral is not None:
        edge_tpus = _pycoral_devices(pycoral)
        runtime_version = _pycoral_runtime_version(pycoral)
    if lib is not None:
        if edge_tpus is None:
            edge_tpus = _c_list_edge_tpus(lib)
        if runtime_version is None:
            runtime_version = _c_runtime_version(lib)
    return BackendInfo(
        platform=f"{platform.system()}-{platform.machine()}",
        pycoral=pycoral_status,
        ai_edge_litert=litert_status,
        tflite_runtime=tflite_status,
        delegate_library=lib_name,
        delegate_loadable=lib is not None,
        delegate_error=lib_error,
        edge_tpus=edge_tpus,
        runtime_version=runtime_version,
    )


def _plain_runtime() -> _Runtime:
    """ai_edge_litert's Interpreter, else tflite_runtime's."""
    errors: list[str] = []
    for root in _PLAIN_INTERPRETERS:
        status, module = _import_status(f"{root}.interpreter", root)
        if module is not None:
            return _Runtime(
                root, status.version, root, status.version, module.Interpreter, module.load_delegate
            )
        if status.error and "No module named" not in status.error:
            errors.append(f"{root}: {status.error}")
    broken = f" ({'; '.join(errors)})" if errors else ""
    raise NoInterpreterError(f"no TensorFlow Lite interpreter is importable{broken}: {_INSTALL_INTERPRETER}")


# --------------------------------------------------------------------------- error translation


def translate_runtime_error(message: str, *, model: str, on_edgetpu: bool, loading: bool) -> TpulintError:
    """Turn an interpreter's error text into a typed, one-line error (a BenchError, or
    ModelFormatError for a file that is not a flatbuffer).

    ``model`` names the model in the message, ``on_edgetpu`` says whether the Edge TPU delegate
    was in use, ``loading`` whether the error came before the first ``invoke()``.
    """
    text = _one_line(message)
    version = _PACKAGE_VERSION_RE.search(text)
    if version:
        needed, installed = version.groups()
        return RuntimeVersionError(
            f"{model} needs Edge TPU runtime version {needed} but the installed libedgetpu is version "
            f"{installed}: recompile it with `edgetpu_compiler -m {installed}` or upgrade libedgetpu1-std"
        )
    unresolved = _UNRESOLVED_OP_RE.search(text)
    if unresolved and unresolved.group(1) == EDGETPU_CUSTOM_OP:
        if on_edgetpu:
            return ModelLoadError(
                f"{model}: Encountered unresolved custom op: {EDGETPU_CUSTOM_OP} although the Edge TPU "
                "delegate was loaded: the Edge TPU is not reachable (replug it, try another USB port) "
                "or libedgetpu does not match the interpreter"
            )
        return ModelLoadError(
            f"{model} is compiled for the Edge TPU ({EDGETPU_CUSTOM_OP}) and cannot run on the CPU "
            "interpreter: run it on an Edge TPU, or benchmark the un-compiled model with --cpu"
        )
    if unresolved:
        return ModelLoadError(
            f"{model} uses custom op '{unresolved.group(1)}' that this TFLite interpreter does not provide"
        )
    if "Unsupported data type in custom op handler" in text:
        return InterpreterMismatchError(
            f"{model}: {text}: libedgetpu and the TFLite interpreter were built from different TensorFlow "
            "versions: install the interpreter build that matches libedgetpu"
        )
    if "not a valid Flatbuffer" in text:
        return ModelFormatError(f"{model} is not a valid TFLite model: {text}")
    if loading:
        return ModelLoadError(f"cannot load {model}: {text}")
    return InvokeError(f"inference failed on {model}: {text}")


def _no_edgetpu(lib: str, detail: str, device: str | None) -> NoEdgeTpuError:
    which = f" matching device '{device}'" if device else ""
    detail = _one_line(detail.replace(f"Failed to load delegate from {lib}", "")) or "no device"
    return NoEdgeTpuError(
        f"no Edge TPU{which} found: {lib} loaded but could not open one ({detail}); plug in the Coral "
        f"device (USB 3 port; `lsusb` shows 1a6e:089a or 18d1:9302) {_CPU_HINT}"
    )


# --------------------------------------------------------------------------- interpreter creation


@dataclass
class _Loaded:
    interpreter: Any
    runtime: _Runtime
    delegate: str | None
    runtime_version: str | None
    load_ns: int  # delegate + interpreter + allocate_tensors, without importing the packages


def _load_cpu(path: Path, model: str, num_threads: int | None) -> _Loaded:
    runtime = _plain_runtime()
    kwargs: dict[str, Any] = {"model_path": str(path)}
    if num_threads is not None:
        kwargs["num_threads"] = num_threads
    start = time.perf_counter_ns()
    try:
        interpreter = runtime.interpreter_cls(**kwargs)
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise translate_runtime_error(str(exc), model=model, on_edgetpu=False, loading=True) from None
    return _Loaded(interpreter, runtime, None, None, time.perf_counter_ns() - start)


def _load_with_pycoral(
    pycoral: Any, status: LibraryStatus, path: Path, model: str, device: str | None
) -> _Loaded:
    lib = edgetpu_library_name()
    handle, error = _probe_delegate_library(lib)
    if handle is None:
        raise NoEdgeTpuError(f"Edge TPU runtime not usable ({error}): {_INSTALL_RUNTIME}, {_CPU_HINT}")
    start = time.perf_counter_ns()
    try:
        interpreter = pycoral.make_interpreter(str(path), device=device)
    except ValueError as exc:
        if str(exc).startswith("Failed to load delegate"):
            raise _no_edgetpu(lib, str(exc), device) from None
        raise translate_runtime_error(str(exc), model=model, on_edgetpu=True, loading=True) from None
    except RuntimeError as exc:
        raise translate_runtime_error(str(exc), model=model, on_edgetpu=True, loading=True) from None
    if interpreter is None:  # some pycoral forks return None instead of raising
        raise _no_edgetpu(lib, "make_interpreter returned None", device)
    try:
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise translate_runtime_error(str(exc), model=model, on_edgetpu=True, loading=True) from None
    load_ns = time.perf_counter_ns() - start
    cls_root = type(interpreter).__module__.split(".")[0]
    try:
        interp_version = _package_version(cls_root)
    except Exception:
        interp_version = None
    runtime = _Runtime(PYCORAL, status.version, cls_root, interp_version, type(interpreter), None)
    version = _pycoral_runtime_version(pycoral) or _c_runtime_version(handle)
    return _Loaded(interpreter, runtime, lib, version, load_ns)


def _load_with_delegate(
    path: Path, model: str, device: str | None, num_threads: int | None, library: str
) -> _Loaded:
    runtime = _plain_runtime()
    assert runtime.load_delegate is not None
    handle, error = _probe_delegate_library(library)
    if handle is None:
        raise NoEdgeTpuError(f"Edge TPU runtime not usable ({error}): {_INSTALL_RUNTIME}, {_CPU_HINT}")
    start = time.perf_counter_ns()
    try:
        delegate = runtime.load_delegate(library, {"device": device} if device else {})
    except (ValueError, RuntimeError, OSError, AttributeError) as exc:
        raise _no_edgetpu(library, str(exc), device) from None
    kwargs: dict[str, Any] = {"model_path": str(path), "experimental_delegates": [delegate]}
    if num_threads is not None:
        kwargs["num_threads"] = num_threads
    try:
        interpreter = runtime.interpreter_cls(**kwargs)
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise translate_runtime_error(str(exc), model=model, on_edgetpu=True, loading=True) from None
    load_ns = time.perf_counter_ns() - start
    return _Loaded(interpreter, runtime, library, _c_runtime_version(handle), load_ns)


def _load_edgetpu(
    path: Path, model: str, device: str | None, num_threads: int | None, delegate_library: str | None
) -> _Loaded:
    """pycoral's make_interpreter when importable, else load_delegate + Interpreter.

    pycoral cannot set the thread count nor another library path, so either request takes the
    load_delegate path (pycoral needs tflite_runtime, so an interpreter is there).
    """
    if delegate_library is None and num_threads is None:
        status, pycoral = _import_status("pycoral.utils.edgetpu", PYCORAL)
        if pycoral is not None:
            return _load_with_pycoral(pycoral, status, path, model, device)
    return _load_with_delegate(path, model, device, num_threads, delegate_library or edgetpu_library_name())


# --------------------------------------------------------------------------- inputs


def make_input(shape: Sequence[int], dtype: Any, rng: np.random.Generator) -> np.ndarray:
    """Seeded random data for one input: 8/16-bit ints over their whole range, int32/int64 small
    non-negative ints (they are usually indices), floats standard normal, bools 0/1."""
    import numpy as np

    kind = np.dtype(dtype)
    dims = tuple(int(d) for d in shape)
    if kind == np.bool_:
        return rng.integers(0, 2, size=dims).astype(np.bool_)
    if np.issubdtype(kind, np.integer):
        if kind.itemsize <= 2:
            info = np.iinfo(kind)
            return rng.integers(int(info.min), int(info.max), size=dims, dtype=kind, endpoint=True)
        return rng.integers(0, _INT_INPUT_HIGH, size=dims).astype(kind)
    if np.issubdtype(kind, np.floating):
        return rng.standard_normal(size=dims).astype(kind)
    raise BenchError(
        f"cannot generate random input of dtype {kind.name}: tpulint bench supports numeric inputs"
    )


def _dtype_name(dtype: Any) -> str:
    import numpy as np

    return np.dtype(dtype).name


def _set_inputs(interpreter: Any, seed: int) -> tuple[tuple[TensorSpec, ...], list[str]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    specs: list[TensorSpec] = []
    notes: list[str] = []
    for detail in interpreter.get_input_details():
        shape = tuple(int(d) for d in detail["shape"])
        signature = tuple(int(d) for d in detail.get("shape_signature", shape))
        if any(d < 0 for d in signature):
            notes.append(
                f"input '{detail['name']}' has a dynamic shape {list(signature)}: measured with {list(shape)}"
            )
        try:
            data = make_input(shape, detail["dtype"], rng)
        except BenchError as exc:
            raise BenchError(f"input '{detail['name']}': {exc}") from None
        interpreter.set_tensor(detail["index"], data)
        specs.append(TensorSpec(str(detail["name"]), shape, _dtype_name(detail["dtype"])))
    return tuple(specs), notes


def _output_specs(interpreter: Any) -> tuple[TensorSpec, ...]:
    specs = []
    for detail in interpreter.get_output_details():
        value = interpreter.get_tensor(detail["index"])
        specs.append(TensorSpec(str(detail["name"]), tuple(int(d) for d in value.shape), value.dtype.name))
    return tuple(specs)


# --------------------------------------------------------------------------- the benchmark


def _read_model(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ModelReadError(f"{path}: is a directory, not a .tflite file") from None
    except OSError as exc:
        raise ModelReadError(f"{path}: {exc.strerror or exc}") from None
    if len(data) < 8:
        raise ModelFormatError(f"{path}: {len(data)} bytes is too short to be a TFLite model")
    return data


def _check_args(iterations: int, warmup: int, device: str | None, cpu: bool, num_threads: int | None) -> None:
    if iterations < 1:
        raise ConfigError(f"iterations must be at least 1, got {iterations}")
    if warmup < 0:
        raise ConfigError(f"warmup must be 0 or more, got {warmup}")
    if num_threads is not None and num_threads < 1:
        raise ConfigError(f"num_threads must be at least 1, got {num_threads}")
    validate_device(device)
    if cpu and device is not None:
        raise ConfigError("--cpu and --device exclude each other: the CPU baseline uses no Edge TPU")


def _invoke(interpreter: Any, model: str, on_edgetpu: bool, loading: bool) -> int:
    """One invoke; returns its duration in ns."""
    start = time.perf_counter_ns()
    try:
        interpreter.invoke()
    except (RuntimeError, ValueError) as exc:
        raise translate_runtime_error(str(exc), model=model, on_edgetpu=on_edgetpu, loading=loading) from None
    return time.perf_counter_ns() - start


def run_bench(
    model_path: str | os.PathLike[str],
    *,
    iterations: int = 100,
    warmup: int = 1,
    device: str | None = None,
    cpu: bool = False,
    num_threads: int | None = None,
    seed: int = 12345,
    delegate_library: str | None = None,
) -> BenchResult:
    """Benchmark ``model_path`` on an Edge TPU (default) or on the CPU (``cpu=True``).

    ``device`` picks an Edge TPU ("usb", "pci", "usb:N", "pci:N", ":N"); ``delegate_library``
    overrides libedgetpu's name or path. Raises a BenchError subclass (or ModelReadError /
    ModelFormatError / ConfigError) with a one-line message.
    """
    _check_args(iterations, warmup, device, cpu, num_threads)
    path = Path(model_path)
    data = _read_model(path)
    edgetpu_model = is_edgetpu_model(data)
    model = path.name
    on_edgetpu = not cpu

    if cpu:
        loaded = _load_cpu(path, model, num_threads)
    else:
        loaded = _load_edgetpu(path, model, device, num_threads, delegate_library)
    interpreter = loaded.interpreter

    inputs, notes = _set_inputs(interpreter, seed)
    first_ns = _invoke(interpreter, model, on_edgetpu, loading=True)
    for _ in range(warmup):
        _invoke(interpreter, model, on_edgetpu, loading=False)
    samples_ns = [_invoke(interpreter, model, on_edgetpu, loading=False) for _ in range(iterations)]
    outputs = _output_specs(interpreter)

    samples = sorted(ns / 1e6 for ns in samples_ns)
    mean = sum(samples) / len(samples)
    variance = sum((s - mean) ** 2 for s in samples) / len(samples)
    governor = _cpu_governor()
    warnings = list(notes)
    if on_edgetpu and not edgetpu_model:
        warnings.append(
            f"{model} has no {EDGETPU_CUSTOM_OP}: every op ran on the CPU although the Edge TPU delegate "
            "was loaded; compile it with edgetpu_compiler first"
        )
    if governor is not None and governor != "performance":
        warnings.append(f"CPU frequency governor is '{governor}', not 'performance': latencies may vary")
    runtime = loaded.runtime
    return BenchResult(
        model_path=str(path),
        model_size_bytes=len(data),
        edgetpu_model=edgetpu_model,
        target="edgetpu" if on_edgetpu else "cpu",
        backend=runtime.backend,
        backend_version=runtime.backend_version,
        interpreter_library=runtime.interpreter_library,
        interpreter_version=runtime.interpreter_version,
        delegate=loaded.delegate,
        device=device,
        runtime_version=loaded.runtime_version,
        num_threads=num_threads,
        iterations=iterations,
        warmup=warmup,
        seed=seed,
        load_ms=loaded.load_ns / 1e6,
        first_invoke_ms=first_ns / 1e6,
        mean_ms=mean,
        stdev_ms=variance**0.5,
        p50_ms=_percentile(samples, 50),
        p90_ms=_percentile(samples, 90),
        p99_ms=_percentile(samples, 99),
        min_ms=samples[0],
        max_ms=samples[-1],
        inferences_per_second=1000.0 / mean if mean > 0 else float("inf"),
        inputs=inputs,
        outputs=outputs,
        cpu_governor=governor,
        warnings=tuple(warnings),
        latencies_ms=tuple(ns / 1e6 for ns in samples_ns),
    )


# --------------------------------------------------------------------------- text


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def _specs(specs: Sequence[TensorSpec]) -> str:
    return ", ".join(f"{s.name} {s.dtype}[{','.join(map(str, s.shape))}]" for s in specs)


def format_text(result: BenchResult) -> str:
    """A short human-readable table of one result."""
    compiled = "Edge TPU compiled" if result.edgetpu_model else "not compiled for the Edge TPU"
    if result.target == "edgetpu":
        where = f"Edge TPU {result.device or '(any)'} via {result.delegate}"
        if result.runtime_version_number is not None:
            where += f", runtime {result.runtime_version_number}"
    else:
        threads = result.num_threads if result.num_threads is not None else "default"
        where = f"CPU ({threads} threads)"
    backend = result.backend + (f" {result.backend_version}" if result.backend_version else "")
    if result.interpreter_library != result.backend:
        backend += f" ({result.interpreter_library} {result.interpreter_version or ''})".replace(" )", ")")
    rows = [
        ("model", f"{result.model_path} ({_size(result.model_size_bytes)}, {compiled})"),
        ("target", where),
        ("backend", backend),
        ("inputs", _specs(result.inputs)),
        ("outputs", _specs(result.outputs)),
        ("runs", f"{result.iterations} timed after 1 first + {result.warmup} warm-up (seed {result.seed})"),
        ("load", f"{result.load_ms:.3f} ms"),
        ("first invoke", f"{result.first_invoke_ms:.3f} ms"),
        (
            "latency ms",
            f"mean {result.mean_ms:.3f}  p50 {result.p50_ms:.3f}  p90 {result.p90_ms:.3f}  "
            f"p99 {result.p99_ms:.3f}  min {result.min_ms:.3f}  max {result.max_ms:.3f}",
        ),
        ("throughput", f"{result.inferences_per_second:.1f} inferences/s"),
    ]
    rows.extend(("warning", w) for w in result.warnings)
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
