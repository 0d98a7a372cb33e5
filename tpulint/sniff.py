"""Recognise files that are not TFLite models from their first bytes, and say what to do instead.

Users point tpulint at whatever the download left behind: a Git LFS pointer, a GitHub HTML page, a
Keras ``.h5``, an ONNX or SavedModel protobuf, an archive holding the model, or a model already
compiled for another accelerator (a Hailo ``.hef``, a Rockchip ``.rknn``; TFLite files compiled for
Ethos-U, Neutron or VeriSilicon NPUs are valid TFLite and get rule TPU911 instead). :func:`sniff` turns
those into one actionable line before the flatbuffer verifier would report a less helpful
"bad identifier". It needs only the head of the file; :data:`SNIFF_BYTES` is enough for every check
(HDF5 user blocks and tar headers sit a few hundred bytes in), though 64 bytes catch most formats.
"""

from __future__ import annotations

import re
import struct
from typing import Final

__all__ = ["SNIFF_BYTES", "sniff"]

SNIFF_BYTES: Final = 4096

_TFLITE: Final = b"TFL3"
_LFS_PREFIXES: Final = (b"version https://git-lfs.github.com/spec/", b"version https://hawser.github.com/spec/")

# Other flatbuffer formats, by the file identifier at bytes 4..8.
_FLATBUFFER_IDS: Final[dict[bytes, str]] = {
    b"DWN1": (
        "an Edge TPU executable package (the DWN1 blob inside a compiled model's custom op), not a TFLite "
        "model: lint the .tflite model instead"
    ),
    b"ORTM": "an ONNX Runtime ORT-format model, not TFLite: convert the original ONNX model to TFLite",
    b"CIR0": "a Samsung ONE circle model, not TFLite: lint the .tflite it was made from",
    b"M001": (
        "TFLite model metadata (a TFLITE_METADATA flatbuffer), not the model itself: lint the .tflite "
        "it was extracted from"
    ),
}
_EXECUTORCH_ID: Final = re.compile(rb"ET\d\d")

_CONVERT_KERAS: Final = (
    "convert it with tf.lite.TFLiteConverter.from_keras_model() using full-integer (int8) quantization, "
    "then lint the .tflite"
)
_EXTRACT: Final = "and lint the .tflite inside"

# Binary formats recognised by their magic bytes at offset 0: (magic, message).
_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\x89HDF\r\n\x1a\n", f"an HDF5 file (a Keras .h5 model or weights), not TFLite: {_CONVERT_KERAS}"),
    (b"\x1f\x8b", f"a gzip-compressed file (e.g. a TF Hub .tar.gz download): decompress it {_EXTRACT}"),
    (b"\xfd7zXZ\x00", f"an xz-compressed file: decompress it {_EXTRACT}"),
    (b"\x28\xb5\x2f\xfd", f"a zstd-compressed file: decompress it {_EXTRACT}"),
    (b"7z\xbc\xaf\x27\x1c", f"a 7-Zip archive: extract it {_EXTRACT}"),
    (b"Rar!\x1a\x07", f"a RAR archive: extract it {_EXTRACT}"),
    (b"\x93NUMPY", "a NumPy .npy array, not a model: lint the .tflite model instead"),
    (b"GGUF", "a GGUF model (llama.cpp), not TFLite: the Edge TPU runs TFLite models only"),
    (
        b"\x01HEF",
        "a Hailo HEF (a model compiled for a Hailo-8/8L/10 accelerator), not TFLite: lint and compile the "
        "original int8 .tflite (the Hailo compiler's input) for the Edge TPU instead",
    ),
    (
        b"CYPTRKNN",
        "an encrypted RKNN model (compiled for a Rockchip NPU by rknn-toolkit), not TFLite: lint and compile "
        "the original .tflite instead",
    ),
    (
        b"RKNN",
        "an RKNN model (compiled for a Rockchip NPU by rknn-toolkit), not TFLite: lint and compile the "
        "original .tflite (rknn-toolkit's input) for the Edge TPU instead",
    ),
    (b"\x7fELF", "an executable or shared library (ELF), not a model"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image, not a model"),
    (b"\xff\xd8\xff", "a JPEG image, not a model"),
    (b"%PDF-", "a PDF document, not a model"),
)

