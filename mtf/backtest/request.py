"""What a backtest is asked to do, checked before anything runs (one-line refusals)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from providers.timeframes import iso

SYMBOL = re.compile(r"^[A-Z0-9]{2,30}$")


class BacktestInputError(ValueError):
    """A request that cannot run; the message names what is wrong and what is allowed."""


def _decimal(name: str, value: Any, low: Decimal, high: Decimal, *, open_low: bool) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise BacktestInputError(f"{name} must be a number, got {value!r}") from None
    below = number <= low if open_low else number < low
    if not number.is_finite() or below or number > high:
        bound = ">" if open_low else ">="
        raise BacktestInputError(f"{name} must be {bound} {low} and <= {high}, got {value}")
    return number


@dataclass(frozen=True)
class BacktestRequest:
    """A profile pair over symbols and a range of decision minutes, on an account of
    `balance` USDT with the paper exchange's fee rates (fractions), slippage and spread (bps)."""

    profile: str
    symbols: tuple[str, ...]
    start_ms: int
    end_ms: int
    balance: Decimal = Decimal(1000)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0006")
    slippage_bps: Decimal = Decimal(2)
    spread_bps: Decimal = Decimal(2)
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def checked(
        cls,
        profile: str,
        symbols: str | list[str] | tuple[str, ...],
        start_ms: int,
        end_ms: int,
        *,
        now_ms: int,
        balance: Any = 1000,
        maker_fee: Any = "0.0002",
        taker_fee: Any = "0.0006",
        slippage_bps: Any = 2,
        spread_bps: Any = 2,
        overrides: Mapping[str, Any] | None = None,
    ) -> BacktestRequest:
        """A request whose values are all usable; `BacktestInputError` otherwise."""
        names = symbols.split(",") if isinstance(symbols, str) else list(symbols)
        cleaned = list(dict.fromkeys(s.strip().upper() for s in names if s.strip()))
        if not cleaned:
            raise BacktestInputError("give at least one symbol (--symbols BTCUSDT,ETHUSDT)")
        bad = [s for s in cleaned if not SYMBOL.match(s)]
        if bad:
            raise BacktestInputError(
                f"not a symbol: {', '.join(bad)} (letters and digits, e.g. BTCUSDT)"
            )
        if not profile or not profile.strip():
            raise BacktestInputError("give a profile (--profile scalper_micro)")
        if end_ms < start_ms:
            raise BacktestInputError(f"--to {iso(end_ms)} is before --from {iso(start_ms)}")
        if end_ms > now_ms:
            raise BacktestInputError(
                f"--to {iso(end_ms)} is in the future: a backtest reads closed candles"
            )
        return cls(
            profile.strip(),
            tuple(cleaned),
            start_ms,
            end_ms,
            _decimal("--balance", balance, Decimal(0), Decimal(10) ** 12, open_low=True),
            _decimal("--maker-fee", maker_fee, Decimal(0), Decimal("0.01"), open_low=False),
            _decimal("--taker-fee", taker_fee, Decimal(0), Decimal("0.01"), open_low=False),
            _decimal("--slippage-bps", slippage_bps, Decimal(0), Decimal(1000), open_low=False),
            _decimal("--spread-bps", spread_bps, Decimal(0), Decimal(1000), open_low=False),
            dict(overrides or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["symbols"] = list(self.symbols)
        data["overrides"] = dict(self.overrides)
        for key in ("balance", "maker_fee", "taker_fee", "slippage_bps", "spread_bps"):
            data[key] = str(data[key])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BacktestRequest:
        return cls(
            str(data["profile"]),
            tuple(data["symbols"]),
            int(data["start_ms"]),
            int(data["end_ms"]),
            Decimal(str(data["balance"])),
            Decimal(str(data["maker_fee"])),
            Decimal(str(data["taker_fee"])),
            Decimal(str(data["slippage_bps"])),
            Decimal(str(data["spread_bps"])),
            dict(data.get("overrides") or {}),
        )

    def with_overrides(self, overrides: Mapping[str, Any]) -> BacktestRequest:
        return BacktestRequest(**{**asdict(self), "overrides": dict(overrides)})
