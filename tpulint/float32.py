"""IEEE float32 and float64 arithmetic as TFLite's C++ kernels do it, for the Prepare checks.

Python floats are doubles and raise on a division by zero; TFLite divides float32 scales (giving
inf or NaN) and compares with ``static_cast<float>(INT_MAX)``. These helpers reproduce that exactly
for the values a flatbuffer holds (float32 scales, read into doubles without loss).
"""

from __future__ import annotations

import math
import struct

_F32 = struct.Struct("<f")
INT32_LIMIT = 2.0**31  # static_cast<float>(INT_MAX) == static_cast<float>(-INT_MIN) == 2^31


def f32(x: float) -> float:
    """``x`` rounded to the nearest float32 (to +-inf past float32's range), as a Python float."""
    if math.isnan(x) or math.isinf(x):
        return x
    try:
        return float(_F32.unpack(_F32.pack(x))[0])
    except OverflowError:
        return math.copysign(math.inf, x)


def divide(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics: a zero divisor gives +-inf, or NaN for 0/0 and NaN inputs."""
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def f32_divide(a: float, b: float) -> float:
    """float32 ``a / b`` of two float32 values (the double quotient rounded once is exact)."""
    return f32(divide(f32(a), f32(b)))


def f32_multiply(a: float, b: float) -> float:
    """float32 ``a * b`` of two float32 values (``inf * 0`` is NaN)."""
    if (math.isinf(a) and b == 0.0) or (math.isinf(b) and a == 0.0):
        return math.nan
    return f32(f32(a) * f32(b))


def multiply(a: float, b: float) -> float:
    """float64 ``a * b`` (``inf * 0`` is NaN)."""
    if (math.isinf(a) and b == 0.0) or (math.isinf(b) and a == 0.0):
        return math.nan
    return a * b


def round_half_away(x: float) -> float:
    """``std::round``: to the nearest integer, halves away from zero (NaN and inf unchanged)."""
    if math.isnan(x) or math.isinf(x):
        return x
    whole = math.floor(abs(x))
    if abs(x) - whole >= 0.5:
        whole += 1
    return math.copysign(whole, x)


def fits_int32(x: float) -> bool:
    """TFLite's ``tmp >= float(INT_MIN) && tmp <= float(INT_MAX)`` on a float32 value (NaN: False)."""
    return -INT32_LIMIT <= x <= INT32_LIMIT
