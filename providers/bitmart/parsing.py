"""Reply `data` → models; a success whose data does not fit is an error, never "nothing"."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from providers.bitmart.endpoints import Endpoint
from providers.port import TransientError

M = TypeVar("M")


def parse(model: type[M], data: Any, endpoint: Endpoint) -> M:
    """`data` as one `model`; `TransientError` naming the endpoint and fields otherwise."""
    return _validate(TypeAdapter(model), data, endpoint)


def parse_list(model: type[M], data: Any, endpoint: Endpoint) -> list[M]:
    """`data` as a list of `model`; null or `{}` in place of a list is refused."""
    return _validate(TypeAdapter(list[model]), data, endpoint)  # type: ignore[valid-type]


def _validate(adapter: TypeAdapter[Any], data: Any, endpoint: Endpoint) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors()[:3])
        raise TransientError(f"{endpoint.name}: unexpected reply data: {problems}") from None


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "data"
    return f"{where}: {error.get('msg', 'invalid')}"
