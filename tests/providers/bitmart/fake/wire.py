"""The wire format: the response envelope, error codes with their HTTP status, number text."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

OK = 1000

#: code -> (HTTP status, documented message), reference §3.3.
CODES: dict[int, tuple[int, str]] = {
    30000: (404, "Not found"),
    30001: (401, "Header X-BM-KEY is empty"),
    30002: (401, "Header X-BM-KEY not found"),
    30004: (401, "Header X-BM-SIGN is empty"),
    30005: (401, "Header X-BM-SIGN is wrong"),
    30006: (401, "Header X-BM-TIMESTAMP is empty"),
    30007: (401, "Header X-BM-TIMESTAMP range. Within a minute"),
    30008: (401, "Header X-BM-TIMESTAMP invalid format"),
    30013: (429, "Request too many requests"),
    30014: (503, "Service unavailable"),
    30016: (200, "Service maintenance, the function is temporarily unavailable"),
    30017: (418, "Account request temporarily rejected"),
    40007: (400, "Parse parameter error"),
    40010: (400, "Not found func error"),
    40011: (400, "Invalid request"),
    40012: (400, "System error"),
    40014: (400, "This contract is offline"),
    40020: (400, "Position volume is not enough"),
    40021: (400, "The position does not exist"),
    40027: (400, "You contract account available balance not enough"),
    40029: (400, "Order leverage too large"),
    40030: (400, "Order leverage too small"),
    40034: (400, "The Symbol is not exist"),
    40035: (400, "The order is not exist"),
    40036: (400, "The order status is invalid"),
    40037: (400, "The order id is not exist"),
    40038: (400, "The k-line step is invalid"),
    40039: (400, "The timestamp is invalid"),
    40040: (400, "The order leverage is invalid"),
    40041: (400, "The order side is invalid"),
    40042: (400, "The order type is invalid"),
    40043: (400, "The order precision is invalid"),
    40044: (400, "The order range is invalid"),
    40045: (400, "The order open type is invalid"),
    40048: (403, "ClientOrderId only allows letters and digits"),
    40049: (403, "ClientOrderId longer than 32"),
    40050: (403, "Client OrderId duplicated with existing orders"),
    40059: (400, "The position mode cannot be switched"),
    42000: (200, "Insufficient balance"),
}


class WireError(Exception):
    """A request Bitmart answers with an error `code`; `detail` is appended to its message."""

    def __init__(self, code: int, detail: str = "") -> None:
        if code not in CODES:
            raise ValueError(f"undocumented error code {code}")
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code = code
        self.detail = detail

    @property
    def status(self) -> int:
        return CODES[self.code][0]

    @property
    def message(self) -> str:
        text = CODES[self.code][1]
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class Reply:
    """One HTTP answer; unpacks as (status, headers, body). `delay` (seconds) and `drop` tell
    the transport how to misbehave."""

    status: int
    headers: dict[str, str]
    body: bytes
    delay: float = 0.0
    drop: bool = False
    code: int | None = None
    fault: str | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.status, self.headers, self.body))

    def json(self) -> Any:
        return json.loads(self.body)


def trace() -> str:
    """A fresh per-response trace id."""
    return str(uuid.uuid4())


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def envelope(code: int, message: str, data: Any) -> bytes:
    return encode({"code": code, "message": message, "data": data, "trace": trace()})


def success(data: Any) -> Reply:
    return Reply(200, _json_headers(), envelope(OK, "Ok", data), code=OK)


def failure(error: WireError) -> Reply:
    return Reply(
        error.status, _json_headers(), envelope(error.code, error.message, {}), code=error.code
    )


def _json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json"}


def num(value: Decimal | int) -> str:
    """A decimal as Bitmart writes it: plain notation, no trailing zeros ("0" for zero)."""
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def price_text(value: Decimal | None) -> str:
    """A price field; "0" when there is none."""
    return "0" if value is None else num(value)
