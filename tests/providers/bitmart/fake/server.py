"""`FakeBitmart`: Bitmart's futures REST API over a paper exchange, one request at a time.

A request passes, in order: the fault queue, the rate limiter (headers on every answer),
routing (30000 unknown path, 40010 documented but not simulated), authentication, body
parsing (40007), then its handler, after the venue caught up with the market clock. Requests
are handled one at a time, so concurrent clients see a consistent exchange.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from infra.db import ensure_schema, get_engine
from providers.candles import Candles
from providers.port import (
    DuplicateOrderError,
    ExchangeError,
    InsufficientBalanceError,
    InvalidOrderError,
)
from providers.timeframes import Timeframe
from providers.types import ContractSpec

from . import routes, shell
from .auth import authenticate
from .clocks import MarketClock, WallClock, real_ms
from .credentials import TEST_CREDENTIALS, Credentials
from .csvload import Loaded, load_csv_folder
from .faults import FaultQueue, render
from .limits import Limiter, Target, Verdict, rule_for
from .params import Call
from .venue import Expiry, Terms, Venue
from .wire import Reply, WireError, envelope, failure, success


@dataclass(frozen=True)
class Seen:
    """One request as answered: what a test can assert on afterwards."""

    method: str
    path: str
    status: int
    code: int | None
    fault: str | None
    wall_ms: int
    query: tuple[tuple[str, str], ...] = ()


class FakeBitmart:
    """A local Bitmart futures exchange for tests; see the package documentation."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        start_ms: int | None = None,
        credentials: Iterable[Credentials] = (TEST_CREDENTIALS,),
        terms: Terms = Terms(),
        rate_limits: bool = True,
        account: str = "default",
    ) -> None:
        self._tmp: Path | None = None
        if database_url is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="fake-bitmart-"))
            database_url = f"sqlite:///{self._tmp / 'exchange.db'}"
        ensure_schema(database_url)
        self.database_url = database_url
        self.engine = get_engine(database_url)
        self.clock = MarketClock(real_ms() if start_ms is None else start_ms)
        self.wall = WallClock()
        self.venue = Venue(self.engine, self.clock, terms, account=account)
        self.keys = {c.api_key: c for c in credentials}
        self.limiter = Limiter(enforce=rate_limits)
        self.faults = FaultQueue()
        self.seen: list[Seen] = []
        self.errors: list[BaseException] = []
        self._lock = threading.RLock()

    # --- seeding ------------------------------------------------------------------------------

    def list_contract(self, spec: ContractSpec, *, source: str = "synthetic") -> None:
        with self._lock:
            self.venue.contracts.upsert(spec, source=source)

    def put_candles(self, candles: Candles) -> int:
        """Store closed candles (any timeframe); the number written."""
        with self._lock:
            return self.venue.klines.upsert(candles)

    def load_csv_folder(
        self,
        folder: str | Path,
        *,
        symbols: Iterable[str] | None = None,
        timeframes: Iterable[Timeframe | str] | None = None,
    ) -> list[Loaded]:
        """Serve the real candles of a folder of SYMBOL-TF.csv files (see `csvload`)."""
        with self._lock:
            return load_csv_folder(
                folder,
                contracts=self.venue.contracts,
                klines=self.venue.klines,
                symbols=symbols,
                timeframes=timeframes,
            )

    # --- the market clock ---------------------------------------------------------------------

    def now(self) -> int:
        return self.clock.now()

    def set_time(self, ms: int) -> None:
        with self._lock:
            self.clock.set(ms)
            self.venue.expire()

    def advance(self, ms: int) -> None:
        with self._lock:
            self.clock.advance(ms)
            self.venue.expire()

    @property
    def expired(self) -> list[Expiry]:
        """cancel-all-after deadlines carried out so far."""
        return self.venue.expired

    # --- what happened ------------------------------------------------------------------------

    @property
    def rate_limited(self) -> int:
        """Requests the rate limiter refused (injected 429s not included)."""
        return self.limiter.rejected

    def requests(self, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if path is None or s.path == path]

    # --- the wire -----------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        client: str = "127.0.0.1",
    ) -> Reply:
        """Answer one HTTP request."""
        method = method.upper()
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            reply = self._dispatch(method, path, dict(query or {}), lowered, body, client)
            self.seen.append(
                Seen(
                    method,
                    path,
                    reply.status,
                    reply.code,
                    reply.fault,
                    self.wall.now(),
                    tuple(sorted((query or {}).items())),
                )
            )
        return reply

    def transport(self) -> httpx.MockTransport:
        """An in-process transport for `httpx.Client(transport=..., base_url=...)`."""
        return shell.mock_transport(self.handle)

    @contextmanager
    def serve(self, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve on `host` (loopback by default) on a free port in a background thread;
        yields the base URL."""
        with shell.serve(self.handle, host) as url:
            yield url

    def close(self) -> None:
        """Forget a database the fake created itself."""
        if self._tmp is not None:
            self.engine.dispose()
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> FakeBitmart:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------------

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        client: str,
    ) -> Reply:
        fault = self.faults.take(method, path)
        if fault is not None and not fault.executed:
            return render(fault, path)
        verdict = self.limiter.hit(path, self._who(path, headers, client), self.wall.now())
        if not verdict.allowed:
            reply = failure(WireError(30013))
        else:
            reply = self._answer(method, path, query, headers, body)
        if fault is not None:
            return render(fault, path)
        return _with_limits(reply, verdict)

    def _who(self, path: str, headers: Mapping[str, str], client: str) -> str:
        target = rule_for(path).target
        if target is Target.IP:
            return client
        key = headers.get("x-bm-key", "")
        if target is Target.UID and key in self.keys:
            return self.venue.account
        return key

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply:
        try:
            return success(self._run(method, path, query, headers, body))
        except WireError as error:
            return failure(error)
        except InsufficientBalanceError as exc:
            return failure(WireError(40027, str(exc)))
        except DuplicateOrderError as exc:
            return failure(WireError(40050, str(exc)))
        except (InvalidOrderError, ExchangeError) as exc:
            return failure(WireError(40011, str(exc)))
        except Exception as exc:  # a bug of the fake: answer like a broken server, keep it
            self.errors.append(exc)
            text = f"System error: {type(exc).__name__}: {exc}"
            headers = {"Content-Type": "application/json"}
            return Reply(500, headers, envelope(40012, text, {}), code=40012)

    def _run(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> object:
        route = routes.find(method, path)
        if route is None:
            if routes.UNSIMULATED.get(path) == method:
                raise WireError(40010, f"{method} {path} is not simulated by the fake server")
            raise WireError(30000, f"{method} {path}")
        authenticate(route.level, headers, body, self.keys, self.wall.now())
        parsed = _json_body(body) if method == "POST" else {}
        self.venue.sync()
        return route.handler(Call(self.venue, query, parsed, self.wall.now()))


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(40007, f"the body is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise WireError(40007, "the body must be a JSON object")
    return parsed


def _with_limits(reply: Reply, verdict: Verdict) -> Reply:
    reply.headers |= verdict.headers()
    return reply
