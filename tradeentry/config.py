"""Trade-entry profiles: YAML -> `TradeEntryConfig`, one file per validation profile.

Files live in `tradeentry/profiles/<name>.yaml`; `MTF_TRADE_ENTRY_DIR`, when set, is searched
first. Percent fields are percents (`risk_pct: 0.5` is 0.5 %), never fractions. Loading reports
every problem of a file at once, each with its YAML path (`TradeEntryConfigError`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from infra.yamltext import yaml_problem
from providers.timeframes import Timeframe
from providers.types import OrderMode, OrderType

PACKAGED_PROFILES = Path(__file__).resolve().parent / "profiles"
ENV_DIR = "MTF_TRADE_ENTRY_DIR"


def _for_timeframe(mapping: Mapping[Timeframe, Decimal], timeframe: str) -> Decimal:
    """The multiplier of `timeframe` (1 when the map does not name it)."""
    for tf, mult in mapping.items():
        if tf == timeframe:
            return mult
    return Decimal(1)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _refuse(problems: list[str]) -> None:
    """Raise the cross-field problems of a section, one `key: message` per line."""
    if problems:
        raise ValueError("\n".join(problems))


class RiskConfig(_Section):
    """How much of the budget a trade may lose, and the account-wide limits."""

    risk_pct: Decimal = Field(Decimal("0.5"), gt=0, le=10)
    budget_usdt: Decimal = Field(Decimal(100), gt=0)
    timeframe_risk_multipliers: dict[Timeframe, Decimal] = {}
    max_concurrent_positions: int = Field(3, ge=1)
    daily_loss_limit_usdt: Decimal = Field(Decimal(0), ge=0)
    daily_loss_count_unrealized: bool = True
    cooldown_minutes: int = Field(15, ge=0)

    @model_validator(mode="after")
    def _multipliers(self) -> RiskConfig:
        problems = []
        for tf, mult in self.timeframe_risk_multipliers.items():
            if mult <= 0:
                problems.append(f"timeframe_risk_multipliers.{tf}: must be > 0, got {mult}")
            elif self.risk_pct * mult > 10:
                problems.append(
                    f"timeframe_risk_multipliers.{tf}: risk_pct {self.risk_pct} x {mult} = "
                    f"{self.risk_pct * mult} % exceeds 10 %"
                )
        _refuse(problems)
        return self

    def multiplier(self, timeframe: str) -> Decimal:
        return _for_timeframe(self.timeframe_risk_multipliers, timeframe)


StopPolicy = Literal["atr", "pivot", "risk"]


class StopConfig(_Section):
    """Where the stop goes: a policy, its fallback, and the distance bounds (percents)."""

    policy: StopPolicy = "atr"
    fallback: Literal["atr", "pivot", "risk", "none"] = "risk"
    atr_k: Decimal = Field(Decimal("1.5"), gt=0)
    atr_timeframe: Timeframe | None = None
    risk_distance_pct: Decimal = Field(Decimal("0.6"), gt=0)
    pivot_buffer_pct: Decimal = Field(Decimal("0.1"), ge=0, lt=10)
    min_distance_pct: Decimal = Field(Decimal("0.15"), ge=0)
    max_distance_pct: Decimal = Field(Decimal("3.0"), gt=0, lt=50)

    @model_validator(mode="after")
    def _consistent(self) -> StopConfig:
        problems = []
        if self.min_distance_pct >= self.max_distance_pct:
            problems.append(
                f"min_distance_pct: {self.min_distance_pct} must be below "
                f"max_distance_pct {self.max_distance_pct}"
            )
        if self.risk_distance_pct > self.max_distance_pct:
            problems.append(
                f"risk_distance_pct: {self.risk_distance_pct} exceeds max_distance_pct "
                f"{self.max_distance_pct}, so the risk stop could never be used"
            )
        if self.fallback == self.policy:
            problems.append(
                f"fallback: {self.fallback!r} repeats the policy; use another one or none"
            )
        _refuse(problems)
        return self


class TwoTargetsConfig(_Section):
    """TP1 at `tp1_r` for `split` of the size; the rest at the policy's target."""

    enabled: bool = False
    tp1_r: Decimal = Field(Decimal(1), gt=0)
    split: Decimal = Field(Decimal("0.5"), gt=0, lt=1)


