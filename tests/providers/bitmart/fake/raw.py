"""Raw wire requests for tests: bodies, headers and signatures exactly as given, no mapping
to domain types (that is the adapter's job)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from .credentials import Credentials, signed_headers


def compact(payload: dict[str, Any]) -> bytes:
    """A JSON body as clients should send it: compact separators."""
    return json.dumps(payload, separators=(",", ":")).encode()


class RawWire:
    """Public, KEYED and SIGNED requests through an httpx client."""

    def __init__(
        self, client: httpx.Client, credentials: Credentials, wall: Callable[[], int]
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.wall = wall

    def public(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params)

    def get(self, path: str, **params: Any) -> httpx.Response:
        """A KEYED GET: only the API key."""
        return self.client.get(path, params=params, headers={"X-BM-KEY": self.credentials.api_key})

    def post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        """A SIGNED POST stamped with the wall clock."""
        body = compact(payload)
        headers = signed_headers(self.credentials, self.wall(), body)
        return self.client.post(path, content=body, headers=headers)

    def post_raw(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.client.post(path, content=body, headers=headers)


def data(response: httpx.Response) -> Any:
    """The `data` of a successful answer; fails loudly on anything else."""
    body = response.json()
    if response.status_code != 200 or body.get("code") != 1000:
        raise AssertionError(f"HTTP {response.status_code}: {response.text}")
    return body["data"]


def error(response: httpx.Response) -> tuple[int, int]:
    """(HTTP status, code) of an answer."""
    return response.status_code, int(response.json()["code"])
