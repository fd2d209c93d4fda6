"""A deterministic, seeded synthetic market for the embedded demo and fast tests.

`SyntheticMarket(seed).candles(symbol, timeframe, start_ms, end_ms)` is a pure function of
(seed, symbol, open time): any window, cut anywhere on the timeframe grid, gives the same
values. The construction, in layers:

* `universe`: symbol names and per-symbol constants (price scale, volatility, turnover);
* `daily`: regimes, daily volatility and midnight price levels, one chain from 2020-01-01;
* `intraday`: the 1440 one-minute bars of a day, bridged between two midnight levels;
* `market`: windows, aggregation to higher timeframes, contract specs.
"""

from providers.synthetic.daily import END_MS, ORIGIN_MS, Regime
from providers.synthetic.market import SyntheticMarket
from providers.synthetic.universe import SymbolProfile

__all__ = ["END_MS", "ORIGIN_MS", "Regime", "SymbolProfile", "SyntheticMarket"]