_HDF5_SIGNATURE: Final = b"\x89HDF\r\n\x1a\n"
_ONNX_TAGS: Final = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42})  # ModelProto fields 2..8


def sniff(head: bytes, size: int) -> str | None:
    """Say what a non-TFLite file is and what to do, from its first bytes and its size.

    ``head`` is the start of the file (ideally :data:`SNIFF_BYTES` long) and ``size`` its full
    length. Returns a one-line message, or None when the file looks like a TFLite flatbuffer (or is
    nothing recognisable, which the flatbuffer verifier then reports).
    """
    if size == 0 or not head:
        return "an empty file (0 bytes), not a model: the download or copy failed; fetch the model again"
    if head.startswith(_LFS_PREFIXES):
        return _git_lfs(head)
    if head[4:8] == _TFLITE:
        return None
    if head[8:12] == _TFLITE:
        return (
            "a size-prefixed TFLite flatbuffer (a 4-byte length, then the model): strip the first 4 bytes "
            "(e.g. `tail -c +5 in.tflite > out.tflite`)"
        )
    for check in (_magic, _zip, _tar, _pickle_or_safetensors, _text, _onnx, _saved_model, _graph_def, _flatbuffer):
        message = check(head, size)
        if message is not None:
            return message
    if size < 8:
        return f"only {size} bytes, too small to be a TFLite model: the download or copy was cut short"
    return None


def _git_lfs(head: bytes) -> str:
    match = re.search(rb"^size (\d+)", head, re.MULTILINE)
    real = f" (the real file has {int(match.group(1)):,} bytes)" if match else ""
    return (
        f"a Git LFS pointer{real}, not the model: run `git lfs pull` in the repository (install Git LFS "
        "first with `git lfs install`) to download the real file"
    )


def _magic(head: bytes, size: int) -> str | None:
    if head.startswith(b"BZh") and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        return f"a bzip2-compressed file: decompress it {_EXTRACT}"
    for magic, message in _MAGIC:
        if head.startswith(magic):
            if magic == b"\x1f\x8b":
                return _gzip(head, message)
            return message
    # HDF5 files may start with a user block of 512, 1024, 2048... bytes.
    for offset in (512, 1024, 2048):
        if head[offset : offset + 8] == _HDF5_SIGNATURE:
            return f"an HDF5 file (a Keras .h5 model or weights), not TFLite: {_CONVERT_KERAS}"
    return None


def _gzip(head: bytes, message: str) -> str:
    flags = head[3] if len(head) > 3 else 0
    if flags & 0x08 and not flags & 0x04:  # FNAME without FEXTRA: the original name follows the header
        name = head[10:].split(b"\x00", 1)[0][:80].decode("latin-1")
        if name:
            return f"a gzip-compressed copy of {name!r}: decompress it (`gunzip` or `tar xzf`) {_EXTRACT}"
    return message


def _zip(head: bytes, size: int) -> str | None:
    if head.startswith(b"PK\x05\x06"):
        return "an empty zip archive, not a model"
    if not head.startswith(b"PK\x03\x04") or len(head) < 30:
        return None
    name_length = struct.unpack_from("<H", head, 26)[0]
    name = head[30 : 30 + name_length].decode("utf-8", "replace")
    if any(marker in head for marker in (b"metadata.json", b"config.json", b"model.weights.h5")):
        return f"a Keras 3 .keras archive (a zip), not TFLite: {_CONVERT_KERAS}"
    if b"data.pkl" in head or name.endswith(("/version", "/data.pkl", "/byteorder")):
        return (
            "a PyTorch checkpoint (a zip holding data.pkl), not TFLite: export the model to TFLite first "
            "(e.g. with ai-edge-torch), quantized to int8"
        )
    if name.endswith(".tflite"):
        return (
            f"a zip archive holding TFLite models (e.g. a MediaPipe .task bundle): unzip it and lint "
            f"{name!r} and the other .tflite files inside"
        )
    shown = f" (first entry {name!r})" if name else ""
    return f"a zip archive{shown}, not a model: unzip it {_EXTRACT}, if any"