class TakeProfitConfig(_Section):
    """The final target: an R multiple, or the nearest pivot when it pays min_r..max_r."""

    policy: Literal["r_multiple", "pivot_conservative"] = "r_multiple"
    r_multiple: Decimal = Field(Decimal("1.5"), gt=0)
    min_r: Decimal = Field(Decimal(1), gt=0)
    max_r: Decimal = Field(Decimal(3), gt=0)
    pivot_buffer_pct: Decimal = Field(Decimal("0.1"), ge=0, lt=10)
    two_targets: TwoTargetsConfig = TwoTargetsConfig()

    @model_validator(mode="after")
    def _consistent(self) -> TakeProfitConfig:
        problems = []
        if self.min_r > self.max_r:
            problems.append(f"min_r: {self.min_r} must not exceed max_r {self.max_r}")
        tp1 = self.two_targets.tp1_r
        nearest = self.r_multiple
        if self.policy == "pivot_conservative":
            nearest = min(nearest, self.min_r)
        if self.two_targets.enabled and tp1 >= nearest:
            problems.append(
                f"two_targets.tp1_r: {tp1} must be below the final target's smallest R ({nearest})"
            )
        _refuse(problems)
        return self


_MODES = {
    "gtc": OrderMode.GTC,
    "maker_only": OrderMode.MAKER_ONLY,
    "ioc": OrderMode.IOC,
    "fok": OrderMode.FOK,
}


class OrderConfig(_Section):
    """The entry order and the market conditions it accepts."""

    type: OrderType = OrderType.LIMIT
    mode: Literal["gtc", "maker_only", "ioc", "fok"] = "maker_only"
    max_spread_bps: Decimal = Field(Decimal(8), gt=0)
    max_deviation_pct: Decimal = Field(Decimal("0.5"), gt=0)
    allowed_timeframes: list[Timeframe] = []
    # Round-trip fees and slippage, % of the notional: part of the loss at the stop (so of the
    # size), and kept aside when the margin is fitted to the budget.
    fee_reserve_pct: Decimal = Field(Decimal("0.1"), ge=0, lt=5)

    @model_validator(mode="before")
    @classmethod
    def _default_mode(cls, data: Any) -> Any:
        # The mode's default depends on the type: market orders are GTC, limits maker-only.
        if isinstance(data, Mapping) and "mode" not in data and data.get("type") == "market":
            return {**data, "mode": "gtc"}
        return data

    @model_validator(mode="after")
    def _market_gtc(self) -> OrderConfig:
        if self.type is OrderType.MARKET and self.mode != "gtc":
            raise ValueError(f"mode: market orders use gtc, got {self.mode!r}")
        return self

    @property
    def order_mode(self) -> OrderMode:
        return _MODES[self.mode]


class EntryZoneConfig(_Section):
    """anchor ± clamp(k_atr·ATR, w_min·anchor, w_max·anchor), valid for `ttl_seconds`."""

    anchor: Literal["vwap", "sma21"] = "vwap"
    timeframe: Timeframe = Timeframe.M5
    k_atr: Decimal = Field(Decimal("0.35"), gt=0)
    w_min_pct: Decimal = Field(Decimal("0.05"), ge=0)
    w_max_pct: Decimal = Field(Decimal("1.0"), gt=0, lt=50)
    ttl_seconds: int = Field(180, ge=1)

    @model_validator(mode="after")
    def _widths(self) -> EntryZoneConfig:
        if self.w_min_pct > self.w_max_pct:
            raise ValueError(f"w_min_pct: {self.w_min_pct} exceeds w_max_pct {self.w_max_pct}")
        return self


