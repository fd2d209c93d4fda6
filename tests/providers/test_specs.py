"""Default contract specs for symbols no exchange describes."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest

from infra.db import ensure_schema, get_engine
from providers.contracts import ContractStore
from providers.specs import default_spec, split_symbol


@pytest.mark.parametrize(
    ("symbol", "price", "tick", "contract", "leverage"),
    [
        ("BTCUSDT", 61_234.5, "0.1", "0.001", 100),
        ("ETHUSDT", 2_950.0, "0.01", "0.01", 100),
        ("XRPUSDT", 0.52, "0.0001", "10", 50),
        ("DOGEUSDT", 0.16, "0.00001", "100", 50),
        ("SOLUSDT", 140.0, "0.01", "0.1", 50),
    ],
)
def test_majors_use_the_table(
    symbol: str, price: float, tick: str, contract: str, leverage: int
) -> None:
    spec = default_spec(symbol, price)
    assert spec.tick_size == Decimal(tick)
    assert spec.contract_size == Decimal(contract)
    assert spec.max_leverage == leverage
    assert spec.base_currency + spec.quote_currency == symbol and spec.quote_currency == "USDT"


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (60_000.0, "1"),
        (3_000.0, "0.1"),
        (12.34, "0.001"),
        (0.5, "0.00001"),
        (0.0987, "0.000001"),
        (0.00123, "0.0000001"),
    ],
)
def test_unknown_symbols_keep_five_significant_digits(price: float, tick: str) -> None:
    spec = default_spec("NEWUSDT", price)
    assert spec.tick_size == Decimal(tick)
    assert spec.max_leverage == 50


def test_observed_decimals_set_the_tick() -> None:
    assert default_spec("NEWUSDT", 0.1234, price_decimals=5).tick_size == Decimal("0.00001")
    assert default_spec("NEWUSDT", 812.0, price_decimals=0).tick_size == Decimal("1")
    # A major's tick gets finer when the data are finer, never coarser.
    assert default_spec("BTCUSDT", 74_131.55, price_decimals=2).tick_size == Decimal("0.01")
    assert default_spec("BTCUSDT", 74_131.0, price_decimals=0).tick_size == Decimal("0.1")


@pytest.mark.parametrize("price", [10.0**k * m for k in range(-6, 6) for m in (1.0, 2.5, 7.9)])
def test_contract_value_and_size_limits(price: float) -> None:
    spec = default_spec("ANYUSDT", price)
    value = float(spec.contract_size) * price
    assert 1.0 <= value <= 100.0
    assert spec.contract_size.normalize().as_tuple().digits == (1,)  # a power of ten
    assert (spec.volume_step, spec.min_volume, spec.min_leverage) == (1, 1, 1)
    assert float(spec.max_volume) * value >= 5_000_000
    assert spec.max_volume.normalize().as_tuple().digits == (1,)
    assert spec.market_max_volume * 10 == spec.max_volume
    assert spec.status == "Trading"
    assert spec.last_price is not None and spec.last_price % spec.tick_size == 0
    assert math.isclose(float(spec.last_price), price, rel_tol=1e-3)


def test_symbols_split_into_base_and_quote() -> None:
    assert split_symbol("ETHUSDT") == ("ETH", "USDT")
    assert split_symbol("1000PEPEUSDT") == ("1000PEPE", "USDT")


@pytest.mark.parametrize("symbol", ["BTCUSD", "BTC-USDT", "btcusdt", "USDT", "", "ETHUSDC"])
def test_non_usdt_symbols_are_rejected(symbol: str) -> None:
    with pytest.raises(ValueError, match="only USDT-margined perpetuals"):
        default_spec(symbol, 1.0)


@pytest.mark.parametrize("price", [0.0, -1.0, math.nan, math.inf])
def test_reference_price_must_be_positive_and_finite(price: float) -> None:
    with pytest.raises(ValueError, match="reference price must be a positive finite number"):
        default_spec("NEWUSDT", price)


@pytest.mark.parametrize("decimals", [-1, 13])
def test_price_decimals_are_bounded(decimals: int) -> None:
    with pytest.raises(ValueError, match="price_decimals must be between 0 and 12"):
        default_spec("NEWUSDT", 1.0, price_decimals=decimals)


def test_specs_survive_the_contract_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mtf.db'}"
    ensure_schema(url)
    store = ContractStore(get_engine(url))
    specs = [default_spec("BTCUSDT", 60_000.0), default_spec("TINYUSDT", 0.000123)]
    for spec in specs:
        store.upsert(spec, source="import")
    assert [store.get(spec.symbol) for spec in specs] == specs
