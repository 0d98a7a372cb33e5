"""Resident memory of a memory-mapped model: give back the pages a pass has finished reading."""

from __future__ import annotations

import contextlib
import mmap
from typing import Any, Final

# Readers walking a long vector of tables release the pages read so far every this many tables.
RELEASE_EVERY: Final = 1024
# Smaller files are left alone: their pages cost little, and reading them again costs time.
RELEASE_MIN_BYTES: Final = 16 << 20


def release_pages(data: Any) -> None:
    """Tell the kernel this process is done, for now, with the pages of a mapped model it has read.

    Walking the flatbuffer touches every page that holds a table, and in a model with many small
    constants that is nearly every page of the file; they would all count in the resident set
    (the 30 MB LSTM stress model of ``benchmarks/``: 30 MB). The mapping is read-only and shared,
    so dropping them loses nothing: a later read faults its page in again from the page cache.
    Not mapped (bytes), smaller than :data:`RELEASE_MIN_BYTES`, or no ``madvise`` on this
    platform: nothing to do.
    """
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is not None and isinstance(data, mmap.mmap) and len(data) >= RELEASE_MIN_BYTES:
        with contextlib.suppress(OSError, ValueError):  # closed, or the platform refuses: harmless
            data.madvise(advice)