class LeverageConfig(_Section):
    """Leverage bounds and how the dynamic value is rounded; every cap applies once."""

    floor: int = Field(2, ge=1)
    exchange_cap: int = Field(20, ge=1)
    per_symbol_caps: dict[str, int] = {}
    timeframe_multipliers: dict[Timeframe, Decimal] = {}
    rounding: Literal["floor", "round", "ceil"] = "floor"
    maintenance_margin_pct: Decimal = Field(Decimal("0.5"), ge=0, lt=50)
    min_liquidation_ratio: Decimal = Field(Decimal("1.2"), ge=1)

    @model_validator(mode="after")
    def _caps(self) -> LeverageConfig:
        problems = []
        if self.floor > self.exchange_cap:
            problems.append(f"floor: {self.floor} exceeds exchange_cap {self.exchange_cap}")
        for pattern, cap in self.per_symbol_caps.items():
            if cap < self.floor:
                problems.append(
                    f"per_symbol_caps.{pattern}: cap {cap} is below the floor {self.floor}; "
                    "such a symbol could never trade"
                )
        for tf, mult in self.timeframe_multipliers.items():
            if mult <= 0:
                problems.append(f"timeframe_multipliers.{tf}: must be > 0, got {mult}")
        _refuse(problems)
        return self

    def multiplier(self, timeframe: str) -> Decimal:
        return _for_timeframe(self.timeframe_multipliers, timeframe)


class FallbackEndOfZoneConfig(_Section):
    """A taker entry in the zone's last seconds, when the book still allows it."""

    enabled: bool = False
    seconds_before_expiry: int = Field(25, ge=1)
    max_spread_bps: Decimal = Field(Decimal(8), gt=0)
    only_inside_zone: bool = True
    max_slippage_bps: Decimal = Field(Decimal(10), ge=0)


class WatcherConfig(_Section):
    """How often a resting entry is looked at: every `poll_seconds` at first, then each wait
    `backoff` times longer, up to `max_poll_seconds` (the end-of-zone window is still polled
    every `poll_seconds`)."""

    poll_seconds: int = Field(5, ge=1)
    backoff: float = Field(1.5, ge=1, le=4)
    max_poll_seconds: int = Field(30, ge=1)


class ProtectionConfig(_Section):
    price_type: Literal["last", "mark"] = "mark"


class TradeEntryConfig(_Section):
    """How READY signals become order plans, and the limits around them."""

    name: str = Field(min_length=1)
    risk: RiskConfig = RiskConfig()
    stop: StopConfig = StopConfig()
    take_profit: TakeProfitConfig = TakeProfitConfig()
    order: OrderConfig = OrderConfig()
    entry_zone: EntryZoneConfig = EntryZoneConfig()
    leverage: LeverageConfig = LeverageConfig()
    fallback_end_of_zone: FallbackEndOfZoneConfig = FallbackEndOfZoneConfig()
    watcher: WatcherConfig = WatcherConfig()
    protection: ProtectionConfig = ProtectionConfig()
    dead_man_switch_seconds: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _across_sections(self) -> TradeEntryConfig:
        problems = []
        ttl = self.entry_zone.ttl_seconds
        fallback = self.fallback_end_of_zone
        if fallback.enabled:
            # The fallback fires inside the last seconds of the zone: a poll must land there.
            if fallback.seconds_before_expiry >= ttl:
                problems.append(
                    f"fallback_end_of_zone.seconds_before_expiry: {fallback.seconds_before_expiry}"
                    f" must be below entry_zone.ttl_seconds {ttl}"
                )
            if fallback.seconds_before_expiry < self.watcher.poll_seconds:
                problems.append(
                    f"fallback_end_of_zone.seconds_before_expiry: {fallback.seconds_before_expiry}"
                    f" is shorter than watcher.poll_seconds {self.watcher.poll_seconds}: "
                    "no poll may fall inside the window"
                )
        tp = self.take_profit
        farthest_r = max(tp.r_multiple, tp.max_r) if tp.policy != "r_multiple" else tp.r_multiple
        if farthest_r * self.stop.max_distance_pct >= 100:
            problems.append(
                f"take_profit: a {farthest_r}R target x stop.max_distance_pct "
                f"{self.stop.max_distance_pct} reaches 100 %: a short's target would be at or "
                "below zero"
            )
        if 0 < self.dead_man_switch_seconds <= ttl:
            problems.append(
                f"dead_man_switch_seconds: {self.dead_man_switch_seconds} must exceed "
                f"entry_zone.ttl_seconds {ttl}, or it cancels entries before their zone expires"
            )
        _refuse(problems)
        return self


