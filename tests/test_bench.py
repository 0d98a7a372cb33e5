"""Tests for tpulint.bench: the CPU path runs for real with ai_edge_litert on real models.

There is no Edge TPU (nor libedgetpu) here, so the Edge TPU path is tested three ways: the real
"no runtime" failure, a stand-in delegate plugin compiled from C at test time (it exports the same
symbols as libedgetpu and leaves every op to the CPU), and the interpreter's real error strings.
"""

from __future__ import annotations

import ctypes.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import pytest

from tpulint import bench
from tpulint.bench import (
    BenchError,
    BenchResult,
    EdgeTpuDevice,
    InterpreterMismatchError,
    InvokeError,
    ModelLoadError,
    NoEdgeTpuError,
    NoInterpreterError,
    RuntimeVersionError,
    detect_backends,
    format_text,
    is_edgetpu_model,
    make_input,
    run_bench,
    translate_runtime_error,
    validate_device,
)
from tpulint.errors import ConfigError, ModelFormatError, ModelReadError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared"
MOBILENET_DIR = SHARED / "corpus" / "coral_td__mobilenet_v1_0.25_128_quant"
MOBILENET = MOBILENET_DIR / "mobilenet_v1_0.25_128_quant.tflite"
MOBILENET_EDGETPU = MOBILENET_DIR / "mobilenet_v1_0.25_128_quant_edgetpu.tflite"

# name -> (input dtype, input shape, output dtype, output shape), from fixtures/README.md
CNN_FIXTURES = {
    "int8_cnn.tflite": ("int8", (1, 16, 16, 3), "int8", (1, 10)),
    "uint8_cnn.tflite": ("uint8", (1, 16, 16, 3), "uint8", (1, 10)),
    "float_cnn.tflite": ("float32", (1, 16, 16, 3), "float32", (1, 10)),
}


def _fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture {name} not generated yet")
    return path


def _shared(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path.name} not in ../shared/corpus")
    return path


def _assert_stats(result: BenchResult, iterations: int) -> None:
    assert result.iterations == iterations
    assert len(result.latencies_ms) == iterations
    assert all(t > 0 for t in result.latencies_ms)
    assert result.first_invoke_ms > 0
    assert result.load_ms > 0
    assert 0 < result.min_ms <= result.p50_ms <= result.p90_ms <= result.p99_ms <= result.max_ms
    assert result.min_ms <= result.mean_ms <= result.max_ms
    assert result.min_ms == min(result.latencies_ms)
    assert result.max_ms == max(result.latencies_ms)
    assert math.isclose(result.mean_ms, sum(result.latencies_ms) / iterations, rel_tol=1e-9)
    assert math.isclose(result.inferences_per_second, 1000.0 / result.mean_ms, rel_tol=1e-9)
    assert result.stdev_ms >= 0


# --------------------------------------------------------------------------- tiny models built here

_FLOAT32, _INT32, _UINT8 = 0, 2, 3
_ADD, _CUSTOM, _CAST = 0, 32, 53


