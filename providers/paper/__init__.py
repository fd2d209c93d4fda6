"""The paper exchange: Bitmart futures (hedge mode) simulated on stored candles.

`PaperExchange` implements `providers.port.Exchange` with its state in the Paper* tables.
The core is pure: `quotes` (bars, quote, slippage), `ledger` (positions and money), `rules`
(Bitmart's order rules), `intake` (orders from requests), `book` (state transitions),
`matching` (a new order meets the book) and `fills` (the candle walk); `prices`, `rows` and
`store` are the thin shell around it.
"""

from providers.paper.exchange import PaperExchange, wall_clock

__all__ = ["PaperExchange", "wall_clock"]
