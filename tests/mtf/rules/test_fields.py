from __future__ import annotations

import pytest

from mtf.rules.fields import UnknownFieldError, parse_field
from providers.timeframes import Timeframe


@pytest.mark.parametrize(
    ("text", "key", "tf", "shift"),
    [
        ("close", "close", None, 0),
        ("ema_20", "ema:20", None, 0),
        ("rsi", "rsi:14", None, 0),
        ("rsi_7", "rsi:7", None, 0),
        ("rsi_prev", "rsi:14", None, 1),
        ("macd_hist_prev3", "macd:hist", None, 3),
        ("adx_1h", "adx:14", Timeframe.H1, 0),
        ("ema_200_4h_prev", "ema:200", Timeframe.H4, 1),
        ("vwap_5m", "vwap:day", Timeframe.M5, 0),
        ("vwap_30", "vwap:30", None, 0),
        ("atr_pct", "atr_pct:14", None, 0),
        ("pivot_r1_1h", "pivot:r1", Timeframe.H1, 0),
    ],
)
def test_parse_field(text: str, key: str, tf: Timeframe | None, shift: int) -> None:
    ref = parse_field(text)
    assert (ref.base.key, ref.timeframe, ref.shift) == (key, tf, shift)


def test_shift_adds_to_needed_candles() -> None:
    tf = Timeframe.M1
    assert parse_field("ema_20_prev2").needs_on(tf) == parse_field("ema_20").needs_on(tf) + 2
    # daily pivots need a whole previous day, so more candles on shorter timeframes
    assert parse_field("pivot_p").needs_on(Timeframe.M5) > parse_field("pivot_p").needs_on(
        Timeframe.H1
    )


@pytest.mark.parametrize("text", ["ma_9", "ema", "rsi_1w", "closes", "adx_2h"])
def test_unknown_field_lists_known_names(text: str) -> None:
    with pytest.raises(UnknownFieldError) as err:
        parse_field(text)
    assert repr(text) in str(err.value)
    assert "ema_<n>" in str(err.value) and "<field>_<tf>" in str(err.value)
