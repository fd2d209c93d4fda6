"""Who trades in the synthetic market: symbol names and the profile behind each symbol."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from providers.specs import default_spec
from providers.synthetic.numeric import stream

#: Majors first, with real-world-like scales: (symbol, price, daily volatility, USDT per minute).
MAJORS: tuple[tuple[str, float, float, float], ...] = (
    ("BTCUSDT", 60_000.0, 0.028, 2_000_000.0),
    ("ETHUSDT", 3_000.0, 0.035, 1_000_000.0),
    ("SOLUSDT", 150.0, 0.050, 300_000.0),
    ("BNBUSDT", 600.0, 0.030, 100_000.0),
    ("XRPUSDT", 0.5, 0.045, 200_000.0),
    ("DOGEUSDT", 0.15, 0.055, 150_000.0),
    ("ADAUSDT", 0.45, 0.050, 60_000.0),
    ("LINKUSDT", 15.0, 0.050, 40_000.0),
)
_MAJOR_INDEX = {row[0]: i for i, row in enumerate(MAJORS)}
_GENERATED = re.compile(r"^S(\d{4,})USDT$")

# Ranges of the generated symbols, drawn log-uniformly.
PRICE_RANGE = (0.001, 5_000.0)
VOLATILITY_RANGE = (0.03, 0.12)
TURNOVER_RANGE = (2_000.0, 200_000.0)

PROFILE_STREAM = 1


@dataclass(frozen=True)
class SymbolProfile:
    """The constants that shape one symbol's market."""

    symbol: str
    key: int  # stable 64-bit name of the symbol in random streams
    base_price: float  # the price the long-run level reverts to
    daily_vol: float  # typical standard deviation of daily log returns
    turnover_per_minute: float  # average USDT traded per minute
    tick_size: Decimal
    contract_size: Decimal

    @property
    def log_base(self) -> float:
        return math.log(self.base_price)


def symbol_at(index: int) -> str:
    """The symbol at 1-based position `index` of the universe."""
    if index < 1:
        raise ValueError(f"universe positions start at 1, got {index}")
    if index <= len(MAJORS):
        return MAJORS[index - 1][0]
    return f"S{index:04d}USDT"


def universe(n: int) -> list[str]:
    """The first `n` symbols: the majors, then S0009USDT, S0010USDT, ..."""
    if n < 0:
        raise ValueError(f"universe size must be >= 0, got {n}")
    return [symbol_at(i) for i in range(1, n + 1)]


def position_of(symbol: str) -> int:
    """1-based universe position of `symbol`; ValueError naming the universe otherwise."""
    if symbol in _MAJOR_INDEX:
        return _MAJOR_INDEX[symbol] + 1
    match = _GENERATED.match(symbol)
    if match is not None:
        index = int(match.group(1))
        if index > len(MAJORS) and symbol_at(index) == symbol:
            return index
    majors = ", ".join(row[0] for row in MAJORS)
    raise ValueError(
        f"unknown synthetic symbol {symbol!r}: the universe is {majors}, then "
        f"S0009USDT, S0010USDT, ... (S<position>USDT, position >= {len(MAJORS) + 1}, "
        f"at least 4 digits)"
    )


def symbol_key(symbol: str) -> int:
    """A stable 64-bit integer for `symbol` (Python's hash() changes between processes)."""
    return int.from_bytes(hashlib.blake2b(symbol.encode(), digest_size=8).digest(), "little")


@lru_cache(maxsize=8192)
def profile_for(seed: int, symbol: str) -> SymbolProfile:
    """The profile of `symbol` in the market of `seed`."""
    index = position_of(symbol)
    key = symbol_key(symbol)
    if index <= len(MAJORS):
        _, price, vol, turnover = MAJORS[index - 1]
    else:
        rng = stream(seed, key, PROFILE_STREAM)
        price, vol, turnover = (
            _round_sig(math.exp(rng.uniform(math.log(lo), math.log(hi))), 3)
            for lo, hi in (PRICE_RANGE, VOLATILITY_RANGE, TURNOVER_RANGE)
        )
    spec = default_spec(symbol, price)
    return SymbolProfile(
        symbol=symbol,
        key=key,
        base_price=price,
        daily_vol=vol,
        turnover_per_minute=turnover,
        tick_size=spec.tick_size,
        contract_size=spec.contract_size,
    )


def _round_sig(value: float, digits: int) -> float:
    return round(value, digits - 1 - math.floor(math.log10(value)))
