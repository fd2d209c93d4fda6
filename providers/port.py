"""The exchange port: the contract every adapter (paper, Bitmart) fulfils.

Contract, checked by the shared behavioural suite in `tests/providers/contract/`:

* Reads never hide failures: an exchange that cannot be read raises an `ExchangeError`
  subclass; an empty list always means "there is none".
* `klines` returns only candles closed at the adapter's clock, oldest first, never the
  forming one.
* `submit_order` with a `client_order_id` already used returns the existing order instead of
  placing a second one (`DuplicateOrderError` carries it when the adapter cannot look it up).
* Prices must be on the contract's tick grid and sizes on its volume step within
  [min_volume, max_volume]; otherwise `InvalidOrderError` names the rule broken.
* Order statuses follow `OrderStatus`; a finished order with `filled_size == size` is FILLED.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

from providers.candles import Candles
from providers.timeframes import Timeframe
from providers.types import (
    Balance,
    ContractSpec,
    Fill,
    OpenType,
    Order,
    OrderRequest,
    Position,
    PositionSide,
    PriceType,
    TopOfBook,
    TriggerKind,
    TriggerOrder,
)


class ExchangeError(Exception):
    """Base of every adapter error; `code` is the exchange's own code when it gave one."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class AuthError(ExchangeError):
    """Credentials missing, unknown or signature rejected."""


class RateLimitError(ExchangeError):
    """The exchange refused the request for rate reasons."""

    def __init__(self, message: str, *, code: int | None = None, retry_after: float = 0.0):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class TransientError(ExchangeError):
    """Timeouts, 5xx, malformed bodies: worth retrying."""


class MaintenanceError(ExchangeError):
    """The exchange is in maintenance."""


class InsufficientBalanceError(ExchangeError):
    """Not enough margin for the order."""


class NotFoundError(ExchangeError):
    """Unknown symbol, order or position."""


class InvalidOrderError(ExchangeError):
    """The order breaks a contract rule (tick, step, limits, leverage, mode)."""


class DuplicateOrderError(ExchangeError):
    """A `client_order_id` already used; `existing` is that order when known."""

    def __init__(self, message: str, *, code: int | None = None, existing: Order | None = None):
        super().__init__(message, code=code)
        self.existing = existing


@runtime_checkable
class Exchange(Protocol):
    """Everything the engine needs from a futures exchange."""

    name: str

    def contracts(self) -> list[ContractSpec]:
        """All contracts, tradable or not."""
        ...

    def contract(self, symbol: str) -> ContractSpec:
        """One contract; `NotFoundError` when unknown."""
        ...

    def klines(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> Candles:
        """Closed candles with open time in [start_ms, end_ms)."""
        ...

    def top_of_book(self, symbol: str) -> TopOfBook: ...

    def balance(self) -> Balance: ...

    def positions(self, symbol: str | None = None) -> list[Position]: ...

    def open_orders(self, symbol: str | None = None) -> list[Order]: ...

    def trigger_orders(self, symbol: str | None = None) -> list[TriggerOrder]: ...

    def fills(self, symbol: str | None = None, *, since_ms: int | None = None) -> list[Fill]:
        """Own fills from `since_ms` (default: the last 7 days) until now, oldest first."""
        ...

    def order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> Order:
        """One order by id or client id; `NotFoundError` when unknown."""
        ...

    def set_leverage(self, symbol: str, leverage: int, open_type: OpenType) -> int:
        """Set the leverage used by new orders of `symbol`; returns the leverage in force."""
        ...

    def submit_order(self, request: OrderRequest) -> Order: ...

    def cancel_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel one open order; `NotFoundError` if it is unknown or already finished."""
        ...

    def submit_trigger_order(
        self,
        symbol: str,
        *,
        kind: TriggerKind,
        position_side: PositionSide,
        trigger_price: Decimal,
        size: Decimal | None = None,
        execution_price: Decimal | None = None,
        price_type: PriceType = PriceType.LAST,
        client_order_id: str | None = None,
    ) -> TriggerOrder:
        """Attach a take-profit or stop-loss trigger to an open position."""
        ...

    def cancel_trigger_order(self, symbol: str, order_id: str) -> None: ...
