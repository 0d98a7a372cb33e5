"""Convert a TensorFlow SavedModel or Keras model to a full-integer TFLite model for the Edge TPU.

This is the library side of ``tpulint convert``. TensorFlow is an optional extra
(``pip install 'tpulint[convert]'``) and is imported only by :func:`import_tensorflow`, which only
this module calls; nothing else in tpulint imports this module, so ``tpulint check`` never loads
TensorFlow.

The settings are the Edge TPU's requirements (and what tpulint's findings recommend):

* ``optimizations = [Optimize.DEFAULT]`` with a representative dataset (full-integer quantization),
* ``target_spec.supported_ops = [TFLITE_BUILTINS_INT8]`` (an op with no TFLite builtin fails the
  conversion; an op with no int8 kernel may still be left in float between DEQUANTIZE/QUANTIZE --
  TensorFlow 2.21 does that with SIN -- and the check afterwards reports it),
* ``inference_input_type`` / ``inference_output_type`` uint8 (default) or int8, so the model has no
  QUANTIZE/DEQUANTIZE at its edges (float32 I/O only when asked for),
* a fixed input shape with batch 1: the model is traced again with fixed ``TensorSpec``s and
  converted with ``from_concrete_functions([cf], trackable)``.

Every step is a small function; user-facing failures are :class:`ConvertError` (one line, exit 2)
or :class:`TensorFlowMissingError` (exit 4). Nothing here prints.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

INSTALL_HINT = "tpulint convert needs TensorFlow: pip install 'tpulint[convert]'"
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
ARRAY_SUFFIXES = (".npy", ".npz")
#: ``--scale``: pixel values p in [0, 255] become (p - mean) / std.
SCALES: dict[str, tuple[float, float]] = {
    "unit": (0.0, 255.0),  # [0, 1] (the default)
    "symmetric": (127.5, 127.5),  # [-1, 1] (MobileNet / Inception preprocessing)
    "raw": (0.0, 1.0),  # [0, 255]
}
IO_TYPES = ("uint8", "int8", "float32")


class ConvertError(Exception):
    """A user-facing failure: the message is one line, the command exits 2."""


class TensorFlowMissingError(ConvertError):
    """TensorFlow cannot be imported: the command exits 4."""


@dataclass(frozen=True)
class InputInfo:
    """One model input as the serving signature declares it (``shape`` None: unknown rank)."""

    name: str
    shape: tuple[int | None, ...] | None
    dtype: Any  # a tf.DType

    def shape_text(self) -> str:
        return shape_text(self.shape)


@dataclass(frozen=True)
class ConvertOptions:
    io_type: str = "uint8"  # uint8 | int8 | float32 (--float-io)
    samples: int = 100
    mean: float = 0.0  # images: (pixel - mean) / std, pixel in [0, 255]
    std: float = 255.0
    input_shapes: dict[str | None, tuple[int, ...]] = field(default_factory=dict)  # None: the only input


@dataclass(frozen=True)
class ConvertResult:
    output: Path
    size: int
    tf_version: str
    samples: int
    input_shapes: dict[str, tuple[int, ...]]


# --- arguments (no TensorFlow needed) ---------------------------------------------------------------


def shape_text(shape: Sequence[int | None] | None) -> str:
    if shape is None:
        return "[unknown rank]"
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def model_kind(path: Path) -> str:
    """``"saved_model"`` or ``"keras"``; :class:`ConvertError` for anything else."""
    if not path.exists():
        raise ConvertError(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return "saved_model"
        raise ConvertError(f"{path}: a directory but not a SavedModel (no saved_model.pb in it)")
    suffix = path.suffix.lower()
    if suffix in KERAS_SUFFIXES:
        return "keras"
    if suffix == ".tflite":
        raise ConvertError(f"{path}: already a TFLite model (check it with `tpulint check {path}`)")
    raise ConvertError(f"{path}: not a SavedModel directory or a Keras .keras/.h5 file")


def check_data_path(path: Path) -> None:
    if not path.exists():
        raise ConvertError(f"{path}: no such file or directory (--representative)")
    if not path.is_dir() and path.suffix.lower() not in ARRAY_SUFFIXES:
        raise ConvertError(f"{path}: --representative takes a .npy or .npz file or a directory of images")


def _same_or_inside(output: Path, source: Path) -> bool:
    out, src = output.resolve(), source.resolve()
    if out == src or (src.is_dir() and src in out.parents):
        return True
    with contextlib.suppress(OSError):  # hard links, bind mounts
        return output.exists() and source.exists() and os.path.samefile(output, source)
    return False


def check_output_path(output: Path, inputs: Sequence[Path]) -> None:
    """Refuse an output that is (or lies inside) an input, or that is a directory."""
    for source in inputs:
        if _same_or_inside(output, source):
            where = "is" if output.resolve() == source.resolve() else "lies inside"
            raise ConvertError(f"-o {output} {where} the input {source}; choose another output path")
    if output.is_dir():
        raise ConvertError(f"-o {output} is a directory; give the .tflite file to write")


def parse_input_shape(value: str) -> tuple[str | None, tuple[int, ...]]:
    """``1,224,224,3`` or ``NAME:1,224,224,3`` -> (name or None, shape)."""
    name, sep, dims = value.rpartition(":")
    text = dims.strip()
    try:
        shape = tuple(int(d) for d in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise ConvertError(f"--input-shape {value!r}: expected positive integers like 1,224,224,3 (or NAME:1,...)")
    return (name.strip() or None) if sep else None, shape


def parse_input_shapes(values: Sequence[str]) -> dict[str | None, tuple[int, ...]]:
    out: dict[str | None, tuple[int, ...]] = {}
    for value in values:
        name, shape = parse_input_shape(value)
        if name in out:
            raise ConvertError(f"--input-shape given twice for {'the input' if name is None else repr(name)}")
        out[name] = shape
    return out


def normalization(scale: str | None, mean: float | None, std: float | None) -> tuple[float, float]:
    """(mean, std) on [0, 255] pixel values from ``--scale`` or ``--mean``/``--std``."""
    if mean is None and std is None:
        return SCALES[scale or "unit"]
    if scale is not None:
        raise ConvertError("--scale and --mean/--std exclude each other")
    m, s = (0.0 if mean is None else mean), (1.0 if std is None else std)
    if s == 0 or not np.isfinite(s) or not np.isfinite(m):
        raise ConvertError("--std must be a non-zero number and --mean a number")
    return m, s


# --- TensorFlow --------------------------------------------------------------------------------------


def import_tensorflow() -> Any:
    """Import TensorFlow quietly; :class:`TensorFlowMissingError` when it cannot be imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "tensorflow":
            raise TensorFlowMissingError(INSTALL_HINT) from None
        raise TensorFlowMissingError(f"{INSTALL_HINT} (importing it failed: {first_line(exc)})") from None
    except Exception as exc:  # a broken installation: a missing shared library, a NumPy ABI clash...
        raise TensorFlowMissingError(f"{INSTALL_HINT} (importing it failed: {first_line(exc)})") from None
    with contextlib.suppress(Exception):
        tf.get_logger().setLevel("ERROR")
    return tf


