"""The run request: every parameter a cycle accepts, validated before anything runs.

Accepted names follow the runner of the system this engine replaces (`mtf_profile`, `cex`,
`type_contract`, `context_mode` are accepted as aliases). Unknown or ill-typed keys are refused
with a message naming the key and what is allowed; booleans accept true/false/1/0/yes/no/on/off
only (the string "false" is false).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from infra import clock
from providers.timeframes import Timeframe

SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,30}$")
_MARKET_TYPES = {
    "perpetual": "perpetual",
    "perp": "perpetual",
    "future": "perpetual",
    "futures": "perpetual",
    "swap": "perpetual",
}
_ALIASES = {
    "mtf_profile": "profile",
    "cex": "exchange",
    "type_contract": "market_type",
    "context_mode": "validation_mode",
    "mode": "validation_mode",
}
_REFUSED = {
    "workers": "concurrency comes from the Celery workers (celery worker --concurrency), "
    "not from a run",
    "lock_per_symbol": "orders are already unique per symbol, timeframe and candle "
    "(decision_key), and runs of a profile never overlap",
    "force_timeframe_check": "every cycle evaluates every timeframe of the profile",
}


class RunRequestError(ValueError):
    """A run request that cannot be accepted; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid run request: " + "; ".join(problems))


class RunRequest(BaseModel):
    """Parameters of one cycle. Defaults marked None are filled from the settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbols: list[str] = Field(default_factory=list, description="Symbols; empty: the universe.")
    dry_run: bool | None = Field(None, description="Plan and record orders without sending.")
    profile: str | None = Field(None, description="Validation profile name.")
    current_tf: Timeframe | None = Field(None, description="Only this execution timeframe.")
    force_run: bool = Field(False, description="Ignore symbol switches (cool-downs, OFF).")
    skip_context: bool = Field(False, description="Skip the context timeframes.")
    skip_open_state_filter: bool = Field(
        False, description="Keep symbols that have an open position or order."
    )
    sync_tables: bool = Field(True, description="Sync positions and open orders first.")
    process_tp_sl: bool = Field(True, description="Run the TP/SL sweep when due.")
    exchange: Literal["paper", "bitmart"] | None = None
    market_type: Literal["perpetual"] = "perpetual"
    validation_mode: Literal["strict", "pragmatic"] | None = None
    as_of: datetime | None = Field(None, description="Decide as of this minute (replay).")
    user_id: str | None = None
    ip_address: str | None = None

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            raise ValueError("must be a list of symbols or a comma-separated string")
        out: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"symbol {item!r} is not a string")
            symbol = item.strip().upper()
            if not symbol:
                continue
            if not SYMBOL_RE.match(symbol):
                raise ValueError(f"symbol {item!r} is not valid (letters and digits, e.g. BTCUSDT)")
            if symbol not in out:
                out.append(symbol)
        return out

    @field_validator("current_tf", mode="before")
    @classmethod
    def _tf(cls, value: Any) -> Any:
        return None if value in (None, "") else Timeframe.parse(value)

    @field_validator("market_type", mode="before")
    @classmethod
    def _market(cls, value: Any) -> Any:
        text = str(value).strip().lower()
        if text == "spot":
            raise ValueError("spot is not supported; this engine trades perpetual futures")
        if text not in _MARKET_TYPES:
            raise ValueError(f"unknown market type {value!r}; allowed: {', '.join(_MARKET_TYPES)}")
        return _MARKET_TYPES[text]

    @field_validator("exchange", "validation_mode", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, value: Any) -> Any:
        if isinstance(value, str) and value.endswith("Z"):
            value = value[:-1] + "+00:00"
        return value

    @field_validator("as_of")
    @classmethod
    def _as_of_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(second=0, microsecond=0)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a run request is a mapping of parameters")
        out = dict(data)
        for alias, name in _ALIASES.items():
            if alias in out:
                if name in out and out[name] != out[alias]:
                    raise ValueError(
                        f"{alias!r} and {name!r} are the same parameter with "
                        "different values; give one"
                    )
                out[name] = out.pop(alias)
        return out


def allowed_parameters() -> list[str]:
    return sorted([*RunRequest.model_fields, *_ALIASES])


def parse_request(raw: dict[str, Any]) -> RunRequest:
    """Validate raw parameters (from `celery call`, the CLI or beat)."""
    problems: list[str] = []
    for key in raw:
        if key in _REFUSED:
            problems.append(f"{key!r} is not a parameter of this engine: {_REFUSED[key]}")
    data = {k: v for k, v in raw.items() if k not in _REFUSED}
    try:
        request = RunRequest.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "request"
            if err["type"] == "extra_forbidden":
                problems.append(
                    f"unknown parameter {loc!r}; allowed: {', '.join(allowed_parameters())}"
                )
            else:
                message = err["msg"].removeprefix("Value error, ")
                problems.append(f"{loc}: {message} (got {err.get('input')!r})")
        raise RunRequestError(problems) from None
    if problems:
        raise RunRequestError(problems)
    if request.as_of is not None and request.as_of > clock.now():
        raise RunRequestError([f"as_of: {request.as_of.isoformat()} is in the future"])
    return request