def _tar(head: bytes, size: int) -> str | None:
    if head[257:262] != b"ustar":
        return None
    name = head[:100].split(b"\x00", 1)[0].decode("utf-8", "replace")
    shown = f" (first member {name!r})" if name else ""
    return f"a tar archive{shown}: extract it (`tar xf`) {_EXTRACT}"


def _pickle_or_safetensors(head: bytes, size: int) -> str | None:
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return (
            "a Python pickle (e.g. a legacy PyTorch .pt/.pth checkpoint), not TFLite: export the model to "
            "TFLite first (e.g. with ai-edge-torch), quantized to int8"
        )
    if len(head) >= 10 and head[8:10] == b'{"' and 0 < struct.unpack_from("<Q", head)[0] < size:
        return "a safetensors weights file, not a model: export the model to TFLite first, quantized to int8"
    return None


def _text(head: bytes, size: int) -> str | None:
    text = _as_text(head)
    if text is None:
        return None
    stripped = text.lstrip()
    lower = stripped[:2048].lower()
    if lower.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in lower[:512]:
        match = re.search(r"<title[^>]*>([^<]{1,120})", stripped, re.IGNORECASE)
        title = f" ({match.group(1).strip()!r})" if match and match.group(1).strip() else ""
        return (
            f"an HTML page{title}, not a model: the download saved a web page (e.g. GitHub's 'blob' view or "
            "an error/login page); download the raw file instead (GitHub: the 'Raw' link, "
            "raw.githubusercontent.com)"
        )
    if lower.startswith("<?xml") or lower.startswith("<net "):
        if "<net " in lower:
            return "an OpenVINO IR model (.xml), not TFLite: the Edge TPU runs TFLite models only"
        return "an XML file, not a model"
    if stripped.startswith(("{", "[")):
        if '"modeltopology"' in lower or '"weightsmanifest"' in lower:
            return (
                "a TensorFlow.js model.json, not TFLite: convert the original Keras or SavedModel model to "
                "TFLite instead"
            )
        if '"class_name"' in lower and '"config"' in lower:
            return f"a Keras model architecture (JSON, no weights), not TFLite: {_CONVERT_KERAS}"
        return f"JSON text, not a model ({_excerpt(stripped)}): probably an API or download error response"
    if re.search(r"\{\s*0x[0-9a-f]{1,2}\s*,", lower):
        what = "a TFLite model" if re.search(r"0x54,\s*0x46,\s*0x4c,\s*0x33", lower) else "data"
        return (
            f"C/C++ source holding {what} as a byte array (xxd -i output, e.g. for TFLite Micro), not a "
            "model file: lint the binary .tflite it was generated from"
        )
    if stripped.startswith(("node {", "node{")):
        return (
            "a TensorFlow GraphDef in text format (.pbtxt), not TFLite: freeze and convert it with "
            "tf.compat.v1.lite.TFLiteConverter"
        )
    return (
        f"a text file, not a model ({_excerpt(stripped)}): the download probably saved an error message; "
        "fetch the model file again"
    )


