"""Importing candle files: formats, names, row checks, all-or-nothing files, synthetic hand-over."""

from __future__ import annotations

import csv
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from infra.db import ensure_schema, get_engine
from providers.contracts import ContractStore
from providers.importer import CsvFormat, ImportFileError, import_files, parse_file
from providers.klines import KlineStore
from providers.synthetic import SyntheticMarket
from providers.timeframes import Timeframe

KLINES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "klines"
T0 = 1_690_848_000_000  # 2023-08-01T00:00:00Z
MIN = 60_000
PROJECT_HEADER = "open_time_ms,open,high,low,close,volume"
BINANCE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)

Stores = tuple[KlineStore, ContractStore]


@pytest.fixture
def stores(tmp_path: Path) -> Stores:
    url = f"sqlite:///{tmp_path / 'mtf.db'}"
    ensure_schema(url)
    engine = get_engine(url)
    return KlineStore(engine), ContractStore(engine)


def shared(folder: str, name: str) -> Path:
    path = KLINES_DIR / folder / name
    if not path.is_file():
        pytest.skip(f"real candles file {path} not found (the shared data folder is absent)")
    return path


def read_rows(path: Path) -> np.ndarray:
    """The file's rows as floats, read with the csv module (independently of the importer)."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == PROJECT_HEADER.split(",")
    return np.asarray(rows[1:], dtype=np.float64)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def project_rows(n: int, *, start: int = T0, step: int = MIN, price: float = 100.0) -> list[str]:
    return [
        f"{start + i * step},{price + i},{price + i + 2},{price + i - 1},{price + i + 1},{10 + i}"
        for i in range(n)
    ]


def binance_row(open_ms: int, values: str, *, step: int = MIN, scale: int = 1) -> str:
    t = open_ms * scale
    return f"{t},{values},{t + step * scale - 1},1234.5,42,1.5,150.25,0"


# --- real files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("bitmart-futures_2025-09", "PLUMEUSDT-4h.csv"),
        ("bitmart-futures_2025-09", "HIFIUSDT-1m.csv"),
        ("binance-usdm-futures_2023-07", "XRPUSDT-4h.csv"),
        ("binance-spot_2026-04", "BTCUSDT-1h.csv"),
    ],
)
def test_real_files_parse_to_exactly_their_rows(folder: str, name: str) -> None:
    path = shared(folder, name)
    expected = read_rows(path)
    parsed = parse_file(path)
    assert parsed.symbol == name.split("-")[0]
    assert parsed.timeframe == Timeframe.parse(name.split("-")[1].removesuffix(".csv"))
    assert parsed.source_format is CsvFormat.PROJECT
    got = np.column_stack(
        [parsed.candles.open_time, parsed.candles.open, parsed.candles.high,
         parsed.candles.low, parsed.candles.close, parsed.candles.volume]
    )  # fmt: skip
    np.testing.assert_array_equal(got, expected)


def test_real_file_is_stored_row_for_row_with_a_fitting_contract(stores: Stores) -> None:
    klines, contracts = stores
    path = shared("bitmart-futures_2025-09", "PLUMEUSDT-4h.csv")
    expected = read_rows(path)
    report = import_files([path], klines=klines, contracts=contracts)
    assert report.ok, report.lines()
    (result,) = report.files
    assert (result.symbol, result.timeframe, result.rows) == ("PLUMEUSDT", Timeframe.H4, 259)
    assert (result.first_open_ms, result.last_open_ms) == (expected[0, 0], expected[-1, 0])
    stored = klines.load_range("PLUMEUSDT", Timeframe.H4, 0, 2**62)
    np.testing.assert_array_equal(np.asarray(stored.rows(), dtype=np.float64), expected)

    spec = contracts.get("PLUMEUSDT")
    assert contracts.source_of("PLUMEUSDT") == ("import", {"price_decimals": 5})
    text_prices = [Decimal(v) for row in path.read_text().split()[1:] for v in row.split(",")[1:5]]
    finest = min(int(p.normalize().as_tuple().exponent) for p in text_prices)
    assert spec.tick_size == Decimal(1).scaleb(finest) == Decimal("0.00001")
    assert all(p % spec.tick_size == 0 for p in text_prices)
    assert spec.last_price == Decimal(str(expected[-1, 4]))


# --- Binance dumps ------------------------------------------------------------------------------


def test_binance_zip_with_header(tmp_path: Path) -> None:
    rows = [
        binance_row(T0, "29230.00,29246.50,29226.60,29240.90,171.596"),
        binance_row(T0 + MIN, "29240.90,29250.00,29239.10,29249.90,80.1"),
    ]
    path = tmp_path / "BTCUSDT-1m-2023-08.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("BTCUSDT-1m-2023-08.csv", "\n".join([BINANCE_HEADER, *rows]) + "\n")
    parsed = parse_file(path)
    assert (parsed.symbol, parsed.timeframe) == ("BTCUSDT", Timeframe.M1)
    assert parsed.source_format is CsvFormat.BINANCE
    assert parsed.price_decimals == 1  # 29246.50 is written with a trailing zero
    assert parsed.candles.rows() == [
        (T0, 29230.0, 29246.5, 29226.6, 29240.9, 171.596),
        (T0 + MIN, 29240.9, 29250.0, 29239.1, 29249.9, 80.1),
    ]


def test_binance_csv_without_header_and_spot_style_decimals(tmp_path: Path) -> None:
    step = 5 * MIN
    path = write(
        tmp_path / "ETHUSDT-5m-2023-08-01.csv",
        binance_row(T0, "1850.10000000,1851.00000000,1849.25000000,1850.50000000,12.5", step=step),
        binance_row(T0 + step, "1850.50,1852.00,1850.00,1851.75,3", step=step),
    )
    parsed = parse_file(path)
    assert (parsed.symbol, parsed.timeframe, parsed.price_decimals) == ("ETHUSDT", Timeframe.M5, 2)
    assert parsed.candles.open_time.tolist() == [T0, T0 + step]
    assert parsed.candles.close.tolist() == [1850.5, 1851.75]


def test_binance_microsecond_open_times_become_milliseconds(tmp_path: Path) -> None:
    hour = 60 * MIN
    path = write(
        tmp_path / "SOLUSDT-1h-2025-01-01.csv",
        BINANCE_HEADER,
        binance_row(T0, "24.1,24.5,24.0,24.2,1000", step=hour, scale=1000),
        binance_row(T0 + hour, "24.2,24.3,23.9,24.0,900", step=hour, scale=1000),
    )
    assert str(T0 * 1000) in path.read_text()
    parsed = parse_file(path)
    assert parsed.candles.open_time.tolist() == [T0, T0 + hour]
    assert parsed.candles.volume.tolist() == [1000.0, 900.0]


# --- naming -------------------------------------------------------------------------------------


def test_overrides_allow_odd_file_names(tmp_path: Path) -> None:
    path = write(tmp_path / "export (3).csv", PROJECT_HEADER, *project_rows(3, step=60 * MIN))
    parsed = parse_file(path, symbol="adausdt", timeframe="1H")
    assert (parsed.symbol, parsed.timeframe, len(parsed.candles)) == ("ADAUSDT", Timeframe.H1, 3)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("BTCUSDT-3m.csv", "unknown timeframe '3m'; allowed: 1m, 5m, 15m, 1h, 4h, 1d"),
        ("BTCUSDT-1M-2023-08.csv", "monthly candles (1M) are not supported"),
        ("candles.csv", "cannot tell symbol and timeframe from the name"),
        ("BTCUSD-1m.csv", "only USDT-margined perpetuals"),
        ("BTCUSDT-1m.txt", "unsupported file type '.txt'"),
    ],
)
def test_bad_names_are_rejected_with_what_is_allowed(
    tmp_path: Path, name: str, message: str
) -> None:
    path = write(tmp_path / name, PROJECT_HEADER, *project_rows(2))
    with pytest.raises(ImportFileError) as caught:
        parse_file(path)
    assert name in str(caught.value)
    assert message in str(caught.value)


def test_zip_must_hold_exactly_one_csv(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", PROJECT_HEADER + "\n")
        archive.writestr("b.csv", PROJECT_HEADER + "\n")
    with pytest.raises(ImportFileError, match=r"exactly one \.csv file; found 2 \(a.csv, b.csv\)"):
        parse_file(path)
    broken = write(tmp_path / "ETHUSDT-1m.zip", "not a zip")
    with pytest.raises(ImportFileError, match=r"ETHUSDT-1m\.zip: not a valid zip archive"):
        parse_file(broken)


# --- row checks ---------------------------------------------------------------------------------

GOOD = project_rows(2)  # lines 2 and 3 of a file with a header


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (f"{T0 + 2 * MIN},100,abc,99,101,5", "high 'abc' is not a number"),
        (f"{T0 + 2 * MIN},100,nan,99,101,5", "high 'nan' is not a finite number"),
        (f"{T0 + 2 * MIN},100,102,99,101", "expected 6 columns, got 5"),
        (f"{T0 + 2 * MIN + 1},100,102,99,101,5", "is not aligned to 1m candles"),
        (f"{T0},100,102,99,101,5", "is before line 3's 2023-08-01T00:01:00Z"),
        (f"{T0 + MIN},100,102,99,101,5", "repeats line 3 with different values"),
        (f"{T0 + 2 * MIN},100,100.5,99,101,5", "high 100.5 is below max(open, close) = 101"),
        (f"{T0 + 2 * MIN},100,102,100.5,101,5", "low 100.5 is above min(open, close) = 100"),
        (f"{T0 + 2 * MIN},100,102,99,101,-1", "volume must be >= 0, got -1"),
        (f"{T0 + 2 * MIN},0,102,0,101,5", "open must be a positive price, got 0"),
        (f"{(T0 + 2 * MIN) // 1000},100,102,99,101,5", "too small for epoch milliseconds"),
        (f"{(T0 + 2 * MIN) * 1000},100,102,99,101,5", "is in microseconds but the file started"),
        ("2023-08-01,100,102,99,101,5", "open time '2023-08-01' is not a whole"),
        (f"{T0 + 2 * MIN},0.1234567890123,1,0.1,0.5,5", "has 13 decimals; at most 12"),
    ],
)
def test_each_bad_row_is_named_by_file_and_line(tmp_path: Path, bad_row: str, message: str) -> None:
    path = write(tmp_path / "LINKUSDT-1m.csv", PROJECT_HEADER, *GOOD, bad_row, *project_rows(1))
    with pytest.raises(ImportFileError) as caught:
        parse_file(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: line 4: "), text
    assert message in text


def test_binance_close_time_must_match_the_timeframe(tmp_path: Path) -> None:
    path = write(
        tmp_path / "BTCUSDT-5m.csv",  # the rows are 1m candles
        binance_row(T0, "1,2,0.5,1.5,10"),
    )
    with pytest.raises(ImportFileError, match=r"line 1: close_time .* is the timeframe right\?"):
        parse_file(path)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((), "the file is empty"),
        ((PROJECT_HEADER,), "no candles, only a header"),
        (("time,o,h,l,c,v", *GOOD), "line 1: unrecognised header"),
        ((GOOD[0] + ",1",), "line 1: 7 columns; expected 6"),
    ],
)
def test_empty_or_unrecognised_files(tmp_path: Path, lines: tuple[str, ...], message: str) -> None:
    path = write(tmp_path / "DOGEUSDT-1m.csv", *lines)
    with pytest.raises(ImportFileError, match=message):
        parse_file(path)


def test_identical_repeated_rows_are_dropped(tmp_path: Path) -> None:
    rows = project_rows(3)
    path = write(tmp_path / "ADAUSDT-1m.csv", PROJECT_HEADER, rows[0], rows[1], rows[1], rows[2])
    parsed = parse_file(path)
    assert parsed.duplicates_dropped == 1
    assert parsed.candles.open_time.tolist() == [T0, T0 + MIN, T0 + 2 * MIN]


def test_headerless_project_format_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "XRPUSDT-1m.csv", project_rows(1)[0], "", *project_rows(2)[1:], "")
    parsed = parse_file(path)
    assert parsed.source_format is CsvFormat.PROJECT
    assert len(parsed.candles) == 2


# --- storing ------------------------------------------------------------------------------------


def test_a_bad_file_imports_nothing_and_spares_the_others(tmp_path: Path, stores: Stores) -> None:
    klines, contracts = stores
    good = write(tmp_path / "BNBUSDT-1m.csv", PROJECT_HEADER, *project_rows(4))
    bad_rows = project_rows(4)
    bad_rows[3] = bad_rows[3].replace(",13", ",-13")  # negative volume on line 5
    bad = write(tmp_path / "SOLUSDT-1m.csv", PROJECT_HEADER, *bad_rows)
    missing = tmp_path / "ETHUSDT-1m.csv"

    report = import_files([bad, good, missing], klines=klines, contracts=contracts)

    assert [f.ok for f in report.files] == [False, True, False]
    assert report.failed[0].error is not None
    assert report.failed[0].error.startswith(f"{bad}: line 5: volume must be >= 0")
    assert report.failed[1].error == f"{missing}: no such file or directory"
    assert klines.count("SOLUSDT") == 0 and contracts.find("SOLUSDT") is None
    assert klines.count("BNBUSDT") == 4 and contracts.find("BNBUSDT") is not None
    assert report.rows == 4 and not report.ok
    assert report.lines()[0].startswith("FAILED ")


def test_importing_replaces_a_synthetic_symbol(tmp_path: Path, stores: Stores) -> None:
    klines, contracts = stores
    market = SyntheticMarket(1)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        contracts.upsert(market.spec(symbol), source="synthetic")
        for tf in (Timeframe.M1, Timeframe.H1):
            klines.upsert(market.candles(symbol, tf, T0 - 10 * 60 * MIN, T0 + 10 * 60 * MIN))
    assert klines.count("BTCUSDT") == 20 * 60 + 20
    path = write(
        tmp_path / "BTCUSDT-1h.csv",
        PROJECT_HEADER,
        *project_rows(3, start=T0 + 20 * 60 * MIN, step=60 * MIN, price=29000.0),
    )

    (result,) = import_files([path], klines=klines, contracts=contracts).files

    assert result.ok and result.replaced_synthetic
    assert klines.count("BTCUSDT", Timeframe.M1) == 0
    assert klines.count("BTCUSDT", Timeframe.H1) == 3  # only the imported candles remain
    assert klines.count("ETHUSDT") == 20 * 60 + 20  # other symbols keep their synthetic candles
    source = contracts.source_of("BTCUSDT")
    assert source is not None and source[0] == "import"
    assert contracts.get("BTCUSDT").last_price == Decimal("29003")
    assert contracts.source_of("ETHUSDT") == ("synthetic", {})


def test_synthetic_symbols_are_kept_when_replacement_is_off(tmp_path: Path, stores: Stores) -> None:
    klines, contracts = stores
    market = SyntheticMarket(1)
    contracts.upsert(market.spec("BTCUSDT"), source="synthetic")
    klines.upsert(market.candles("BTCUSDT", Timeframe.M1, T0, T0 + 30 * MIN))
    path = write(tmp_path / "BTCUSDT-1m.csv", PROJECT_HEADER, *project_rows(2))

    report = import_files([path], klines=klines, contracts=contracts, replace_synthetic=False)

    assert not report.ok
    assert "BTCUSDT is a synthetic contract" in (report.files[0].error or "")
    assert klines.count("BTCUSDT") == 30
    assert contracts.source_of("BTCUSDT") == ("synthetic", {})


def test_reimport_is_idempotent_and_updates_changed_values(tmp_path: Path, stores: Stores) -> None:
    klines, contracts = stores
    path = write(tmp_path / "LINKUSDT-1m.csv", PROJECT_HEADER, *project_rows(5))
    first = import_files([path], klines=klines, contracts=contracts)
    spec = contracts.get("LINKUSDT")
    again = import_files([path], klines=klines, contracts=contracts)
    assert first.rows == again.rows == 5
    assert klines.count() == 5
    assert contracts.get("LINKUSDT") == spec
    rows = project_rows(5)
    rows[2] = rows[2].replace(",12", ",99")  # a corrected volume
    write(path, PROJECT_HEADER, *rows)
    import_files([path], klines=klines, contracts=contracts)
    stored = klines.load_range("LINKUSDT", Timeframe.M1, T0, T0 + 5 * MIN)
    assert stored.volume.tolist() == [10, 11, 99, 13, 14]


def test_finer_prices_in_a_later_file_refine_the_tick(tmp_path: Path, stores: Stores) -> None:
    klines, contracts = stores
    coarse = write(tmp_path / "S0042USDT-1h.csv", PROJECT_HEADER, f"{T0},1.5,1.6,1.4,1.5,10")
    fine = write(tmp_path / "S0042USDT-5m.csv", PROJECT_HEADER, f"{T0},1.5,1.625,1.4,1.5125,10")
    import_files([coarse], klines=klines, contracts=contracts)
    assert contracts.get("S0042USDT").tick_size == Decimal("0.1")
    import_files([fine], klines=klines, contracts=contracts)
    assert contracts.get("S0042USDT").tick_size == Decimal("0.0001")
    import_files([coarse], klines=klines, contracts=contracts)
    assert contracts.get("S0042USDT").tick_size == Decimal("0.0001")


def test_exchange_contracts_are_left_alone(tmp_path: Path, stores: Stores) -> None:
    klines, contracts = stores
    spec = SyntheticMarket(3).spec("ETHUSDT")
    contracts.upsert(spec, source="bitmart")
    path = write(tmp_path / "ETHUSDT-1m.csv", PROJECT_HEADER, *project_rows(2, price=1800.123))
    assert import_files([path], klines=klines, contracts=contracts).ok
    assert contracts.get("ETHUSDT") == spec
    assert contracts.source_of("ETHUSDT") == ("bitmart", {})
    assert klines.count("ETHUSDT") == 2


def test_directories_are_scanned_for_csv_and_zip(tmp_path: Path, stores: Stores) -> None:
    klines, contracts = stores
    folder = tmp_path / "data"
    (folder / "nested").mkdir(parents=True)
    write(folder / "BTCUSDT-1m.csv", PROJECT_HEADER, *project_rows(2))
    with zipfile.ZipFile(folder / "ETHUSDT-5m-2023-08.zip", "w") as archive:
        archive.writestr("ETHUSDT-5m-2023-08.csv", binance_row(T0, "1,2,0.5,1.5,7", step=5 * MIN))
    write(folder / "README.md", "not candles")
    write(folder / "nested" / "SOLUSDT-1m.csv", PROJECT_HEADER, *project_rows(2))
    empty = tmp_path / "empty"
    empty.mkdir()

    report = import_files([folder, empty], klines=klines, contracts=contracts)

    assert [(f.symbol, f.ok) for f in report.files] == [
        ("BTCUSDT", True),
        ("ETHUSDT", True),
        (None, False),
    ]
    assert report.files[2].error == f"{empty}: the directory holds no .csv or .zip files"
    assert klines.symbols() == ["BTCUSDT", "ETHUSDT"]


def test_name_overrides_apply_to_every_file(tmp_path: Path, stores: Stores) -> None:
    klines, contracts = stores
    path = write(tmp_path / "dump.csv", PROJECT_HEADER, *project_rows(2, step=15 * MIN))
    report = import_files(
        [path], klines=klines, contracts=contracts, symbol="DOGEUSDT", timeframe=Timeframe.M15
    )
    assert report.ok and klines.count("DOGEUSDT", Timeframe.M15) == 2
