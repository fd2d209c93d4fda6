"""The contract store: contract specifications in the database, with where they came from."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import Engine, select

from infra.db import engine_session
from infra.models import ContractRow
from providers.port import NotFoundError
from providers.types import ContractSpec

_SPEC_FIELDS = tuple(f.name for f in fields(ContractSpec))


def _to_spec(row: ContractRow) -> ContractSpec:
    return ContractSpec(**{name: getattr(row, name) for name in _SPEC_FIELDS})


class ContractStore:
    """Contract specs keyed by symbol. `source` is synthetic, import or bitmart."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert(
        self, spec: ContractSpec, *, source: str, params: dict[str, Any] | None = None
    ) -> None:
        with engine_session(self.engine) as session:
            row = session.get(ContractRow, spec.symbol)
            if row is None:
                row = ContractRow(symbol=spec.symbol, source=source, params=params or {})
                session.add(row)
            for name in _SPEC_FIELDS:
                setattr(row, name, getattr(spec, name))
            row.source = source
            if params is not None:
                row.params = params

    def get(self, symbol: str) -> ContractSpec:
        with engine_session(self.engine) as session:
            row = session.get(ContractRow, symbol)
            if row is None:
                raise NotFoundError(f"unknown contract {symbol!r}")
            return _to_spec(row)

    def delete(self, symbol: str) -> bool:
        with engine_session(self.engine) as session:
            row = session.get(ContractRow, symbol)
            if row is not None:
                session.delete(row)
            return row is not None

    def find(self, symbol: str) -> ContractSpec | None:
        try:
            return self.get(symbol)
        except NotFoundError:
            return None

    def find_from(self, symbol: str, source: str) -> ContractSpec | None:
        """The stored spec of `symbol` if it was synced from `source`."""
        with engine_session(self.engine) as session:
            row = session.get(ContractRow, symbol)
            return _to_spec(row) if row is not None and row.source == source else None

    def source_of(self, symbol: str) -> tuple[str, dict[str, Any]] | None:
        """(source, params) of a stored contract."""
        with engine_session(self.engine) as session:
            row = session.get(ContractRow, symbol)
            return None if row is None else (row.source, dict(row.params or {}))

    def all(self, *, source: str | None = None) -> list[ContractSpec]:
        with engine_session(self.engine) as session:
            stmt = select(ContractRow).order_by(ContractRow.symbol)
            if source is not None:
                stmt = stmt.where(ContractRow.source == source)
            return [_to_spec(row) for row in session.scalars(stmt)]

    def by_source(self) -> dict[str, list[str]]:
        with engine_session(self.engine) as session:
            out: dict[str, list[str]] = {}
            for symbol, source in session.execute(
                select(ContractRow.symbol, ContractRow.source).order_by(ContractRow.symbol)
            ):
                out.setdefault(source, []).append(symbol)
            return out

    def has_source(self, source: str) -> bool:
        """Whether any contract came from `source` (stops at the first row; no listing)."""
        with engine_session(self.engine) as session:
            query = select(ContractRow.symbol).where(ContractRow.source == source).limit(1)
            return session.scalar(query) is not None

    def count(self) -> int:
        with engine_session(self.engine) as session:
            return len(session.scalars(select(ContractRow.symbol)).all())
