"""What a compiled ``*_edgetpu.tflite`` holds, as report data (``tpulint inspect``, ``check`` on
compiled input, ``check --confirm``).

:func:`compiled_facts` turns a :class:`~tpulint.compiler.compiled.CompiledModel` into the JSON
``compiled_info`` block: per Edge TPU custom op its DWN1 packages (minimum runtime, compiler
version, chip) and executables (type, parameter bytes cached on chip or streamed each inference,
the input/output layers at the TPU boundary with their shapes), and the CPU ops left around the
custom ops with their position (``before`` / ``between`` / ``after``).
"""

from __future__ import annotations

from typing import Any

from tpulint.compiler.compiled import CompiledModel, EdgeTpuOp, ExecutableInfo, LayerInfo, PackageInfo

# What the device's runtime says when a package needs a newer runtime (libedgetpu
# ``driver/package_registry.cc``; ../shared/research/edgetpu_rules.md §1.3).
RUNTIME_REFUSAL = "Package requires runtime version ({need}), which is newer than this runtime version ({have})."


def cpu_op_position(index: int, custom_op_indices: tuple[int, ...]) -> str:
    """Where a CPU op sits relative to the Edge TPU custom ops: before, between or after them
    (``none`` when the model has no custom op)."""
    if not custom_op_indices:
        return "none"
    if index < custom_op_indices[0]:
        return "before"
    if index > custom_op_indices[-1]:
        return "after"
    return "between"


def decode_errors(cm: CompiledModel) -> list[str]:
    """One line per custom op or package that could not be decoded."""
    errors = []
    for op in cm.edgetpu_ops:
        if op.decode_error:
            errors.append(f"edgetpu-custom-op at op {op.index}: {op.decode_error}")
        elif not op.packages:
            errors.append(f"edgetpu-custom-op at op {op.index}: custom options hold no executable (key '4')")
        for p in op.packages:
            if p.decode_error:
                errors.append(f"edgetpu-custom-op at op {op.index}: {p.decode_error}")
    return errors


def required_runtime(cm: CompiledModel) -> int | None:
    """The lowest Edge TPU runtime that accepts every package (the largest ``min_runtime_version``)."""
    versions = cm.min_runtime_versions
    return max(versions) if versions else None


def executables(cm: CompiledModel) -> list[ExecutableInfo]:
    return [e for op in cm.edgetpu_ops for p in op.packages for e in p.executables]


def cached_bytes(cm: CompiledModel) -> int:
    """Parameter bytes the compiled model caches in on-chip memory."""
    return sum(e.cached_bytes for e in executables(cm))


def streamed_bytes(cm: CompiledModel) -> int:
    """Parameter bytes the compiled model streams from host memory on every inference."""
    return sum(e.streamed_bytes for e in executables(cm))


def _layer(layer: LayerInfo) -> dict[str, Any]:
    return {
        "name": layer.name,
        "shape": list(layer.shape),
        "data_type": layer.data_type,
        "size_bytes": layer.size_bytes,
        "zero_point": layer.zero_point,
        "scale": layer.scale,
        "execution_count": layer.execution_count,
    }


def _executable(e: ExecutableInfo) -> dict[str, Any]:
    return {
        "type": e.type,
        "name": e.name,
        "chip": e.chip,
        "parameters_bytes": e.parameters_bytes,
        "cached_bytes": e.cached_bytes,
        "streamed_bytes": e.streamed_bytes,
        "instruction_bytes": e.instruction_bytes,
        "estimated_cycles": e.estimated_cycles,
        "parameter_caching_token": e.parameter_caching_token,
        "input_layers": [_layer(x) for x in e.input_layer_info],
        "output_layers": [_layer(x) for x in e.output_layer_info],
    }


def _package(p: PackageInfo) -> dict[str, Any]:
    return {
        "min_runtime_version": p.min_runtime_version,
        "compiler_version": p.compiler_version,
        "virtual_chip_id": p.virtual_chip_id,
        "executables": [_executable(e) for e in p.executables],
        "error": p.decode_error,
    }


def _custom_op(op: EdgeTpuOp) -> dict[str, Any]:
    return {
        "index": op.index,
        "custom_options_bytes": op.custom_options_size,
        "custom_op_data_version": op.custom_op_data_version,
        "execution_preference": op.execution_preference,
        "inputs": list(op.input_names),
        "outputs": list(op.output_names),
        "packages": [_package(p) for p in op.packages],
        "error": op.decode_error,
    }


def compiled_facts(cm: CompiledModel) -> dict[str, Any]:
    """The ``compiled_info`` block of a report (see the module doc string)."""
    indices = cm.edgetpu_custom_op_indices
    chips = {e.chip for e in executables(cm) if e.chip}
    return {
        "edgetpu_custom_ops": cm.edgetpu_custom_op_count,
        "edgetpu_custom_op_indices": list(indices),
        "min_runtime_version": required_runtime(cm),
        "package_min_runtime_versions": list(cm.min_runtime_versions),
        "compiler_versions": list(cm.package_compiler_versions),
        "chips": sorted(chips),
        "description": cm.description,
        "parameters": {"cached_bytes": cached_bytes(cm), "streamed_bytes": streamed_bytes(cm)},
        "custom_ops": [_custom_op(op) for op in cm.edgetpu_ops],
        "cpu_ops": [
            {
                "index": c.index,
                "opcode": c.op,
                "name": c.outputs[0] if c.outputs else "",
                "position": cpu_op_position(c.index, indices),
            }
            for c in cm.cpu_ops
        ],
        "errors": decode_errors(cm),
    }
