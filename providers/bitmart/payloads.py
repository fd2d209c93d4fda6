"""Request bodies and kline paging (pure): decimals as strings, enums and sizes as integers,
optional fields omitted rather than sent as null (reference §4.5)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

MAX_KLINE_ROWS = 500


def decimal_text(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros: Decimal('4.20E+4') → '42000'."""
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def contracts(size: Decimal | int, what: str = "size") -> int:
    """A size in whole contracts, as the API takes it; a fraction is refused, not rounded."""
    number = Decimal(size)
    if number != number.to_integral_value() or number <= 0:
        raise ValueError(f"{what} must be a positive whole number of contracts, got {size}")
    return int(number)


def compact(**fields: object) -> dict[str, object]:
    """The fields that have a value, in the order given."""
    return {key: value for key, value in fields.items() if value is not None}


def kline_windows(
    start_s: int, end_s: int, step_minutes: int, max_rows: int = MAX_KLINE_ROWS
) -> Iterator[tuple[int, int]]:
    """`(start_time, end_time)` request bounds covering candle opens in [start_s, end_s).

    Each window spans at most `max_rows` candle opens. Whether the API's bounds are inclusive
    is undocumented, so each window runs from one second before its first open to one second
    before the next window's first open: the same opens come back either way.
    """
    if step_minutes <= 0 or max_rows <= 0:
        raise ValueError("step_minutes and max_rows must be positive")
    step = step_minutes * 60
    first = -(-start_s // step) * step  # the first aligned open at or after start_s
    while first < end_s:
        rows = min(max_rows, -(-(end_s - first) // step))
        yield max(0, first - 1), first + rows * step - 1
        first += rows * step


def closed_opens(start_ms: int, end_ms: int, step_ms: int, now_ms: int) -> tuple[int, int]:
    """`[first, end)`: the aligned candle opens in [start_ms, end_ms) whose candle has closed
    at `now_ms` (open + step <= now)."""
    first = -(-start_ms // step_ms) * step_ms
    return first, min(end_ms, (now_ms // step_ms) * step_ms)