_LOC = re.compile(r"^loc\(")


def _strip_loc(line: str) -> str:
    """Drop an MLIR ``loc(...)`` prefix (balanced parentheses) and the ``: `` after it."""
    if not _LOC.match(line):
        return line
    depth = 0
    for i, ch in enumerate(line):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return line[i + 1 :].lstrip(": ").strip() or line
    return line


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first meaningful line of an exception: for converter errors the first ``error:`` line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("Traceback", 'File "'))]
    errors = [ln for ln in lines if "error:" in ln]
    line = errors[0] if errors else (lines[0] if lines else "")
    if "error:" in line:
        line = _strip_loc(line.split("error:", 1)[1].strip())
    line = line or type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


@contextlib.contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Silence TensorFlow: its C++ logs (file descriptors 1 and 2), Python warnings and prints.

    stdout must stay clean: ``--format json`` prints the report there.
    """
    if not enabled:
        yield
        return
    saved: list[tuple[int, int]] = []
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()  # type: ignore[union-attr]
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
                os.dup2(sink.fileno(), fd)
            except OSError:  # not a real descriptor (an embedding host): Python-level redirection only
                pass
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                yield
        finally:
            for stream in (sys.__stdout__, sys.__stderr__):
                with contextlib.suppress(Exception):
                    stream.flush()  # type: ignore[union-attr]
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)


def _signature_inputs(signature: Any) -> list[InputInfo]:
    args, kwargs = signature.structured_input_signature
    if args:
        raise ConvertError("the serving signature takes positional arguments; tpulint needs named inputs")
    out = []
    for name in sorted(kwargs):
        spec = kwargs[name]
        rank = spec.shape.rank
        shape = None if rank is None else tuple(spec.shape.as_list())
        out.append(InputInfo(name=name, shape=shape, dtype=spec.dtype))
    if not out:
        raise ConvertError("the serving signature has no inputs")
    return out


def load_saved_model(tf: Any, path: Path) -> tuple[Any, Any, list[InputInfo]]:
    """(the serving signature, the loaded object that owns its variables, its inputs)."""
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:
        raise ConvertError(f"{path}: cannot load the SavedModel: {first_line(exc)}") from None
    signatures = dict(getattr(loaded, "signatures", {}) or {})
    if "serving_default" in signatures:
        signature = signatures["serving_default"]
    elif len(signatures) == 1:
        signature = next(iter(signatures.values()))
    else:
        names = ", ".join(sorted(signatures)) or "none"
        raise ConvertError(f"{path}: no serving_default signature (signatures: {names})")
    return signature, loaded, _signature_inputs(signature)


def load_keras(tf: Any, path: Path, workdir: Path) -> tuple[Any, Any, list[InputInfo]]:
    """Load a Keras model and re-save it as a SavedModel (in ``workdir``), then load that.

    A live Keras 3 model handed to ``from_concrete_functions`` keeps its weights as variables
    (READ_VARIABLE ops that fail in calibration); a SavedModel's restored variables are frozen
    properly. So Keras models take the SavedModel path too.
    """
    try:
        model = tf.keras.models.load_model(str(path), compile=False)
    except Exception as exc:
        raise ConvertError(f"{path}: cannot load the Keras model: {first_line(exc)}") from None
    keras_inputs = list(getattr(model, "inputs", None) or [])
    if not keras_inputs:
        raise ConvertError(f"{path}: the Keras model has no declared inputs (a subclassed model?); export a SavedModel")
    specs = []
    for i, t in enumerate(keras_inputs):
        name = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(getattr(t, "name", "") or f"input_{i}"))
        specs.append(tf.TensorSpec(tuple(t.shape), tf.as_dtype(t.dtype), name=name))
    if len({s.name for s in specs}) != len(specs):
        raise ConvertError(f"{path}: the Keras model's inputs do not have distinct names")

    @tf.function(input_signature=specs)
    def serve(*args: Any) -> Any:
        return model(args[0] if len(args) == 1 else list(args), training=False)

    try:
        tf.saved_model.save(model, str(workdir), signatures={"serving_default": serve.get_concrete_function()})
    except Exception as exc:
        raise ConvertError(f"{path}: cannot trace the Keras model: {first_line(exc)}") from None
    return load_saved_model(tf, workdir)


def resolve_shapes(inputs: Sequence[InputInfo], given: dict[str | None, tuple[int, ...]]) -> list[tuple[int, ...]]:
    """The fixed shape of every input: ``--input-shape``, else the declared one with batch 1."""
    names = [i.name for i in inputs]
    if None in given and len(inputs) > 1:
        raise ConvertError(f"the model has {len(inputs)} inputs ({', '.join(names)}): use --input-shape NAME:1,...")
    unknown = [n for n in given if n is not None and n not in names]
    if unknown:
        raise ConvertError(f"--input-shape names no input {unknown[0]!r} (inputs: {', '.join(names)})")
    out = []
    for info in inputs:
        shape = given.get(info.name, given.get(None) if len(inputs) == 1 else None)
        if shape is not None:
            if info.shape is not None and (
                len(shape) != len(info.shape)
                or any(d is not None and d != g for d, g in zip(info.shape, shape, strict=True))
            ):
                raise ConvertError(
                    f"--input-shape {','.join(map(str, shape))} does not fit input {info.name!r} {info.shape_text()}"
                )
            out.append(shape)
            continue
        if info.shape is None:
            raise ConvertError(f"input {info.name!r} has an unknown rank: give its shape with --input-shape 1,...")
        fixed = tuple(1 if (i == 0 and d is None) else d for i, d in enumerate(info.shape))
        if any(d is None for d in fixed):
            example = ",".join("1" if i == 0 else ("N" if d is None else str(d)) for i, d in enumerate(info.shape))
            raise ConvertError(
                f"input {info.name!r} has dynamic dimensions {info.shape_text()}: "
                f"give its full shape, e.g. --input-shape {example}"
            )
        out.append(tuple(int(d) for d in fixed if d is not None))
    return out


# --- representative data -----------------------------------------------------------------------------


def _pick(count: int, n: int) -> list[int]:
    """``n`` indices spread evenly over ``range(count)`` (all of them when ``count <= n``)."""
    if count <= n:
        return list(range(count))
    return [i * count // n for i in range(n)]


def _samples_from_array(arr: Any, info: InputInfo, shape: tuple[int, ...], source: str, n: int) -> list[Any]:
    if not isinstance(arr, np.ndarray) or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ConvertError(f"{source}: not a numeric array")
    per = tuple(arr.shape[1:])
    if per == shape:
        squeeze = False
    elif shape[:1] == (1,) and per == shape[1:]:
        squeeze = True
    else:
        want = "[N," + ",".join(map(str, shape[1:])) + "]" if shape[:1] == (1,) else ""
        want += (" or " if want else "") + "[N," + ",".join(map(str, shape)) + "]"
        raise ConvertError(
            f"{source}: calibration data shaped {shape_text(arr.shape)} does not match input {info.name!r} "
            f"{shape_text(shape)} (expected {want})"
        )
    if arr.shape[0] == 0:
        raise ConvertError(f"{source}: no samples (the first dimension is 0)")
    dtype = info.dtype.as_numpy_dtype
    out = []
    for i in _pick(arr.shape[0], n):
        sample = np.asarray(arr[i], dtype=dtype)
        out.append(sample[None] if squeeze else sample)
    return out


def _load_arrays(path: Path) -> dict[str, Any]:
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        return {"": np.load(path, mmap_mode="r", allow_pickle=False)}
    except Exception as exc:  # unreadable, not NumPy, pickled objects, truncated...
        raise ConvertError(f"{path}: cannot read the array file: {first_line(exc)}") from None


def load_array_data(
    path: Path, inputs: Sequence[InputInfo], shapes: Sequence[tuple[int, ...]], n: int
) -> list[list[Any]]:
    """Calibration samples from a .npy (one input) or .npz (one array, or one per input name)."""
    arrays = _load_arrays(path)
    if len(inputs) == 1:
        if len(arrays) == 1:
            arr = next(iter(arrays.values()))
        elif inputs[0].name in arrays:
            arr = arrays[inputs[0].name]
        else:
            raise ConvertError(f"{path}: {len(arrays)} arrays and none named {inputs[0].name!r}; give one array")
        return [[s] for s in _samples_from_array(arr, inputs[0], shapes[0], str(path), n)]
    names = [i.name for i in inputs]
    if "" in arrays or sorted(arrays) != sorted(names):
        have = ", ".join(sorted(arrays)) if "" not in arrays else "one unnamed array"
        raise ConvertError(
            f"the model has {len(inputs)} inputs ({', '.join(names)}): give an .npz with one array per input "
            f"name (got {have})"
        )
    counts = {len(arrays[k]) for k in names}
    if len(counts) != 1:
        raise ConvertError(f"{path}: the arrays hold different numbers of samples ({sorted(counts)})")
    per_input = [
        _samples_from_array(arrays[i.name], i, s, f"{path}[{i.name}]", n) for i, s in zip(inputs, shapes, strict=True)
    ]
    return [list(sample) for sample in zip(*per_input, strict=True)]


def image_files(directory: Path) -> list[Path]:
    """Image files under ``directory`` (recursively, hidden ones skipped), sorted."""
    try:
        return sorted(
            p
            for p in directory.rglob("*")
            if p.suffix.lower() in IMAGE_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(directory).parts)
            and p.is_file()
        )
    except OSError as exc:
        raise ConvertError(f"{directory}: cannot list the directory: {exc.strerror or exc}") from None


def load_image_data(
    tf: Any,
    directory: Path,
    inputs: Sequence[InputInfo],
    shapes: Sequence[tuple[int, ...]],
    n: int,
    mean: float,
    std: float,
) -> list[list[Any]]:
    """Calibration samples from images: decoded, resized to the input's H x W, (pixel - mean) / std."""
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise ConvertError(
            f"the model has {len(inputs)} inputs ({names}): a directory of images feeds one input; "
            "give an .npz with one array per input name"
        )
    info, shape = inputs[0], shapes[0]
    if len(shape) != 4 or shape[-1] not in (1, 3, 4):
        raise ConvertError(
            f"input {info.name!r} is {shape_text(shape)}: a directory of images needs an input shaped "
            "[1,H,W,C] with C 1, 3 or 4 (give an .npy instead)"
        )
    files = image_files(directory)
    if not files:
        raise ConvertError(f"{directory}: no images (.jpg, .jpeg, .png, .bmp) in the directory")
    batch, height, width, channels = shape
    dtype = info.dtype.as_numpy_dtype
    out = []
    for i in _pick(len(files), n):
        f = files[i]
        try:
            image = tf.io.decode_image(tf.io.read_file(str(f)), channels=channels, expand_animations=False)
            pixels = tf.image.resize(tf.cast(image, tf.float32), (height, width)).numpy()
        except Exception as exc:
            raise ConvertError(f"{f}: cannot read the image: {first_line(exc)}") from None
        sample = ((pixels - mean) / std).astype(dtype)
        out.append([np.repeat(sample[None], batch, axis=0)])
    return out


