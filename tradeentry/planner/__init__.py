"""Trade planning: from a READY signal and a market snapshot to an executable `TradePlan`.

Steps, each a small pure module: guards (timeframe, book, spread), budget and risk, entry zone,
entry price, stop, size, leverage, liquidation guard, margin fit, targets. Account risk limits
(concurrent positions, daily loss, cooldown) are the shell's, checked before planning.
"""

from tradeentry.planner.compose import plan_trade

__all__ = ["plan_trade"]
