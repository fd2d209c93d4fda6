"""Tests of the Bitmart adapter and its fake server."""
