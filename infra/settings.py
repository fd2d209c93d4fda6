"""Process-wide settings, read from the environment (and an optional `.env` file).

Every variable is documented in the README's configuration table; `mtf config` prints the
effective values with secrets masked.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ExchangeName = Literal["paper", "bitmart"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PROFILE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class Settings(BaseSettings):
    """Environment configuration. Field names map to `MTF_<NAME>` unless an alias says otherwise."""

    model_config = SettingsConfigDict(
        env_prefix="MTF_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    # --- infrastructure -------------------------------------------------------------------
    broker_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("CELERY_BROKER_URL", "MTF_BROKER_URL"),
        description="Celery broker (Redis or RabbitMQ).",
    )
    result_backend: str = Field(
        "redis://127.0.0.1:6379/1",
        validation_alias=AliasChoices("CELERY_RESULT_BACKEND", "MTF_RESULT_BACKEND"),
        description="Celery result backend (Redis).",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/2",
        validation_alias=AliasChoices("MTF_REDIS_URL", "REDIS_URL"),
        description="Redis for RedBeat schedules and the shared rate limiter (unset: the "
        "broker's Redis, database 2).",
    )
    database_url: str = Field(
        "sqlite:///mtf.db",
        validation_alias=AliasChoices("DATABASE_URL", "MTF_DATABASE_URL"),
        description="SQLAlchemy URL: a SQLite file by default, postgresql+psycopg://... in "
        "production.",
    )

    # --- trading defaults -----------------------------------------------------------------
    profile: str = Field("scalper_micro", description="Profile used when a run names none.")
    dry_run: bool = Field(True, description="Default of a run's dry_run when it is not given.")
    live_trading: bool = Field(
        False,
        description="The live switch: without it no order reaches a real exchange, "
        "whatever a run's dry_run says.",
    )
    exchange: ExchangeName = Field("paper", description="Exchange adapter: paper or bitmart.")

    # --- exchange credentials (never printed) --------------------------------------------
    bitmart_api_key: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("BITMART_API_KEY", "MTF_BITMART_API_KEY")
    )
    bitmart_secret_key: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices("BITMART_SECRET_KEY", "MTF_BITMART_SECRET_KEY"),
    )
    bitmart_api_memo: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("BITMART_API_MEMO", "MTF_BITMART_API_MEMO")
    )
    bitmart_base_url: str = Field(
        "https://api-cloud-v2.bitmart.com", description="Bitmart futures REST host."
    )

    # --- synthetic market and paper exchange ----------------------------------------------
    synthetic_seed: int = Field(42, description="Seed of the synthetic market generator.")
    synthetic_symbols: int = Field(
        8, ge=1, le=5000, description="Number of synthetic symbols generated into an empty store."
    )
    history_bars: int = Field(
        500, ge=50, le=5000, description="Candles kept/generated per symbol and timeframe."
    )
    paper_balance: float = Field(1000.0, gt=0, le=1e12, description="Initial paper wallet in USDT.")
    paper_slippage_bps: float = Field(
        2.0, ge=0, le=1000, description="Paper market-order slippage."
    )
    paper_maker_fee: float = Field(0.0002, ge=0, le=0.01, description="Paper maker fee rate.")
    paper_taker_fee: float = Field(0.0006, ge=0, le=0.01, description="Paper taker fee rate.")
    paper_spread_bps: float = Field(2.0, ge=0, le=1000, description="Paper top-of-book spread.")

    # --- tradable universe (contracts synced from the exchange) -----------------------------
    universe_quote: str = Field("USDT", description="Quote currency of tradable contracts.")
    universe_min_turnover: float = Field(
        8_000_000, ge=0, description="Minimum 24h turnover in USDT."
    )
    universe_top_n: int = Field(150, ge=0, description="At most this many, by turnover (0: all).")
    universe_min_age_hours: float = Field(
        880, ge=0, description="Minimum time since listing, in hours."
    )
    universe_expiry_margin_hours: float = Field(
        24, ge=0, description="Leave out contracts expiring within this many hours."
    )

    # --- pipeline ------------------------------------------------------------------------
    run_lock_ttl_seconds: int = Field(
        120,
        ge=5,
        description="Overlap lease lifetime, renewed as the run progresses; a run that stops "
        "renewing frees it after this.",
    )
    validate_batch_size: int = Field(
        0, ge=0, le=1000, description="Symbols per validation message; 0 picks automatically."
    )
    validate_parallelism: int = Field(
        2,
        ge=1,
        le=1024,
        description="Worker processes serving the mtf queue (all machines); the automatic batch "
        "size makes at least this many validation messages.",
    )
    tpsl_every_minutes: int = Field(3, ge=1, le=60, description="TP/SL sweep cadence.")

    # --- schedules ------------------------------------------------------------------------
    schedule_profiles: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["scalper_micro"],
        description="Profiles that beat runs every minute (comma separated).",
    )
    beat_offset_seconds: int = Field(
        5, ge=0, le=50, description="Delay after the candle close before a cycle starts."
    )

    # --- reliability: staleness, accounting, fault survival -----------------------------
    stale_after_seconds: int = Field(
        0,
        ge=0,
        description="A run older than this (from its scheduled or requested time) places no "
        "entry; 0: half the profile's fastest execution timeframe (30 s for 1m).",
    )
    catchup_window_seconds: int = Field(
        30, ge=1, description="Default catch-up window of new schedules."
    )
    run_deadline_grace_seconds: int = Field(
        15,
        ge=1,
        description="A run still unfinished this long after it went stale is abandoned.",
    )
    run_timeout_seconds: int = Field(
        600, ge=10, description="Deadline of runs that never go stale (paper replays)."
    )
    beat_lock_timeout_seconds: int = Field(
        10, ge=2, description="Beat leader lock lifetime: a standby takes over after this."
    )
    beat_loop_seconds: float = Field(
        1.0, gt=0, le=5, description="Longest sleep of beat between two looks at its schedules."
    )
    beat_readiness: str = Field(
        "",
        description="module:callable telling beat a scheduled minute's candles are in, so its "
        "run starts before the offset; empty: never early.",
    )
    visibility_timeout_seconds: int = Field(
        180,
        ge=30,
        description="Redis broker: an unacknowledged message goes back to its queue after this.",
    )
    validate_time_limit_seconds: int = Field(
        60, ge=5, description="Hard time limit of one validation batch (soft: 10 s less)."
    )
    health_dir: str = Field(
        "/tmp", description="Folder of the beat and worker liveness files (healthchecks)."
    )

    # --- cluster: many hosts, one engine ---------------------------------------------------
    max_clock_skew_seconds: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="A worker or beat whose clock differs from the database's by more than "
        "this refuses to start.",
    )
    clock_sync_seconds: float = Field(
        60.0, ge=0, description="How often a process re-measures its clock (0: only at start)."
    )
    cluster_wait_seconds: float = Field(
        60.0,
        ge=0,
        description="How long a starting worker or beat waits for the database and Redis.",
    )
    limiter_wait_seconds: float = Field(
        10.0,
        ge=0,
        description="How long an exchange call waits for an unreachable shared rate limiter "
        "before failing as retryable.",
    )

    # --- metrics (mtf metrics serve) -------------------------------------------------------
    metrics_host: str = Field(
        "127.0.0.1", description="Address `mtf metrics serve` listens on (0.0.0.0: every one)."
    )
    metrics_port: int = Field(9464, ge=1, le=65535, description="Port of `mtf metrics serve`.")
    metrics_token: SecretStr = Field(
        SecretStr(""), description="Bearer token the metrics endpoint requires, when set."
    )
    metrics_basic_auth: SecretStr = Field(
        SecretStr(""), description="user:password the metrics endpoint requires, when set."
    )

    # --- market-data stream (mtf stream) and account safety ------------------------------
    bitmart_ws_url: str = Field(
        "wss://openapi-ws-v2.bitmart.com",
        description="Bitmart futures WebSocket host (public data on /api, private on /user).",
    )
    stream_topics_per_connection: int = Field(
        300, ge=2, le=5000, description="Topics one stream connection carries (2 per symbol)."
    )
    stream_close_grace_ms: int = Field(
        1500,
        ge=0,
        le=30_000,
        description="Wait after a candle's end for a late frame before the time rule closes it.",
    )
    stream_stale_after_seconds: int = Field(
        20, ge=2, le=600, description="A symbol without a kline frame this long is stale."
    )
    stream_quote_max_age_seconds: float = Field(
        5.0, gt=0, le=600, description="A streamed quote older than this is not used."
    )
    stream_lease_seconds: int = Field(
        15, ge=3, le=300, description="Stream leader lease; a standby takes over after it."
    )
    stream_reconcile_seconds: int = Field(
        60, ge=10, le=3600, description="REST reconciliation of orders and positions, period."
    )
    stream_watch_poll_seconds: int = Field(
        60,
        ge=1,
        le=3600,
        description="How often a resting entry is read while order pushes "
        "are live (pushes trigger the other looks).",
    )
    dead_man_refresh_seconds: int = Field(
        15, ge=2, le=600, description="Period of the cancel-all-after heartbeat."
    )
    position_mode: Literal["hedge_mode", "one_way_mode"] = Field(
        "hedge_mode", description="The account's position mode; trading is refused on mismatch."
    )

    # --- logging --------------------------------------------------------------------------
    log_level: str = Field("INFO", description="Log level.")
    log_json: bool = Field(False, description="Emit logs as JSON lines.")

    @field_validator("schedule_profiles", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _redis_defaults_follow_the_broker(self) -> Settings:
        # A host given only the broker's address must not use a Redis of its own for results,
        # schedules or the rate limiter: unset, they live on the broker's Redis.
        for name, db in (("result_backend", 1), ("redis_url", 2)):
            if name not in self.model_fields_set:
                derived = redis_sibling(self.broker_url, db)
                if derived is not None:
                    self.__dict__[name] = derived  # still "not set": checks say it was derived
        return self

    @field_validator("schedule_profiles")
    @classmethod
    def _profile_names(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if not PROFILE_NAME.fullmatch(n)]
        if bad:
            raise ValueError(
                f"{', '.join(map(repr, bad))}: a profile name is letters, digits, _ . - "
                "(comma separated)"
            )
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} listed twice")
        return names

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        level = str(value).strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {value!r}; allowed: {', '.join(LOG_LEVELS)}")
        return level

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret_values(self) -> list[str]:
        """Every configured secret, for log redaction."""
        secrets = (
            self.bitmart_api_key,
            self.bitmart_secret_key,
            self.bitmart_api_memo,
            self.metrics_token,
            self.metrics_basic_auth,
        )
        return [s.get_secret_value() for s in secrets if s.get_secret_value()]

    def public_view(self) -> dict[str, object]:
        """Settings as a dict with secrets masked (safe to print or log)."""
        out: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else ""
            else:
                out[name] = value
        for url_field in ("broker_url", "result_backend", "redis_url", "database_url"):
            out[url_field] = mask_url_password(str(out[url_field]))
        return out


def redis_sibling(broker_url: str, db: int) -> str | None:
    """Database `db` of the Redis server of a Redis broker URL (None: not a Redis URL)."""
    parts = urlsplit(broker_url)
    if parts.scheme not in ("redis", "rediss"):
        return None
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def mask_url_password(url: str) -> str:
    """Hide the password part of a URL such as redis://:secret@host/0."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:****@{host}" if ":" in creds else url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings, read once."""
    return Settings()


class SettingsError(ValueError):
    """The environment holds a value the settings refuse; names the variables."""


def env_name(field: str) -> str:
    """The environment variable a settings field is read from (its first alias, else MTF_...)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices) and alias.choices:
        return str(alias.choices[0])
    return f"MTF_{field.upper()}"


def load_settings() -> Settings:
    """`get_settings`, with a refused value reported as the variable, its value and the rule."""
    try:
        return get_settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            info = Settings.model_fields.get(field)
            secret = info is not None and info.annotation is SecretStr
            shown = "***" if secret else repr(err.get("input"))
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{env_name(field)}={shown}: {message}")
        raise SettingsError("invalid environment:\n  " + "\n  ".join(lines)) from None


def reset_settings() -> None:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
