"""What a backtest records (plain data): signals, fills, trades, the fate of each signal."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from providers.timeframes import Timeframe
from providers.types import PositionSide
from tradeentry.model import TradePlan


@dataclass(frozen=True)
class BacktestSignal:
    """A READY decision: at `moment_ms` (a minute close), `side` on `timeframe`."""

    moment_ms: int
    symbol: str
    side: PositionSide
    timeframe: Timeframe


@dataclass(frozen=True)
class TradeFill:
    ms: int
    side: str  # "entry" | "exit"
    price: Decimal
    size: Decimal
    fee: Decimal
    realized: Decimal
    maker: bool
    reason: str  # entry: limit | market | fallback; exit: stop | take_profit | tp1 | close | end


@dataclass
class Trade:
    """One position from its first entry fill to its last exit fill."""

    symbol: str
    side: PositionSide
    decision_key: str
    signal_ms: int
    timeframe: str
    stop: Decimal
    contract_size: Decimal
    plan: TradePlan
    fills: list[TradeFill] = field(default_factory=list)

    @property
    def entries(self) -> list[TradeFill]:
        return [f for f in self.fills if f.side == "entry"]

    @property
    def exits(self) -> list[TradeFill]:
        return [f for f in self.fills if f.side == "exit"]

    @property
    def size(self) -> Decimal:
        return sum((f.size for f in self.entries), Decimal(0))

    @staticmethod
    def _average(fills: list[TradeFill]) -> Decimal:
        size = sum((f.size for f in fills), Decimal(0))
        return sum((f.price * f.size for f in fills), Decimal(0)) / size if size else Decimal(0)

    @property
    def entry_price(self) -> Decimal:
        return self._average(self.entries)

    @property
    def exit_price(self) -> Decimal:
        return self._average(self.exits)

    @property
    def entry_ms(self) -> int:
        return self.entries[0].ms

    @property
    def exit_ms(self) -> int:
        return self.exits[-1].ms if self.exits else self.entries[-1].ms

    @property
    def fees(self) -> Decimal:
        return sum((f.fee for f in self.fills), Decimal(0))

    @property
    def gross(self) -> Decimal:
        return sum((f.realized for f in self.fills), Decimal(0))

    @property
    def net(self) -> Decimal:
        return self.gross - self.fees

    @property
    def risk(self) -> Decimal:
        """What the stop would have lost on the filled size, at the average entry."""
        return abs(self.entry_price - self.stop) * self.size * self.contract_size

    @property
    def r(self) -> Decimal | None:
        return self.net / self.risk if self.risk > 0 else None

    @property
    def exit_reason(self) -> str:
        return "+".join(dict.fromkeys(f.reason for f in self.exits)) or "open"


@dataclass(frozen=True)
class SignalOutcome:
    """What became of a READY signal: busy, skipped, blocked, rejected, expired, filled..."""

    moment_ms: int
    symbol: str
    side: str
    timeframe: str
    status: str
    reason: str | None = None
    detail: str | None = None
    plan: TradePlan | None = None


@dataclass
class SimResult:
    trades: list[Trade]
    outcomes: list[SignalOutcome]
    final_wallet: Decimal
    initial_balance: Decimal
    start_ms: int
    end_ms: int
