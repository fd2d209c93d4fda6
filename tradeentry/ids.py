"""Deterministic identifiers derived from a decision key (the basis of exactly-once orders)."""

from __future__ import annotations

import base64
import hashlib

PREFIX = "MTF"


def client_order_id(decision_key: str) -> str:
    """32 letters/digits derived from the decision key: a retried placement reuses it, so the
    exchange recognises the order instead of opening a second one."""
    digest = hashlib.sha256(decision_key.encode()).digest()
    body = base64.b32encode(digest).decode().rstrip("=")
    return (PREFIX + body)[:32]
