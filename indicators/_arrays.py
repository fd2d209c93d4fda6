"""Boundary checks shared by every indicator: array shapes, dtypes and parameter bounds."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

# TA-Lib rejects periods above this; the same bound applies to the hand-written indicators.
MAX_PERIOD = 100_000


def as_series(values: npt.ArrayLike, name: str) -> FloatArray:
    """`values` as a contiguous 1-D float64 array (no copy when it already is one)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got {arr.ndim} dimension(s)")
    return np.ascontiguousarray(arr)


def as_columns(**columns: npt.ArrayLike) -> tuple[FloatArray, ...]:
    """Several series that must have the same length, in keyword order."""
    arrays = tuple(as_series(values, name) for name, values in columns.items())
    lengths = {name: len(arr) for name, arr in zip(columns, arrays, strict=True)}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"input arrays must have the same length, got {shown}")
    return arrays


def as_open_times(values: npt.ArrayLike, length: int) -> IntArray:
    """Candle open times: integer epoch milliseconds, strictly increasing, `length` long."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"open_time_ms must be a 1-D array, got {arr.ndim} dimension(s)")
    if len(arr) and arr.dtype.kind not in "iu":
        raise ValueError(f"open_time_ms must hold integer epoch milliseconds, got {arr.dtype}")
    if len(arr) != length:
        raise ValueError(f"open_time_ms has {len(arr)} values, the price arrays have {length}")
    times = np.ascontiguousarray(arr, dtype=np.int64)
    unordered = times[1:] <= times[:-1]
    if unordered.any():
        i = int(np.argmax(unordered)) + 1
        raise ValueError(f"open_time_ms must be strictly increasing; row {i} is not")
    return times


def check_period(
    owner: str, name: str, value: object, minimum: int = 1, maximum: int = MAX_PERIOD
) -> int:
    """`value` as an int within [minimum, maximum]; the error names the owner and bounds."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{owner}: {name} must be between {minimum} and {maximum}, got {value}")
    return int(value)


def check_positive(owner: str, name: str, value: object) -> float:
    """`value` as a finite float > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{owner}: {name} must be a finite number > 0, got {value}")
    return number


def check_non_negative(name: str, values: FloatArray) -> None:
    """Fail on negative entries (NaN passes: it is handled as undefined downstream)."""
    negative = values < 0
    if negative.any():
        i = int(np.argmax(negative))
        raise ValueError(f"{name} must be >= 0; row {i} is {values[i]}")


def nans(length: int) -> FloatArray:
    return np.full(length, np.nan)
