"""Structured logging: every record carries `run_id` / `decision_key` when set, and no secret.

`bind(run_id=...)` sets context for the current task; the `ContextFilter` copies it onto records
and the `RedactingFilter` replaces any configured secret value by `****` wherever it appears.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("mtf_log_context")
_CONTEXT_KEYS = ("run_id", "decision_key", "symbol", "profile")


@contextlib.contextmanager
def bind(**values: str | None) -> Iterator[None]:
    """Attach context (run_id, decision_key, symbol, profile) to log records in this block."""
    current = dict(_context.get({}))
    current.update({k: v for k, v in values.items() if v is not None})
    token = _context.set(current)
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get({})
        for key in _CONTEXT_KEYS:
            if not hasattr(record, key):
                setattr(record, key, ctx.get(key, ""))
        return True


class RedactingFilter(logging.Filter):
    """Masks secret values in the rendered message and arguments."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "****")
            record.msg, record.args = message, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in _CONTEXT_KEYS:
            value = getattr(record, key, "")
            if value:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        ctx = " ".join(
            f"{k}={getattr(record, k)}"
            for k in ("run_id", "decision_key")
            if getattr(record, k, "")
        )
        return f"{base} [{ctx}]" if ctx else base


def install_filters(handler: logging.Handler, secrets: list[str]) -> None:
    """Add the context and redaction filters to a handler (idempotent)."""
    if not any(isinstance(f, ContextFilter) for f in handler.filters):
        handler.addFilter(ContextFilter())
    for f in list(handler.filters):
        if isinstance(f, RedactingFilter):
            handler.removeFilter(f)
    handler.addFilter(RedactingFilter(secrets))


def configure(
    level: str = "INFO", *, json_lines: bool = False, secrets: list[str] | None = None
) -> None:
    """Configure the root logger for the CLI and workers."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = next((h for h in root.handlers if getattr(h, "_mtf", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._mtf = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    install_filters(handler, secrets or [])