def load_calibration(
    tf: Any, data: Path, inputs: Sequence[InputInfo], shapes: Sequence[tuple[int, ...]], options: ConvertOptions
) -> list[list[Any]]:
    """All calibration samples, read (and checked) before the converter starts."""
    if data.is_dir():
        return load_image_data(tf, data, inputs, shapes, options.samples, options.mean, options.std)
    if len(inputs) > 1 and data.suffix.lower() == ".npy":
        names = ", ".join(i.name for i in inputs)
        raise ConvertError(f"the model has {len(inputs)} inputs ({names}): give an .npz with one array per input name")
    return load_array_data(data, inputs, shapes, options.samples)


# --- the converter -----------------------------------------------------------------------------------


def make_converter(
    tf: Any,
    signature: Any,
    trackable: Any,
    inputs: Sequence[InputInfo],
    shapes: Sequence[tuple[int, ...]],
    samples: Sequence[Sequence[Any]],
    io_type: str,
) -> Any:
    """A TFLiteConverter for the Edge TPU: full integer, int8 builtins only, fixed shapes."""
    specs = [tf.TensorSpec(shape, info.dtype, name=info.name) for info, shape in zip(inputs, shapes, strict=True)]
    names = [info.name for info in inputs]

    @tf.function(input_signature=specs)
    def fixed(*args: Any) -> Any:
        return signature(**dict(zip(names, args, strict=True)))

    converter = tf.lite.TFLiteConverter.from_concrete_functions([fixed.get_concrete_function()], trackable)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative_dataset() -> Iterator[list[Any]]:
        for sample in samples:
            yield list(sample)

    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if io_type != "float32":
        converter.inference_input_type = getattr(tf, io_type)
        converter.inference_output_type = getattr(tf, io_type)
    return converter


