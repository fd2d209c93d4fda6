"""Tests of the paper exchange's own rules: fill maths, fees, slippage, cursors."""