def _build_model(
    tensors: list[tuple[str, list[int], int]],
    opcodes: list[tuple[int, str | None]],
    ops: list[tuple[int, list[int], list[int]]],
    inputs: list[int],
    outputs: list[int],
    description: str = "tpulint test model",
) -> bytes:
    """A minimal TFLite flatbuffer: tensors (name, shape, type) without data, ops by opcode index."""
    import tflite as t

    b = flatbuffers.Builder(1024)

    def ivec(start: Any, values: list[int]) -> int:
        start(b, len(values))
        for v in reversed(values):
            b.PrependInt32(v)
        return int(b.EndVector())

    def tvec(start: Any, offsets: list[int]) -> int:
        start(b, len(offsets))
        for off in reversed(offsets):
            b.PrependUOffsetTRelative(off)
        return int(b.EndVector())

    tensor_offsets = []
    for name, shape, ttype in tensors:
        name_off = b.CreateString(name)
        shape_off = ivec(t.TensorStartShapeVector, shape)
        t.TensorStart(b)
        t.TensorAddShape(b, shape_off)
        t.TensorAddType(b, ttype)
        t.TensorAddBuffer(b, 0)
        t.TensorAddName(b, name_off)
        tensor_offsets.append(t.TensorEnd(b))
    op_offsets = []
    for opcode_index, op_in, op_out in ops:
        in_off = ivec(t.OperatorStartInputsVector, op_in)
        out_off = ivec(t.OperatorStartOutputsVector, op_out)
        t.OperatorStart(b)
        t.OperatorAddOpcodeIndex(b, opcode_index)
        t.OperatorAddInputs(b, in_off)
        t.OperatorAddOutputs(b, out_off)
        op_offsets.append(t.OperatorEnd(b))
    tensors_vec = tvec(t.SubGraphStartTensorsVector, tensor_offsets)
    inputs_vec = ivec(t.SubGraphStartInputsVector, inputs)
    outputs_vec = ivec(t.SubGraphStartOutputsVector, outputs)
    ops_vec = tvec(t.SubGraphStartOperatorsVector, op_offsets)
    sg_name = b.CreateString("main")
    t.SubGraphStart(b)
    t.SubGraphAddTensors(b, tensors_vec)
    t.SubGraphAddInputs(b, inputs_vec)
    t.SubGraphAddOutputs(b, outputs_vec)
    t.SubGraphAddOperators(b, ops_vec)
    t.SubGraphAddName(b, sg_name)
    subgraph = t.SubGraphEnd(b)

    code_offsets = []
    for builtin, custom in opcodes:
        custom_off = b.CreateString(custom) if custom else None
        t.OperatorCodeStart(b)
        t.OperatorCodeAddDeprecatedBuiltinCode(b, min(builtin, 127))
        t.OperatorCodeAddBuiltinCode(b, builtin)
        t.OperatorCodeAddVersion(b, 1)
        if custom_off is not None:
            t.OperatorCodeAddCustomCode(b, custom_off)
        code_offsets.append(t.OperatorCodeEnd(b))
    t.BufferStart(b)
    empty_buffer = t.BufferEnd(b)
    codes_vec = tvec(t.ModelStartOperatorCodesVector, code_offsets)
    subgraphs_vec = tvec(t.ModelStartSubgraphsVector, [subgraph])
    buffers_vec = tvec(t.ModelStartBuffersVector, [empty_buffer])
    desc = b.CreateString(description)
    t.ModelStart(b)
    t.ModelAddVersion(b, 3)
    t.ModelAddOperatorCodes(b, codes_vec)
    t.ModelAddSubgraphs(b, subgraphs_vec)
    t.ModelAddBuffers(b, buffers_vec)
    t.ModelAddDescription(b, desc)
    b.Finish(t.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _mixed_model() -> bytes:
    """float32 x -> x+x, uint8 q -> cast to float32, int32 i -> i+i: three input dtypes."""
    return _build_model(
        tensors=[
            ("x", [1, 8], _FLOAT32),
            ("q", [2, 3], _UINT8),
            ("i", [4], _INT32),
            ("x2", [1, 8], _FLOAT32),
            ("qf", [2, 3], _FLOAT32),
            ("i2", [4], _INT32),
        ],
        opcodes=[(_ADD, None), (_CAST, None)],
        ops=[(0, [0, 0], [3]), (1, [1], [4]), (0, [2, 2], [5])],
        inputs=[0, 1, 2],
        outputs=[3, 4, 5],
    )


def _fake_edgetpu_model(description: str = "tpulint test model") -> bytes:
    """A graph whose only op is edgetpu-custom-op, as edgetpu_compiler writes it."""
    return _build_model(
        tensors=[("in", [1, 4, 4, 3], _UINT8), ("out", [1, 10], _UINT8)],
        opcodes=[(_CUSTOM, "edgetpu-custom-op")],
        ops=[(0, [0], [1])],
        inputs=[0],
        outputs=[1],
        description=description,
    )


def _mixed_model_with_description(description: str) -> bytes:
    return _build_model(
        tensors=[("x", [1, 8], _FLOAT32), ("y", [1, 8], _FLOAT32)],
        opcodes=[(_ADD, None)],
        ops=[(0, [0, 0], [1])],
        inputs=[0],
        outputs=[1],
        description=description,
    )


@pytest.fixture
def mixed_model(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.tflite"
    path.write_bytes(_mixed_model())
    return path


@pytest.fixture
def compiled_model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_edgetpu.tflite"
    path.write_bytes(_fake_edgetpu_model())
    return path


# --------------------------------------------------------------------------- a stand-in libedgetpu

_FAKE_PLUGIN_C = r"""
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* TfLiteDelegate's layout; Prepare claims no node, so every op stays on the CPU. */
typedef struct FakeDelegate {
  void* data_;
  int (*Prepare)(void* context, struct FakeDelegate* delegate);
  void* CopyFromBufferHandle;
  void* CopyToBufferHandle;
  void* FreeBufferHandle;
  int64_t flags;
  void* opaque_delegate_builder;
} FakeDelegate;

static int prepare(void* context, FakeDelegate* delegate) { (void)context; (void)delegate; return 0; }

void* tflite_plugin_create_delegate(char** keys, char** values, size_t n, void (*report)(const char*)) {
  for (size_t i = 0; i < n; ++i) {
    if (strcmp(keys[i], "device") == 0 && strcmp(values[i], "usb") != 0) {
      report("Failed to open device");
      return NULL;
    }
  }
  FakeDelegate* d = (FakeDelegate*)calloc(1, sizeof(FakeDelegate));
  d->Prepare = prepare;
  return d;
}

void tflite_plugin_destroy_delegate(void* d) { free(d); }

struct edgetpu_device { int type; const char* path; };

struct edgetpu_device* edgetpu_list_devices(size_t* num_devices) {
  struct edgetpu_device* devs = (struct edgetpu_device*)calloc(1, sizeof(struct edgetpu_device));
  devs[0].type = 1;  /* EDGETPU_APEX_USB */
  devs[0].path = "/sys/bus/usb/devices/2-1";
  *num_devices = 1;
  return devs;
}

void edgetpu_free_devices(struct edgetpu_device* devs) { free(devs); }

const char* edgetpu_version(void) { return "BuildLabel(fake),RuntimeVersion(14)"; }
"""


@pytest.fixture(scope="module")
def fake_libedgetpu(tmp_path_factory: pytest.TempPathFactory) -> str:
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None or sys.platform != "linux":
        pytest.skip("needs a C compiler on Linux to build the stand-in delegate plugin")
    tmp = tmp_path_factory.mktemp("fake_edgetpu")
    source = tmp / "fake_edgetpu.c"
    source.write_text(_FAKE_PLUGIN_C)
    library = tmp / "libfake_edgetpu.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return str(library)


# --------------------------------------------------------------------------- CPU path, for real


@pytest.mark.parametrize("name", sorted(CNN_FIXTURES))
def test_cpu_bench_on_converter_fixtures(name: str) -> None:
    path = _fixture(name)
    in_dtype, in_shape, out_dtype, out_shape = CNN_FIXTURES[name]
    result = run_bench(path, cpu=True, iterations=25, warmup=2)
    _assert_stats(result, 25)
    assert result.warmup == 2
    assert result.target == "cpu"
    assert result.backend == "ai_edge_litert"
    assert result.interpreter_library == "ai_edge_litert"
    assert result.backend_version and result.backend_version[0].isdigit()
    assert result.delegate is None and result.device is None and result.runtime_version is None
    assert result.edgetpu_model is False
    assert result.model_size_bytes == path.stat().st_size
    assert [(s.dtype, s.shape) for s in result.inputs] == [(in_dtype, in_shape)]
    assert [(s.dtype, s.shape) for s in result.outputs] == [(out_dtype, out_shape)]
    assert not any("compile it" in w for w in result.warnings)


def test_cpu_bench_feeds_every_input_dtype(mixed_model: Path) -> None:
    """Needs neither fixtures/ nor ../shared: the model is built in the test."""
    result = run_bench(mixed_model, cpu=True, iterations=10, warmup=0, num_threads=1)
    _assert_stats(result, 10)
    assert result.warmup == 0
    assert result.num_threads == 1
    assert [(s.name, s.dtype, s.shape) for s in result.inputs] == [
        ("x", "float32", (1, 8)),
        ("q", "uint8", (2, 3)),
        ("i", "int32", (4,)),
    ]
    assert [(s.name, s.dtype, s.shape) for s in result.outputs] == [
        ("x2", "float32", (1, 8)),
        ("qf", "float32", (2, 3)),
        ("i2", "int32", (4,)),
    ]


def test_generated_inputs_reach_the_interpreter(mixed_model: Path) -> None:
    """The seeded inputs run_bench feeds are the ones make_input makes: check via the outputs."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(mixed_model))
    interpreter.allocate_tensors()
    bench._set_inputs(interpreter, seed=7)
    interpreter.invoke()
    rng = np.random.default_rng(7)
    x = make_input((1, 8), np.float32, rng)
    q = make_input((2, 3), np.uint8, rng)
    i = make_input((4,), np.int32, rng)
    outputs = {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
    np.testing.assert_allclose(outputs["x2"], x + x)
    np.testing.assert_array_equal(outputs["qf"], q.astype(np.float32))
    np.testing.assert_array_equal(outputs["i2"], i + i)


def test_cpu_bench_coral_mobilenet() -> None:
    model = _shared(MOBILENET)
    result = run_bench(model, cpu=True, iterations=10)
    _assert_stats(result, 10)
    assert result.edgetpu_model is False
    assert [(s.dtype, s.shape) for s in result.inputs] == [("uint8", (1, 128, 128, 3))]
    assert [(s.dtype, s.shape) for s in result.outputs] == [("uint8", (1, 1001))]


def test_result_to_dict_and_text(mixed_model: Path) -> None:
    result = run_bench(mixed_model, cpu=True, iterations=5)
    data = json.loads(json.dumps(result.to_dict()))
    assert "latencies_ms" not in data
    assert data["iterations"] == 5
    assert data["backend"] == "ai_edge_litert"
    assert data["inputs"][1] == {"name": "q", "shape": [2, 3], "dtype": "uint8"}
    assert data["p50_ms"] == result.p50_ms
    with_samples = json.loads(json.dumps(result.to_dict(samples=True)))
    assert len(with_samples["latencies_ms"]) == 5
    text = format_text(result)
    assert "mixed.tflite" in text and "CPU" in text and "p90" in text and "inferences/s" in text
    assert "not compiled for the Edge TPU" in text


def test_make_input_ranges_and_seeding() -> None:
    rng = np.random.default_rng(0)
    big = (64, 64)
    i8 = make_input(big, np.int8, rng)
    u8 = make_input(big, np.uint8, rng)
    i32 = make_input(big, np.int32, rng)
    f32 = make_input(big, np.float32, rng)
    flags = make_input(big, np.bool_, rng)
    assert (i8.dtype, u8.dtype, i32.dtype, f32.dtype, flags.dtype) == (
        np.int8,
        np.uint8,
        np.int32,
        np.float32,
        np.bool_,
    )
    assert all(a.shape == big for a in (i8, u8, i32, f32, flags))
    assert i8.min() == -128 and i8.max() == 127  # the whole range is used
    assert u8.min() == 0 and u8.max() == 255
    assert i32.min() >= 0 and i32.max() < 8
    assert abs(float(f32.mean())) < 0.1 and 0.9 < float(f32.std()) < 1.1
    again = make_input(big, np.int8, np.random.default_rng(0))
    np.testing.assert_array_equal(i8, again)
    with pytest.raises(BenchError, match="complex64"):
        make_input((2,), np.complex64, rng)


def test_percentile_matches_numpy() -> None:
    values = sorted(np.random.default_rng(3).exponential(size=101).tolist())
    for q in (0, 50, 90, 99, 100):
        assert math.isclose(bench._percentile(values, q), float(np.percentile(values, q)), rel_tol=1e-12)
    assert bench._percentile([4.0], 99) == 4.0


# --------------------------------------------------------------------------- Edge TPU model detection


def test_is_edgetpu_model(compiled_model: Path) -> None:
    assert is_edgetpu_model(compiled_model)
    assert not is_edgetpu_model(_mixed_model())
    # The string alone (here in the description) is not an operator code.
    assert not is_edgetpu_model(_mixed_model_with_description("edgetpu-custom-op"))
    for name in CNN_FIXTURES:
        if (FIXTURES / name).is_file():
            assert not is_edgetpu_model(FIXTURES / name)


def test_is_edgetpu_model_on_coral_files() -> None:
    assert is_edgetpu_model(_shared(MOBILENET_EDGETPU))
    assert not is_edgetpu_model(_shared(MOBILENET))


# --------------------------------------------------------------------------- Edge TPU path, failures


def _assert_one_line(exc: BaseException) -> None:
    message = str(exc)
    assert message and "\n" not in message
    # Raised outside an except block or `from None`: no chained "During handling..." traceback.
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


def test_compiled_model_on_cpu_is_a_model_load_error(compiled_model: Path) -> None:
    with pytest.raises(ModelLoadError) as info:
        run_bench(compiled_model, cpu=True, iterations=3)
    _assert_one_line(info.value)
    assert info.value.code == "TPU923"
    assert "compiled for the Edge TPU" in str(info.value)
    assert "--cpu" in str(info.value)


def test_coral_compiled_model_on_cpu_is_a_model_load_error(tmp_path: Path) -> None:
    model = tmp_path / MOBILENET_EDGETPU.name
    shutil.copy(_shared(MOBILENET_EDGETPU), model)
    with pytest.raises(ModelLoadError, match="Edge TPU") as info:
        run_bench(model, cpu=True)
    _assert_one_line(info.value)
    assert model.name in str(info.value)


def test_without_libedgetpu_the_edgetpu_path_raises_no_edgetpu(
    mixed_model: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if detect_backends().delegate_loadable:
        pytest.skip("this machine has libedgetpu")
    with pytest.raises(NoEdgeTpuError) as info:
        run_bench(mixed_model)
    _assert_one_line(info.value)
    message = str(info.value)
    assert info.value.code == "TPU922"
    assert "libedgetpu1-std" in message and "--cpu" in message
    assert "libedgetpu.so.1" in message
    assert "Traceback" not in capfd.readouterr().err  # no "Exception ignored in Delegate.__del__"


def test_a_library_that_is_not_a_delegate(mixed_model: Path, capfd: pytest.CaptureFixture[str]) -> None:
    libc = ctypes.util.find_library("c")
    if libc is None:
        pytest.skip("no libc to stand in for a non-delegate library")
    with pytest.raises(NoEdgeTpuError, match="not a TFLite delegate plugin") as info:
        run_bench(mixed_model, delegate_library=libc)
    _assert_one_line(info.value)
    assert "Traceback" not in capfd.readouterr().err


# --------------------------------------------------------------------------- Edge TPU path, stand-in


def test_detect_backends_with_stand_in_libedgetpu(fake_libedgetpu: str) -> None:
    info = detect_backends(delegate_library=fake_libedgetpu)
    assert info.delegate_loadable and info.delegate_error is None
    assert info.edge_tpus == (EdgeTpuDevice("usb", "/sys/bus/usb/devices/2-1"),)
    assert info.runtime_version == "BuildLabel(fake),RuntimeVersion(14)"
    assert info.runtime_version_number == 14
    assert info.edgetpu_backend == "ai_edge_litert"
    assert json.loads(json.dumps(info.to_dict()))["edge_tpus"] == [{"type": "usb", "path": "/sys/bus/usb/devices/2-1"}]


def test_edgetpu_path_runs_with_stand_in_delegate(mixed_model: Path, fake_libedgetpu: str) -> None:
    result = run_bench(mixed_model, iterations=8, device="usb", num_threads=2, delegate_library=fake_libedgetpu)
    _assert_stats(result, 8)
    assert result.target == "edgetpu"
    assert result.backend == "ai_edge_litert"
    assert result.delegate == fake_libedgetpu
    assert result.device == "usb"
    assert result.runtime_version_number == 14
    assert result.num_threads == 2
    # The model has no edgetpu-custom-op, so the delegate took nothing: say so.
    assert any("no edgetpu-custom-op" in w for w in result.warnings)
    text = format_text(result)
    assert "Edge TPU usb" in text and "runtime 14" in text


def test_stand_in_delegate_finds_no_such_device(mixed_model: Path, fake_libedgetpu: str) -> None:
    with pytest.raises(NoEdgeTpuError) as info:
        run_bench(mixed_model, device="pci:1", delegate_library=fake_libedgetpu)
    _assert_one_line(info.value)
    assert "device 'pci:1'" in str(info.value)
    assert "Failed to open device" in str(info.value)
    assert "--cpu" in str(info.value)


def test_compiled_model_with_delegate_that_does_not_take_it(compiled_model: Path, fake_libedgetpu: str) -> None:
    with pytest.raises(ModelLoadError, match="although the Edge TPU delegate was loaded") as info:
        run_bench(compiled_model, delegate_library=fake_libedgetpu)
    _assert_one_line(info.value)


# --------------------------------------------------------------------------- error translation


def test_runtime_version_error() -> None:
    message = (
        "Failed to prepare for TPU. Package requires runtime version (14), which is newer than this "
        "runtime version (13).\nNode number 0 (edgetpu-custom-op) failed to prepare."
    )
    error = translate_runtime_error(message, model="m_edgetpu.tflite", on_edgetpu=True, loading=True)
    assert isinstance(error, RuntimeVersionError)
    assert error.code == "TPU924"
    assert "-m 13" in str(error) and "14" in str(error) and "\n" not in str(error)


def test_other_runtime_errors() -> None:
    mismatch = translate_runtime_error(
        "Internal: Unsupported data type in custom op handler: 0", model="m", on_edgetpu=True, loading=False
    )
    assert isinstance(mismatch, InterpreterMismatchError)
    other_op = translate_runtime_error(
        "Encountered unresolved custom op: TFLite_Foo.\nSee instructions: x",
        model="m",
        on_edgetpu=False,
        loading=True,
    )
    assert isinstance(other_op, ModelLoadError) and "'TFLite_Foo'" in str(other_op)
    assert isinstance(translate_runtime_error("boom", model="m", on_edgetpu=False, loading=False), InvokeError)
    assert isinstance(translate_runtime_error("boom", model="m", on_edgetpu=False, loading=True), ModelLoadError)


def test_error_codes_are_distinct() -> None:
    classes = [
        BenchError,
        NoInterpreterError,
        NoEdgeTpuError,
        ModelLoadError,
        RuntimeVersionError,
        InterpreterMismatchError,
        InvokeError,
        ModelReadError,
        ModelFormatError,
        ConfigError,
    ]
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)


def test_no_interpreter_error(monkeypatch: pytest.MonkeyPatch, mixed_model: Path) -> None:
    real = bench.importlib.import_module

    def without_interpreters(name: str, package: str | None = None) -> Any:
        if name.split(".")[0] in {"ai_edge_litert", "tflite_runtime", "pycoral"}:
            raise ModuleNotFoundError(f"No module named '{name}'")
        return real(name, package)

    monkeypatch.setattr(bench.importlib, "import_module", without_interpreters)
    with pytest.raises(NoInterpreterError, match=r"tpulint\[device\]") as info:
        run_bench(mixed_model, cpu=True)
    assert info.value.code == "TPU921"
    assert detect_backends().cpu_backend is None


# --------------------------------------------------------------------------- arguments and files


@pytest.mark.parametrize("device", [None, "usb", "pci", "usb:0", "pci:12", ":0"])
def test_valid_devices(device: str | None) -> None:
    assert validate_device(device) == device


@pytest.mark.parametrize("device", ["", "cpu", "usb0", "tpu", "usb:", ":x", "USB"])
def test_invalid_devices(device: str) -> None:
    with pytest.raises(ConfigError):
        validate_device(device)


@pytest.mark.parametrize(
    "kwargs",
    [{"iterations": 0}, {"warmup": -1}, {"num_threads": 0}, {"cpu": True, "device": "usb"}, {"device": "x"}],
)
def test_bad_arguments(mixed_model: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        run_bench(mixed_model, **kwargs)


def test_unreadable_and_invalid_models(tmp_path: Path) -> None:
    with pytest.raises(ModelReadError):
        run_bench(tmp_path / "missing.tflite", cpu=True)
    with pytest.raises(ModelReadError):
        run_bench(tmp_path, cpu=True)
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a flatbuffer at all" * 4)
    with pytest.raises(ModelFormatError) as info:
        run_bench(garbage, cpu=True)
    _assert_one_line(info.value)


# --------------------------------------------------------------------------- environment


def test_detect_backends_here() -> None:
    info = detect_backends()
    assert info.ai_edge_litert.available
    assert info.ai_edge_litert.version and info.ai_edge_litert.version[0].isdigit()
    assert not info.pycoral.available  # Google's pycoral is not installable here
    assert info.pycoral.error
    assert info.cpu_backend == "ai_edge_litert"
    assert info.delegate_library == bench.edgetpu_library_name()
    if not info.delegate_loadable:
        assert info.delegate_error and info.edgetpu_backend is None
    json.dumps(info.to_dict())


def test_edgetpu_library_names() -> None:
    assert bench.edgetpu_library_name("Linux") == "libedgetpu.so.1"
    assert bench.edgetpu_library_name("Darwin") == "libedgetpu.1.dylib"
    assert bench.edgetpu_library_name("Windows") == "edgetpu.dll"


def test_importing_bench_imports_no_interpreter() -> None:
    code = (
        "import sys, json, tpulint.bench\n"
        "heavy = {'ai_edge_litert', 'tflite_runtime', 'pycoral', 'tensorflow', 'numpy', 'tflite'}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