def write_atomically(output: Path, data: bytes) -> None:
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConvertError(f"cannot write {output}: {exc.strerror or exc}") from None


def convert(model: Path, data: Path, output: Path, options: ConvertOptions, *, verbose: bool = False) -> ConvertResult:
    """Convert ``model`` with calibration ``data`` and write ``output``; raises :class:`ConvertError`."""
    if options.io_type not in IO_TYPES:
        raise ConvertError(f"unknown I/O type {options.io_type!r} (one of {', '.join(IO_TYPES)})")
    kind = model_kind(model)
    check_data_path(data)
    check_output_path(output, [model, data])
    with quiet(not verbose):
        tf = import_tensorflow()
        with tempfile.TemporaryDirectory(prefix="tpulint-convert-") as work:
            if kind == "keras":
                signature, trackable, inputs = load_keras(tf, model, Path(work) / "saved_model")
            else:
                signature, trackable, inputs = load_saved_model(tf, model)
            shapes = resolve_shapes(inputs, options.input_shapes)
            samples = load_calibration(tf, data, inputs, shapes, options)
            try:
                converter = make_converter(tf, signature, trackable, inputs, shapes, samples, options.io_type)
                flatbuffer = converter.convert()
            except Exception as exc:
                raise ConvertError(f"conversion failed: {first_line(exc)}") from None
    if not isinstance(flatbuffer, bytes) or not flatbuffer:
        raise ConvertError("conversion failed: the converter returned no model")
    write_atomically(output, flatbuffer)
    return ConvertResult(
        output=output,
        size=len(flatbuffer),
        tf_version=str(getattr(tf, "__version__", "unknown")),
        samples=len(samples),
        input_shapes={i.name: s for i, s in zip(inputs, shapes, strict=True)},
    )
