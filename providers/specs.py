"""Default contract specifications for symbols no exchange has described.

Imported candles (and the synthetic market) need a `ContractSpec` so that sizing, rounding and
the paper exchange work, but there is no exchange to ask. The rules below give Bitmart-like
values; they are deliberately simple so that anyone can predict them:

* Only USDT-margined perpetuals: the symbol is ``<BASE>USDT`` with an upper-case alphanumeric
  base; anything else is rejected.
* Known majors (`MAJORS`: BTC, ETH, SOL, BNB, XRP, DOGE, ADA, LINK) take tick size, contract
  size and maximum leverage from a small table of Bitmart-like values.
* Tick size of other symbols: ``10**-price_decimals`` when the number of decimals seen in the
  data is known, else about five significant digits of the reference price
  (``10**(floor(log10(price)) - 4)``: 0.0987 -> 0.000001, 3000 -> 0.1). A major's table tick is
  made finer when the data carry more decimals, so every observed price lies on the grid.
* Contract size: the power of ten that makes one contract worth about 10 USDT at the reference
  price (off the table, always between about 3 and 32 USDT).
* Sizes are whole contracts: volume step 1, minimum 1. The maximum order is the power of ten of
  contracts worth at least 5 million USDT; a market order may be a tenth of that.
* Leverage 1 to 100 for BTC and ETH (from the table), 1 to 50 otherwise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from providers.types import ContractSpec

QUOTE = "USDT"
MAX_PRICE_DECIMALS = 12
#: Notional (USDT) that the maximum order size must at least reach.
MAX_ORDER_NOTIONAL = 5_000_000
#: Contract value (USDT) the contract size aims at.
TARGET_CONTRACT_VALUE = 10.0
#: Significant digits a tick keeps when only the price magnitude is known.
SIGNIFICANT_DIGITS = 5

_SYMBOL = re.compile(r"^[A-Z0-9]{1,30}$")


@dataclass(frozen=True)
class KnownContract:
    """Table values of a major contract."""

    tick_size: Decimal
    contract_size: Decimal
    max_leverage: int


MAJORS: dict[str, KnownContract] = {
    "BTCUSDT": KnownContract(Decimal("0.1"), Decimal("0.001"), 100),
    "ETHUSDT": KnownContract(Decimal("0.01"), Decimal("0.01"), 100),
    "SOLUSDT": KnownContract(Decimal("0.01"), Decimal("0.1"), 50),
    "BNBUSDT": KnownContract(Decimal("0.01"), Decimal("0.01"), 50),
    "XRPUSDT": KnownContract(Decimal("0.0001"), Decimal("10"), 50),
    "DOGEUSDT": KnownContract(Decimal("0.00001"), Decimal("100"), 50),
    "ADAUSDT": KnownContract(Decimal("0.0001"), Decimal("10"), 50),
    "LINKUSDT": KnownContract(Decimal("0.001"), Decimal("1"), 50),
}


def split_symbol(symbol: str) -> tuple[str, str]:
    """(base, quote) of a USDT perpetual symbol such as BTCUSDT; ValueError otherwise."""
    if not _SYMBOL.match(symbol) or not symbol.endswith(QUOTE) or len(symbol) == len(QUOTE):
        raise ValueError(
            f"unsupported symbol {symbol!r}: only USDT-margined perpetuals are supported, "
            f"written <BASE>USDT in upper-case letters and digits (e.g. BTCUSDT)"
        )
    return symbol[: -len(QUOTE)], QUOTE


def power_of_ten(exponent: int) -> Decimal:
    """10**exponent as an exact Decimal (1E-4, 1, 1E+2...), normalised."""
    return Decimal(1).scaleb(exponent)


def tick_from_magnitude(price: float) -> Decimal:
    """A tick keeping about `SIGNIFICANT_DIGITS` significant digits of `price`."""
    _check_price(price)
    return power_of_ten(math.floor(math.log10(price)) - (SIGNIFICANT_DIGITS - 1))


def contract_size_for(price: float) -> Decimal:
    """The power of ten that makes one contract worth about `TARGET_CONTRACT_VALUE` USDT."""
    _check_price(price)
    return power_of_ten(round(math.log10(TARGET_CONTRACT_VALUE / price)))


def default_spec(
    symbol: str, reference_price: float, *, price_decimals: int | None = None
) -> ContractSpec:
    """A Bitmart-like spec for `symbol` trading near `reference_price` (rules: module doc)."""
    base, quote = split_symbol(symbol)
    _check_price(reference_price)
    if price_decimals is not None and not 0 <= price_decimals <= MAX_PRICE_DECIMALS:
        raise ValueError(
            f"{symbol}: price_decimals must be between 0 and {MAX_PRICE_DECIMALS}, "
            f"got {price_decimals}"
        )
    data_tick = power_of_ten(-price_decimals) if price_decimals is not None else None
    known = MAJORS.get(symbol)
    if known is not None:
        tick = known.tick_size if data_tick is None else min(known.tick_size, data_tick)
        contract_size = known.contract_size
        max_leverage = known.max_leverage
    else:
        tick = data_tick if data_tick is not None else tick_from_magnitude(reference_price)
        contract_size = contract_size_for(reference_price)
        max_leverage = 50
    contract_value = float(contract_size) * reference_price
    max_volume = power_of_ten(math.ceil(math.log10(MAX_ORDER_NOTIONAL / contract_value)))
    max_volume = max(max_volume, Decimal(10))
    last_price = max(round_half_up(Decimal(repr(reference_price)), tick), tick)
    return ContractSpec(
        symbol=symbol,
        base_currency=base,
        quote_currency=quote,
        tick_size=tick,
        contract_size=contract_size,
        volume_step=Decimal(1),
        min_volume=Decimal(1),
        max_volume=max_volume,
        market_max_volume=max_volume / 10,
        min_leverage=1,
        max_leverage=max_leverage,
        status="Trading",
        last_price=last_price,
    )


def round_half_up(value: Decimal, step: Decimal) -> Decimal:
    """`value` rounded to the nearest multiple of `step`."""
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _check_price(price: float) -> None:
    if not (math.isfinite(price) and price > 0):
        raise ValueError(f"reference price must be a positive finite number, got {price!r}")
