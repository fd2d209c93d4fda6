"""`StreamConnection`: one Bitmart WebSocket connection kept up (the shell around the wire).

It connects, logs in when it is given a login (private channels; again after every
reconnect), subscribes its topics in messages within the documented limits, sends a text ping
every `ping_s` (the server drops connections silent for ~20 s; protocol pings run too, and a
connection whose pings go unanswered is closed), and hands every parsed frame to
`on_messages`. When the connection drops it reconnects after an exponential backoff with
jitter (reset once a connection has stayed up a minute) and subscribes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterable

import websockets
from websockets.asyncio.client import ClientConnection, connect

from providers.bitmart.ws.messages import Ack, LoginAck, Message, parse_frame
from providers.bitmart.ws.requests import ping_message, subscribe_messages

log = logging.getLogger("providers.bitmart.ws")

#: A connection up this long resets the backoff.
STABLE_S = 60.0


class LoginRefused(Exception):
    """The server refused the `access` login (the reason it gave, never the credentials)."""


class StreamConnection:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        on_messages: Callable[[list[Message]], None],
        on_state: Callable[[StreamConnection, bool], None] | None = None,
        login: Callable[[], str] | None = None,
        ping_s: float = 15.0,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        open_timeout_s: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self.on_messages = on_messages
        self.on_state = on_state
        self.login = login
        self.ping_s = ping_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.open_timeout_s = open_timeout_s
        self.rng = rng or random.Random()
        self.topics: set[str] = set()
        self.acked: set[str] = set()
        self.refused: dict[str, str] = {}
        self.connected = False
        self.connects = 0
        self.last_error = ""
        self._ws: ClientConnection | None = None

    # --- topics -----------------------------------------------------------------------------

    async def add(self, topics: Iterable[str]) -> None:
        new = sorted(set(topics) - self.topics)
        self.topics.update(new)
        if new and self._ws is not None and self.connected:
            await self._send_all(self._ws, subscribe_messages(new))

    async def remove(self, topics: Iterable[str]) -> None:
        gone = sorted(set(topics) & self.topics)
        self.topics.difference_update(gone)
        self.acked.difference_update(gone)
        for topic in gone:
            self.refused.pop(topic, None)
        if gone and self._ws is not None and self.connected:
            await self._send_all(self._ws, subscribe_messages(gone, action="unsubscribe"))

    # --- life ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the connection up until cancelled."""
        attempt = 0
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except LoginRefused as exc:
                self.last_error = f"login refused: {exc}"
                log.error("stream %s: %s", self.name, self.last_error)
                attempt = max(attempt, 4)  # a refused login is not retried fast
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("stream %s disconnected: %s", self.name, self.last_error)
            finally:
                self._ws = None
                self._set_state(False)
            if loop.time() - started >= STABLE_S:
                attempt = 0
            attempt += 1
            await asyncio.sleep(self.backoff_s(attempt))

    def backoff_s(self, attempt: int) -> float:
        """Exponential in the attempt, capped, with jitter in [50 %, 100 %]."""
        base = min(self.backoff_max_s, self.backoff_min_s * 2 ** (attempt - 1))
        return base * (0.5 + self.rng.random() / 2)

    async def kill(self) -> None:
        """Drop the current connection (it reconnects as after any failure)."""
        if self._ws is not None:
            await self._ws.close()

    async def _session(self) -> None:
        async with connect(
            self.url,
            open_timeout=self.open_timeout_s,
            ping_interval=self.ping_s,
            ping_timeout=self.ping_s,
            close_timeout=2,
            max_size=2**22,
            proxy=None,
        ) as ws:
            self.connects += 1
            self.acked.clear()
            self.refused.clear()
            if self.login is not None:
                await ws.send(self.login())
                await self._await_login(ws)
            self._ws = ws
            await self._send_all(ws, subscribe_messages(sorted(self.topics)))
            self._set_state(True)
            keepalive = asyncio.create_task(self._keepalive(ws))
            try:
                async for frame in ws:
                    self._dispatch(parse_frame(frame))
            finally:
                keepalive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keepalive

    async def _await_login(self, ws: ClientConnection) -> None:
        async with asyncio.timeout(self.open_timeout_s):
            async for frame in ws:
                messages = parse_frame(frame)
                for message in messages:
                    if isinstance(message, LoginAck):
                        if not message.success:
                            raise LoginRefused(message.error or "no reason given")
                        return
                self._dispatch(messages)
        raise LoginRefused("the connection closed before the login was answered")

    async def _keepalive(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.ping_s)
            await ws.send(ping_message())

    async def _send_all(self, ws: ClientConnection, messages: list[str]) -> None:
        for message in messages:
            await ws.send(message)

    def _dispatch(self, messages: list[Message]) -> None:
        for message in messages:
            if isinstance(message, Ack) and message.action == "subscribe":
                if message.success:
                    self.acked.add(message.topic)
                else:
                    self.refused[message.topic] = message.error
                    log.warning(
                        "stream %s: %s refused: %s", self.name, message.topic, message.error
                    )
        self.on_messages(messages)

    def _set_state(self, up: bool) -> None:
        if up != self.connected:
            self.connected = up
            if self.on_state is not None:
                self.on_state(self, up)