class TradeEntryConfigError(ValueError):
    """A trade-entry profile that cannot be used; lists every problem with its YAML path."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"  {path or '<root>'}: {message}" for path, message in problems]
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(lines))


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The section model a YAML path points into, for listing its allowed keys."""
    model: type[BaseModel] = TradeEntryConfig
    for part in loc:
        info = model.model_fields.get(str(part))
        annotation = info.annotation if info else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            model = _model_at(loc[:-1])
            allowed = f"; allowed: {', '.join(model.model_fields)}" if model is not None else ""
            out.append((path, f"unknown key{allowed}"))
            continue
        for line in err["msg"].removeprefix("Value error, ").splitlines():
            # Cross-field problems name their key first ("key: message"): extend the path.
            head, sep, rest = line.partition(": ")
            if sep and " " not in head:
                out.append((f"{path}.{head}" if path else head, rest))
            else:
                out.append((path, line))
    return out


def parse_trade_entry(data: Any, *, source: str = "<memory>") -> TradeEntryConfig:
    """Validate parsed YAML; raises `TradeEntryConfigError` listing every problem."""
    if not isinstance(data, Mapping):
        raise TradeEntryConfigError(source, [("", "a trade-entry profile must be a YAML mapping")])
    try:
        return TradeEntryConfig.model_validate(data)
    except ValidationError as exc:
        raise TradeEntryConfigError(source, _problems(exc)) from None


def load_trade_entry_file(path: str | Path) -> TradeEntryConfig:
    return _load_file(Path(path))[0]


def _load_file(path: Path) -> tuple[TradeEntryConfig, str]:
    """The profile in `path` and the digest of the text it was read from."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TradeEntryConfigError(str(path), [("", f"cannot read: {exc.strerror}")]) from None
    return _parse_file(path, text), hashlib.sha256(text.encode()).hexdigest()[:12]


def _parse_file(path: Path, text: str) -> TradeEntryConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TradeEntryConfigError(str(path), [("", yaml_problem(exc))]) from None
    config = parse_trade_entry(data, source=str(path))
    if config.name != path.stem:
        raise TradeEntryConfigError(
            str(path), [("name", f"{config.name!r} does not match the file name {path.stem!r}")]
        )
    return config


def trade_entry_dirs() -> list[Path]:
    """Where profiles are looked up: MTF_TRADE_ENTRY_DIR (if set) before the packaged ones."""
    extra = os.environ.get(ENV_DIR)
    return [Path(extra), PACKAGED_PROFILES] if extra else [PACKAGED_PROFILES]


def available_trade_entries() -> list[str]:
    names: set[str] = set()
    for directory in trade_entry_dirs():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.yaml"))
    return sorted(names)


def resolve_trade_entry_path(name: str) -> Path:
    """The file of a profile name (or a path); the error lists the available names."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return Path(name)
    for directory in trade_entry_dirs():
        candidate = directory / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    available = ", ".join(available_trade_entries()) or "none"
    raise TradeEntryConfigError(
        name, [("", f"unknown trade-entry profile {name!r}; available: {available}")]
    )


_cache: dict[Path, tuple[int, TradeEntryConfig, str]] = {}
_cache_lock = threading.Lock()


def load_trade_entry(name: str) -> TradeEntryConfig:
    """Load a profile by name or path, reusing the parsed form until the file changes."""
    return load_trade_entry_versioned(name)[0]


def load_trade_entry_versioned(name: str) -> tuple[TradeEntryConfig, str]:
    """The profile and its version: the digest of its YAML text (as for validation
    profiles), which a run carries so that every host places with the same version."""
    path = resolve_trade_entry_path(name)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = None
    with _cache_lock:
        hit = _cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1], hit[2]
    config, digest = _load_file(path)
    if mtime is not None:
        with _cache_lock:
            _cache[path] = (mtime, config, digest)
    return config, digest