def _as_text(head: bytes) -> str | None:
    sample = head[:2048]
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    if not sample or b"\x00" in sample:
        return None
    for cut in range(4):  # the head may end inside a multi-byte character
        try:
            text = sample[: len(sample) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
        return text if controls <= len(text) // 100 else None
    return None


def _excerpt(text: str) -> str:
    line = " ".join(text.split())[:60]
    return f"it starts with {line!r}"


def _varint(data: bytes, pos: int) -> tuple[int, int] | None:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None


def _printable(raw: bytes) -> bool:
    return bool(raw) and all(0x20 <= c < 0x7F for c in raw)


def _onnx(head: bytes, size: int) -> str | None:
    """ONNX ModelProto: ir_version (field 1, varint), usually then producer_name (field 2)."""
    if not head.startswith(b"\x08"):
        return None
    parsed = _varint(head, 1)
    if parsed is None or not 1 <= parsed[0] <= 30 or parsed[1] >= len(head):
        return None
    ir_version, pos = parsed
    tag = head[pos]
    if tag not in _ONNX_TAGS:
        return None
    producer = ""
    if tag == 0x12:
        string = _varint(head, pos + 1)
        if string is None:
            return None
        length, start = string
        raw = head[start : start + length]
        if length > 64 or len(raw) < length or not _printable(raw):
            return None  # a long field 2 is a SavedModel's meta graph, not a producer name
        producer = raw.decode("ascii")
    elif b"onnx" not in head.lower():
        return None
    made_by = f", made by {producer!r}" if producer else ""
    return (
        f"an ONNX model (IR version {ir_version}{made_by}), not TFLite: convert it to TFLite first "
        "(e.g. with onnx2tf), quantized to int8"
    )


def _saved_model(head: bytes, size: int) -> str | None:
    """SavedModel: saved_model_schema_version = 1, then a MetaGraphDef starting with its MetaInfoDef."""
    if not head.startswith(b"\x08\x01\x12"):
        return None
    parsed = _varint(head, 3)
    if parsed is None or parsed[1] >= len(head) or head[parsed[1]] != 0x0A:
        return None
    return (
        "a TensorFlow SavedModel protobuf (saved_model.pb), not TFLite: convert the SavedModel directory "
        "with tf.lite.TFLiteConverter.from_saved_model() using full-integer (int8) quantization"
    )


def _graph_def(head: bytes, size: int) -> str | None:
    """Frozen GraphDef: node (field 1), each NodeDef starting with name (field 1) and op (field 2)."""
    if not head.startswith(b"\x0a"):
        return None
    node = _varint(head, 1)
    if node is None or node[1] >= len(head) or head[node[1]] != 0x0A:
        return None
    name = _varint(head, node[1] + 1)
    if name is None:
        return None
    name_end = name[1] + name[0]
    if not _printable(head[name[1] : name_end]) or name_end >= len(head) or head[name_end] != 0x12:
        return None
    op = _varint(head, name_end + 1)
    if op is None or not _printable(head[op[1] : op[1] + op[0]]):
        return None
    first = head[op[1] : op[1] + op[0]].decode("ascii")
    return (
        f"a frozen TensorFlow GraphDef (.pb, first op {first!r}), not TFLite: convert it with "
        "tf.compat.v1.lite.TFLiteConverter.from_frozen_graph() using full-integer (int8) quantization"
    )


def _flatbuffer(head: bytes, size: int) -> str | None:
    """Another flatbuffer: a plausible root offset, then a printable 4-byte file identifier."""
    if len(head) < 8:
        return None
    root = struct.unpack_from("<I", head)[0]
    identifier = head[4:8]
    if not (8 <= root < size and root % 4 == 0 and identifier.replace(b"_", b"").isalnum()):
        return None
    known = _FLATBUFFER_IDS.get(identifier)
    if known is not None:
        return known
    if _EXECUTORCH_ID.fullmatch(identifier):
        return (
            f"an ExecuTorch program (.pte, identifier {identifier.decode()!r}), not TFLite: export the model "
            "to TFLite instead (e.g. with ai-edge-torch)"
        )
    return f"a flatbuffer with file identifier {identifier.decode()!r}, not a TFLite model (whose identifier is 'TFL3')"
