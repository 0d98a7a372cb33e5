"""tpulint: predict how the Coral Edge TPU compiler will partition a TensorFlow Lite model."""

from __future__ import annotations

__version__ = "0.1.0"
