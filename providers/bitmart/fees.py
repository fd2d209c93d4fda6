"""The fee an order paid: order rows carry none, so it is summed from the order's own fills.

`paid_fees` is taken as a magnitude: the REST sign is undocumented and the WebSocket reports a
paid fee as negative, while the domain's `Order.fee` is the amount paid.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from providers.bitmart.client import BitmartClient
from providers.types import Order

#: The longest span the trades endpoint accepts.
MAX_SPAN_S = 90 * 86_400


def with_fee(client: BitmartClient, order: Order, now_ms: int) -> Order:
    """`order` with `fee` summed from its fills (one trades call when it has filled)."""
    if order.filled_size <= 0:
        return order
    start = order.created_ms // 1000
    end = min(max(start, now_ms // 1000) + 1, start + MAX_SPAN_S)
    fills = client.trades(order.symbol, order_id=order.order_id, start_s=start, end_s=end)
    paid = sum(
        (abs(f.paid_fees or Decimal(0)) for f in fills if f.order_id == order.order_id), Decimal(0)
    )
    return replace(order, fee=paid)
