"""Rule predicates, one module per family. Importing this package registers every rule."""

from tpulint.checks import dtypes, memory, modelwide, ops, partition_rules, shapes, versions

__all__ = ["dtypes", "memory", "modelwide", "ops", "partition_rules", "shapes", "versions"]
