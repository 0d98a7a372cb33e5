"""Byte counts as text, in the two styles tpulint prints."""

from __future__ import annotations


def compiler_size(n: int) -> str:
    """As ``edgetpu_compiler`` prints sizes: ``192.00B``, ``3.00KiB``, ``6.89MiB``."""
    if n >= 2**20:
        return f"{n / 2**20:.2f}MiB"
    if n >= 2**10:
        return f"{n / 2**10:.2f}KiB"
    return f"{n:.2f}B"


def size(n: int) -> str:
    """For prose: ``192 B``, ``3.00 KiB``, ``6.89 MiB``."""
    if n >= 2**20:
        return f"{n / 2**20:.2f} MiB"
    if n >= 2**10:
        return f"{n / 2**10:.2f} KiB"
    return f"{n} B"
