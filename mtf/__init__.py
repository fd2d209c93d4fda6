"""Multi-timeframe scalping engine: Celery app, rule engine, runner pipeline and CLI."""

from mtf.celery_app import app

__all__ = ["app"]
