"""Load the rule data (``rules/*.toml``): the op table, compiler versions, statuses and messages.

In a wheel the files are inside the package (``tpulint/_rules``); in a source checkout they are the
repository's ``rules/`` directory. Parsed once per process.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def rules_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "_rules"
    if (packaged / "edgetpu_ops.toml").is_file():
        return packaged
    return here.parent / "rules"


@cache
def _load(name: str) -> dict[str, Any]:
    path = rules_dir() / name
    with path.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class OpSpec:
    opcode: str
    coral_name: str
    min_runtime: int
    limitations: str
    checks: tuple[str, ...]
    sources: tuple[str, ...]
    recall: bool = False


@dataclass(frozen=True)
class CompilerSpec:
    version: str
    full_version: str
    default_runtime: int
    min_runtime: int
    package_runtime: int
    not_quantized_is_error: bool
    max_op_version: dict[str, int] = field(default_factory=dict)
    unmapped_versions: dict[str, int] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    eight_bit_types: tuple[str, ...] = ("INT8", "UINT8")
    requires_constant_weights: bool = True
    softmax_1d_only: bool = True
    fc_1d_output_only: bool = True
    resize_bilinear_imprecise: bool = False  # 2.0: no RESIZE_BILINEAR maps (edgetpu#63)
    tensorflow_max: str | None = None  # newest TensorFlow whose converter's op versions it parses


@cache
def op_table() -> dict[str, OpSpec]:
    raw = _load("edgetpu_ops.toml")["ops"]
    return {
        name: OpSpec(
            opcode=name,
            coral_name=v.get("coral_name", name),
            min_runtime=int(v.get("min_runtime", 10)),
            limitations=v.get("limitations", ""),
            checks=tuple(v.get("checks", ())),
            sources=tuple(v.get("sources", ())),
            recall=bool(v.get("recall", False)),
        )
        for name, v in raw.items()
    }


@cache
def cpu_only_ops() -> dict[str, dict[str, str]]:
    return dict(_load("edgetpu_ops.toml").get("cpu_only", {}))


@cache
def replacements() -> dict[str, str]:
    """Op (builtin name or custom code) -> what to do instead (``rules/replacements.toml``, TPU101)."""
    return {op: str(entry["fix"]) for entry in _load("replacements.toml")["replace"] for op in entry["ops"]}


@cache
def prepare_checks() -> dict[str, Any]:
    """The TFLite Prepare checks that stop the compiler (``rules/prepare.toml``, TPU205-TPU209, TPU305)."""
    return dict(_load("prepare.toml"))


@cache
def limits() -> dict[str, Any]:
    return dict(_load("edgetpu_ops.toml").get("limits", {}))


@cache
def compilers() -> dict[str, CompilerSpec]:
    raw = _load("compilers.toml")
    out = {}
    for ver, v in raw["compilers"].items():
        out[ver] = CompilerSpec(
            version=ver,
            full_version=v["full_version"],
            default_runtime=int(v["default_runtime"]),
            min_runtime=int(v["min_runtime"]),
            package_runtime=int(v["package_runtime"]),
            not_quantized_is_error=bool(v.get("not_quantized_is_error", False)),
            max_op_version={k: int(x) for k, x in v.get("max_op_version", {}).items()},
            unmapped_versions={k: int(x) for k, x in v.get("unmapped_versions", {}).items()},
            options=tuple(v.get("options", ())),
            eight_bit_types=tuple(v.get("eight_bit_types", ("INT8", "UINT8"))),
            requires_constant_weights=bool(v.get("requires_constant_weights", True)),
            softmax_1d_only=bool(v.get("softmax_1d_only", True)),
            fc_1d_output_only=bool(v.get("fc_1d_output_only", True)),
            resize_bilinear_imprecise=bool(v.get("resize_bilinear_imprecise", False)),
            tensorflow_max=v.get("tensorflow_max"),
        )
    return out


@cache
def int8_min_runtime() -> int:
    """The lowest Edge TPU runtime that takes int8 (signed) tensors (rules/compilers.toml)."""
    return int(_load("compilers.toml")["int8_min_runtime"])


def default_compiler() -> str:
    return str(_load("compilers.toml").get("default", "16.0"))


@cache
def statuses() -> dict[str, str]:
    return dict(_load("statuses.toml")["status"])


@cache
def errors() -> dict[str, str]:
    return dict(_load("statuses.toml")["error"])


def status_text(status_id: str) -> str:
    return statuses()[status_id]


@cache
def messages() -> dict[str, dict[str, str]]:
    return {k: dict(v) for k, v in _load("messages.toml").items()}


def message_for(code: str) -> tuple[str, str]:
    """(message, fix) templates for a rule code."""
    entry = messages().get(code, {})
    return entry.get("message", ""), entry.get("fix", "")
