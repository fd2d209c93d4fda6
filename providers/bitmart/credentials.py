"""API credentials, kept as `SecretStr` so no repr, log line or error message can show them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydantic import SecretStr

from infra.settings import Settings
from providers.port import AuthError

#: Environment variables that configure the credentials (see `infra.settings`).
ENV_VARS = ("BITMART_API_KEY", "BITMART_SECRET_KEY", "BITMART_API_MEMO")


@dataclass(frozen=True)
class Credentials:
    """An API key, its secret and the memo chosen when the key was created."""

    api_key: SecretStr
    secret: SecretStr
    memo: SecretStr

    def __post_init__(self) -> None:
        missing = [
            env
            for env, value in zip(ENV_VARS, (self.api_key, self.secret, self.memo), strict=True)
            if not value.get_secret_value()
        ]
        if missing:
            raise AuthError(f"incomplete Bitmart credentials: set {', '.join(missing)}")

    @classmethod
    def from_settings(cls, settings: Settings) -> Credentials | None:
        """The configured credentials; None when none is set, `AuthError` when some are missing."""
        values = (settings.bitmart_api_key, settings.bitmart_secret_key, settings.bitmart_api_memo)
        if not any(v.get_secret_value() for v in values):
            return None
        return cls(*values)

    @property
    def key_id(self) -> str:
        """A short, non-reversible name of the API key (rate-limit buckets, logs)."""
        digest = hashlib.sha256(self.api_key.get_secret_value().encode()).hexdigest()
        return f"key-{digest[:12]}"

    def secret_values(self) -> tuple[str, ...]:
        """The three secret strings, for redaction of anything the exchange echoes back."""
        return tuple(v.get_secret_value() for v in (self.api_key, self.secret, self.memo))
