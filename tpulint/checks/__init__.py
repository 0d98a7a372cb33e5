"""Rule predicates, one module per family. Importing this package registers every rule."""

from tpulint.checks import (
    compiled,
    confirmation,
    converter,
    dtypes,
    memory,
    modelwide,
    ops,
    partition_rules,
    prepare,
    shapes,
    versions,
)

__all__ = [
    "compiled",
    "confirmation",
    "converter",
    "dtypes",
    "memory",
    "modelwide",
    "ops",
    "partition_rules",
    "prepare",
    "shapes",
    "versions",
]
