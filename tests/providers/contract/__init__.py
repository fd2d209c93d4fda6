"""Behavioural suite of the exchange port, run against every adapter."""
