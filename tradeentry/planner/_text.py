"""Numbers as the plan's `steps` text: plain decimal notation, never an exponent."""

from __future__ import annotations

from decimal import Decimal


def num(value: Decimal | int) -> str:
    return str(value) if isinstance(value, int) else format(value, "f")


def pct(value: Decimal) -> str:
    """A percent for reading, to four decimals; the exact figure is derivable from prices."""
    return f"{value.quantize(Decimal('0.0001')):f}%"
