"""Tests for tpulint.sniff: every recognised non-TFLite format, built for real where the stdlib can."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from broken_models import no_identifier, size_prefixed, tiny_model

from tpulint.sniff import SNIFF_BYTES, sniff

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


# ---- tiny protobuf encoder, to write the first bytes of ONNX / SavedModel / GraphDef files ------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: int | bytes) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def onnx_model() -> bytes:
    """ModelProto: ir_version 8, producer 'pytorch' 2.1.0, then a graph."""
    graph = _field(1, _field(1, b"input") + _field(4, b"Conv")) + b"\x00" * 300
    return _field(1, 8) + _field(2, b"pytorch") + _field(3, b"2.1.0") + _field(7, graph)


def onnx_without_producer() -> bytes:
    opset = _field(8, _field(2, 13))
    return _field(1, 7) + opset + _field(7, _field(5, b"main_graph") + b"ai.onnx.ml")


def saved_model() -> bytes:
    meta_info = _field(4, b"serve") + _field(5, b"2.15.0")
    meta_graph = _field(1, meta_info) + _field(2, b"\x0a" * 5000)
    return _field(1, 1) + _field(2, meta_graph)


def graph_def() -> bytes:
    placeholder = _field(1, b"input") + _field(2, b"Placeholder") + _field(5, b"dtype")
    return _field(1, placeholder) + _field(1, _field(1, b"weights") + _field(2, b"Const"))


# ---- archives and other containers ----------------------------------------------------------------


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


def _gzip_named() -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="mobilenet_v2.tflite", mode="wb", fileobj=out) as stream:
        stream.write(tiny_model())
    return out.getvalue()


def _tar() -> bytes:
    out = io.BytesIO()
    data = tiny_model()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo("mobilenet_v2/model.tflite")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _npy() -> bytes:
    out = io.BytesIO()
    np.save(out, np.zeros(3))
    return out.getvalue()


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    return struct.pack("<Q", len(header)) + header + bytes(4)


def _flatbuffer(identifier: bytes) -> bytes:
    builder = flatbuffers.Builder(0)
    builder.StartObject(1)
    builder.PrependInt32Slot(0, 7, 0)
    builder.Finish(builder.EndObject(), file_identifier=identifier)
    return bytes(builder.Output())


def _xxd(data: bytes) -> bytes:
    body = ", ".join(f"0x{byte:02x}" for byte in data[:64])
    return f"unsigned char g_model[] = {{\n  {body}\n}};\nunsigned int g_model_len = {len(data)};\n".encode()


LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    b"size 4137888\n"
)
GITHUB_PAGE = (
    b"\n\n<!DOCTYPE html>\n<html lang='en' data-color-mode='auto'>\n<head>\n<meta charset='utf-8'>\n"
    b"<title>models/mobilenet.tflite at main \xc2\xb7 org/repo \xc2\xb7 GitHub</title>\n</head>"
)

# (id, file contents, expected message fragment)
CASES: list[tuple[str, Callable[[], bytes], str]] = [
    ("empty", lambda: b"", "empty file"),
    ("git-lfs-pointer", lambda: LFS_POINTER, "git lfs pull"),
    ("html-download-page", lambda: GITHUB_PAGE, "HTML page ('models/mobilenet.tflite at main"),
    ("json-error", lambda: b'{"message":"Not Found","documentation_url":"https://docs.github.com"}', "JSON"),
    (
        "tfjs-model-json",
        lambda: b'{"format": "layers-model", "modelTopology": {"keras_version": "2"}}',
        "TensorFlow.js",
    ),
    (
        "keras-json-config",
        lambda: b'{"class_name": "Sequential", "config": {"layers": []}}',
        "Keras model architecture",
    ),
    ("plain-text-error", lambda: b"404: Not Found", "it starts with '404: Not Found'"),
    ("openvino-xml", lambda: b'<?xml version="1.0"?>\n<net name="mobilenet" version="11">\n', "OpenVINO"),
    ("c-array", lambda: _xxd(tiny_model()), "C/C++ source holding a TFLite model"),
    ("graphdef-pbtxt", lambda: b'node {\n  name: "input"\n  op: "Placeholder"\n}\n', "text format (.pbtxt)"),
    ("hdf5-keras-h5", lambda: b"\x89HDF\r\n\x1a\n" + bytes(600), "HDF5 file (a Keras .h5"),
    ("hdf5-with-user-block", lambda: bytes(512) + b"\x89HDF\r\n\x1a\n" + bytes(100), "HDF5 file"),
    (
        "keras3-zip",
        lambda: _zip([("metadata.json", b'{"keras_version": "3.3.3"}'), ("config.json", b"{}")]),
        "Keras 3 .keras archive",
    ),
    ("pytorch-zip", lambda: _zip([("archive/data.pkl", b"\x80\x02}q\x00."), ("archive/version", b"3\n")]), "PyTorch"),
    ("mediapipe-task-zip", lambda: _zip([("hand_detector.tflite", tiny_model())]), "lint 'hand_detector.tflite'"),
    ("other-zip", lambda: _zip([("README.txt", b"hello")]), "zip archive (first entry 'README.txt')"),
    ("gzip-with-name", _gzip_named, "gzip-compressed copy of 'mobilenet_v2.tflite'"),
    ("gzip", lambda: gzip.compress(b"model", mtime=0), "gzip-compressed file"),
    ("tar", _tar, "tar archive (first member 'mobilenet_v2/model.tflite')"),
    ("bzip2", lambda: bz2.compress(b"model"), "bzip2"),
    ("xz", lambda: lzma.compress(b"model"), "xz"),
    ("pickle", lambda: pickle.dumps({"state_dict": {}}, protocol=4), "Python pickle"),
    ("numpy-npy", _npy, "NumPy"),
    ("safetensors", _safetensors, "safetensors"),
    ("onnx", onnx_model, "ONNX model (IR version 8, made by 'pytorch')"),
    ("onnx-without-producer", onnx_without_producer, "ONNX model (IR version 7)"),
    ("tf-saved-model-pb", saved_model, "SavedModel"),
    ("tf-frozen-graphdef", graph_def, "frozen TensorFlow GraphDef (.pb, first op 'Placeholder')"),
    ("size-prefixed-tflite", size_prefixed, "size-prefixed TFLite flatbuffer"),
    ("edgetpu-dwn1-package", lambda: _flatbuffer(b"DWN1"), "Edge TPU executable package"),
    ("executorch-pte", lambda: _flatbuffer(b"ET12"), "ExecuTorch"),
    ("onnxruntime-ort", lambda: _flatbuffer(b"ORTM"), "ONNX Runtime"),
    ("circle", lambda: _flatbuffer(b"CIR0"), "circle"),
    ("tflite-metadata", lambda: _flatbuffer(b"M001"), "TFLite model metadata"),
    ("unknown-flatbuffer", lambda: _flatbuffer(b"ABCD"), "file identifier 'ABCD'"),
    # Compiled for other accelerators: the outer headers of HailoRT's .hef (big-endian magic
    # 0x01484546, version, proto size) and of rknn-toolkit's .rknn ("RKNN", padding, format 6).
    ("hailo-hef", lambda: b"\x01HEF" + struct.pack(">II", 3, 4096) + bytes(64), "Hailo HEF"),
    ("rockchip-rknn", lambda: b"RKNN" + bytes(4) + struct.pack("<QQ", 6, 8_355_648) + bytes(48), "RKNN model"),
    ("rockchip-rknn-encrypted", lambda: b"CYPTRKNN" + bytes(64), "encrypted RKNN model"),
    ("png", lambda: b"\x89PNG\r\n\x1a\n" + bytes(32), "PNG image"),
    ("elf", lambda: b"\x7fELF\x02\x01\x01" + bytes(32), "ELF"),
    ("three-bytes", lambda: b"\x01\x02\x03", "only 3 bytes"),
]


@pytest.mark.parametrize(("make", "fragment"), [(m, f) for _, m, f in CASES], ids=[c[0] for c in CASES])
def test_recognised_formats(make: Callable[[], bytes], fragment: str) -> None:
    data = make()
    message = sniff(data[:SNIFF_BYTES], len(data))
    assert message is not None
    assert fragment in message
    assert "\n" not in message  # one line


# Formats that the first 64 bytes alone must catch (the reader may pass only a short head).
SHORT_HEAD = {
    "git-lfs-pointer", "html-download-page", "json-error", "plain-text-error", "hdf5-keras-h5", "keras3-zip",
    "pytorch-zip", "gzip-with-name", "onnx", "tf-saved-model-pb", "tf-frozen-graphdef", "size-prefixed-tflite",
    "edgetpu-dwn1-package", "executorch-pte", "hailo-hef", "rockchip-rknn", "rockchip-rknn-encrypted",
}  # fmt: skip


@pytest.mark.parametrize(
    "make", [m for i, m, _ in CASES if i in SHORT_HEAD], ids=[i for i, _, _ in CASES if i in SHORT_HEAD]
)
def test_recognised_from_a_64_byte_head(make: Callable[[], bytes]) -> None:
    data = make()
    full = sniff(data[:SNIFF_BYTES], len(data))
    short = sniff(data[:64], len(data))
    assert full is not None and short is not None
    assert short.split(",")[0].split(" (")[0] == full.split(",")[0].split(" (")[0]  # the same kind of file


@pytest.mark.parametrize(
    "make",
    [tiny_model, no_identifier, lambda: bytes(range(256)) * 8],
    ids=["tflite", "tflite-without-identifier", "unrecognised-binary"],
)
def test_tflite_and_unknown_files_are_left_to_the_verifier(make: Callable[[], bytes]) -> None:
    data = make()
    assert sniff(data[:SNIFF_BYTES], len(data)) is None
    assert sniff(data[:64], len(data)) is None


def test_corpus_models_are_not_mistaken_for_anything_else() -> None:
    models = sorted(CORPUS.glob("*/*.tflite")) if CORPUS.is_dir() else []
    if not models:
        pytest.skip(f"corpus not found at {CORPUS}")
    for path in models:
        with path.open("rb") as stream:
            head = stream.read(SNIFF_BYTES)
        assert sniff(head, path.stat().st_size) is None, path.name
