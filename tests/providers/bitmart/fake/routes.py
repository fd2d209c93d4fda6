"""The endpoints the fake answers: method, auth level and handler of every path.

Documented endpoints the fake does not simulate answer 40010 ("Not found func error") with a
message saying so, rather than 30000, so a client can tell them from a wrong path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import orders, plans, public, reads
from .auth import Level
from .params import Call

Handler = Callable[[Call], object]


@dataclass(frozen=True)
class Route:
    method: str
    level: Level
    handler: Handler


_PUBLIC = "/contract/public/"
_PRIVATE = "/contract/private/"


def _get(handler: Handler) -> Route:
    return Route("GET", Level.KEYED, handler)


def _post(handler: Handler) -> Route:
    return Route("POST", Level.SIGNED, handler)


ROUTES: dict[str, Route] = {
    "/system/time": Route("GET", Level.NONE, public.system_time),
    _PUBLIC + "details": Route("GET", Level.NONE, public.details),
    _PUBLIC + "kline": Route("GET", Level.NONE, public.kline),
    _PUBLIC + "markprice-kline": Route("GET", Level.NONE, public.markprice_kline),
    _PUBLIC + "depth": Route("GET", Level.NONE, public.depth),
    _PUBLIC + "funding-rate": Route("GET", Level.NONE, public.funding_rate),
    _PRIVATE + "assets-detail": _get(reads.assets_detail),
    _PRIVATE + "trade-fee-rate": _get(reads.trade_fee_rate),
    _PRIVATE + "position-v2": _get(reads.position_v2),
    _PRIVATE + "get-position-mode": _get(reads.get_position_mode),
    _PRIVATE + "get-open-orders": _get(reads.open_orders),
    _PRIVATE + "order": _get(reads.order),
    _PRIVATE + "order-history": _get(reads.order_history),
    _PRIVATE + "trades": _get(reads.trades),
    _PRIVATE + "current-plan-order": _get(reads.current_plan_order),
    _PRIVATE + "submit-order": _post(orders.submit_order),
    _PRIVATE + "cancel-order": _post(orders.cancel_order),
    _PRIVATE + "cancel-orders": _post(orders.cancel_orders),
    _PRIVATE + "submit-leverage": _post(orders.submit_leverage),
    _PRIVATE + "cancel-all-after": _post(orders.cancel_all_after),
    _PRIVATE + "set-position-mode": _post(orders.set_position_mode),
    _PRIVATE + "submit-tp-sl-order": _post(plans.submit_tp_sl_order),
    _PRIVATE + "modify-tp-sl-order": _post(plans.modify_tp_sl_order),
    _PRIVATE + "submit-plan-order": _post(plans.submit_plan_order),
    _PRIVATE + "cancel-plan-order": _post(plans.cancel_plan_order),
}

#: Documented, but not simulated.
UNSIMULATED: dict[str, str] = {
    **{
        _PUBLIC + name: "GET"
        for name in ("funding-rate-history", "leverage-bracket", "market-trade", "open-interest")
    },
    **{_PRIVATE + name: "GET" for name in ("position", "position-risk", "transaction-history")},
    **{
        _PRIVATE + name: "POST"
        for name in (
            "modify-limit-order",
            "modify-plan-order",
            "modify-preset-plan-order",
            "submit-trail-order",
            "cancel-trail-order",
            "claim",
        )
    },
    "/account/v1/transfer-contract": "POST",
    "/account/v1/transfer-contract-list": "POST",
}


def find(method: str, path: str) -> Route | None:
    """The route of a request; None for an unknown path or the wrong method."""
    route = ROUTES.get(path)
    return route if route is not None and route.method == method.upper() else None
