"""One call as a handler sees it, and the parsing of its parameters into typed values.

GET parameters arrive as query strings, POST parameters as JSON values; the helpers accept
both where Bitmart's types allow it and raise `WireError` with the code a bad value earns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from providers.types import ContractSpec

from .venue import Venue
from .wire import WireError


@dataclass(frozen=True)
class Call:
    """What a handler gets: the venue, the query string, the JSON body and the server's wall
    clock (the one signatures are checked against)."""

    venue: Venue
    query: Mapping[str, str]
    body: Mapping[str, Any]
    wall_ms: int = 0

    def arg(self, name: str) -> object | None:
        """A parameter from the body, else the query; None when absent or JSON null."""
        if name in self.body:
            return self.body[name]
        return self.query.get(name)

    def spec(self, *, required: bool = True) -> ContractSpec | None:
        """The contract named by `symbol`: 40011 when missing, 40034 when unknown."""
        raw = self.arg("symbol")
        if raw is None or raw == "":
            if required:
                raise WireError(40011, "symbol is required")
            return None
        if not isinstance(raw, str):
            raise WireError(40034, f"symbol must be a string, got {raw!r}")
        return self.venue.spec(raw)

    def symbol(self) -> ContractSpec:
        found = self.spec()
        assert found is not None
        return found


def integer(raw: object, code: int, name: str) -> int:
    """A JSON integer or a decimal digit string."""
    if isinstance(raw, bool):
        raise WireError(code, f"{name} must be an integer, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        digits = text[1:] if text[:1] == "-" else text
        if digits.isascii() and digits.isdigit():
            return int(text)
    raise WireError(code, f"{name} must be an integer, got {raw!r}")


def optional_integer(raw: object, code: int, name: str) -> int | None:
    return None if raw is None or raw == "" else integer(raw, code, name)


def decimal(raw: object, code: int, name: str) -> Decimal:
    """A decimal string (Bitmart's form) or a JSON number."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise WireError(code, f"{name} must be a decimal string, got {raw!r}")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise WireError(code, f"{name} must be finite, got {raw!r}")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise WireError(code, f"{name} must be a decimal string, got {raw!r}") from None
    if not value.is_finite():
        raise WireError(code, f"{name} must be finite, got {raw!r}")
    return value


def optional_decimal(raw: object, code: int, name: str) -> Decimal | None:
    return None if raw is None or raw == "" else decimal(raw, code, name)


def text(raw: object, name: str) -> str | None:
    """An optional string parameter."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise WireError(40007, f"{name} must be a string, got {raw!r}")
    return raw


def on_tick(spec: ContractSpec, price: Decimal, name: str) -> Decimal:
    """A positive price on the contract's tick grid (40043 otherwise)."""
    if price <= 0 or not spec.is_on_tick(price):
        raise WireError(
            40043, f"{name} {price} is not a positive multiple of the tick {spec.tick_size}"
        )
    return price


def client_order_id(raw: object) -> str | None:
    """An optional client order id: 1-32 ASCII letters or digits (40048, 40049)."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not (raw.isascii() and raw.isalnum()):
        raise WireError(40048, f"client_order_id {raw!r}")
    if len(raw) > 32:
        raise WireError(40049, f"client_order_id has {len(raw)} characters")
    return raw


def unique_client_order_id(venue: Venue, raw: object) -> str | None:
    """A valid client order id no order or trigger of the account uses yet (40050)."""
    value = client_order_id(raw)
    if value is not None and venue.by_client(value) is not None:
        raise WireError(40050, f"client_order_id {value} is already used")
    return value
