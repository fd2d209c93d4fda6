"""Every endpoint the client calls: path, authentication level, rate-limit group, idempotency.

Paths are the documented ones (`/contract/private/order`, `/cancel-orders`, `/trade-fee-rate`).
`idempotent` says whether resending after an ambiguous failure (timeout, 5xx, garbled reply:
the exchange may have acted) is harmless; see `retry` for how it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal


class Auth(IntEnum):
    """Authentication levels of the API: public, key header only, key plus signature."""

    NONE = 0
    KEYED = 1
    SIGNED = 2


@dataclass(frozen=True)
class Endpoint:
    method: Literal["GET", "POST"]
    path: str
    auth: Auth
    group: str
    idempotent: bool = True

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def _public(path: str) -> Endpoint:
    return Endpoint("GET", f"/contract/public/{path}", Auth.NONE, "public")


def _read(path: str, group: str) -> Endpoint:
    return Endpoint("GET", f"/contract/private/{path}", Auth.KEYED, group)


def _write(path: str, group: str, *, idempotent: bool = True) -> Endpoint:
    return Endpoint("POST", f"/contract/private/{path}", Auth.SIGNED, group, idempotent)


DETAILS = _public("details")
DEPTH = _public("depth")
KLINE = _public("kline")
MARKPRICE_KLINE = _public("markprice-kline")

ASSETS_DETAIL = _read("assets-detail", "assets-detail")
TRADE_FEE_RATE = _read("trade-fee-rate", "trade-fee-rate")
POSITION_V2 = _read("position-v2", "position")
GET_POSITION_MODE = _read("get-position-mode", "position-mode")
OPEN_ORDERS = _read("get-open-orders", "order-query")
ORDER = _read("order", "order-query")
PLAN_ORDERS = _read("current-plan-order", "order-query")
ORDER_HISTORY = _read("order-history", "order-history")
TRADES = _read("trades", "order-history")

# A submit is resent only when it carries a client order id: the exchange then refuses the
# copy with 40050 instead of placing a second order (the client decides per call).
SUBMIT_ORDER = _write("submit-order", "submit-order", idempotent=False)
SUBMIT_TP_SL = _write("submit-tp-sl-order", "tp-sl", idempotent=False)
# Plan orders take no client order id: a resent plan order could be placed twice.
SUBMIT_PLAN = _write("submit-plan-order", "submit-plan-order", idempotent=False)
# Setting a value or cancelling twice leaves the same state as doing it once.
SUBMIT_LEVERAGE = _write("submit-leverage", "submit-leverage")
CANCEL_ORDER = _write("cancel-order", "cancel-order")
CANCEL_ORDERS = _write("cancel-orders", "cancel-orders")
MODIFY_TP_SL = _write("modify-tp-sl-order", "tp-sl")
CANCEL_PLAN = _write("cancel-plan-order", "cancel-plan-order")
CANCEL_ALL_AFTER = _write("cancel-all-after", "cancel-all-after")
SET_POSITION_MODE = _write("set-position-mode", "position-mode")

SYSTEM_TIME = Endpoint("GET", "/system/time", Auth.NONE, "system")
