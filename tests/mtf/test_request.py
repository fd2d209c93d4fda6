"""Run requests: accepted shapes, aliases, and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mtf.request import RunRequestError, parse_request
from providers.timeframes import Timeframe


def test_defaults_are_safe() -> None:
    r = parse_request({})
    assert r.dry_run is None and r.symbols == [] and r.sync_tables and r.process_tp_sl
    assert not r.skip_open_state_filter and r.market_type == "perpetual"


def test_symbols_from_string_are_normalised() -> None:
    r = parse_request({"symbols": " btcusdt, ETHUSDT,btcusdt ,"})
    assert r.symbols == ["BTCUSDT", "ETHUSDT"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("false", False),
        ("0", False),
        ("no", False),
        ("off", False),
        ("true", True),
        ("1", True),
        ("yes", True),
        (True, True),
        (False, False),
    ],
)
def test_booleans_are_parsed_not_cast(raw: Any, expected: bool) -> None:
    assert parse_request({"dry_run": raw}).dry_run is expected
    assert parse_request({"skip_open_state_filter": raw}).skip_open_state_filter is expected


def test_aliases() -> None:
    r = parse_request(
        {
            "mtf_profile": "scalper_micro",
            "cex": "Paper",
            "type_contract": "perp",
            "context_mode": "STRICT",
        }
    )
    assert (r.profile, r.exchange, r.market_type, r.validation_mode) == (
        "scalper_micro",
        "paper",
        "perpetual",
        "strict",
    )
    assert parse_request({"mode": "pragmatic"}).validation_mode == "pragmatic"


def test_as_of_is_utc_minute() -> None:
    r = parse_request({"as_of": "2023-08-01T12:00:42Z", "current_tf": "1M"})
    assert r.as_of == datetime(2023, 8, 1, 12, 0, tzinfo=UTC)
    assert r.current_tf is Timeframe.M1


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"symbol": "BTCUSDT"}, ["unknown parameter 'symbol'", "allowed:", "symbols"]),
        ({"dry_run": "maybe"}, ["dry_run:", "'maybe'"]),
        ({"symbols": ["BTC-USDT"]}, ["symbols:", "not valid"]),
        ({"symbols": 42}, ["symbols:", "comma-separated"]),
        ({"current_tf": "2h"}, ["current_tf:", "allowed: 1m, 5m"]),
        ({"market_type": "spot"}, ["spot is not supported"]),
        ({"exchange": "binance"}, ["exchange:", "'paper' or 'bitmart'"]),
        ({"workers": 8}, ["'workers' is not a parameter", "--concurrency"]),
        ({"profile": "a", "mtf_profile": "b"}, ["same parameter with different values"]),
        ({"as_of": "2999-01-01T00:00Z"}, ["in the future"]),
        ({"as_of": "yesterday"}, ["as_of:"]),
    ],
)
def test_refusals_name_the_problem(raw: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(RunRequestError) as err:
        parse_request(raw)
    for word in words:
        assert word in str(err.value)


def test_every_problem_is_listed() -> None:
    with pytest.raises(RunRequestError) as err:
        parse_request({"dry_run": "maybe", "bogus": 1})
    assert len(err.value.problems) == 2
