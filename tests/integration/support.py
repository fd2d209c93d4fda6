"""Shared set-up of the integration tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import yaml

from providers.types import ContractSpec
from tests.conftest import _truncate
from tests.helpers import permissive_trade_entry

BTC_SPEC = ContractSpec(
    symbol="BTCUSDT",
    base_currency="BTC",
    quote_currency="USDT",
    tick_size=Decimal("0.1"),
    contract_size=Decimal("0.001"),
    volume_step=Decimal(1),
    min_volume=Decimal(1),
    max_volume=Decimal(500000),
    market_max_volume=Decimal(200000),
    min_leverage=1,
    max_leverage=100,
    last_price=Decimal(60000),
    index_price=Decimal(60000),
)


def prepare_cluster(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The database migrated and empty, and the permissive trade-entry profile `always_long` in
    a folder of its own; returns the environment that points workers at it."""
    from infra.db import ensure_schema

    ensure_schema(database_url)
    _truncate(database_url)
    entries = tmp_path / "trade_entry"
    entries.mkdir()
    (entries / "always_long.yaml").write_text(yaml.safe_dump(permissive_trade_entry("always_long")))
    return {"MTF_TRADE_ENTRY_DIR": str(entries)}
