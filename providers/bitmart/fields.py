"""Field types for the wire models: the JSON quirks of the API, normalised once.

* Decimals arrive as strings (sometimes numbers); they become `Decimal`, never `float` (the
  client parses JSON numbers with a decimal point as `Decimal` too).
* Ids arrive as numbers on some endpoints and strings on others; they become `str`.
* An empty `client_order_id` means "none".
* Timestamps arrive in seconds or milliseconds depending on the endpoint and field. Rule:
  a value below 10^11 is seconds (10^11 s is the year 5138), anything else is milliseconds
  (10^11 ms is March 1973); both become epoch milliseconds. 0 stays 0 ("none").
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator

SECONDS_BELOW = 10**11
_NONE_TEXT = frozenset({"", "-", "null"})


def to_decimal(value: object) -> Decimal:
    """A finite `Decimal` from a JSON string or number; floats are refused (inexact)."""
    if isinstance(value, bool | float):
        raise ValueError(f"expected a decimal string, got {type(value).__name__} {value!r}")
    if isinstance(value, Decimal | int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    else:
        raise ValueError(f"expected a decimal string, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def to_optional_decimal(value: object) -> Decimal | None:
    """Like `to_decimal`, but empty, `-` or null mean None."""
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_TEXT):
        return None
    return to_decimal(value)


def to_price_or_none(value: object) -> Decimal | None:
    """A price that may be replaced by text (e.g. "Market" for a market execution): None."""
    try:
        return to_optional_decimal(value)
    except ValueError:
        if isinstance(value, str):
            return None
        raise


def to_int(value: object) -> int:
    """An integer sent as a number or a string ("5", "5.0")."""
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"expected an integer, got {value!r}")
    return int(number)


def to_id(value: object) -> str:
    """An id sent as a JSON number or string, as a non-empty string."""
    if isinstance(value, bool):
        raise ValueError(f"expected an id, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(f"expected a non-empty id, got {value!r}")


def to_client_id(value: object) -> str | None:
    """A client order id; empty means none."""
    if value is None or value == "":
        return None
    return to_id(value)


def to_epoch_ms(value: object) -> int:
    """Epoch milliseconds from seconds or milliseconds (see the module rule)."""
    number = to_int(value)
    if number < 0:
        raise ValueError(f"negative timestamp {value!r}")
    return number * 1000 if number < SECONDS_BELOW else number


WireDecimal = Annotated[Decimal, BeforeValidator(to_decimal)]
OptionalDecimal = Annotated[Decimal | None, BeforeValidator(to_optional_decimal)]
PriceOrText = Annotated[Decimal | None, BeforeValidator(to_price_or_none)]
WireInt = Annotated[int, BeforeValidator(to_int)]
WireId = Annotated[str, BeforeValidator(to_id)]
ClientId = Annotated[str | None, BeforeValidator(to_client_id)]
EpochMs = Annotated[int, BeforeValidator(to_epoch_ms)]
